"""Scripted experts: ``random`` and ``greedy`` (more experts live beside them).

Each plays one game through ``act`` and many games at once through ``act_batch`` (array code over
a `GameBatch`, used by the vector environment's opponent and by dataset building).
"""

from __future__ import annotations

import numpy as np

from pyrat_env.engine import NOTHING, Game, GameBatch, Maze
from pyrat_env.paths import distance_matrix

from .base import Agent


class RandomAgent(Agent):
    """Picks uniformly among the moves that are not blocked (never bumps into a wall)."""

    name = "random"
    description = "uniform random move among the open directions"

    def act(self, game: Game, seat: int) -> int:
        moves = game.legal_actions(seat)[1:] or [NOTHING]
        return int(moves[self.rng.integers(len(moves))])

    def act_batch(self, batch: GameBatch, seat: int) -> np.ndarray:
        rows = np.arange(batch.batch_size)
        open_ = batch.weights[rows, batch.pos[:, seat], 1:] > 0            # [B, 4]
        u = self.rng.random(open_.shape) * open_                           # random scores on open moves
        return np.where(open_.any(axis=1), u.argmax(axis=1) + 1, NOTHING).astype(np.int64)


class BatchDistances:
    """Per-slot distance matrices ``[B, N, N]`` kept in step with the mazes of a `GameBatch`."""

    def __init__(self) -> None:
        self.mazes: list[Maze | None] = []
        self.dist: np.ndarray | None = None

    def update(self, batch: GameBatch) -> np.ndarray:
        b, n = batch.batch_size, batch.n_cells
        if self.dist is None or self.dist.shape != (b, n, n):
            self.dist = np.empty((b, n, n), dtype=np.float32)
            self.mazes = [None] * b
        for i, maze in enumerate(batch.mazes):
            if self.mazes[i] is not maze:
                self.dist[i] = distance_matrix(maze)
                self.mazes[i] = maze
        return self.dist


def greedy_targets(dist_from: np.ndarray, cheese: np.ndarray) -> np.ndarray:
    """Index of the nearest cheese for each row (``dist_from`` and ``cheese`` are ``[B, N]``)."""
    d = np.where(cheese, dist_from, np.inf)
    return d.argmin(axis=1)


class GreedyAgent(Agent):
    """Goes to the cheese with the shortest travel time (mud counted), by a fastest path.

    Ties between cheese go to the lowest cell index; ties between first moves to the lowest action.
    """

    name = "greedy"
    description = "shortest travel time to the nearest cheese, mud weights counted"

    def __init__(self) -> None:
        super().__init__()
        self._batch_dist = BatchDistances()

    def act(self, game: Game, seat: int) -> int:
        maze = game.maze
        dist = distance_matrix(maze)
        pos = game.pos[seat]
        if not game.cheese:
            return NOTHING
        cheese = np.fromiter(game.cheese, dtype=np.int64)
        target = int(cheese[np.lexsort((cheese, dist[pos, cheese]))[0]])
        best, best_a = np.inf, NOTHING
        for a in range(1, 5):
            w = int(maze.weights[pos, a])
            if w:
                total = w + dist[maze.neighbors[pos, a], target]
                if total < best:
                    best, best_a = total, a
        return best_a

    def act_batch(self, batch: GameBatch, seat: int) -> np.ndarray:
        dist = self._batch_dist.update(batch)
        rows = np.arange(batch.batch_size)
        pos = batch.pos[:, seat]
        target = greedy_targets(dist[rows, pos], batch.cheese)            # [B]
        w = batch.weights[rows, pos, 1:].astype(np.float32)               # [B, 4]
        nxt = batch.neighbors[rows, pos, 1:]                              # [B, 4]
        cost = np.where(w > 0, w + dist[rows[:, None], nxt, target[:, None]], np.inf)
        best = cost.argmin(axis=1) + 1
        return np.where(np.isfinite(cost.min(axis=1)) & batch.cheese.any(axis=1), best, NOTHING).astype(np.int64)
