"""Self-supervised pretraining on PyRat mazes (the masked-cell pretext task), then fine-tuning on few expert labels.

A *pretext task* needs no expert: its labels come from the input itself. Here some cells of the maze are
hidden (their content replaced by a learned mask embedding, their position kept) and a transformer
(`pyrat_rl.agents.networks.TransformerPolicyNet`) learns to predict what they hold: the four walls, whether each
move crosses mud, and whether the cell is a hole (`TARGETS`, the maze channels of ``pyrat_env.encoders``).
To do well it must learn how mazes are built (a wall seen from one side is a wall from the other, the
border is closed, holes come in clusters, mud sits on passages) from any number of unlabelled mazes.

The pretrained encoder is then *particularised* to the real task, predicting the expert's move, with few
labelled games: `fine_tune_model` copies it (optionally freezing everything but the output layer: a
*linear probe*), and `pyrat_rl.train.supervised.fit` trains it, to be compared with the same model trained from
scratch on the same labels.

* `unlabelled_data`: positions from games between random players (no expert), a few per maze, on mazes
  other than the expert data's (another seed), split by maze into train and validation.
* `random_cell_mask`, `pretext_targets`, `MaskedCellModel` (backbone + per-cell head), `pretext_loss`.
* `pretrain` (curves in a `pyrat_rl.train.supervised.History`), `evaluate_pretext` (accuracy per target group on the
  hidden cells, next to the majority-class baseline that a model learning nothing would reach).
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pyrat_env.encoders import CELL_CHANNELS, N_STATIC
from pyrat_env.mazes import GameConfig
from pyrat_env.runtime import resolve_device

from .imitation import split_by_maze
from .supervised import ExpertData, History, expert_data, make_model

TARGETS: tuple[str, ...] = CELL_CHANNELS[:N_STATIC]       # walls N/E/S/W, mud N/E/S/W, hole
GROUPS: dict[str, slice] = {"walls": slice(0, 4), "mud": slice(4, 8), "hole": slice(8, 9)}
UNLABELLED_SEED_OFFSET = 1_000_003                         # keeps pretraining mazes apart from the expert's


def unlabelled_data(games: int, config: GameConfig | str = "official", seed: int = 0, per_game: int = 16,
                    val_fraction: float = 0.1, max_turns: int | None = None) -> ExpertData:
    """Positions from ``games`` games of random players, ``per_game`` kept per maze; no expert is asked.

    The mazes come from another seed stream than `pyrat_rl.train.supervised.expert_data`'s with the same ``seed``,
    so the expert data's validation and test mazes stay unseen. The ``action`` field holds the random
    player's moves and is never used.
    """
    data = expert_data("random", "random", games, config, val_fraction=val_fraction, test_fraction=0.0,
                       seed=seed + UNLABELLED_SEED_OFFSET, max_turns=max_turns)
    rng = np.random.default_rng([seed, 31])
    states = data.states
    keep = []
    for g in np.unique(states.game):
        rows = np.flatnonzero(states.game == g)
        keep.append(rng.choice(rows, size=min(per_game, len(rows)), replace=False))
    idx = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
    states = states.subset(idx)
    train, val, test = split_by_maze(states, val_fraction, 0.0, seed)
    data.states = states
    data.splits = {"train": train, "val": val, "test": test}
    data._views.clear()
    data._sources.clear()
    return data


def random_cell_mask(batch: int, n_cells: int, ratio: float, generator: torch.Generator,
                     device: torch.device | str = "cpu") -> torch.Tensor:
    """``[B, N]`` bool: exactly ``round(ratio * N)`` hidden cells per sample (at least one), chosen uniformly."""
    k = max(1, int(round(ratio * n_cells)))
    scores = torch.rand(batch, n_cells, generator=generator)
    hidden = torch.zeros(batch, n_cells, dtype=torch.bool)
    hidden.scatter_(1, scores.topk(k, dim=1).indices, True)
    return hidden.to(device)


def pretext_targets(tokens: torch.Tensor) -> torch.Tensor:
    """``[B, N, 9]`` floats in {0, 1}: walls, mud on each side (any weight), hole, read from ``tokens`` observations."""
    return (tokens[..., :N_STATIC] > 0).float()


class MaskedCellModel(nn.Module):
    """A transformer backbone (`TransformerPolicyNet`) with a per-cell head predicting the 9 `TARGETS`."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.cell_head = nn.Linear(backbone.d_model, len(TARGETS))
        self.encoder_name = backbone.encoder_name

    def forward(self, obs: torch.Tensor, cell_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``[B, N, 9]`` for every cell (the loss only looks at the hidden ones)."""
        return self.cell_head(self.backbone.tokens(obs, cell_mask)[:, 1:])


def pretext_loss(model: MaskedCellModel, obs: torch.Tensor, ratio: float, generator: torch.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, logits, targets, hidden)``: binary cross-entropy on the hidden cells only."""
    hidden = random_cell_mask(obs.shape[0], obs.shape[1], ratio, generator, obs.device)
    logits = model(obs, hidden)
    targets = pretext_targets(obs)
    loss = F.binary_cross_entropy_with_logits(logits[hidden], targets[hidden])
    return loss, logits, targets, hidden


@torch.no_grad()
def evaluate_pretext(model: MaskedCellModel, data: ExpertData, split: str = "val", ratio: float = 0.3,
                     seed: int = 0, batch_size: int = 512) -> dict:
    """Loss and accuracy per target group (``walls``, ``mud``, ``hole``) on hidden cells, with baselines.

    ``baseline_*`` is the accuracy of always answering the most frequent value of that target (computed on
    the same hidden cells): what a model that learned nothing about mazes would score.
    """
    idx = data.splits[split]
    device = next(model.parameters()).device
    src = data.source(model.encoder_name, device)
    gen = torch.Generator().manual_seed(seed)
    was = model.training
    model.eval()
    loss_sum, n = 0.0, 0
    correct = torch.zeros(len(TARGETS))
    ones = torch.zeros(len(TARGETS))
    count = 0
    for lo in range(0, len(idx), batch_size):
        obs, _, _ = src.get(idx[lo:lo + batch_size])
        loss, logits, targets, hidden = pretext_loss(model, obs, ratio, gen)
        pred = (logits[hidden] > 0).float()
        tgt = targets[hidden]
        loss_sum += float(loss) * len(tgt)
        n += len(tgt)
        correct += (pred == tgt).float().sum(0).cpu()
        ones += tgt.sum(0).cpu()
        count += len(tgt)
    model.train(was)
    out = {"loss": loss_sum / max(n, 1), "hidden_cells": int(count)}
    acc = correct / max(count, 1)
    base = torch.maximum(ones, count - ones) / max(count, 1)
    for name, sl in GROUPS.items():
        out[f"acc_{name}"] = float(acc[sl].mean())
        out[f"baseline_{name}"] = float(base[sl].mean())
    return out


def pretrain(model: MaskedCellModel, data: ExpertData, epochs: int = 10, batch_size: int = 128, lr: float = 1e-3,
             weight_decay: float = 0.0, ratio: float = 0.3, seed: int = 0, device: str | torch.device = "auto",
             label: str = "pretext", progress: bool = False) -> History:
    """Train on the masked-cell task; rows hold ``train_loss`` (running) and the validation metrics per epoch."""
    device = resolve_device(device)
    model.to(device)
    idx = data.splits["train"]
    if len(idx) == 0:
        raise ValueError("no unlabelled training samples")
    rng = np.random.default_rng([seed, 11])
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    src = data.source(model.encoder_name, device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = math.ceil(len(idx) / batch_size) * int(epochs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.1)
    hist = History(parameters=sum(p.numel() for p in model.parameters()), label=label)
    t_start = time.perf_counter()
    for epoch in range(1, int(epochs) + 1):
        t0 = time.perf_counter()
        model.train()
        order = idx[rng.permutation(len(idx))]
        total, seen = 0.0, 0
        for lo in range(0, len(order), batch_size):
            obs, _, _ = src.get(order[lo:lo + batch_size])
            loss, *_ = pretext_loss(model, obs, ratio, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(obs)
            seen += len(obs)
        val = evaluate_pretext(model, data, "val", ratio, seed) if len(data.splits["val"]) else {}
        row = {"epoch": epoch, "train_loss": total / max(seen, 1), "val_loss": val.get("loss", float("nan")),
               "seconds": time.perf_counter() - t0}
        row.update({k: v for k, v in val.items() if k.startswith(("acc_", "baseline_"))})
        hist.rows.append(row)
        if progress:
            print(f"{label} {epoch:>3}: train loss {row['train_loss']:.4f} val loss {row['val_loss']:.4f} "
                  f"walls {row.get('acc_walls', float('nan')):.3f}", flush=True)
    hist.best_epoch = hist.rows[-1]["epoch"] if hist.rows else -1
    hist.seconds = time.perf_counter() - t_start
    model.eval()
    return hist


def new_backbone(data: ExpertData, seed: int = 0, **kwargs) -> nn.Module:
    """A fresh `TransformerPolicyNet` for ``data``'s mazes (``kwargs``: its sizes)."""
    return make_model("transformer", data, seed=seed, **kwargs)


def fine_tune_model(backbone: nn.Module, freeze: bool = False, seed: int = 0) -> nn.Module:
    """A copy of a pretrained backbone ready for the expert's moves: a fresh output layer; with ``freeze`` only
    that layer learns (a linear probe of the pretrained features)."""
    model = copy.deepcopy(backbone)
    torch.manual_seed(seed)
    model.head.reset_parameters()
    if freeze:
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith("head.")
    return model
