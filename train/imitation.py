"""Supervised imitation of an expert: batched datasets of (observation, expert action, mask), and a training loop.

``pyrat train imitate --expert opportunist --games 2000 --policy cnn`` runs `train_imitation`:

1. **Data** (`generate_dataset`): the expert plays ``games`` games against opponents drawn from
   ``opponents`` (a weighted list, as in `pyrat_rl.train.selfplay.parse_mix`; ``expert`` means the expert itself, and
   then both seats are recorded), all stepped together in `GameBatch` es. Agents with a vectorised
   ``act_batch`` answer for every game at once; the others (a stateful expert such as ``opportunist``) get one
   instance per game, started with a `GameContext` and asked through ``act`` on ``batch.to_game(i)``. Every
   turn the expert is asked (not in mud) gives a sample. Samples are stored as compact game states (maze
   index, positions, mud, scores, turn, cheese mask) plus the expert action and the legal-action mask in the
   seat's view frame, and the discounted return of the env's ``score_diff`` reward from that turn (the value
   head's target). Observations are rebuilt per minibatch by the encoder's own batched code from per-maze
   templates (`StateDataset.encode`), so a dataset of thousands of games takes tens of MB, not GB.
   With ``dagger_rounds`` > 0, later rounds let the current network drive (DAgger) while the expert labels.
2. **Split by maze** into train / validation / test (``val_fraction``, ``test_fraction``): no maze is in two
   splits, so the scores measure play on mazes the network never saw.
3. **Training**: the same SB3 actor-critic policy PPO uses (`pyrat_rl.agents.policy_agent.build_policy`), trained with
   cross-entropy on the masked logits (illegal actions get ``MASKED_LOGIT``, MaskablePPO's -1e8, the one value
   used wherever actions are masked) plus ``value_coef`` times the value head's squared error, Adam, early
   stopping on the validation loss (``patience`` epochs), the best epoch's weights kept. Curves go to
   TensorBoard (``DIR/tb``); a final table gives loss and accuracy per split.
4. **Output**: ``DIR/best.pt`` (portable policy file with metadata: ``pyrat play DIR/best.pt greedy`` and
   ``pyrat train ppo --init DIR/best.pt``), ``DIR/config.json``, ``DIR/metrics.json``; with DAgger rounds also
   ``DIR/roundR.pt``, the network after round R (``round0.pt``: trained on the expert's games only).

**Several maze sizes** (``--presets official,classic,tournament``; ``preset`` holds the comma list): a network
that plays every size (``fcn``) learns them all with the same weights. The games are shared evenly by the
presets and each preset gets its own dataset (a `GameBatch` steps games of one size), split by maze on its own;
minibatches hold one size each (`MixedView`), in shuffled order; the turn feature has one horizon on every size
(the largest turn limit); the final table adds each preset's test split and the evaluation games are played on
every preset. The dataset lines report the expert positions recorded per second.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import pickle
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pyrat_rl.agents.networks import describe, encoder_for, history_planes, net_kwargs_for
from pyrat_rl.agents.policy_agent import MASKED_LOGIT

from pyrat_env.agent import Agent, GameContext
from pyrat_env.encoders import Encoder, action_mask_batch, make_encoder, position_planes
from pyrat_env.engine import ROTATED_ACTION, GameBatch, Maze
from pyrat_env.envs.gym_env import default_max_turns, resolve_rotate
from pyrat_env.mazes import GameConfig, new_game, preset
from pyrat_env.runtime import cpu_count, machine_info, resolve_device, set_threads

from .selfplay import parse_mix

EXPERT = "expert"


@dataclass(frozen=True)
class ImitationConfig:
    """Settings of an imitation run (saved as ``config.json`` in the run folder)."""

    expert: str = "opportunist"
    opponents: str = "greedy:3,random:1"
    games: int = 2000
    policy: str = "cnn"
    net_kwargs: dict | None = None
    net_arch: dict | None = None
    preset: str = "official"              # a preset, or several joined by commas (sizes: a size-free network)
    max_turns: int | None = None          # env turn limit (None: the envs' default, 4 * width * height)
    gamma: float = 0.99                   # discount of the value targets (PPO's)
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    epochs: int = 30
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-5
    value_coef: float = 0.02
    patience: int = 3
    dagger_rounds: int = 0
    dagger_games: int = 500
    chunk: int = 64                       # games stepped together while generating data
    workers: int = 0                      # processes generating data (0: one per core)
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None
    eval_games: int = 100                 # paired games against each eval opponent at the end (0: none)
    eval_opponents: tuple[str, ...] = ("greedy",)
    out: str = "runs/imitate"
    progress: bool = True
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> ImitationConfig:
        d = dict(d)
        if "eval_opponents" in d:
            d["eval_opponents"] = tuple(d["eval_opponents"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


# -- the dataset -----------------------------------------------------------------------------------------------
@dataclass
class StateDataset:
    """Samples as compact game states; `encode` turns any subset into observations ``[B, ...]``.

    Per sample: ``game`` (index into ``mazes`` / ``n_initial``), ``seat`` of the recorded player, ``rot`` (its
    view is rotated), ``turn``, ``pos``/``mud_target``/``mud_count``/``scores`` ``[M, 2]`` with the recorded
    player first, ``cheese`` ``[M, N]``, ``action`` (view frame), ``mask`` ``[M, 5]`` (view frame), ``ret``;
    ``prev_pos`` ``[M, 2]``: the cells of both (recorded player first) at the recorded player's previous decision
    in that game (`previous_positions`), what a network with history planes sees.
    """

    width: int
    height: int
    max_turns: int | None
    mazes: list[Maze]
    n_initial: np.ndarray
    game: np.ndarray
    seat: np.ndarray
    rot: np.ndarray
    turn: np.ndarray
    pos: np.ndarray
    mud_target: np.ndarray
    mud_count: np.ndarray
    scores: np.ndarray
    cheese: np.ndarray
    action: np.ndarray
    mask: np.ndarray
    ret: np.ndarray
    prev_pos: np.ndarray

    def __len__(self) -> int:
        return len(self.action)

    def subset(self, idx: np.ndarray) -> StateDataset:
        per_sample = ("game", "seat", "rot", "turn", "pos", "mud_target", "mud_count", "scores", "cheese",
                      "action", "mask", "ret", "prev_pos")
        return replace(self, **{k: getattr(self, k)[idx] for k in per_sample})

    @staticmethod
    def concat(parts: list[StateDataset]) -> StateDataset:
        """Datasets joined (mazes appended, game indices shifted)."""
        first = parts[0]
        mazes: list[Maze] = []
        games, n_init = [], []
        for p in parts:
            games.append(p.game + len(mazes))
            mazes += p.mazes
            n_init.append(p.n_initial)
        cat = {k: np.concatenate([getattr(p, k) for p in parts]) for k in
               ("seat", "rot", "turn", "pos", "mud_target", "mud_count", "scores", "cheese", "action", "mask", "ret",
                "prev_pos")}
        return StateDataset(first.width, first.height, first.max_turns, mazes, np.concatenate(n_init),
                            np.concatenate(games), **cat)

    def maze_groups(self) -> np.ndarray:
        """A group id per game: games on the same maze share it."""
        ids: dict[bytes, int] = {}
        return np.array([ids.setdefault(m.key(), len(ids)) for m in self.mazes], dtype=np.int64)

    def encoder_view(self, encoder: Encoder, history: int = 0) -> DatasetEncoder:
        return DatasetEncoder(self, encoder, history)


def previous_positions(game: np.ndarray, seat: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``[M, 2]``: for each sample, ``pos`` of the previous sample of the same game and seat (samples in the order
    played; each is a decision), or its own ``pos`` for the first. What `pyrat_rl.agents.policy_agent.PolicyAgent`
    remembers for a network with history planes."""
    m = len(game)
    order = np.lexsort((np.arange(m), np.asarray(seat), np.asarray(game)))
    g, s = np.asarray(game)[order], np.asarray(seat)[order]
    same = np.zeros(m, dtype=bool)
    same[1:] = (g[1:] == g[:-1]) & (s[1:] == s[:-1])
    src = order.copy()
    src[1:] = np.where(same[1:], order[:-1], order[1:])
    prev = np.empty(m, dtype=np.int64)
    prev[order] = src
    return np.asarray(pos)[prev]


class DatasetEncoder:
    """Observations of dataset samples, built with the encoder's batched code from per-(maze, rotation) templates;
    with ``history`` 2, followed by the history planes of the samples' ``prev_pos``."""

    def __init__(self, data: StateDataset, encoder: Encoder, history: int = 0) -> None:
        self.data, self.encoder, self.history = data, encoder, int(history)
        keys = sorted(set(zip(data.game.tolist(), data.rot.tolist())))
        self.index = {k: i for i, k in enumerate(keys)}
        self.templates = np.stack([encoder.template(data.mazes[g], bool(r)) for g, r in keys]) if keys else \
            encoder.zeros((0,), data.width, data.height)
        self.sample_template = np.array([self.index[(g, r)] for g, r in zip(data.game.tolist(), data.rot.tolist())],
                                        dtype=np.int64)

    def encode(self, idx: np.ndarray) -> np.ndarray:
        d = self.data
        idx = np.asarray(idx, dtype=np.int64)
        enc = self.encoder.batch(len(idx), d.width, d.height, player=0)
        enc.static = self.templates[self.sample_template[idx]]
        enc.rotate = d.rot[idx]
        enc.n_initial = d.n_initial[d.game[idx]].astype(np.float32)
        cheese = d.cheese[idx]
        fake = SimpleNamespace(cheese=cheese, pos=d.pos[idx].astype(np.int64),
                               mud_target=d.mud_target[idx].astype(np.int64),
                               mud_count=d.mud_count[idx].astype(np.int64), scores=d.scores[idx].astype(np.float64),
                               turn=d.turn[idx].astype(np.int64), n_cheese=cheese.sum(axis=1), n_players=2,
                               max_turns=d.max_turns, batch_size=len(idx))
        obs = enc.encode(fake)
        if self.history:
            planes = position_planes(d.prev_pos[idx].astype(np.int64), d.rot[idx], d.width, d.height)
            obs = np.concatenate([obs, planes], axis=1)
        return obs

    def batches(self, idx: np.ndarray, batch_size: int) -> list[tuple[DatasetEncoder, np.ndarray]]:
        """``idx`` cut every ``batch_size`` samples, in order (the interface of `MixedView`)."""
        return [(self, idx[lo:lo + batch_size]) for lo in range(0, len(idx), batch_size)]


class MixedView:
    """Several `DatasetEncoder` s, one maze size each, as one dataset (``pyrat train imitate --presets``).

    Sample ``i`` of the whole is sample ``i - offsets[k]`` of part ``k``. A network that plays every size
    trains on all of them, but one minibatch holds one size (`batches`): observations of different sizes
    cannot share a tensor.
    """

    def __init__(self, views: list[DatasetEncoder]) -> None:
        self.views = list(views)
        self.offsets = np.cumsum([0] + [len(v.data) for v in self.views])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def batches(self, idx: np.ndarray, batch_size: int) -> list[tuple[DatasetEncoder, np.ndarray]]:
        """``idx`` (whole-dataset indices) in minibatches of one part each: each part's samples in their order in
        ``idx``, cut every ``batch_size``; the batches of all parts interleaved by where they start in ``idx``
        (a shuffled ``idx`` gives a shuffled order of sizes)."""
        idx = np.asarray(idx, dtype=np.int64)
        part = np.searchsorted(self.offsets, idx, side="right") - 1
        out = []
        for k, view in enumerate(self.views):
            pos = np.flatnonzero(part == k)
            for lo in range(0, len(pos), batch_size):
                sel = pos[lo:lo + batch_size]
                out.append((int(sel[0]), k, view, idx[sel] - self.offsets[k]))
        out.sort(key=lambda t: t[:2])
        return [(view, b) for _, _, view, b in out]


def _is_batched(agent: Agent) -> bool:
    """Agents whose ``act_batch`` is vectorised (and who need no per-game state) are asked once for all games."""
    return type(agent).act_batch is not Agent.act_batch


def _resolve(spec: Any) -> Agent:
    if isinstance(spec, Agent):
        return spec
    from pyrat_rl.agents.spec import resolve_agent

    return resolve_agent(spec)


def _data_seed(seed: int, k: int, stream: int) -> int:
    """Game seeds for datasets: a stream of their own, distinct from the evaluation series (`game_seed`)."""
    state = np.random.SeedSequence([int(seed), int(k), 1 + int(stream)]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


class _SeatPlayers:
    """Who plays one seat in every game of a chunk: one shared batched agent per spec, or one instance per game."""

    def __init__(self, specs: list[Any], seat: int) -> None:
        self.seat = seat
        self.shared: dict[str, Agent] = {}
        self.rows: list[Agent] = []
        self.group: list[str] = []
        for spec in specs:
            key = spec if isinstance(spec, str) else f"obj{id(spec)}"
            agent = spec if isinstance(spec, Agent) else None
            if key not in self.shared:
                self.shared[key] = agent if agent is not None else _resolve(spec)
            shared = self.shared[key]
            if _is_batched(shared):
                self.rows.append(shared)
            else:
                self.rows.append(_resolve(spec) if isinstance(spec, str) else shared)
            self.group.append(key)

    def start(self, batch: GameBatch, seeds: list[int]) -> None:
        for i, agent in enumerate(self.rows):
            if not _is_batched(agent):
                g = batch.to_game(i)
                agent.start(GameContext(maze=g.maze, seat=self.seat, n_players=2, cheese=tuple(g.initial_cheese),
                                        starts=tuple(g.starts), rng=np.random.default_rng([seeds[i], self.seat]),
                                        game=g.copy()))
            else:
                agent.rng = np.random.default_rng([seeds[i], self.seat, 1])

    def act(self, batch: GameBatch) -> np.ndarray:
        out = np.zeros(batch.batch_size, dtype=np.int64)
        free = ~batch.over & (batch.mud_target[:, self.seat] < 0)
        done_groups: set[str] = set()
        for i, agent in enumerate(self.rows):
            if not free[i]:
                continue
            if _is_batched(agent):
                key = self.group[i]
                if key in done_groups:
                    continue
                done_groups.add(key)
                rows = np.array([j for j in range(len(self.rows)) if self.group[j] == key and free[j]])
                out[rows] = np.asarray(agent.act_batch(batch, self.seat), dtype=np.int64)[rows]
            else:
                from pyrat_env.agent import to_action_index

                out[i] = to_action_index(agent.act(batch.to_game(i), self.seat))
        return out


def generate_dataset(expert: Any, opponents: str, games: int, config: GameConfig, seed: int = 0,
                     max_turns: int | None = None, gamma: float = 0.99, chunk: int = 64, driver: Any = None,
                     progress: bool = False, stream: int = 0, first: int = 0, workers: int = 1) -> StateDataset:
    """Play ``games`` games of ``expert`` against ``opponents`` and record the expert's decisions (module docstring).

    ``driver`` (an `Agent` or an agent spec such as a checkpoint path, optional): when given it chooses the
    recorded seats' moves while the expert only labels them (DAgger). A spec travels to worker processes, each
    loading its own copy; an agent object that cannot be pickled makes the games play in this process.
    ``max_turns``: the env limit (also the horizon of the turn feature, unless the encoder has a fixed one).
    ``first``: number of the first game (datasets of several presets number their
    games one after the other, so no two draw the same seeds). ``workers``: processes playing chunks of games
    at once (0: one per core); every chunk draws its games from its own seeds, so the dataset is the same
    whatever the number of workers.
    """
    mix = parse_mix(opponents)
    starts = list(range(0, games, chunk))
    workers = resolve_workers(workers, len(starts))
    if workers > 1 and driver is not None:
        try:
            pickle.dumps(driver)
        except Exception:  # an agent that cannot travel to another process: play here
            workers = 1
    if workers <= 1:
        with _tables_cache(chunk):
            return _generate(expert, mix, games, config, seed, max_turns, gamma, chunk, driver, progress, stream,
                             first)
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    args = [(expert, mix, min(chunk, games - lo), config, seed, max_turns, gamma, chunk, driver, False, stream,
             first + lo) for lo in starts]
    parts: list[StateDataset] = [None] * len(args)  # type: ignore[list-item]
    ctx = multiprocessing.get_context("spawn")        # no fork of a parent holding torch threads
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init) as pool, \
            tqdm(total=games, desc=f"playing ({workers} processes)", unit="game", disable=not progress,
                 leave=False) as bar:
        futures = {pool.submit(_generate_chunk, a): k for k, a in enumerate(args)}
        for fut in as_completed(futures):
            k = futures[fut]
            parts[k] = fut.result()
            bar.update(args[k][2])
    return StateDataset.concat(parts)


def resolve_workers(workers: int | None, tasks: int) -> int:
    """Processes for ``tasks`` independent tasks: ``workers`` (0 or None: one per core), never more than the tasks."""
    n = int(workers) if workers else cpu_count()
    return max(1, min(n, tasks))


def _worker_init() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency of training
        pass


def _generate_chunk(args: tuple) -> StateDataset:
    """One chunk of `generate_dataset`, in a worker process."""
    chunk = args[7]
    with _tables_cache(chunk):
        return _generate(*args)


@contextlib.contextmanager
def _tables_cache(size: int):
    """Let the planning experts of ``pyrat_rl.agents.scripted`` cache the tables of ``size`` mazes meanwhile.

    They keep per-maze tables for a few recent mazes only (``TABLES_CACHED``); a chunk interleaves more games
    than that, which would rebuild the tables of every game at every turn.
    """
    import pyrat_rl.agents.scripted as scripted

    old = getattr(scripted, "TABLES_CACHED", None)
    if isinstance(old, int) and old < size:
        scripted.TABLES_CACHED = size
    try:
        yield
    finally:
        if isinstance(old, int):
            scripted.TABLES_CACHED = old


def _generate(expert: Any, mix: list[tuple[str, float]], games: int, config: GameConfig, seed: int,
              max_turns: int | None, gamma: float, chunk: int, driver: Any, progress: bool,
              stream: int, first: int = 0) -> StateDataset:
    from tqdm import tqdm

    weights = np.array([w for _, w in mix])
    weights = weights / weights.sum()
    rotate_seat1 = resolve_rotate("auto", config)
    if driver is not None:
        driver = _resolve(driver)   # once for every chunk (a checkpoint path is loaded here)
    parts: list[dict[str, list]] = []
    mazes: list[Maze] = []
    n_initial: list[int] = []
    rewards_per_game: list[np.ndarray] = []
    bar = tqdm(total=games, desc="playing", unit="game", disable=not progress, leave=False)
    for lo in range(0, games, chunk):
        n = min(chunk, games - lo)
        rng = np.random.default_rng([seed, 97, stream, first + lo])   # per chunk: the same whatever the workers
        seeds = [_data_seed(seed, first + lo + i, stream) for i in range(n)]
        setups = [new_game(config, s) for s in seeds]
        opp_specs = [mix[int(rng.choice(len(mix), p=weights))][0] for _ in range(n)]
        expert_seat = rng.integers(0, 2, size=n)
        seat_specs: list[list[Any]] = [[None] * n, [None] * n]
        record = np.zeros((n, 2), dtype=bool)
        for i in range(n):
            e = int(expert_seat[i])
            seat_specs[e][i] = expert
            seat_specs[1 - e][i] = expert if opp_specs[i] == EXPERT else opp_specs[i]
            record[i, e] = True
            record[i, 1 - e] = opp_specs[i] == EXPERT
        batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups], None,
                          max_turns)
        players = [_SeatPlayers(seat_specs[0], 0), _SeatPlayers(seat_specs[1], 1)]
        drivers = None if driver is None else [driver, driver]
        for p in players:
            p.start(batch, seeds)
        batch.step(np.zeros((n, 2), dtype=np.int64))       # turn 0
        rot = np.zeros((n, 2), dtype=bool)
        rot[:, 1] = rotate_seat1               # the envs rotate seat 1 on symmetric configs
        game_base = len(mazes)
        mazes += [s.maze for s in setups]
        n_initial += [len(s.cheese) for s in setups]
        rew = [[] for _ in range(n)]
        rec: dict[str, list] = {k: [] for k in ("game", "seat", "rot", "turn", "pos", "mud_target", "mud_count",
                                                "scores", "cheese", "action", "mask", "step")}
        while not batch.over.all():
            labels = np.stack([players[0].act(batch), players[1].act(batch)], axis=1)
            actions = labels.copy()
            if drivers is not None:
                for s in (0, 1):
                    if record[:, s].any():
                        d = np.asarray(drivers[s].act_batch(batch, s), dtype=np.int64)
                        actions[:, s] = np.where(record[:, s], d, actions[:, s])
            live = ~batch.over
            for s in (0, 1):
                rows = np.flatnonzero(live & record[:, s] & (batch.mud_target[:, s] < 0))
                if len(rows) == 0:
                    continue
                o = 1 - s
                r = rot[rows, s]
                view_action = np.where(r, _ROT[labels[rows, s]], labels[rows, s])
                rec["game"].append(game_base + rows)
                rec["seat"].append(np.full(len(rows), s, dtype=np.int8))
                rec["rot"].append(r)
                rec["turn"].append(batch.turn[rows].astype(np.int32))
                rec["pos"].append(batch.pos[rows][:, [s, o]].astype(np.int16))
                rec["mud_target"].append(batch.mud_target[rows][:, [s, o]].astype(np.int16))
                rec["mud_count"].append(batch.mud_count[rows][:, [s, o]].astype(np.int16))
                rec["scores"].append(batch.scores[rows][:, [s, o]].astype(np.float32))
                rec["cheese"].append(batch.cheese[rows].copy())
                rec["action"].append(view_action.astype(np.int8))
                rec["mask"].append(action_mask_batch(batch, s, rot[:, s])[rows])
                rec["step"].append(batch.turn[rows].astype(np.int32))
            before = batch.over.copy()
            gains = batch.step(actions)
            for i in np.flatnonzero(~before):
                rew[i].append(gains[i, 0] - gains[i, 1])
            bar.update(int((batch.over & ~before).sum()))
        for i in range(n):
            rewards_per_game.append(np.asarray(rew[i], dtype=np.float64))
        parts.append(rec)
    bar.close()
    # discounted returns of score_diff for seat 0 (seat 1's is the negative), from each turn on
    returns0 = []
    for r in rewards_per_game:
        g = np.zeros(len(r) + 1)
        for t in range(len(r) - 1, -1, -1):
            g[t] = r[t] + gamma * g[t + 1]
        returns0.append(g)
    cat = {k: np.concatenate([np.concatenate(p[k]) if p[k] else np.zeros(0) for p in parts]) for k in parts[0]}
    game_idx = cat["game"].astype(np.int64)
    seat = cat["seat"].astype(np.int8)
    step = cat["step"].astype(np.int64) - 1             # rewards are listed from turn 1 on
    ret = np.array([returns0[g][t] for g, t in zip(game_idx.tolist(), step.tolist())], dtype=np.float32)
    ret = np.where(seat == 0, ret, -ret).astype(np.float32)
    w, h = config.width, config.height
    pos = cat["pos"].reshape(-1, 2).astype(np.int16)
    return StateDataset(
        width=w, height=h, max_turns=max_turns, mazes=mazes, n_initial=np.asarray(n_initial, dtype=np.int64),
        game=game_idx, seat=seat, rot=cat["rot"].astype(bool), turn=cat["turn"].astype(np.int32),
        pos=pos, mud_target=cat["mud_target"].reshape(-1, 2).astype(np.int16),
        mud_count=cat["mud_count"].reshape(-1, 2).astype(np.int16), scores=cat["scores"].reshape(-1, 2),
        cheese=cat["cheese"].reshape(-1, w * h).astype(bool), action=cat["action"].astype(np.int64),
        mask=cat["mask"].reshape(-1, 5).astype(bool), ret=ret, prev_pos=previous_positions(game_idx, seat, pos))


_ROT = ROTATED_ACTION  # the real action of a rotated view's action (and back)


def split_by_maze(data: StateDataset, val_fraction: float, test_fraction: float, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample indices of the train, validation and test splits; every maze falls in exactly one split."""
    groups = data.maze_groups()
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    perm = np.random.default_rng([seed, 13]).permutation(n_groups)
    n_test = int(round(n_groups * test_fraction))
    n_val = int(round(n_groups * val_fraction))
    if n_groups >= 3:
        n_test, n_val = max(n_test, 1 if test_fraction > 0 else 0), max(n_val, 1 if val_fraction > 0 else 0)
    which = np.zeros(n_groups, dtype=np.int64)           # 0 train, 1 val, 2 test
    which[perm[:n_test]] = 2
    which[perm[n_test:n_test + n_val]] = 1
    split_of_sample = which[groups[data.game]]
    return tuple(np.flatnonzero(split_of_sample == k) for k in range(3))  # type: ignore[return-value]


# -- training ----------------------------------------------------------------------------------------------------
def _losses(policy, obs: torch.Tensor, actions: torch.Tensor, masks: torch.Tensor, returns: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(cross-entropy, value squared error, correct predictions) for a minibatch."""
    features = policy.extract_features(obs, policy.pi_features_extractor)
    latent_pi, latent_vf = policy.mlp_extractor(features)
    logits = policy.action_net(latent_pi).masked_fill(~masks, MASKED_LOGIT)
    values = policy.value_net(latent_vf).squeeze(-1)
    ce = F.cross_entropy(logits, actions)
    mse = F.mse_loss(values, returns)
    correct = (logits.argmax(dim=1) == actions).sum()
    return ce, mse, correct


def _batches(view: DatasetEncoder | MixedView, idx: np.ndarray, batch_size: int, device: torch.device):
    for part, b in view.batches(idx, batch_size):
        d = part.data
        yield (torch.as_tensor(part.encode(b), device=device), torch.as_tensor(d.action[b], device=device),
               torch.as_tensor(d.mask[b], device=device), torch.as_tensor(d.ret[b], device=device))


def evaluate_split(policy, view: DatasetEncoder | MixedView, idx: np.ndarray, batch_size: int = 2048,
                   device: torch.device | str = "cpu") -> dict:
    """Mean cross-entropy, value error and accuracy of the policy on the samples ``idx``."""
    if len(idx) == 0:
        return {"loss": float("nan"), "value_mse": float("nan"), "accuracy": float("nan"), "samples": 0}
    policy.set_training_mode(False)
    ce_sum = mse_sum = correct = 0.0
    with torch.no_grad():
        for obs, act, mask, ret in _batches(view, idx, batch_size, torch.device(device)):
            ce, mse, c = _losses(policy, obs, act, mask, ret)
            ce_sum += float(ce) * len(act)
            mse_sum += float(mse) * len(act)
            correct += float(c)
    n = len(idx)
    return {"loss": ce_sum / n, "value_mse": mse_sum / n, "accuracy": correct / n, "samples": int(n)}


def fit(policy, view: DatasetEncoder | MixedView, train_idx: np.ndarray, val_idx: np.ndarray, epochs: int,
        batch_size: int, lr: float, weight_decay: float, value_coef: float, patience: int, seed: int,
        device: torch.device | str, writer=None, progress: bool = False, log_offset: int = 0) -> dict:
    """Supervised training with early stopping on the validation loss; the best epoch's weights are loaded back."""
    from tqdm import tqdm

    device = torch.device(device)
    opt = torch.optim.Adam(policy.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1), eta_min=lr * 0.05)
    rng = np.random.default_rng([seed, 29])
    best = {"val_loss": math.inf, "epoch": -1, "state": None}
    history = []
    bad = 0
    steps_per_epoch = len(view.batches(train_idx, batch_size)) if isinstance(view, MixedView) else \
        math.ceil(len(train_idx) / batch_size)
    bar = tqdm(total=epochs * steps_per_epoch, desc="training", unit="batch", disable=not progress, leave=False)
    for epoch in range(epochs):
        policy.set_training_mode(True)
        order = train_idx[rng.permutation(len(train_idx))]
        ce_sum = correct = n_seen = 0.0
        t0 = time.perf_counter()
        for obs, act, mask, ret in _batches(view, order, batch_size, device):
            ce, mse, c = _losses(policy, obs, act, mask, ret)
            loss = ce + value_coef * mse
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
            ce_sum += float(ce.detach()) * len(act)
            correct += float(c)
            n_seen += len(act)
            bar.update(1)
        sched.step()
        train_loss, train_acc = ce_sum / max(n_seen, 1), correct / max(n_seen, 1)
        val = evaluate_split(policy, view, val_idx, device=device)
        row = {"epoch": epoch + log_offset, "train_loss": train_loss, "train_accuracy": train_acc,
               "val_loss": val["loss"], "val_accuracy": val["accuracy"], "val_value_mse": val["value_mse"],
               "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        history.append(row)
        line = (f"epoch {epoch + log_offset:>3}: train loss {train_loss:.4f} acc {100 * train_acc:.2f}% | "
                f"val loss {val['loss']:.4f} acc {100 * val['accuracy']:.2f}% | {row['seconds']:.0f} s")
        if progress:
            bar.write(line)
        else:
            print(line, flush=True)
        if writer is not None:
            step = epoch + log_offset
            writer.add_scalar("loss/train", train_loss, step)
            writer.add_scalar("accuracy/train", train_acc, step)
            writer.add_scalar("loss/val", val["loss"], step)
            writer.add_scalar("accuracy/val", val["accuracy"], step)
            writer.add_scalar("value_mse/val", val["value_mse"], step)
            writer.add_scalar("lr", row["lr"], step)
        score = val["loss"] if len(val_idx) else train_loss
        if score < best["val_loss"] - 1e-5:
            best = {"val_loss": score, "epoch": epoch + log_offset,
                    "state": {k: v.detach().clone() for k, v in policy.state_dict().items()}}
            bad = 0
        else:
            bad += 1
            if bad >= patience:
                break
    bar.close()
    if best["state"] is not None:
        policy.load_state_dict(best["state"])
    policy.set_training_mode(False)
    return {"history": history, "best_epoch": best["epoch"], "best_val_loss": best["val_loss"]}


def format_table(rows: dict[str, dict]) -> str:
    """The final table: loss and accuracy per split."""
    w = max([6] + [len(name) for name in rows])
    lines = [f"{'split':<{w}} {'samples':>9} {'loss':>8} {'accuracy':>9} {'value mse':>10}"]
    for name, r in rows.items():
        lines.append(f"{name:<{w}} {r['samples']:>9,} {r['loss']:>8.4f} {100 * r['accuracy']:>8.2f}% "
                     f"{r['value_mse']:>10.3f}")
    return "\n".join(lines)


def preset_names(text: str) -> list[str]:
    """The presets of ``preset`` (one name, or several joined by commas), each checked (ValueError otherwise)."""
    names = [p.strip() for p in str(text).split(",") if p.strip()]
    if not names:
        raise ValueError(f"no preset in {text!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"a preset is listed twice in {text!r}")
    for name in names:
        preset(name)
    return names


def check_sizes(policy: str, configs: list[GameConfig], names: list[str]) -> None:
    """Several maze sizes need a network that plays every size (ValueError otherwise)."""
    from pyrat_rl.agents.networks import NETWORKS, size_free

    sizes = {(c.width, c.height) for c in configs}
    if len(sizes) > 1 and not size_free(policy):
        free = [n for n in NETWORKS if size_free(n)]
        raise ValueError(f"presets {', '.join(names)} have {len(sizes)} maze sizes, but the {policy} network plays one "
                         f"size; use a network that plays every size ({', '.join(free)})")


def split_count(total: int, parts: int) -> list[int]:
    """``total`` games shared by ``parts`` presets as evenly as possible (the first ones get the remainder)."""
    return [total // parts + (k < total % parts) for k in range(parts)]


def reserve_caches(parts: list[StateDataset]) -> None:
    """Make the networks' travel-time caches hold every maze of the datasets (both views of a symmetric one), so
    that an epoch computes each maze's travel times once (`pyrat_rl.agents.networks.reserve_distance_cache`)."""
    from pyrat_rl.agents.networks import reserve_distance_cache

    sizes: dict[tuple[int, int], int] = {}
    for p in parts:
        key = (p.height, p.width)
        sizes[key] = sizes.get(key, 0) + 2 * len(p.mazes)
    for (h, w), mazes in sizes.items():
        reserve_distance_cache(h, w, mazes)


def train_imitation(cfg: ImitationConfig) -> dict:
    """Run the whole imitation pipeline (module docstring); returns the summary also written to ``metrics.json``.

    With several presets (``cfg.preset`` = ``"official,classic,tournament"``; a network that plays every size)
    the games are shared evenly by the presets, each dataset is split by maze on its own, minibatches hold one
    size each (`MixedView`), the turn feature has one horizon for all (the largest turn limit), and the
    evaluation games are played on every preset.
    """
    from pyrat_rl.agents.policy_agent import agent_from_policy, build_policy, make_meta, save_policy
    from torch.utils.tensorboard import SummaryWriter

    from .evaluate import evaluate

    t_start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    threads = set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    names = preset_names(cfg.preset)
    configs = [preset(name) for name in names]
    check_sizes(cfg.policy, configs, names)
    mixed = len(names) > 1
    game_cfg = configs[0]
    limits = [cfg.max_turns or default_max_turns(c) for c in configs]
    max_turns = limits[0]
    # one horizon for the turn feature on every size (a network sees "moves played / horizon" the same way on all)
    horizon = max(limits)
    encoder_name = encoder_for(cfg.policy)
    net_kwargs = net_kwargs_for(cfg.policy, cfg.net_kwargs)
    from pyrat_rl.agents.networks import NETWORKS

    net_arch = dict(cfg.net_arch or NETWORKS[cfg.policy][3])
    extra = {"presets": names, "preset_max_turns": dict(zip(names, limits))} if mixed else {}
    meta = make_meta(cfg.policy, net_kwargs, net_arch, encoder_name, {"horizon": horizon}, game_cfg,
                     rotate="auto", masks=True, algorithm="imitation", expert=cfg.expert,
                     max_turns=horizon if mixed else max_turns, **extra)
    (out / "config.json").write_text(json.dumps({"config": cfg.to_dict(), "meta": meta, "machine": machine_info()},
                                                indent=1) + "\n")
    # one preset: the turn feature's horizon is the game's limit, which is ``horizon``; several: ``horizon`` always
    encoder = make_encoder(encoder_name, horizon=horizon, horizon_from_game=not mixed)
    n_history = history_planes(cfg.policy, net_kwargs)   # planes of the players' previous cells (fcn's history)
    policy = build_policy(meta, lr=cfg.lr, device=device)
    print(describe(policy, cfg.policy), flush=True)
    writer = SummaryWriter(str(out / "tb"))

    expert = cfg.expert
    counts = split_count(cfg.games, len(names))
    parts: list[StateDataset] = []
    datasets = {}
    for k, (name, game_config, limit, n_games) in enumerate(zip(names, configs, limits, counts)):
        t0 = time.perf_counter()
        part = generate_dataset(expert, cfg.opponents, n_games, game_config, seed=cfg.seed, max_turns=limit,
                                gamma=cfg.gamma, chunk=cfg.chunk, progress=cfg.progress, first=sum(counts[:k]),
                                workers=cfg.workers)
        seconds = time.perf_counter() - t0
        parts.append(part)
        datasets[name] = {"games": n_games, "samples": len(part), "seconds": round(seconds, 1),
                          "positions_per_s": round(len(part) / seconds, 1) if seconds > 0 else None}
        label = f" on {name} ({game_config.width}x{game_config.height})" if mixed else ""
        print(f"dataset{label}: {len(part):,} samples from {n_games} games in {seconds:.1f} s "
              f"({len(part) / max(seconds, 1e-9):,.0f} expert positions/s)", flush=True)
    reserve_caches(parts)
    gen_seconds = sum(d["seconds"] for d in datasets.values())
    n_samples = sum(len(p) for p in parts)
    splits = [list(split_by_maze(p, cfg.val_fraction, cfg.test_fraction, cfg.seed)) for p in parts]

    def whole() -> tuple[DatasetEncoder | MixedView, list[np.ndarray]]:
        """The view of every part and the train / validation / test indices into it."""
        if not mixed:
            return parts[0].encoder_view(encoder, n_history), splits[0]
        v = MixedView([p.encoder_view(encoder, n_history) for p in parts])
        return v, [np.concatenate([sp[s] + v.offsets[k] for k, sp in enumerate(splits)]) for s in range(3)]

    view, (train_idx, val_idx, test_idx) = whole()
    result = fit(policy, view, train_idx, val_idx, cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay,
                 cfg.value_coef, cfg.patience, cfg.seed, device, writer, cfg.progress)
    history = list(result["history"])

    def save_round(r: int) -> Path | None:
        """``DIR/roundR.pt``: the network after round ``r`` (0: the expert's games only), for ablations; the
        learner of the next DAgger round is loaded from it (a path travels to worker processes)."""
        if cfg.dagger_rounds:
            stats = {"samples": sum(len(p) for p in parts), "dagger_round": r,
                     "train_seconds": round(time.perf_counter() - t_start, 1)}
            return save_policy(out / f"round{r}.pt", policy, dict(meta, stats=stats))
        return None

    learner = save_round(0)
    for r in range(cfg.dagger_rounds):
        added = 0
        more_counts = split_count(cfg.dagger_games, len(names))
        for k, (game_config, limit, n_games) in enumerate(zip(configs, limits, more_counts)):
            more = generate_dataset(expert, cfg.opponents, n_games, game_config, seed=cfg.seed, max_turns=limit,
                                    gamma=cfg.gamma, chunk=cfg.chunk, driver=str(learner), progress=cfg.progress,
                                    stream=r + 1, first=sum(more_counts[:k]), workers=cfg.workers)
            # new games go to the training split only (their mazes are new, so no maze crosses splits)
            n_old = len(parts[k])
            parts[k] = StateDataset.concat([parts[k], more])
            splits[k][0] = np.concatenate([splits[k][0], n_old + np.arange(len(more))])
            added += len(more)
        reserve_caches(parts)
        view, (train_idx, val_idx, test_idx) = whole()
        n_samples = sum(len(p) for p in parts)
        print(f"DAgger round {r + 1}: +{added:,} samples (learner driving), {n_samples:,} in all", flush=True)
        result = fit(policy, view, train_idx, val_idx, cfg.epochs, cfg.batch_size, cfg.lr * 0.5, cfg.weight_decay,
                     cfg.value_coef, cfg.patience, cfg.seed + r + 1, device, writer, cfg.progress,
                     log_offset=len(history))
        history += result["history"]
        learner = save_round(r + 1)
    table = {"train": evaluate_split(policy, view, train_idx, device=device),
             "val": evaluate_split(policy, view, val_idx, device=device),
             "test": evaluate_split(policy, view, test_idx, device=device)}
    if mixed:   # the test split of each size on its own
        for k, name in enumerate(names):
            table[f"test {name}"] = evaluate_split(policy, view.views[k], splits[k][2], device=device)
    for split, r in table.items():
        writer.add_scalar(f"final/loss_{split.replace(' ', '_')}", r["loss"], 0)
        writer.add_scalar(f"final/accuracy_{split.replace(' ', '_')}", r["accuracy"], 0)
    train_seconds = time.perf_counter() - t_start
    meta = dict(meta, stats={"samples": n_samples, "games": cfg.games, "test_accuracy": table["test"]["accuracy"],
                             "train_seconds": round(train_seconds, 1)})
    best = save_policy(out / "best.pt", policy, meta)
    evals = {}
    if cfg.eval_games:
        agent = agent_from_policy(policy, meta, name="imitation")
        for name, game_config, limit in zip(names, configs, limits):
            for opp in cfg.eval_opponents:
                res = evaluate(agent, opp, games=cfg.eval_games, seed=10_000 + cfg.seed, config=game_config,
                               max_turns=limit)
                key = f"{opp}@{name}" if mixed else opp
                evals[key] = res.to_dict()
                writer.add_scalar(f"eval/points_{key.replace('@', '_')}", res.points, 0)
                print(res.summary(f"imitation{f' ({name})' if mixed else ''}", opp), flush=True)
    writer.close()
    summary = {"samples": n_samples, "generation_seconds": round(gen_seconds, 1),
               "positions_per_s": round(n_samples / gen_seconds, 1) if gen_seconds > 0 else None,
               "splits": table, "best_epoch": result["best_epoch"], "history": history, "eval": evals,
               "seconds": round(time.perf_counter() - t_start, 1), "threads": threads, "device": str(device),
               "checkpoint": str(best)}
    if mixed:
        summary["datasets"] = datasets
    (out / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(format_table(table), flush=True)
    print(f"saved {best} ({best.stat().st_size / 1e6:.2f} MB) in {summary['seconds']:.0f} s", flush=True)
    return summary
