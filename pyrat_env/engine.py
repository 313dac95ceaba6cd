"""The PyRat rules: mazes as arrays, one game (`Game`) and many games at once (`GameBatch`).

This module is the only place the rules of the game live (see ``docs/rules.md`` and the
README), with their compiled twin for batches (``pyrat_env.kernels.rules``). It imports numpy alone: no torch,
pygame or gymnasium. `GameBatch.step` loads numba's compiled kernel on its first call, through
``pyrat_env._accel``.

Conventions, stated once for the whole project:

* Cells are numbered ``row * width + col``, row 0 at the top, as in the official game.
* Actions are integers: 0 ``nothing``, 1 ``north`` (row - 1), 2 ``east`` (col + 1), 3 ``south``
  (row + 1), 4 ``west`` (col - 1); ``ACTION_NAMES`` maps them to the official names.
* Turn 0 is the preprocessing step: the first call to ``step`` moves nobody and leads to turn 1,
  the first turn in which players are asked for an action.
* A player in mud is not asked: its action is ignored until it reaches the mud's target cell.
* Scores are floats, accumulated as the official game does (``+= 1 / k`` for a cheese shared by k).
  They are compared rounded to 5 decimals, and only here: `round_score`, `compare_scores` (and their
  array twins) are what every other module uses to rank, compare or show scores.
* A view turned by 180 degrees (cell ``i`` <-> ``N - 1 - i``) turns each action into its opposite:
  `ROTATED_ACTION` maps them (the one table the encoders, envs and agents use).
* ``max_turns`` counts move turns (turn 1 to turn T); reaching it truncates the game.

`Game` steps one game with plain Python scalars (the fastest way for a single game); `GameBatch`
holds B games in arrays and steps all of them in one call of the compiled kernel, or, without it (``PYRAT_KERNELS=0``,
or a mud weight above 255), game by game with `Game`'s own rules (`_move_players`, `_eat_cheese`, `_end_rules`).
The tests check that both give the same states (against an independent numpy oracle too), and that both
reproduce the official games recorded by pyrat-game.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import _accel

ACTION_NAMES: tuple[str, ...] = ("nothing", "north", "east", "south", "west")
NOTHING, NORTH, EAST, SOUTH, WEST = range(5)
ACTION_INDEX: dict[str, int] = {name: i for i, name in enumerate(ACTION_NAMES)}
# Row and column offsets of each action, indexed like ACTION_NAMES.
ACTION_DROW: tuple[int, ...] = (0, -1, 0, 1, 0)
ACTION_DCOL: tuple[int, ...] = (0, 0, 1, 0, -1)
OPPOSITE_ACTION: tuple[int, ...] = (NOTHING, SOUTH, WEST, NORTH, EAST)
# A 180-degree turn of the maze turns every move into its opposite: for an action chosen in a rotated view,
# the real action (and back: the table is its own inverse). The tuple for one action at a time (indexing a
# tuple is the cheapest), the read-only array to map arrays of actions.
ROTATED_ACTION_TUPLE: tuple[int, ...] = OPPOSITE_ACTION
ROTATED_ACTION: np.ndarray = np.array(ROTATED_ACTION_TUPLE, dtype=np.int64)
ROTATED_ACTION.flags.writeable = False


class MazeError(ValueError):
    """A maze description that breaks the rules of the game (bad cell, edge or weight)."""


class Maze:
    """An immutable PyRat maze: a grid of cells, some missing (holes), linked by weighted edges.

    Attributes (numpy arrays, read-only):
        cells:     bool ``[N]``, True where the cell exists (N = width * height).
        weights:   int16 ``[N, 5]``, the weight of the edge taken by each action from each cell
                   (0 when the move is impossible: off the grid, hole, wall; column 0, ``nothing``, is 0).
        neighbors: int32 ``[N, 5]``, the cell each action leads to (the cell itself when impossible).
    An edge of weight 1 is a passage, a weight w > 1 is mud that takes w turns to cross.
    """

    __slots__ = ("width", "height", "cells", "weights", "neighbors", "_edges", "_key")

    def __init__(self, width: int, height: int, cells: np.ndarray, weights: np.ndarray) -> None:
        width, height = int(width), int(height)
        if width < 1 or height < 1 or width * height < 2:
            raise MazeError(f"maze size {width}x{height} is too small (at least 2 cells)")
        n = width * height
        cells = np.asarray(cells, dtype=bool).reshape(-1)
        weights = np.asarray(weights, dtype=np.int16)
        if cells.shape != (n,) or weights.shape != (n, 5):
            raise MazeError(f"maze arrays have shapes {cells.shape}, {weights.shape}; expected ({n},), ({n}, 5)")
        if (weights < 0).any() or weights[:, NOTHING].any():
            raise MazeError("maze weights must be >= 0, and 0 for the action 'nothing'")
        idx = np.arange(n)
        rows, cols = idx // width, idx % width
        neighbors = np.repeat(idx[:, None], 5, axis=1).astype(np.int32)
        for a in range(1, 5):
            r, c = rows + ACTION_DROW[a], cols + ACTION_DCOL[a]
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            target = np.where(inside, r * width + c, idx)
            has = weights[:, a] > 0
            if (has & ~inside).any():
                raise MazeError(f"maze has an edge leaving the grid (action {ACTION_NAMES[a]})")
            if (has & ~(cells & cells[target])).any():
                bad = int(np.flatnonzero(has & ~(cells & cells[target]))[0])
                raise MazeError(f"maze has an edge from cell {bad} to or from a missing cell")
            back = weights[target, OPPOSITE_ACTION[a]]
            if (has & (back != weights[:, a])).any():
                bad = int(np.flatnonzero(has & (back != weights[:, a]))[0])
                raise MazeError(f"maze edge from cell {bad} ({ACTION_NAMES[a]}) is not symmetric")
            neighbors[:, a] = np.where(has, target, idx)
        self.width, self.height = width, height
        self.cells, self.weights, self.neighbors = cells, weights, neighbors
        for arr in (cells, weights, neighbors):
            arr.flags.writeable = False
        self._edges: list[tuple[int, int, int]] | None = None
        self._key: bytes | None = None

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_edges(cls, width: int, height: int, cells: Iterable[int],
                   edges: Iterable[tuple[int, int, int]]) -> Maze:
        """Build a maze from its existing cells and its edges ``(a, b, weight)`` between grid neighbours."""
        n = width * height
        mask = np.zeros(n, dtype=bool)
        for c in cells:
            c = int(c)
            if not 0 <= c < n:
                raise MazeError(f"cell {c} is outside a {width}x{height} grid")
            mask[c] = True
        weights = np.zeros((n, 5), dtype=np.int16)
        for a_cell, b_cell, w in edges:
            a_cell, b_cell, w = int(a_cell), int(b_cell), int(w)
            action = direction_between(a_cell, b_cell, width, height)
            if action is None:
                raise MazeError(f"cells {a_cell} and {b_cell} are not grid neighbours in a {width}x{height} maze")
            if w < 1:
                raise MazeError(f"edge {a_cell}-{b_cell} has weight {w}; weights must be >= 1")
            if not (0 <= a_cell < n and mask[a_cell] and mask[b_cell]):
                raise MazeError(f"edge {a_cell}-{b_cell} touches a missing cell")
            weights[a_cell, action] = w
            weights[b_cell, OPPOSITE_ACTION[action]] = w
        return cls(width, height, mask, weights)

    @classmethod
    def from_dict(cls, maze: Mapping, width: int, height: int) -> Maze:
        """Build a maze from the official dict ``{cell: {neighbour: weight}}`` (keys may be strings)."""
        cells, edges = [], []
        for cell, nbrs in maze.items():
            c = int(cell)
            cells.append(c)
            if not isinstance(nbrs, Mapping):
                raise MazeError(f"neighbours of cell {cell} must be a mapping, not {type(nbrs).__name__}")
            for nb, w in nbrs.items():
                if not isinstance(w, (int, np.integer)) or isinstance(w, bool):
                    raise MazeError(f"edge {cell}-{nb} has weight {w!r}; weights must be integers")
                edges.append((c, int(nb), int(w)))
        maze_obj = cls.from_edges(width, height, cells, edges)
        for a_cell, b_cell, w in edges:  # the dict must list both directions with the same weight
            if maze_obj.weight(b_cell, a_cell) != w:
                raise MazeError(f"edge {a_cell}-{b_cell} is not symmetric in the maze description")
        return maze_obj

    @classmethod
    def open_grid(cls, width: int, height: int) -> Maze:
        """A full grid with no holes, walls or mud."""
        n = width * height
        edges = [(c, c + 1, 1) for c in range(n) if c % width < width - 1]
        edges += [(c, c + width, 1) for c in range(n - width)]
        return cls.from_edges(width, height, range(n), edges)

    # -- queries ---------------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        """Number of grid positions (width * height), holes included."""
        return self.width * self.height

    def existing_cells(self) -> np.ndarray:
        """Indices of the cells that exist (not holes), in increasing order."""
        return np.flatnonzero(self.cells)

    def exists(self, cell: int) -> bool:
        return 0 <= cell < self.n_cells and bool(self.cells[cell])

    def rc(self, cell: int) -> tuple[int, int]:
        """(row, col) of a cell index."""
        return divmod(int(cell), self.width)

    def index(self, row: int, col: int) -> int:
        return int(row) * self.width + int(col)

    def weight(self, a: int, b: int) -> int:
        """Weight of the edge between cells a and b, 0 if there is none."""
        action = direction_between(a, b, self.width, self.height)
        return 0 if action is None else int(self.weights[a, action])

    def neighbours(self, cell: int) -> list[int]:
        """Cells reachable from ``cell`` in one move (passage or mud)."""
        return [int(self.neighbors[cell, a]) for a in range(1, 5) if self.weights[cell, a] > 0]

    def edges(self) -> list[tuple[int, int, int]]:
        """Every edge once, as ``(a, b, weight)`` with a < b, sorted."""
        if self._edges is None:
            east = np.flatnonzero(self.weights[:, EAST] > 0)
            south = np.flatnonzero(self.weights[:, SOUTH] > 0)
            out = [(int(c), int(c) + 1, int(self.weights[c, EAST])) for c in east]
            out += [(int(c), int(c) + self.width, int(self.weights[c, SOUTH])) for c in south]
            self._edges = sorted(out)
        return list(self._edges)

    def walls(self) -> list[tuple[int, int]]:
        """Pairs of existing grid neighbours with no edge between them, a < b."""
        out = []
        for c in self.existing_cells():
            c = int(c)
            for a, step in ((EAST, 1), (SOUTH, self.width)):
                r, col = divmod(c, self.width)
                nr, nc = r + ACTION_DROW[a], col + ACTION_DCOL[a]
                if nr < self.height and nc < self.width and self.cells[c + step] and self.weights[c, a] == 0:
                    out.append((c, c + step))
        return out

    def to_dict(self) -> dict[str, dict[str, int]]:
        """The official trace form ``{"cell": {"neighbour": weight}}`` (string keys, every existing cell)."""
        out: dict[str, dict[str, int]] = {str(int(c)): {} for c in self.existing_cells()}
        for a_cell, b_cell, w in self.edges():
            out[str(a_cell)][str(b_cell)] = w
            out[str(b_cell)][str(a_cell)] = w
        return out

    def is_connected(self) -> bool:
        """True when every existing cell can reach every other."""
        cells = self.existing_cells()
        if len(cells) == 0:
            return False
        seen = np.zeros(self.n_cells, dtype=bool)
        stack = [int(cells[0])]
        seen[stack[0]] = True
        while stack:
            c = stack.pop()
            for a in range(1, 5):
                if self.weights[c, a] > 0:
                    nb = int(self.neighbors[c, a])
                    if not seen[nb]:
                        seen[nb] = True
                        stack.append(nb)
        return bool(seen[cells].all())

    def key(self) -> bytes:
        """Bytes identifying the maze exactly (size, cells and weights); equal mazes have equal keys."""
        if self._key is None:
            self._key = np.int32([self.width, self.height]).tobytes() + self.cells.tobytes() + self.weights.tobytes()
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Maze) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        n_mud = sum(1 for e in self.edges() if e[2] > 1)
        return (f"Maze({self.width}x{self.height}, {int(self.cells.sum())} cells, "
                f"{len(self.edges())} edges, {n_mud} mud)")


def direction_between(a: int, b: int, width: int, height: int) -> int | None:
    """The action that leads from cell a to grid neighbour b, or None if they are not neighbours."""
    if not (0 <= a < width * height and 0 <= b < width * height):
        return None
    ra, ca = divmod(a, width)
    rb, cb = divmod(b, width)
    for action in range(1, 5):
        if ra + ACTION_DROW[action] == rb and ca + ACTION_DCOL[action] == cb:
            return action
    return None


def nearest_existing_cell(maze: Maze, cell: int) -> int:
    """``cell`` if it exists, else the existing cell closest in (row, col) Euclidean distance.

    Ties go to the smallest index, as in pyrat-game's ``add_player``.
    """
    if maze.exists(cell):
        return int(cell)
    r, c = divmod(int(cell), maze.width)
    existing = maze.existing_cells()
    rows, cols = existing // maze.width, existing % maze.width
    d2 = (rows - r) ** 2 + (cols - c) ** 2
    return int(existing[int(np.argmin(d2))])


def _check_setup(maze: Maze, cheese: Sequence[int], starts: Sequence[int], teams: Sequence) -> None:
    if len(starts) < 1:
        raise ValueError("a game needs at least one player")
    if len(teams) != len(starts):
        raise ValueError(f"{len(starts)} start cells but {len(teams)} team entries")
    for s in starts:
        if not maze.exists(int(s)):
            raise ValueError(f"start cell {s} is not an existing cell of the maze")
    if len(set(int(c) for c in cheese)) != len(cheese):
        raise ValueError("cheese cells must be distinct")
    for c in cheese:
        if not maze.exists(int(c)):
            raise ValueError(f"cheese cell {c} is not an existing cell of the maze")


def team_indices(teams: Sequence) -> tuple[np.ndarray, int]:
    """Map team labels (in player order) to indices 0..T-1 in order of first appearance."""
    order: dict = {}
    idx = [order.setdefault(t, len(order)) for t in teams]
    return np.asarray(idx, dtype=np.int32), len(order)


def round_score(score: float) -> float:
    """A (team) score as the rules compare it: rounded to 5 decimals, by numpy's rule for ``np.round(x, 5)``
    (``rint(x * 1e5) / 1e5``, halves to even), which `round_scores` and the compiled kernel apply too.

    Python's ``round(x, 5)`` (the official game's) rounds the exact binary value instead; the two differ
    only on numbers whose sixth decimal is a 5 after the scaling, which no sum of cheese shares ``1 / k`` is
    (``tests/test_rules.py`` checks). ``score`` must be finite.
    """
    return round(score * 100000.0) / 100000.0


def round_scores(scores: np.ndarray) -> np.ndarray:
    """`round_score` of every element of an array (``np.round(scores, 5)``)."""
    return np.round(scores, 5)


def compare_scores(a: float, b: float) -> int:
    """1 if score ``a`` beats ``b``, -1 if it loses, 0 on a draw: compared rounded to 5 decimals, as the rules do."""
    a, b = round_score(a), round_score(b)
    return (a > b) - (a < b)


def compare_scores_array(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`compare_scores` element by element: int64 1 / 0 / -1."""
    return np.sign(round_scores(np.asarray(a, dtype=np.float64)) - round_scores(np.asarray(b, dtype=np.float64))
                   ).astype(np.int64)


def team_totals(scores: Sequence[float], members: Sequence[Sequence[int]]) -> list[float]:
    """Team scores as the official game computes them: each team's players' scores summed in player order,
    then rounded (`round_score`). ``members[t]``: the players of team t."""
    return [round_score(sum(scores[p] for p in team)) for team in members]


def ranking_decided(team_scores: Sequence[float], remaining: int) -> bool:
    """The official end rule for two teams or more, on team scores rounded to 5 decimals.

    The game goes on while two teams are tied, or while a trailing team could still reach a
    leader with the remaining cheese; otherwise no team can change its ranking and it ends.
    """
    for i, s1 in enumerate(team_scores):
        for j, s2 in enumerate(team_scores):
            if i != j and (s1 == s2 or (s1 < s2 and s1 + remaining >= s2)):
                return False
    return True


# -- the rules of a turn, on one game's plain Python values (`Game.step`, and `GameBatch` without its kernel) --
def _move_players(pos: list, mud_target: list, mud_count: list, nbr, wt, actions: Sequence[int]) -> None:
    """Moves and mud of one move turn, in place. ``mud_target[p]`` is None when player p is not in mud;
    ``nbr[cell][action]``, ``wt[cell][action]``: the maze tables. Actions must be in 0..4."""
    n = len(pos)
    for p in range(n):  # moves are decided on the same state, in player order
        a = actions[p]
        if a and mud_target[p] is None:  # a player in mud is not asked
            w = wt[pos[p]][a]
            if w == 1:
                pos[p] = nbr[pos[p]][a]
            elif w > 1:
                mud_target[p] = nbr[pos[p]][a]
                mud_count[p] = w
    for p in range(n):  # mud advances, including for a player that just entered it
        if mud_target[p] is not None:
            mud_count[p] -= 1
            if mud_count[p] == 0:
                pos[p] = mud_target[p]
                mud_target[p] = None


def _eat_cheese(pos: list, scores: list, cheese: set) -> list[float]:
    """Players on a cheese share it (``1 / k`` each for k players on the cell) and it is removed from ``cheese``
    (a set of cells; only those under players matter). Scores change in place; returns the points gained."""
    gains = [0.0] * len(pos)
    eaten = False
    for p, c in enumerate(pos):
        if c in cheese:
            share = 1.0 / pos.count(c)
            scores[p] += share
            gains[p] = share
            eaten = True
    if eaten:
        cheese.difference_update(pos)
    return gains


def _end_rules(scores: Sequence[float], members: Sequence[Sequence[int]], remaining: int, turn: int,
               max_turns: int | None) -> tuple[bool, bool]:
    """``(terminated, truncated)`` after a turn: no cheese left or (two teams or more) the ranking decided;
    else truncated once ``max_turns`` move turns were played (turn 0, the preprocessing step, is no move)."""
    if not remaining:
        return True, False
    if len(members) >= 2 and ranking_decided(team_totals(scores, members), remaining):
        return True, False
    return False, max_turns is not None and turn - 1 >= max_turns


@dataclass(frozen=True)
class PlayerState:
    """A read-only view of one player in a `Game` state."""

    cell: int
    score: float
    mud_target: int | None
    mud_count: int


class Game:
    """One PyRat game, stepped with plain Python values.

    ``Game(maze, cheese, starts, teams=None, max_turns=None)``: ``cheese`` in official order,
    ``starts`` one existing cell per player (in the order players were added), ``teams`` one label
    per player (default: one team per player). ``step(actions)`` plays one turn.
    """

    def __init__(self, maze: Maze, cheese: Sequence[int], starts: Sequence[int],
                 teams: Sequence | None = None, max_turns: int | None = None) -> None:
        teams = list(range(len(starts))) if teams is None else list(teams)
        _check_setup(maze, cheese, starts, teams)
        if max_turns is not None and max_turns < 1:
            raise ValueError(f"max_turns must be >= 1 or None, got {max_turns}")
        self.maze = maze
        self.initial_cheese = [int(c) for c in cheese]
        self.starts = [int(s) for s in starts]
        self.teams = teams
        self.n_players = len(starts)
        self.max_turns = max_turns
        team_idx, n_teams = team_indices(teams)
        self._team_members = [[p for p in range(self.n_players) if team_idx[p] == t] for t in range(n_teams)]
        # Python lists of the maze tables: indexing them is much faster than numpy for one game.
        self._nbr = maze.neighbors.tolist()
        self._wt = maze.weights.tolist()
        self.turn = 0
        self.pos = list(self.starts)
        self.mud_target: list[int | None] = [None] * self.n_players
        self.mud_count = [0] * self.n_players
        self.scores = [0.0] * self.n_players
        self.cheese = list(self.initial_cheese)  # remaining, in official order
        self._cheese_set = set(self.cheese)
        self.terminated, self.truncated = _end_rules(self.scores, self._team_members, len(self.cheese), 0, None)

    # -- state -------------------------------------------------------------------------------------
    @property
    def over(self) -> bool:
        return self.terminated or self.truncated

    @property
    def moves_played(self) -> int:
        """Number of move turns played so far (the preprocessing step does not count)."""
        return max(self.turn - 1, 0)

    def in_mud(self, player: int) -> bool:
        return self.mud_target[player] is not None

    def player(self, p: int) -> PlayerState:
        return PlayerState(self.pos[p], self.scores[p], self.mud_target[p], self.mud_count[p])

    def team_scores(self) -> list[float]:
        """Team scores as the official game computes them (sum in player order, rounded to 5 decimals)."""
        return team_totals(self.scores, self._team_members)

    def legal_actions(self, player: int) -> list[int]:
        """Actions that move the player (or start crossing mud), plus ``nothing``."""
        wt = self._wt[self.pos[player]]
        return [NOTHING] + [a for a in range(1, 5) if wt[a] > 0]

    def snapshot(self, names: Sequence[str] | None = None) -> dict:
        """The state in the official trace form: turn, locations, scores, muds, cheese."""
        names = list(names) if names is not None else [str(p) for p in range(self.n_players)]
        return {
            "turn": self.turn,
            "locations": {n: self.pos[p] for p, n in enumerate(names)},
            "scores": {n: self.scores[p] for p, n in enumerate(names)},
            "muds": {n: {"target": self.mud_target[p], "count": self.mud_count[p]} for p, n in enumerate(names)},
            "cheese": list(self.cheese),
        }

    def copy(self) -> Game:
        """A deep copy (used by search agents to simulate futures)."""
        g = object.__new__(Game)
        g.__dict__.update(self.__dict__)
        g.pos, g.mud_target, g.mud_count = list(self.pos), list(self.mud_target), list(self.mud_count)
        g.scores, g.cheese, g._cheese_set = list(self.scores), list(self.cheese), set(self._cheese_set)
        return g

    # -- the rules ---------------------------------------------------------------------------------
    def step(self, actions: Sequence[int]) -> list[float]:
        """Play one turn with one action per player (ignored at turn 0 and for players in mud).

        Returns the points each player gained this turn. Raises if the game is already over.
        """
        if self.terminated or self.truncated:
            raise RuntimeError("the game is over; no more turns can be played")
        n = self.n_players
        if len(actions) != n:
            raise ValueError(f"expected {n} actions, got {len(actions)}")
        for p in range(n):  # check every action before changing anything, as GameBatch does
            if not 0 <= actions[p] <= 4:
                raise ValueError(f"action {actions[p]!r} of player {p} is not in 0..4")
        if self.turn > 0:  # turn 0 is the preprocessing step: nobody moves
            _move_players(self.pos, self.mud_target, self.mud_count, self._nbr, self._wt, actions)
        self.turn += 1
        left = self._cheese_set
        gains = _eat_cheese(self.pos, self.scores, left)
        if len(left) < len(self.cheese):
            self.cheese = [c for c in self.cheese if c in left]
        self.terminated, self.truncated = _end_rules(self.scores, self._team_members, len(left), self.turn,
                                                     self.max_turns)
        return gains


# Game ids key caches (see `GameBatch.game_ids`): a random start makes them unique across processes too,
# so that a cache carried to another process (a pickled agent) never takes one game for another.
_GAME_IDS = itertools.count(int.from_bytes(os.urandom(6), "little") << 14)


class GameBatch:
    """B games held in arrays and stepped together (each game may have its own maze).

    All games share the number of players, the teams and ``max_turns``. Arrays (leading axis B):
    ``pos``, ``mud_target`` (-1 when not in mud), ``mud_count``, ``scores`` ``[B, P]``;
    ``cheese`` bool ``[B, N]``; ``cheese_order`` ``[B, K]`` (initial cheese in official order, -1 padded);
    ``turn`` ``[B]``; ``terminated``/``truncated`` bool ``[B]``; maze tables ``neighbors`` and
    ``weights`` ``[B, N, 5]``; ``game_ids`` ``[B]``, a number given to each game put in a slot (unique, also
    across processes in practice: caches keyed by game use it). ``step(actions)`` advances every game that is not over,
    with the compiled kernel (``pyrat_env.kernels.rules``) when numba is available, else game by game with
    `Game`'s rules; both change the arrays in place, so copy what you keep from one turn to the next.
    """

    def __init__(self, mazes: Sequence[Maze], cheese: Sequence[Sequence[int]], starts: Sequence[Sequence[int]],
                 teams: Sequence | None = None, max_turns: int | None = None) -> None:
        b = len(mazes)
        if b == 0 or len(cheese) != b or len(starts) != b:
            raise ValueError("mazes, cheese and starts must be non-empty lists of the same length")
        n_players = len(starts[0])
        teams = list(range(n_players)) if teams is None else list(teams)
        sizes = {(m.width, m.height) for m in mazes}
        if len(sizes) != 1:
            raise ValueError(f"all games of a batch must have the same grid size, got {sorted(sizes)}")
        self.width, self.height = mazes[0].width, mazes[0].height
        self.n_cells = self.width * self.height
        self.n_players = n_players
        self.teams = teams
        self.team, self.n_teams = team_indices(teams)
        self._team64 = self.team.astype(np.int64)
        self._members = [np.flatnonzero(self.team == t).tolist() for t in range(self.n_teams)]  # players per team
        self.max_turns = max_turns
        self.game_ids = np.zeros(b, dtype=np.int64)
        self.neighbors = np.empty((b, self.n_cells, 5), dtype=np.int64)
        self.weights = np.empty((b, self.n_cells, 5), dtype=np.int64)
        # The compiled step reads both tables packed in one int32 (target * 256 + weight): a quarter of the
        # memory, so a turn of many games touches one cache line per player instead of four.
        self._moves = np.empty((b, self.n_cells, 5), dtype=np.int32)
        self._unpackable: set[int] = set()  # slots whose maze has a weight >= 256 (stepped without the kernel then)
        k = max(len(c) for c in cheese)
        self.cheese_order = np.full((b, max(k, 1)), -1, dtype=np.int32)
        # int64 throughout: mixing integer widths makes numpy cast on every operation.
        self.pos = np.empty((b, n_players), dtype=np.int64)
        self.mud_target = np.empty((b, n_players), dtype=np.int64)
        self.mud_count = np.empty((b, n_players), dtype=np.int64)
        self.scores = np.empty((b, n_players), dtype=np.float64)
        self.cheese = np.empty((b, self.n_cells), dtype=bool)
        self.n_cheese = np.empty(b, dtype=np.int64)
        self.turn = np.empty(b, dtype=np.int64)
        self.terminated = np.empty(b, dtype=bool)
        self.truncated = np.empty(b, dtype=bool)
        self.mazes: list[Maze] = [mazes[0]] * b
        self.initial_cheese: list[tuple[int, ...]] = [()] * b
        self.starts: list[tuple[int, ...]] = [()] * b
        for i in range(b):
            self.reset_game(i, mazes[i], cheese[i], starts[i])

    @property
    def batch_size(self) -> int:
        return len(self.turn)

    @property
    def over(self) -> np.ndarray:
        return self.terminated | self.truncated

    def reset_game(self, i: int, maze: Maze, cheese: Sequence[int], starts: Sequence[int]) -> None:
        """Put a new game (turn 0) in slot i."""
        if (maze.width, maze.height) != (self.width, self.height):
            raise ValueError(f"maze {maze.width}x{maze.height} does not fit a {self.width}x{self.height} batch")
        if len(starts) != self.n_players:
            raise ValueError(f"expected {self.n_players} start cells, got {len(starts)}")
        if len(cheese) > self.cheese_order.shape[1]:
            raise ValueError(f"{len(cheese)} cheese do not fit a batch made for {self.cheese_order.shape[1]}")
        ch, st = tuple(map(int, cheese)), tuple(map(int, starts))
        kernels = _accel.loaded("rules")
        if kernels is not None and st:
            maxw = kernels.reset_slot(i, maze.neighbors, maze.weights, maze.cells, np.array(ch, dtype=np.int64),
                                      np.array(st, dtype=np.int64), self.neighbors, self.weights, self._moves,
                                      self.cheese_order, self.cheese, self.n_cheese, self.pos, self.mud_target,
                                      self.mud_count, self.scores, self.turn, self.terminated, self.truncated)
            if maxw < 0:
                _check_setup(maze, cheese, starts, self.teams)  # raises with the reason
                raise ValueError("invalid start or cheese cells")
        else:
            n, cells = self.n_cells, maze.cells
            if not (st and all(0 <= c < n and cells[c] for c in st + ch) and len(set(ch)) == len(ch)):
                _check_setup(maze, cheese, starts, self.teams)  # something is wrong: raise with the reason
            self.neighbors[i] = maze.neighbors
            self.weights[i] = maze.weights
            maxw = int(maze.weights.max())
            if maxw < 256:
                np.left_shift(maze.neighbors, 8, out=self._moves[i])
                self._moves[i] += maze.weights
            order = self.cheese_order[i]
            order[:] = -1
            order[: len(ch)] = ch
            mask = self.cheese[i]
            mask[:] = False
            mask[list(ch)] = True
            self.n_cheese[i] = len(ch)
            self.pos[i] = st
            self.mud_target[i] = -1
            self.mud_count[i] = 0
            self.scores[i] = 0.0
            self.turn[i] = 0
            self.terminated[i], self.truncated[i] = _end_rules(self.scores[i].tolist(), self._members, len(ch), 0, None)
        if maxw < 256:
            self._unpackable.discard(i)
        else:
            self._unpackable.add(i)
        self.mazes[i] = maze
        self.initial_cheese[i] = ch
        self.starts[i] = st
        self.game_ids[i] = next(_GAME_IDS)

    def remaining_cheese(self, i: int) -> list[int]:
        """Cheese left in game i, in official order."""
        order = self.cheese_order[i]
        order = order[order >= 0]
        return [int(c) for c in order[self.cheese[i, order]]]

    def team_scores(self, rows: np.ndarray | None = None) -> np.ndarray:
        """``[B, T]`` team scores (or for ``rows`` only): sum in player order, rounded to 5 decimals."""
        scores = self.scores if rows is None else self.scores[rows]
        out = np.zeros((len(scores), self.n_teams))
        for p in range(self.n_players):  # sequential sums: the same float additions as Python's sum
            out[:, self.team[p]] = out[:, self.team[p]] + scores[:, p]
        return round_scores(out)

    def step(self, actions: np.ndarray) -> np.ndarray:
        """Play one turn in every game that is not over. ``actions`` int ``[B, P]``.

        Actions are ignored at turn 0 (preprocessing) and for players in mud. Returns the points
        gained by each player this turn, ``[B, P]``.
        """
        actions = np.asarray(actions)
        if actions.shape != self.pos.shape:
            raise ValueError(f"actions must have shape {self.pos.shape}, got {actions.shape}")
        if actions.dtype != np.int64:
            if actions.dtype.kind not in "iu":
                raise ValueError(f"actions must be integers in 0..4, got dtype {actions.dtype}")
            actions = actions.astype(np.int64)
        kernels = _accel.kernels("rules")
        if kernels is None or self._unpackable:
            return self._step_games(actions)
        gains = np.zeros(self.scores.shape)
        if kernels.batch_step(np.ascontiguousarray(actions), self.pos, self.mud_target, self.mud_count, self.scores,
                              self.cheese, self.n_cheese, self.turn, self.terminated, self.truncated, self._moves,
                              self._team64, self.n_teams, -1 if self.max_turns is None else self.max_turns,
                              gains) < 0:
            raise ValueError("actions must be integers in 0..4")
        return gains

    def _step_games(self, actions: np.ndarray) -> np.ndarray:
        """`step` without the compiled kernel: each live game by `Game`'s rules, on Python lists of the arrays."""
        if actions.min() < 0 or actions.max() > 4:
            raise ValueError("actions must be integers in 0..4")
        gains = np.zeros(self.scores.shape)
        live = np.flatnonzero(~(self.terminated | self.truncated)).tolist()
        if not live:
            return gains
        # Whole arrays as lists once, written back once: indexing numpy one scalar at a time costs more.
        pos_all, mud_t_all, mud_c_all = self.pos.tolist(), self.mud_target.tolist(), self.mud_count.tolist()
        scores_all, acts_all, turns, n_cheese = self.scores.tolist(), actions.tolist(), self.turn.tolist(), \
            self.n_cheese.tolist()
        members, max_turns, cheese = self._members, self.max_turns, self.cheese
        for i in live:
            pos, turn = pos_all[i], turns[i]
            if turn > 0:  # turn 0 is the preprocessing step: nobody moves
                mud_t = [None if c < 0 else c for c in mud_t_all[i]]
                _move_players(pos, mud_t, mud_c_all[i], self.neighbors[i], self.weights[i], acts_all[i])
                mud_t_all[i] = [-1 if c is None else int(c) for c in mud_t]
                pos_all[i] = pos = [int(c) for c in pos]
            turns[i] = turn = turn + 1
            under = {c for c in pos if cheese[i, c]}  # the cheese eaten this turn (all that lies under a player)
            eaten = len(under)
            if eaten:
                n_cheese[i] -= eaten
                gains[i] = _eat_cheese(pos, scores_all[i], under)
                cheese[i, pos] = False
            # The end rules can change their answer only when cheese was eaten or at the turn limit.
            if eaten or (max_turns is not None and turn - 1 >= max_turns):
                self.terminated[i], self.truncated[i] = _end_rules(scores_all[i], members, n_cheese[i], turn,
                                                                   max_turns)
        self.pos[:], self.mud_target[:], self.mud_count[:] = pos_all, mud_t_all, mud_c_all
        self.scores[:], self.turn[:], self.n_cheese[:] = scores_all, turns, n_cheese
        return gains

    def to_game(self, i: int) -> Game:
        """Game i as a `Game` object (a copy: changing it does not change the batch)."""
        g = Game(self.mazes[i], self.initial_cheese[i], self.starts[i], self.teams, self.max_turns)
        g.turn = int(self.turn[i])
        g.pos = self.pos[i].tolist()
        g.mud_target = [None if t < 0 else int(t) for t in self.mud_target[i]]
        g.mud_count = self.mud_count[i].tolist()
        g.scores = self.scores[i].tolist()
        g.cheese = self.remaining_cheese(i)
        g._cheese_set = set(g.cheese)
        g.terminated, g.truncated = bool(self.terminated[i]), bool(self.truncated[i])
        return g

    def game_view(self, i: int) -> dict:
        """Game i in the trace state form (players named "0", "1", ...)."""
        return {
            "turn": int(self.turn[i]),
            "locations": {str(p): int(self.pos[i, p]) for p in range(self.n_players)},
            "scores": {str(p): float(self.scores[i, p]) for p in range(self.n_players)},
            "muds": {str(p): {"target": None if self.mud_target[i, p] < 0 else int(self.mud_target[i, p]),
                              "count": int(self.mud_count[i, p])} for p in range(self.n_players)},
            "cheese": self.remaining_cheese(i),
        }
