"""Observation encoders: a PyRat state as arrays for MLP (``flat``), CNN (``planes``) and transformer (``tokens``)...

Every encoder is *egocentric*: it encodes the game as seen by one seat. The acting player is always in
the ``self`` channel and the other player in the ``opponent`` channel, so one network can play either
seat. With ``rotate=True`` the view is also turned by 180 degrees: view cell ``j`` is real cell
``N - 1 - j`` and every direction is reversed (north <-> south, east <-> west). The environments
rotate the second seat's view on symmetric mazes, so that both seats of a symmetric position get the
same observation, and they map the policy's action back with `ROTATED_ACTION` (the policy acts in its
own frame; the table is the engine's, importable from here too). `view_action_to_real` /
`real_action_to_view` do that mapping (it is its own inverse).

All three encoders share the same per-cell channels and global features (all values in ``[0, 1]``):

====  ==================  =================================================================================
 idx  cell channel        value (per cell of the view)
====  ==================  =================================================================================
   0  ``wall_north``      1 when moving north from this cell is impossible (wall, hole, edge of the grid)
   1  ``wall_east``       same, east
   2  ``wall_south``      same, south
   3  ``wall_west``       same, west
   4  ``mud_north``       ``min(w / 10, 1)`` when the move north crosses mud of weight ``w > 1``, else 0
   5  ``mud_east``        same, east
   6  ``mud_south``       same, south
   7  ``mud_west``        same, west
   8  ``hole``            1 on a missing cell
   9  ``cheese``          1 on a remaining piece of cheese
  10  ``self``            1 on the acting player's cell (while in mud: the cell it is leaving)
  11  ``opponent``        1 on the other player's cell (zero in a one-player game)
  12  ``self_mud``        on the acting player's mud target: ``min(turns left / 10, 1)``; 0 elsewhere
  13  ``opponent_mud``    the same for the other player
====  ==================  =================================================================================

Channels 0-8 depend on the maze only: they are computed once per maze and orientation
(`static_cells`, cached) and copied; only channels 9-13 and the globals change during a game.

====  ==================  =================================================================================
 idx  global feature      value
====  ==================  =================================================================================
   0  ``self_score``      acting player's score / initial number of cheese
   1  ``opponent_score``  other player's score / initial number of cheese
   2  ``cheese_left``     remaining cheese / initial number of cheese
   3  ``turn``            ``min(moves played / horizon, 1)``; horizon = the game's ``max_turns``, else the
                          encoder's ``horizon`` (default 1000); always the encoder's with
                          ``horizon_from_game=False`` (trained policies). Moves played = turn - 1 (0 at turn 1).
====  ==================  =================================================================================

Layouts (``N = width * height``, cells in the engine's order ``row * width + col`` of the view):

* ``flat``   (`FlatEncoder`): float32 vector ``[14 * N + 4]``: the 14 cell channels one after the other
  (channel-major: element ``k * N + j`` is channel ``k`` of view cell ``j``), then the 4 globals.
* ``planes`` (`PlanesEncoder`): float32 ``[18, height, width]``: the 14 cell channels, then the 4 globals
  as constant planes (channels 14-17).
* ``tokens`` (`TokensEncoder`): float32 ``[N, 20]``, one token per cell (holes included, so the count is
  fixed): the 14 cell channels, then the cell's position ``row / (height - 1)`` and ``col / (width - 1)``
  (0 on a one-wide axis) in the view, then the 4 globals (repeated on every token).

Each encoder works three ways: ``encode(game, seat, rotate)`` builds one observation from scratch;
``incremental(seat, rotate)`` gives a `GameEncoding` that copies the static part at ``reset(game)`` and
then updates only what changed at each ``update(game)`` (the single environments use it); and
``batch(batch_size, width, height, player)`` gives a `BatchEncoding` that encodes every game of a
`GameBatch` in a few vectorised operations (the vector environment uses it); for the three encoders
above it runs compiled kernels (``pyrat_env.kernels.encoders``, numba) that write the same values in one pass.
Encoders support one or two players. This module imports numpy only; ``space()`` imports
``gymnasium.spaces`` when called, and `BatchEncoding` loads numba on first use.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence

import numpy as np

from . import _accel
from .engine import ROTATED_ACTION, ROTATED_ACTION_TUPLE, Game, GameBatch, Maze

CELL_CHANNELS: tuple[str, ...] = (
    "wall_north", "wall_east", "wall_south", "wall_west",
    "mud_north", "mud_east", "mud_south", "mud_west",
    "hole", "cheese", "self", "opponent", "self_mud", "opponent_mud",
)
GLOBAL_FEATURES: tuple[str, ...] = ("self_score", "opponent_score", "cheese_left", "turn")
N_CELL = len(CELL_CHANNELS)
N_GLOBAL = len(GLOBAL_FEATURES)
N_STATIC = 9                       # channels 0..8 depend on the maze only
CH_CHEESE, CH_SELF, CH_OPP, CH_SELF_MUD, CH_OPP_MUD = 9, 10, 11, 12, 13
MUD_SCALE = 10.0
DEFAULT_HORIZON = 1000

# Static channels of a rotated view, taken from the real channels: directions reversed as actions are
# (wall channels 0-3 and mud channels 4-7 follow the actions north..west), the hole channel kept.
_ROTATED_STATIC = [2, 3, 0, 1, 6, 7, 4, 5, 8]


def position_planes(cells: np.ndarray, rotate: np.ndarray | bool, width: int, height: int) -> np.ndarray:
    """One-hot planes of cells, in the view frame: ``cells`` ``[B, K]`` (real cell indices) -> float32
    ``[B, K, height, width]``, plane ``k`` of row ``b`` being 1 on cell ``cells[b, k]`` (on the view's cell
    ``width * height - 1 - cell`` where ``rotate[b]``: the 180-degree turn of the planes encoders).

    The history planes of a network that sees where the players were at its previous decision
    (``pyrat_rl.agents.networks.FcnNet``'s ``history``) are built with it.
    """
    cells = np.asarray(cells, dtype=np.int64)
    b, k = cells.shape
    n = width * height
    view = np.where(np.broadcast_to(np.asarray(rotate, dtype=bool).reshape(-1, 1), (b, k)), n - 1 - cells, cells)
    if ((view < 0) | (view >= n)).any():
        raise ValueError(f"position_planes: a cell outside the {width}x{height} grid")
    out = np.zeros((b, k, n), dtype=np.float32)
    out[np.arange(b)[:, None], np.arange(k)[None, :], view] = 1.0
    return out.reshape(b, k, height, width)


def view_action_to_real(action: int, rotate: bool) -> int:
    """The real action for an action chosen in a (possibly rotated) view."""
    return ROTATED_ACTION_TUPLE[action] if rotate else int(action)


real_action_to_view = view_action_to_real  # the mapping is an involution


@functools.lru_cache(maxsize=1024)
def static_cells(maze: Maze, rotate: bool = False) -> np.ndarray:
    """Channels 0-8 (walls, mud, holes) of a maze in the view frame, ``[9, N]`` float32, read-only, cached."""
    n = maze.n_cells
    out = np.zeros((N_STATIC, n), dtype=np.float32)
    w = maze.weights[:, 1:].T                       # [4, N]: north, east, south, west
    out[0:4] = w == 0
    out[4:8] = np.where(w > 1, np.minimum(w / MUD_SCALE, 1.0), 0.0)
    out[8] = ~maze.cells
    if rotate:
        out = np.ascontiguousarray(out[_ROTATED_STATIC, ::-1])
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=1024)
def action_mask_table(maze: Maze, rotate: bool = False) -> np.ndarray:
    """``[N, 5]`` bool: row = the player's *real* cell, column = action *in the view frame*; True if it moves.

    ``nothing`` (column 0) is always legal. A player in mud has only ``nothing`` (see `action_mask`).
    """
    table = maze.weights > 0
    table[:, 0] = True
    if rotate:
        table = table[:, ROTATED_ACTION]
    table = np.ascontiguousarray(table)
    table.flags.writeable = False
    return table


def action_mask(game: Game, seat: int, rotate: bool = False) -> np.ndarray:
    """Legal actions ``[5]`` bool for ``seat`` in its view frame (only ``nothing`` while in mud)."""
    if game.mud_target[seat] is not None:
        return np.array([True, False, False, False, False])
    return action_mask_table(game.maze, rotate)[game.pos[seat]].copy()


def action_mask_batch(batch: GameBatch, player: int, rotate: np.ndarray | bool = False) -> np.ndarray:
    """Legal actions ``[B, 5]`` bool for ``player`` of every game, in each row's view frame."""
    rows = np.arange(batch.batch_size)
    legal = batch.weights[rows, batch.pos[:, player]] > 0       # [B, 5] real frame
    legal[:, 0] = True
    rot = np.broadcast_to(np.asarray(rotate, dtype=bool), (batch.batch_size,))
    if rot.any():
        legal = np.where(rot[:, None], legal[:, ROTATED_ACTION], legal)
    legal[batch.mud_target[:, player] >= 0, 1:] = False
    return legal


class Encoder:
    """Base class: the shared channels (see the module docstring); subclasses choose the layout."""

    name = "base"

    def __init__(self, horizon: int = DEFAULT_HORIZON, horizon_from_game: bool = True) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        self.horizon = int(horizon)
        # The environments scale the turn by the game's own limit (their episodes end there). A trained policy
        # playing elsewhere keeps the horizon it was trained with (False): a match's turn limit, which its
        # training never showed it, must not change what it sees.
        self.horizon_from_game = bool(horizon_from_game)
        self._templates: dict[tuple[bytes, bool], np.ndarray] = {}

    def turn_horizon(self, max_turns: int | None) -> int:
        """What the ``turn`` feature divides by, for a game whose turn limit is ``max_turns`` (None: none)."""
        return (max_turns or self.horizon) if self.horizon_from_game else self.horizon

    # -- layout (overridden) -----------------------------------------------------------------------
    def shape(self, width: int, height: int) -> tuple[int, ...]:
        """Shape of one observation."""
        raise NotImplementedError

    def _cells(self, buf: np.ndarray, width: int, height: int) -> np.ndarray:
        """View ``[..., 14, N]`` of the cell channels inside a buffer of leading shape ``...``."""
        raise NotImplementedError

    def _globals(self, buf: np.ndarray, width: int, height: int) -> np.ndarray:
        """View ``[..., 4, K]`` of the global features (K = how many times each is repeated)."""
        raise NotImplementedError

    def _fill_extra_static(self, buf: np.ndarray, width: int, height: int) -> None:
        """Static parts other than channels 0-8 (token positions)."""

    def _set_globals(self, buf: np.ndarray, g: np.ndarray, width: int, height: int) -> None:
        """Write the globals ``g [..., 4]`` into observations ``buf [..., *shape]``."""
        self._globals(buf, width, height)[...] = g[..., None]

    # -- shared --------------------------------------------------------------------------------------
    def space(self, width: int, height: int):
        """The observation space: a ``gymnasium.spaces.Box`` in ``[0, 1]``, float32."""
        from gymnasium import spaces

        return spaces.Box(0.0, 1.0, self.shape(width, height), dtype=np.float32)

    def zeros(self, lead: tuple[int, ...], width: int, height: int) -> np.ndarray:
        return np.zeros(lead + self.shape(width, height), dtype=np.float32)

    def template(self, maze: Maze, rotate: bool = False) -> np.ndarray:
        """One observation holding only the static part (channels 0-8, positions); read-only, cached."""
        key = (maze.key(), bool(rotate))
        t = self._templates.get(key)
        if t is None:
            if len(self._templates) >= 512:
                self._templates.clear()
            t = self.zeros((), maze.width, maze.height)
            self._cells(t, maze.width, maze.height)[:N_STATIC] = static_cells(maze, bool(rotate))
            self._fill_extra_static(t, maze.width, maze.height)
            t.flags.writeable = False
            self._templates[key] = t
        return t

    def encode(self, game: Game, seat: int, rotate: bool = False) -> np.ndarray:
        """The observation of ``seat`` in ``game``, built from scratch (the reference for the fast paths)."""
        _check_players(game.n_players)
        maze = game.maze
        w, h, n1 = maze.width, maze.height, maze.n_cells - 1
        buf = self.template(maze, rotate).copy()
        cells = self._cells(buf, w, h)

        def v(c: int) -> int:
            return n1 - c if rotate else c

        if game.cheese:
            idx = np.asarray(game.cheese, dtype=np.int64)
            cells[CH_CHEESE, n1 - idx if rotate else idx] = 1.0
        players = [(seat, CH_SELF, CH_SELF_MUD)]
        if game.n_players == 2:
            players.append((1 - seat, CH_OPP, CH_OPP_MUD))
        for p, ch, ch_mud in players:
            cells[ch, v(game.pos[p])] = 1.0
            if game.mud_target[p] is not None:
                cells[ch_mud, v(game.mud_target[p])] = min(game.mud_count[p] / MUD_SCALE, 1.0)
        glob = _globals_of(game, seat, self.turn_horizon(game.max_turns))
        self._globals(buf, w, h)[...] = np.asarray(glob, dtype=np.float32)[:, None]
        return buf

    def encode_batch(self, batch: GameBatch, player: int, rotate: np.ndarray | bool = False) -> np.ndarray:
        """Observations ``[B, ...]`` of ``player`` in every game of a batch (builds the static part each call)."""
        enc = self.batch(batch.batch_size, batch.width, batch.height, player)
        enc.reset_rows(batch, np.arange(batch.batch_size), rotate)
        return enc.encode(batch)

    def incremental(self, seat: int, rotate: bool = False) -> GameEncoding:
        """A `GameEncoding` for one seat of one game at a time (static part copied, dynamic part updated)."""
        return GameEncoding(self, seat, rotate)

    def batch(self, batch_size: int, width: int, height: int, player: int) -> BatchEncoding:
        """A `BatchEncoding` for ``player`` of a `GameBatch` of this size."""
        return BatchEncoding(self, batch_size, width, height, player)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(horizon={self.horizon})"


class FlatEncoder(Encoder):
    """``flat`` (for MLPs): float32 ``[14 * N + 4]``.

    Element ``k * N + j`` is cell channel ``k`` (`CELL_CHANNELS`) of view cell ``j``; the last 4 elements
    are the globals (`GLOBAL_FEATURES`). N = width * height.
    """

    name = "flat"

    def shape(self, width: int, height: int) -> tuple[int, ...]:
        return (N_CELL * width * height + N_GLOBAL,)

    def _cells(self, buf, width, height):
        n = width * height
        return buf[..., : N_CELL * n].reshape(buf.shape[:-1] + (N_CELL, n))

    def _globals(self, buf, width, height):
        n = width * height
        return buf[..., N_CELL * n:].reshape(buf.shape[:-1] + (N_GLOBAL, 1))


class PlanesEncoder(Encoder):
    """``planes`` (for CNNs): float32 ``[18, height, width]``, channels first.

    Channels 0-13 are the cell channels (`CELL_CHANNELS`: walls N/E/S/W, mud N/E/S/W, hole, cheese, self,
    opponent, self mud, opponent mud); 14-17 the globals (`GLOBAL_FEATURES`) as constant planes.
    """

    name = "planes"

    def shape(self, width: int, height: int) -> tuple[int, ...]:
        return (N_CELL + N_GLOBAL, height, width)

    def _cells(self, buf, width, height):
        lead = buf.shape[:-3]
        return buf.reshape(lead + (N_CELL + N_GLOBAL, width * height))[..., :N_CELL, :]

    def _globals(self, buf, width, height):
        lead = buf.shape[:-3]
        return buf.reshape(lead + (N_CELL + N_GLOBAL, width * height))[..., N_CELL:, :]


class TokensEncoder(Encoder):
    """``tokens`` (for transformers): float32 ``[N, 20]``, one token per view cell ``j`` (holes included).

    Features 0-13: the cell channels (`CELL_CHANNELS`); 14: ``row / (height - 1)``; 15: ``col / (width - 1)``
    (0 on a one-wide axis); 16-19: the globals (`GLOBAL_FEATURES`), the same on every token.
    """

    name = "tokens"
    N_FEATURES = N_CELL + 2 + N_GLOBAL

    def shape(self, width: int, height: int) -> tuple[int, ...]:
        return (width * height, self.N_FEATURES)

    def _cells(self, buf, width, height):
        return np.swapaxes(buf[..., :N_CELL], -1, -2)

    def _globals(self, buf, width, height):
        return np.swapaxes(buf[..., N_CELL + 2:], -1, -2)

    def _set_globals(self, buf, g, width, height):
        buf[..., N_CELL + 2:] = g[..., None, :]   # in memory order (the generic path is strided)

    def _fill_extra_static(self, buf, width, height):
        idx = np.arange(width * height)
        buf[..., N_CELL] = (idx // width) / max(height - 1, 1)
        buf[..., N_CELL + 1] = (idx % width) / max(width - 1, 1)


ENCODERS: dict[str, type[Encoder]] = {"flat": FlatEncoder, "planes": PlanesEncoder, "tokens": TokensEncoder}


def make_encoder(spec: str | Encoder = "planes", **kwargs) -> Encoder:
    """An encoder from its name (``flat``, ``planes``, ``tokens``); an `Encoder` is returned as it is."""
    if isinstance(spec, Encoder):
        return spec
    try:
        return ENCODERS[spec](**kwargs)
    except KeyError:
        raise ValueError(f"unknown encoder {spec!r}; choose one of {', '.join(ENCODERS)}") from None


def _check_players(n: int) -> None:
    if n not in (1, 2):
        raise ValueError(f"the encoders handle one or two players, not {n}")


def _globals_of(game: Game, seat: int, horizon: int) -> tuple[float, float, float, float]:
    nb = len(game.initial_cheese) or 1
    opp = game.scores[1 - seat] / nb if game.n_players == 2 else 0.0
    return (game.scores[seat] / nb, opp, len(game.cheese) / nb, min(max(game.turn - 1, 0) / horizon, 1.0))


class GameEncoding:
    """Incremental observations of one seat of one game: ``reset(game)`` then ``update(game)`` each turn.

    ``reset`` copies the cached static part; ``update`` clears the few cells it set last time, sets the
    new ones, rebuilds the cheese channel only when a cheese was eaten, and returns a fresh copy.
    """

    def __init__(self, encoder: Encoder, seat: int, rotate: bool = False) -> None:
        self.encoder, self.seat, self.rotate = encoder, int(seat), bool(rotate)
        self.buf: np.ndarray | None = None

    def reset(self, game: Game) -> np.ndarray:
        _check_players(game.n_players)
        enc, maze = self.encoder, game.maze
        w, h = maze.width, maze.height
        self.buf = enc.template(maze, self.rotate).copy()
        cells = enc._cells(self.buf, w, h)
        self._cheese_row = cells[CH_CHEESE]
        self._marks = [cells[CH_SELF], cells[CH_OPP], cells[CH_SELF_MUD], cells[CH_OPP_MUD]]
        self._last = [-1, -1, -1, -1]
        g = enc._globals(self.buf, w, h)
        self._g = [g[k] for k in range(N_GLOBAL)]
        self._n1 = maze.n_cells - 1
        self._nb = float(len(game.initial_cheese) or 1)
        self._horizon = float(enc.turn_horizon(game.max_turns))
        self._n_cheese = -1
        self._scores: list[float] = []
        self._two = game.n_players == 2
        self._players = (self.seat, 1 - self.seat) if self._two else (self.seat,)
        return self.update(game)

    def _set_cheese(self, cheese: list[int]) -> None:
        row = self._cheese_row
        row[...] = 0.0
        if cheese:
            idx = np.asarray(cheese, dtype=np.int64)
            row[self._n1 - idx if self.rotate else idx] = 1.0
        self._n_cheese = len(cheese)
        self._g[2].fill(len(cheese) / self._nb)

    def update(self, game: Game) -> np.ndarray:
        """The observation of the current state of the game given to the last ``reset``."""
        if len(game.cheese) != self._n_cheese:
            self._set_cheese(game.cheese)
        rot, n1, last, marks = self.rotate, self._n1, self._last, self._marks
        pos, mud_t = game.pos, game.mud_target
        k = 0
        for p in self._players:
            c = n1 - pos[p] if rot else pos[p]
            lk = last[k]
            if c != lk:
                if lk >= 0:
                    marks[k][lk] = 0.0
                marks[k][c] = 1.0
                last[k] = c
            t = mud_t[p]
            lm = last[k + 2]
            if t is not None:
                if rot:
                    t = n1 - t
                if lm >= 0:
                    marks[k + 2][lm] = 0.0
                marks[k + 2][t] = min(game.mud_count[p] / MUD_SCALE, 1.0)
                last[k + 2] = t
            elif lm >= 0:
                marks[k + 2][lm] = 0.0
                last[k + 2] = -1
            k += 1
        scores = game.scores
        if scores != self._scores:
            self._scores = list(scores)
            seat = self.seat
            self._g[0].fill(scores[seat] / self._nb)
            if self._two:
                self._g[1].fill(scores[1 - seat] / self._nb)
        t = game.turn - 1
        self._g[3].fill(min(t / self._horizon, 1.0) if t > 0 else 0.0)
        return self.buf.copy()


class BatchEncoding:
    """Observations of one player in every game of a `GameBatch`, vectorised over the games.

    ``reset_rows(batch, rows, rotate)`` copies the static part of the mazes now in those slots (call it
    whenever a slot gets a new game); ``encode(batch, rows=None)`` returns ``[B, ...]`` (or
    ``[len(rows), ...]``) fresh observations with no Python loop over games.
    """

    def __init__(self, encoder: Encoder, batch_size: int, width: int, height: int, player: int) -> None:
        self.encoder, self.player = encoder, int(player)
        self.width, self.height, self.n = int(width), int(height), int(width) * int(height)
        self.static = encoder.zeros((batch_size,), width, height)
        # Where cell channel k of cell j lies in one flattened observation: channel_base[k] + j * step.
        probe = encoder.zeros((), width, height) - 1.0
        cells = encoder._cells(probe, width, height)
        cells[...] = np.arange(N_CELL * self.n, dtype=np.float32).reshape(N_CELL, self.n)
        where = np.argsort(probe.reshape(-1), kind="stable")[-N_CELL * self.n:].reshape(N_CELL, self.n)
        self.channel_base = where[:, 0].tolist()
        self.step = int(where[0, 1] - where[0, 0]) if self.n > 1 else 1
        if not (where == np.asarray(self.channel_base)[:, None] + np.arange(self.n) * self.step).all():
            raise ValueError(f"{type(encoder).__name__}: cell channels are not evenly strided")
        self.rotate = np.zeros(batch_size, dtype=bool)
        self.n_initial = np.ones(batch_size, dtype=np.float32)
        self._layout = self._kernel_layout() if type(encoder) in ENCODERS.values() else None

    def _kernel_layout(self) -> tuple | None:
        """Where the compiled kernels write: cell channel bases, the globals' (bases, stride, count), and one
        observation with only the maze-independent static part (token positions); None if not strided."""
        enc, w, h = self.encoder, self.width, self.height
        probe = enc.zeros((), w, h)
        enc._set_globals(probe, np.arange(1, N_GLOBAL + 1, dtype=np.float32), w, h)
        flat = probe.reshape(-1)
        where = [np.flatnonzero(flat == g + 1) for g in range(N_GLOBAL)]
        count = len(where[0])
        if count == 0 or any(len(x) != count for x in where):
            return None
        gstep = int(where[0][1] - where[0][0]) if count > 1 else 1
        if any((x != x[0] + gstep * np.arange(count)).any() for x in where):
            return None
        blank = enc.zeros((), w, h)
        enc._fill_extra_static(blank, w, h)
        return (np.asarray(self.channel_base, dtype=np.int64), np.array([x[0] for x in where], dtype=np.int64),
                gstep, count, blank)

    def reset_rows(self, batch: GameBatch, rows: Sequence[int] | np.ndarray, rotate: np.ndarray | bool) -> None:
        _check_players(batch.n_players)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        rot = np.broadcast_to(np.asarray(rotate, dtype=bool), rows.shape)
        kernels = _accel.kernels("encoders") if self._layout is not None else None
        if kernels is not None:
            # Static channels of a new maze written straight into the slot (no template built for a fresh maze).
            base, blank = self._layout[0], self._layout[4]
            flat = self.static.reshape(len(self.static), -1)
            for i, r in zip(rows.tolist(), rot.tolist()):
                maze = batch.mazes[i]
                self.static[i] = blank
                kernels.static_rows(flat, i, maze.weights, maze.cells, r, base, self.step, MUD_SCALE)
                self.rotate[i] = r
                self.n_initial[i] = max(len(batch.initial_cheese[i]), 1)
            return
        for i, r in zip(rows.tolist(), rot.tolist()):
            self.static[i] = self.encoder.template(batch.mazes[i], r)
            self.rotate[i] = r
            self.n_initial[i] = max(len(batch.initial_cheese[i]), 1)

    def encode(self, batch: GameBatch, rows: np.ndarray | None = None) -> np.ndarray:
        """Fresh observations ``[B, ...]`` of every game (or ``[len(rows), ...]`` of the given rows)."""
        kernels = _accel.kernels("encoders") if self._layout is not None else None
        if kernels is not None:
            return self._encode_kernel(kernels, batch, rows)
        return self._encode_numpy(batch, rows)

    def _encode_kernel(self, kernels, batch: GameBatch, rows: np.ndarray | None) -> np.ndarray:
        size = len(self.static)
        if rows is None:
            rows = getattr(self, "_all_rows", None)
            if rows is None or len(rows) != size:
                rows = self._all_rows = np.arange(size)
        else:
            rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        shape = (len(rows),) + self.static.shape[1:]
        out = self._free_buffer(shape) if len(rows) == size else np.empty(shape, dtype=np.float32)
        if len(rows) == 0:
            return out
        base, gbase, gstep, gcount, _ = self._layout
        horizon = self.encoder.turn_horizon(batch.max_turns)
        kernels.encode_rows(self.static.reshape(size, -1), rows, out.reshape(len(rows), -1), batch.cheese, batch.pos,
                            batch.mud_target, batch.mud_count, batch.scores, batch.turn, batch.n_cheese, self.rotate,
                            self.n_initial, self.player, batch.n_players == 2, base, self.step, gbase, gstep, gcount,
                            float(horizon), MUD_SCALE)
        return out

    def _free_buffer(self, shape: tuple[int, ...]) -> np.ndarray:
        """An output array of this shape that nobody else holds any more, or a new one.

        A full batch of observations is megabytes: a fresh allocation of that size is served by new pages
        from the system, and touching them costs more than encoding. So the last few outputs are kept and
        one is reused once its reference count shows that the caller dropped it (and every view of it):
        the caller still gets an array it alone holds, as with a new one. The count of a free buffer is
        read on a sentinel that is never handed out, so it does not depend on the interpreter's details.
        """
        pool = self.__dict__.setdefault("_pool", [np.empty(0, dtype=np.float32)])
        free = None
        for buf in pool:
            if free is None:
                free = sys.getrefcount(buf)  # the sentinel (pool[0]): the count of an array only the pool holds
            elif sys.getrefcount(buf) == free and buf.shape == shape:
                return buf
        buf = np.empty(shape, dtype=np.float32)
        pool.append(buf)
        if len(pool) > 5:  # keep the sentinel and the 4 latest
            del pool[1]
        return buf

    def _encode_numpy(self, batch: GameBatch, rows: np.ndarray | None = None) -> np.ndarray:
        """`encode` with numpy operations (the reference for the kernel, and the path for other encoders)."""
        enc, w, h, n1 = self.encoder, self.width, self.height, self.n - 1
        p = self.player
        if rows is None:
            out = self.static.copy()
            rot, nb = self.rotate, self.n_initial
            cheese, pos, mt, mc = batch.cheese, batch.pos, batch.mud_target, batch.mud_count
            scores, turn = batch.scores, batch.turn
            n_cheese = batch.n_cheese
        else:
            rows = np.asarray(rows, dtype=np.int64)
            out = self.static[rows]
            rot, nb = self.rotate[rows], self.n_initial[rows]
            cheese, pos, mt, mc = batch.cheese[rows], batch.pos[rows], batch.mud_target[rows], batch.mud_count[rows]
            scores, turn = batch.scores[rows], batch.turn[rows]
            n_cheese = batch.n_cheese[rows]
        b = len(out)
        if b == 0:
            return out
        # Dynamic cells are written through flat indices: row * size + channel base + cell * step.
        flat = out.reshape(-1)
        size = flat.size // b
        base = np.arange(0, b * size, size)
        step = self.step
        any_rot = bool(rot.any())
        idx = np.flatnonzero(cheese)          # faster than a 2-D nonzero
        if len(idx):
            r = idx // self.n
            c = idx - r * self.n
            if any_rot:
                c = np.where(rot[r], n1 - c, c)
            flat[base[r] + self.channel_base[CH_CHEESE] + c * step] = 1.0
        players = [(p, CH_SELF, CH_SELF_MUD)]
        if batch.n_players == 2:
            players.append((1 - p, CH_OPP, CH_OPP_MUD))
        for q, ch, ch_mud in players:
            c = pos[:, q]
            if any_rot:
                c = np.where(rot, n1 - c, c)
            flat[base + self.channel_base[ch] + c * step] = 1.0
            t = mt[:, q]
            m = t >= 0
            if m.any():
                t = t[m]
                if any_rot:
                    t = np.where(rot[m], n1 - t, t)
                flat[base[m] + self.channel_base[ch_mud] + t * step] = np.minimum(mc[m, q] / MUD_SCALE, 1.0)
        horizon = enc.turn_horizon(batch.max_turns)
        g = np.empty((b, N_GLOBAL), dtype=np.float32)
        g[:, 0] = scores[:, p] / nb
        g[:, 1] = scores[:, 1 - p] / nb if batch.n_players == 2 else 0.0
        g[:, 2] = n_cheese / nb
        g[:, 3] = np.minimum(np.maximum(turn - 1, 0) / horizon, 1.0)
        enc._set_globals(out, g, w, h)
        return out
