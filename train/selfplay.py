"""Opponent pools for training: scripted agents and past checkpoints of the learner, sampled per game.

A pool is written as a weighted list, ``"greedy"``, ``"greedy:1,opportunist:1,self:2"``: each entry is an
agent spec (a built-in name, a shipped agent, a checkpoint path, ``module:Class``...) with an optional
weight, and the word ``self`` stands for the learner's own past checkpoints (self-play). `parse_mix` reads
it; `OpponentPool` holds the opponents and is the VecEnv's ``opponent_sampler``: when a game starts it
draws an entry by weight, and for ``self`` one of the kept snapshots (the newest half of the draws go to
the latest snapshot, the rest uniformly to older ones, so the learner keeps beating its past selves).

Snapshots are frozen copies of the policy, played through the env's `PolicyOpponent` (the env encodes the
opponent's seat with the learner's encoder and rotation, and evaluates a snapshot once per step over all
the games it plays). They are saved as portable ``.pt`` files in the run's ``pool/`` folder, so a resumed
run gets its pool back. Until the first snapshot exists, ``self`` draws fall back to the scripted entries
(or ``greedy`` when there are none).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

SELF = "self"


def parse_mix(text: str) -> list[tuple[str, float]]:
    """``"a:1,b:2"`` -> ``[("a", 1.0), ("b", 2.0)]``; a missing weight is 1. Specs may contain ':' (``file.py:Cls``).

    The weight is the part after the last ':' when it parses as a number.
    """
    out: list[tuple[str, float]] = []
    for raw in str(text).split(","):
        item = raw.strip()
        if not item:
            continue
        spec, weight = item, 1.0
        head, sep, tail = item.rpartition(":")
        if sep and head:
            try:
                weight = float(tail)
                spec = head
            except ValueError:
                pass
        if weight < 0:
            raise ValueError(f"negative weight in {text!r}")
        out.append((spec.strip(), weight))
    if not out or sum(w for _, w in out) <= 0:
        raise ValueError(f"no opponent in {text!r}")
    return out


class SnapshotPolicy:
    """A frozen copy of a policy, called as ``fn(obs [B, ...], masks [B, 5]) -> actions [B]`` (greedy)."""

    def __init__(self, policy, label: str) -> None:
        self.policy = copy.deepcopy(policy).to("cpu")
        self.policy.set_training_mode(False)
        for p in self.policy.parameters():
            p.requires_grad_(False)
        self.label = label

    def __call__(self, obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
        from pyrat_rl.agents.policy_agent import MASKED_LOGIT, policy_logits

        with torch.no_grad():
            logits = policy_logits(self.policy, torch.as_tensor(obs)).numpy()
        return np.where(masks, logits, MASKED_LOGIT).argmax(axis=1)

    def __repr__(self) -> str:
        return f"SnapshotPolicy({self.label})"


class OpponentPool:
    """Weighted scripted opponents plus snapshots of the learner; ``pool(rng)`` draws one game's opponent."""

    def __init__(self, mix: str | list[tuple[str, float]], max_snapshots: int = 10, latest_share: float = 0.5,
                 folder: str | Path | None = None) -> None:
        self.entries = parse_mix(mix) if isinstance(mix, str) else list(mix)
        self.max_snapshots = int(max_snapshots)
        self.latest_share = float(latest_share)
        self.folder = Path(folder) if folder is not None else None
        self.snapshots: list[Any] = []      # PolicyOpponent objects (one per snapshot, reused: batched per step)
        self.labels: list[str] = []
        self._scripted = [(s, w) for s, w in self.entries if s != SELF]
        self._weights = np.array([w for _, w in self.entries], dtype=np.float64)
        self._weights /= self._weights.sum()
        self.draws: dict[str, int] = {}

    @property
    def uses_self(self) -> bool:
        return any(s == SELF for s, _ in self.entries)

    @property
    def only_scripted(self) -> bool:
        return not self.uses_self

    def add_snapshot(self, policy, label: str, meta: dict | None = None) -> None:
        """Keep a frozen copy of ``policy`` (the oldest dropped beyond ``max_snapshots``), saved in the folder."""
        from pyrat_env.envs.gym_env import PolicyOpponent

        snap = SnapshotPolicy(policy, label)
        if self.folder is not None and meta is not None:
            from pyrat_rl.agents.policy_agent import save_policy

            save_policy(self.folder / f"{label}.pt", snap.policy, dict(meta, name=label))
        self.snapshots.append(PolicyOpponent(snap))
        self.labels.append(label)
        if len(self.snapshots) > self.max_snapshots:
            self.snapshots.pop(0)
            self.labels.pop(0)

    def load_folder(self) -> int:
        """Reload the snapshots saved in the pool folder (a resumed run); returns how many."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        from pyrat_rl.agents.policy_agent import load_policy

        files = sorted(self.folder.glob("*.pt"), key=lambda p: p.stat().st_mtime)[-self.max_snapshots:]
        for path in files:
            _, policy = load_policy(path)
            from pyrat_env.envs.gym_env import PolicyOpponent

            self.snapshots.append(PolicyOpponent(SnapshotPolicy(policy, path.stem)))
            self.labels.append(path.stem)
        return len(files)

    def __call__(self, rng: np.random.Generator) -> Any:
        k = int(rng.choice(len(self.entries), p=self._weights))
        spec = self.entries[k][0]
        if spec == SELF:
            if self.snapshots:
                if len(self.snapshots) == 1 or rng.random() < self.latest_share:
                    j = len(self.snapshots) - 1
                else:
                    j = int(rng.integers(len(self.snapshots) - 1))
                self.draws[self.labels[j]] = self.draws.get(self.labels[j], 0) + 1
                return self.snapshots[j]
            if self._scripted:
                w = np.array([x for _, x in self._scripted])
                spec = self._scripted[int(rng.choice(len(w), p=w / w.sum()))][0]
            else:
                spec = "greedy"
        self.draws[spec] = self.draws.get(spec, 0) + 1
        return spec
