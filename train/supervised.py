"""Supervised learning from an expert, for the course notebooks: data split by maze, small classifiers, curves.

The notebooks teach the fundamentals on one task: *predict the expert's move* from the game state. This
module holds everything they need beyond a few lines, so that a notebook cell reads like the lesson:

* **Settings** (`setup`, `quick_mode`, `by_mode`, `seed_everything`, `runs_dir`): ``PYRAT_QUICK=1``
  shrinks data and steps so that a notebook runs in seconds (the tests do that); the device is ``cuda``
  when there is one and torch's threads are set by ``pyrat_env.runtime`` (the one module for threads,
  device and CPU count). What the notebooks write goes to ``$PYRAT_RUNS``, by default ``runs/notebooks``
  in the working folder. Nothing here holds random state at module level: every function takes a seed.
* **Data** (`expert_data` -> `ExpertData`): the expert plays games (``pyrat_rl.train.imitation.generate_dataset``,
  every game of a chunk stepped at once); each turn the expert decides gives a sample (state, expert
  action, legal-action mask). Samples are split into train / validation / test **by maze**: a maze and
  all its positions belong to one split, so validation and test measure play on mazes never seen in
  training. Observations are made on demand by the project's encoders (``flat`` for linear models and
  MLPs, ``planes`` for CNNs, ``tokens`` for transformers) and cached as tensors when they fit
  (`ExpertData.source`).
* **Models** (`make_model`): the classifiers of ``pyrat_rl.agents.networks`` (`CLASSIFIERS`, the project's
  one network module): ``linear`` (`LinearPolicyNet`, multinomial logistic regression), ``mlp``
  (`MlpPolicyNet`, with dropout and batch-norm options), ``cnn`` (`ConvPolicyNet`, full-resolution
  convolutions read at the player's cell), ``transformer`` (`TransformerPolicyNet`, one token per cell,
  self-attention that can record its attention maps). Each maps an observation to 5 action logits and
  remembers how to rebuild itself (``model.spec``).
* **Training** (`fit`): masked cross-entropy (illegal moves never count: they get
  ``pyrat_rl.agents.policy_agent.MASKED_LOGIT``, the value used wherever actions are masked), AdamW with
  optional weight decay, per-epoch curves of loss and accuracy on train and validation (train measured in
  evaluation mode, so dropout does not blur the comparison), best-validation weights kept. `evaluate`
  scores any split; the test split is for the final report only. `plot_curves` and `format_table` show
  the results.
* **Playing** (`as_agent`, `save_classifier`, `load_classifier`, `saved_agents`): a trained classifier is a
  `pyrat_rl.agents.policy_agent.PolicyAgent` (it sees the game as the dataset did). `save_classifier` writes
  the project's one checkpoint format (``pyrat-policy/2``, head ``classifier``), so the saved ``NAME.pt`` is
  itself an agent spec for ``pyrat play NAME.pt greedy`` and tournaments, loaded by
  ``pyrat_rl.agents.policy_agent.load_agent`` like any policy; `saved_agents` lists what the notebooks saved.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pyrat_rl.agents.networks import CLASSIFIERS, count_parameters, make_classifier
from pyrat_rl.agents.policy_agent import MASKED_LOGIT
from torch import nn

from pyrat_env.cli_options import CHECKPOINT_SUFFIXES
from pyrat_env.encoders import Encoder, make_encoder
from pyrat_env.envs.gym_env import default_max_turns
from pyrat_env.mazes import GameConfig, preset
from pyrat_env.runtime import env_threads, resolve_device, set_threads

from .imitation import DatasetEncoder, StateDataset, generate_dataset, split_by_maze

QUICK_ENV = "PYRAT_QUICK"
RUNS_ENV = "PYRAT_RUNS"
SPLITS = ("train", "val", "test")


# -- settings ------------------------------------------------------------------------------------------------
def quick_mode() -> bool:
    """True when ``PYRAT_QUICK`` is set to something other than ``""``, ``0``, ``false`` or ``no``."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no")


def by_mode(quick: Any, full: Any) -> Any:
    """``quick`` in quick mode (``PYRAT_QUICK=1``), else ``full``."""
    return quick if quick_mode() else full


def setup(seed: int = 0, threads: int | None = None) -> torch.device:
    """Seed everything and choose torch's CPU threads; returns the device (``cuda`` when available).

    Threads (`pyrat_env.runtime.set_threads`): ``threads``, else ``$PYRAT_THREADS``, else 1 in quick mode
    (small models on a shared machine run faster on one thread than on threads that wait for each other),
    else every core this process may use.
    """
    seed_everything(seed)
    set_threads(threads or env_threads() or (1 if quick_mode() else None))
    return resolve_device("auto")


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's legacy and torch's global generators (this module itself uses explicit ones)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def runs_root() -> Path:
    """Where the notebooks write: ``$PYRAT_RUNS``, else ``runs/notebooks`` in the working folder (absolute).

    Never a folder inside the installed package: run data belongs to the user's working folder. Absolute,
    so that the paths handed to other processes (tournament players) do not depend on their folder.
    """
    base = os.environ.get(RUNS_ENV, "").strip()
    return (Path(base).expanduser() if base else Path("runs") / "notebooks").absolute()


def runs_dir(*parts: str) -> Path:
    """A folder under `runs_root` (``runs_dir("agents")``...), created."""
    path = runs_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- data ----------------------------------------------------------------------------------------------------
ENCODER_OF = {"linear": "flat", "mlp": "flat", "cnn": "planes", "transformer": "tokens"}


class SampleSource:
    """``get(idx) -> (obs, action, mask)`` tensors on a device, for samples of an `ExpertData`.

    Observations are encoded once and kept as one tensor when they take less than ``cache_mb``; otherwise
    each request encodes its samples (a few microseconds each).
    """

    def __init__(self, view: DatasetEncoder, device: torch.device, cache_mb: float = 1024.0) -> None:
        self.view, self.device = view, device
        d = view.data
        self.action = torch.as_tensor(d.action, dtype=torch.long, device=device)
        self.mask = torch.as_tensor(d.mask, dtype=torch.bool, device=device)
        shape = view.encoder.shape(d.width, d.height)
        size_mb = len(d) * math.prod(shape) * 4 / 2**20
        self.obs: torch.Tensor | None = None
        if size_mb <= cache_mb:
            parts = [torch.as_tensor(view.encode(np.arange(lo, min(lo + 8192, len(d))))) for lo in
                     range(0, len(d), 8192)]
            self.obs = (torch.cat(parts) if parts else torch.zeros((0,) + shape)).to(device)

    def get(self, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = np.asarray(idx, dtype=np.int64)
        t = torch.as_tensor(idx, device=self.device)
        if self.obs is not None:
            obs = self.obs[t]
        else:
            obs = torch.as_tensor(self.view.encode(idx), device=self.device)
        return obs, self.action[t], self.mask[t]


@dataclass
class ExpertData:
    """Expert decisions split by maze: ``states`` (compact game states, `StateDataset`), ``splits`` (indices).

    ``config`` is the game the samples come from, ``max_turns`` the turn limit of those games (also the
    horizon of the turn feature, as in the environments).
    """

    states: StateDataset
    splits: dict[str, np.ndarray]
    config: GameConfig
    max_turns: int
    expert: str
    opponents: str
    seed: int
    seconds: float = 0.0
    _views: dict = field(default_factory=dict, repr=False)
    _sources: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.states)

    def encoder(self, name: str) -> Encoder:
        return make_encoder(name, horizon=self.max_turns)

    def obs_shape(self, encoder_name: str) -> tuple[int, ...]:
        return self.encoder(encoder_name).shape(self.config.width, self.config.height)

    def view(self, encoder_name: str) -> DatasetEncoder:
        if encoder_name not in self._views:
            self._views[encoder_name] = self.states.encoder_view(self.encoder(encoder_name))
        return self._views[encoder_name]

    def source(self, encoder_name: str, device: str | torch.device = "cpu", cache_mb: float = 1024.0
               ) -> SampleSource:
        """Tensors of the samples as ``encoder_name`` encodes them, on ``device`` (cached per encoder and device)."""
        device = resolve_device(device)
        key = (encoder_name, str(device))
        if key not in self._sources:
            self._sources[key] = SampleSource(self.view(encoder_name), device, cache_mb)
        return self._sources[key]

    def encode(self, encoder_name: str, idx: np.ndarray) -> np.ndarray:
        """Observations of samples ``idx`` (numpy)."""
        return self.view(encoder_name).encode(np.asarray(idx, dtype=np.int64))

    def maze_ids(self) -> np.ndarray:
        """The maze (group) of every sample."""
        return self.states.maze_groups()[self.states.game]

    def games_of(self, split: str) -> np.ndarray:
        """The mazes of a split, in the order the split lists its samples."""
        ids = self.maze_ids()[self.splits[split]]
        _, first = np.unique(ids, return_index=True)
        return ids[np.sort(first)]

    def first_games(self, split: str, n_games: int) -> np.ndarray:
        """Sample indices of the first ``n_games`` mazes of a split (data-size curves, few-label training)."""
        idx = self.splits[split]
        keep = self.games_of(split)[: int(n_games)]
        return idx[np.isin(self.maze_ids()[idx], keep)]

    def summary(self) -> list[dict]:
        """Per split: samples, mazes, and the share of each action among the expert's choices."""
        rows = []
        ids = self.maze_ids()
        for name in SPLITS:
            idx = self.splits[name]
            counts = np.bincount(self.states.action[idx], minlength=5)
            row = {"split": name, "samples": int(len(idx)), "mazes": int(len(np.unique(ids[idx])))}
            for a, label in enumerate(("nothing", "north", "east", "south", "west")):
                row[label] = round(float(counts[a] / max(len(idx), 1)), 3)
            rows.append(row)
        return rows


def expert_data(expert: str = "greedy", opponents: str = "greedy:1,random:1", games: int = 200,
                config: GameConfig | str = "official", val_fraction: float = 0.15, test_fraction: float = 0.15,
                seed: int = 0, max_turns: int | None = None, progress: bool = False) -> ExpertData:
    """Let ``expert`` play ``games`` games (one per maze) and split its decisions by maze.

    ``opponents``: a weighted mix (``"greedy:1,random:1"``), drawn per game; ``"expert"`` records both
    seats. ``max_turns``: the games' limit (default: the environments', ``4 * width * height``).
    """
    cfg = preset(config) if isinstance(config, str) else config
    limit = int(max_turns or default_max_turns(cfg))
    t0 = time.perf_counter()
    states = generate_dataset(expert, opponents, int(games), cfg, seed=seed, max_turns=limit, progress=progress)
    train, val, test = split_by_maze(states, val_fraction, test_fraction, seed)
    return ExpertData(states=states, splits={"train": train, "val": val, "test": test}, config=cfg,
                      max_turns=limit, expert=str(expert), opponents=str(opponents), seed=int(seed),
                      seconds=time.perf_counter() - t0)


# -- models --------------------------------------------------------------------------------------------------
ENCODER_OF = {kind: encoder for kind, (_, encoder) in CLASSIFIERS.items()}


def make_model(kind: str, obs_shape: Sequence[int] | ExpertData, seed: int | None = None, **kwargs) -> nn.Module:
    """A fresh classifier ``kind`` (``linear``, ``mlp``, ``cnn``, ``transformer``) for observations of ``obs_shape``.

    ``obs_shape`` may be an `ExpertData` (the shape of its encoder for that kind). ``seed`` seeds the initial
    weights. The model (``pyrat_rl.agents.networks.make_classifier``) gets ``spec`` (kind, shape, options: enough
    to rebuild it) and ``encoder_name``.
    """
    if kind not in CLASSIFIERS:
        raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(CLASSIFIERS)}")
    shape = obs_shape.obs_shape(ENCODER_OF[kind]) if isinstance(obs_shape, ExpertData) else tuple(obs_shape)
    return make_classifier(kind, shape, seed=seed, **kwargs)


# -- training ------------------------------------------------------------------------------------------------
def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Illegal actions get ``MASKED_LOGIT`` (-1e8): they have no probability and never count as a prediction."""
    return logits.masked_fill(~mask, MASKED_LOGIT)


@torch.no_grad()
def evaluate(model: nn.Module, data: ExpertData, split: str | np.ndarray = "val", batch_size: int = 2048,
             device: str | torch.device | None = None) -> dict:
    """Mean masked cross-entropy (``loss``) and ``accuracy`` of the model on a split (or sample indices)."""
    idx = data.splits[split] if isinstance(split, str) else np.asarray(split, dtype=np.int64)
    if len(idx) == 0:
        return {"loss": float("nan"), "accuracy": float("nan"), "samples": 0}
    device = next(model.parameters()).device if device is None else resolve_device(device)
    src = data.source(model.encoder_name, device)
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for lo in range(0, len(idx), batch_size):
        obs, act, mask = src.get(idx[lo:lo + batch_size])
        logits = masked_logits(model(obs), mask)
        loss_sum += float(F.cross_entropy(logits, act, reduction="sum"))
        correct += int((logits.argmax(dim=1) == act).sum())
    model.train(was_training)
    return {"loss": loss_sum / len(idx), "accuracy": correct / len(idx), "samples": int(len(idx))}


@dataclass
class History:
    """Per-epoch curves of a training run (``rows``: epoch, train/val loss and accuracy, seconds)."""

    rows: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0
    parameters: int = 0
    label: str = ""

    def column(self, key: str) -> np.ndarray:
        return np.array([r[key] for r in self.rows], dtype=np.float64)

    @property
    def best(self) -> dict:
        """The row of the epoch kept (lowest validation loss)."""
        for r in self.rows:
            if r["epoch"] == self.best_epoch:
                return r
        return self.rows[-1] if self.rows else {}

    @property
    def final(self) -> dict:
        return self.rows[-1] if self.rows else {}


def fit(model: nn.Module, data: ExpertData, epochs: int = 10, batch_size: int = 256, lr: float = 1e-3,
        weight_decay: float = 0.0, train_idx: np.ndarray | None = None, val_split: str = "val",
        seed: int = 0, device: str | torch.device = "auto", keep_best: bool = True, patience: int | None = None,
        train_eval_samples: int = 4096, label: str = "", progress: bool = False) -> History:
    """Train ``model`` on the expert's moves; returns the curves (`History`).

    Minibatches of ``batch_size`` samples drawn without replacement each epoch from ``train_idx`` (default:
    the whole train split), masked cross-entropy, AdamW (``weight_decay`` = 0: plain Adam). After each
    epoch the model is measured in evaluation mode on up to ``train_eval_samples`` training samples and
    on the ``val_split``. With ``keep_best`` the weights of the epoch with the lowest validation loss are
    restored at the end; ``patience`` stops after that many epochs without improvement. The test split
    is never looked at.
    """
    device = resolve_device(device)
    model.to(device)
    train_idx = data.splits["train"] if train_idx is None else np.asarray(train_idx, dtype=np.int64)
    if len(train_idx) == 0:
        raise ValueError("no training samples")
    rng = np.random.default_rng([seed, 7])
    torch.manual_seed(seed)
    measure_train = train_idx if len(train_idx) <= train_eval_samples else \
        np.sort(rng.choice(train_idx, train_eval_samples, replace=False))
    src = data.source(model.encoder_name, device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    hist = History(parameters=count_parameters(model), label=label)
    best_loss, best_state, bad = math.inf, None, 0
    t_start = time.perf_counter()
    for epoch in range(1, int(epochs) + 1):
        t0 = time.perf_counter()
        model.train()
        order = train_idx[rng.permutation(len(train_idx))]
        for lo in range(0, len(order), batch_size):
            b = order[lo:lo + batch_size]
            if len(b) < 2 and len(order) > 1:
                continue          # batch norm needs two samples
            obs, act, mask = src.get(b)
            loss = F.cross_entropy(masked_logits(model(obs), mask), act)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        tr = evaluate(model, data, measure_train)
        va = evaluate(model, data, val_split) if len(data.splits[val_split]) else tr
        row = {"epoch": epoch, "train_loss": tr["loss"], "train_accuracy": tr["accuracy"], "val_loss": va["loss"],
               "val_accuracy": va["accuracy"], "seconds": time.perf_counter() - t0}
        hist.rows.append(row)
        if progress:
            print(f"{label or 'epoch'} {epoch:>3}: train loss {tr['loss']:.3f} acc {tr['accuracy']:.3f} | "
                  f"val loss {va['loss']:.3f} acc {va['accuracy']:.3f}", flush=True)
        if va["loss"] < best_loss - 1e-6:
            best_loss, bad, hist.best_epoch = va["loss"], 0, epoch
            if keep_best:
                best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if patience is not None and bad >= patience:
                break
    if keep_best and best_state is not None:
        model.load_state_dict(best_state)
    if not keep_best:
        hist.best_epoch = hist.rows[-1]["epoch"]
    model.eval()
    hist.seconds = time.perf_counter() - t_start
    return hist


# -- showing results ---------------------------------------------------------------------------------------
def plot_curves(histories: dict[str, History] | Sequence[History], metric: str = "loss", ax=None,
                splits: Sequence[str] = ("train", "val"), title: str | None = None):
    """Curves of ``metric`` (``loss`` or ``accuracy``) per epoch: solid for validation, dashed for train."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    items = histories.items() if isinstance(histories, dict) else [(h.label, h) for h in histories]
    for i, (name, h) in enumerate(items):
        color = f"C{i % 10}"
        for split in splits:
            style = "-" if split == "val" else "--"
            ax.plot(h.column("epoch"), h.column(f"{split}_{metric}"), style, color=color,
                    label=f"{name} ({split})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return ax


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None, digits: int = 3) -> str:
    """A plain text table of dicts (floats rounded)."""
    if not rows:
        return "(empty)"
    columns = list(columns or rows[0].keys())

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.{digits}f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    body = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(columns)]
    # numbers to the right, text to the left
    numeric = [all(isinstance(r.get(c), (int, float)) or _is_number(r.get(c)) for r in rows) for c in columns]
    lines = ["  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(columns, widths, numeric)),
             "  ".join("-" * w for w in widths)]
    for b in body:
        lines.append("  ".join(x.rjust(w) if num else x.ljust(w) for x, w, num in zip(b, widths, numeric)))
    return "\n".join(lines)


def _is_number(v: Any) -> bool:
    try:
        float(str(v).replace(",", ""))
        return True
    except ValueError:
        return False


def result_row(name: str, model: nn.Module, hist: History, data: ExpertData, test: bool = False) -> dict:
    """One line of a comparison: parameters, the best epoch's train and validation accuracy (and test if asked)."""
    best = hist.best
    row = {"model": name, "parameters": count_parameters(model), "best_epoch": hist.best_epoch,
           "train_acc": best.get("train_accuracy", float("nan")), "val_acc": best.get("val_accuracy", float("nan")),
           "val_loss": best.get("val_loss", float("nan")), "seconds": f"{hist.seconds:.1f}"}
    if test:
        row["test_acc"] = evaluate(model, data, "test")["accuracy"]
    return row


# -- playing -----------------------------------------------------------------------------------------------
def classifier_meta(model: nn.Module, data_or_config: ExpertData | GameConfig, max_turns: int | None = None,
                    name: str = "") -> dict:
    """Checkpoint metadata (``pyrat_rl.agents.policy_agent.make_meta``, head ``classifier``): the classifier's kind
    and options, its encoder, the game config and turn limit of its data, rotation and masks as the data had."""
    from pyrat_rl.agents.policy_agent import CLASSIFIER, make_meta

    if isinstance(data_or_config, ExpertData):
        cfg, limit = data_or_config.config, data_or_config.max_turns
        extra = {"expert": data_or_config.expert}
    else:
        cfg, limit, extra = data_or_config, int(max_turns or default_max_turns(data_or_config)), {}
    kind = model.spec["kind"]
    return make_meta(kind, model.spec["kwargs"], {}, model.encoder_name, {"horizon": int(limit)}, cfg, rotate="auto",
                     masks=True, algorithm="supervised", head=CLASSIFIER, max_turns=int(limit), name=name,
                     description=f"{kind} classifier trained on expert moves", **extra)


def as_agent(model: nn.Module, data_or_config: ExpertData | GameConfig, name: str = "classifier",
             deterministic: bool = True, max_turns: int | None = None):
    """The classifier as a player (`pyrat_rl.agents.policy_agent.PolicyAgent`): it plays its most likely legal move."""
    from pyrat_rl.agents.policy_agent import agent_from_policy

    model.eval()
    return agent_from_policy(model, classifier_meta(model, data_or_config, max_turns, name), name=name,
                             deterministic=deterministic)


def save_classifier(model: nn.Module, path: str | Path, data_or_config: ExpertData | GameConfig,
                    name: str | None = None, max_turns: int | None = None) -> Path:
    """Write the checkpoint ``path`` (``.pt``, weights on the CPU, and its metadata as ``.json`` beside it).

    The file is the project's one checkpoint format (`pyrat_rl.agents.policy_agent.save_policy`): an agent spec
    for ``pyrat play`` and tournaments as it is.
    """
    from pyrat_rl.agents.policy_agent import meta_config, meta_encoder, save_policy

    meta = classifier_meta(model, data_or_config, max_turns, name or Path(path).stem)
    cfg = meta_config(meta)
    expected = list(meta_encoder(meta).shape(cfg.width, cfg.height))
    if list(model.spec["obs_shape"]) != expected:
        raise ValueError(f"the model reads observations {model.spec['obs_shape']}, but its encoder gives {expected} "
                         f"on the {cfg.width} x {cfg.height} mazes of the data it is saved with")
    return save_policy(path, model, meta)


def load_classifier(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """``(model, meta)`` of a classifier checkpoint (read by `pyrat_rl.agents.policy_agent.load_policy`, the one
    loader), in evaluation mode."""
    from pyrat_rl.agents.policy_agent import CLASSIFIER, head_of, load_policy

    meta, model = load_policy(path, device=str(resolve_device(device)))
    if head_of(meta) != CLASSIFIER:
        raise ValueError(f"{path}: a {head_of(meta)} checkpoint, not a classifier (play it with load_agent)")
    return model, meta



def saved_agents(folder: str | Path | None = None) -> dict[str, str]:
    """The players the notebooks saved in ``folder`` (default ``runs_dir("agents")``), as ``{name: spec}``.

    One entry per file stem: the checkpoint ``NAME.zip`` (PPO), else ``NAME.pt`` (classifiers, imitation
    policies), else ``NAME.onnx``. Each is an agent spec as it is. Sorted by name.
    """
    folder = Path(folder) if folder is not None else runs_dir("agents")
    out: dict[str, str] = {}
    if folder.is_dir():
        for stem in sorted({p.stem for p in folder.iterdir() if p.suffix in CHECKPOINT_SUFFIXES}):
            for suffix in CHECKPOINT_SUFFIXES:
                if (folder / f"{stem}{suffix}").is_file():
                    out[stem] = str(folder / f"{stem}{suffix}")
                    break
    return out
