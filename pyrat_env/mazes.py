"""Maze generation, game settings (`GameConfig`), presets, and the seeded set-up of a full game.

The generators follow pyrat-game's algorithms in shape (not bit for bit): cells are removed from a
full grid (``big_holes``: removals cluster next to existing holes, with pyrat-game's weighting;
``uniform_holes``: uniform) or grown from the centre (``holes_on_side``), always keeping the maze
connected; walls are the shuffled non-spanning-tree edges; mud is a share of the remaining edges.
The counts follow pyrat-game's formulas exactly: ``int(W*H*cell%/100)`` cells,
``int(non_tree_edges*wall%/100)`` walls, ``int(edges*mud%/100)`` mud edges.

Connectivity is kept with an exact test that costs a few look-ups instead of a search of the maze:
a cell may be removed unless two of the gaps between its kept neighbours (around its ring of 8
cells) belong to the same 8-connected group of holes and outside, which would close a loop of
holes around kept cells. So exactly the cells pyrat-game would accept can go (pyrat-game removes
a cell, searches the whole maze and puts the cell back if it is disconnected).

With ``symmetric=True`` holes, walls, mud, cheese and corner starts are invariant under a
180-degree rotation (cell ``i`` <-> ``N - 1 - i``), for fair two-player games.

Every random choice draws from a ``numpy.random.Generator`` made from the game's seed: the same
seed gives the same maze, cheese and starts in any process.

Speed: once numba is loaded (see ``pyrat_env._accel``) `new_game` makes the whole set-up in one
compiled call (``pyrat_env.kernels.mazes.new_setup``), which replays numpy's random numbers for the seed
(SeedSequence, PCG64, ``random``, ``shuffle``, ``integers``) and makes the same decisions as the
Python code here; `generate_maze` with a given generator feeds numpy's draws to the same kernels.
``tests/test_kernels.py`` checks that every path gives the same games, and the one-call path checks
itself against numpy once per process, so which code runs never changes a game. (The one call is kept
because it measured faster than the compiled steps fed with numpy's draws, median CPU time per game over
800 seeds: 0.09 against 0.18 ms for an official game (2.1x), 0.18 against 0.30 ms for a tournament one
(1.65x).)
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from . import _accel
from .engine import EAST, NORTH, SOUTH, WEST, Game, Maze, MazeError, nearest_existing_cell

MAZE_ALGORITHMS = ("big_holes", "uniform_holes", "holes_on_side")
NAMED_STARTS = ("center", "top_left", "top_right", "bottom_left", "bottom_right", "random", "same")
# Clockwise ring around a cell: N, NE, E, SE, S, SW, W, NW; the 4-neighbours are at even positions.
_RING = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _ring_gap_table() -> tuple[tuple[int, ...] | None, ...]:
    """For each 8-bit ring pattern (bit i set: ring cell i kept), one ring position per gap, or None.

    The kept ring cells that touch the centre by a side form k runs around the ring; between two runs
    lies a gap of holes, all 8-connected to each other. ``None``: no kept side neighbour (k = 0).
    ``()``: k <= 1, the centre can always go. Otherwise one hole position per gap (k of them).
    """
    table: list[tuple[int, ...] | None] = []
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        if not any(bits[i] for i in (0, 2, 4, 6)):
            table.append(None)
            continue
        if all(bits):
            table.append(())
            continue
        # Walk once around the ring from a hole (the walk ends on it); a run "counts" when it holds a
        # side cell (even position). Each counted run is recorded with the gap that precedes it.
        start = bits.index(0)
        runs, gaps = 0, []
        in_run, has_side, gap_rep = False, False, start
        for k in range(1, 9):
            i = (start + k) % 8
            if bits[i]:
                in_run = True
                has_side |= i % 2 == 0
            else:
                if in_run and has_side:
                    runs += 1
                    gaps.append(gap_rep)
                    gap_rep = i
                in_run, has_side = False, False
        table.append(() if runs <= 1 else tuple(gaps))
    return tuple(table)


_RING_GAPS = _ring_gap_table()
# The same table as arrays, for the compiled carving kernel: the number of gaps (-1 for None) and their positions.
_GAP_COUNT = np.array([-1 if g is None else len(g) for g in _RING_GAPS], dtype=np.int64)
_GAP_POS = np.array([(list(g or ()) + [0, 0, 0, 0])[:4] for g in _RING_GAPS], dtype=np.int64)
_generated = [0]  # mazes generated in this process (see `_accel.MAZES_BEFORE_LOADING`)


def _maze_kernels():
    """The compiled kernels if loaded, or once this process has made enough mazes to gain from loading them."""
    _generated[0] += 1
    return _accel.kernels("mazes", load=_generated[0] > _accel.MAZES_BEFORE_LOADING)


@functools.lru_cache(maxsize=64)
def _grid_edges(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """All grid-neighbour pairs (a, b), a < b: horizontal ones first, then vertical."""
    idx = np.arange(width * height).reshape(height, width)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return a.astype(np.int64), b.astype(np.int64)


class _Grid:
    """The kept cells during hole carving, padded by one cell so ring look-ups need no bounds checks.

    Holes and the outside of the grid (the padding, one node) are kept in a union-find of their
    8-connected components: holes only grow, so components only merge, and the exact removability
    test of a cell is a few look-ups (see `removable`).
    """

    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.pw = width + 2
        size = (width + 2) * (height + 2)
        self.kept = bytearray(size)
        for r in range(height):
            start = (r + 1) * self.pw + 1
            self.kept[start:start + width] = b"\x01" * width
        self.ring = [dr * self.pw + dc for dr, dc in _RING]
        # Every padding cell starts in the component of padding cell 0: the outside is one hole.
        parent = list(range(size))
        parent[: self.pw] = parent[size - self.pw:] = [0] * self.pw
        parent[self.pw - 1::self.pw] = [0] * (height + 2)
        parent[::self.pw] = [0] * (height + 2)
        self.parent = parent

    def padded(self, cell: int) -> int:
        r, c = divmod(cell, self.w)
        return (r + 1) * self.pw + c + 1

    def _root(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def removable(self, cell: int, also_removed: int = -1) -> bool:
        """Can ``cell`` become a hole without disconnecting the kept cells (after ``also_removed``, if given)?

        Exact, by the (4, 8) duality of grids: with the cell's side-touching kept neighbours in k runs
        around its ring (k gaps of holes between them), removing it leaves the kept cells connected
        if and only if the k gaps lie in k different 8-connected components of holes and outside.
        (k = 1 is always fine; two gaps in one component close a loop of holes around kept cells.)
        """
        p = self.padded(cell)
        k = self.kept
        q = self.padded(also_removed) if also_removed >= 0 else -1
        code = 0
        for i, off in enumerate(self.ring):
            if k[p + off] and p + off != q:
                code |= 1 << i
        gaps = _RING_GAPS[code]
        if gaps is None:
            return False
        if not gaps:
            return True
        roots = [self._root(p + self.ring[g]) for g in gaps]
        if q >= 0:  # ``also_removed`` joins the components of the holes around it into one
            merged = {q} | {self._root(q + off) for off in self.ring if not k[q + off]}
            roots = [-1 if r in merged else r for r in roots]
        return len(set(roots)) == len(roots)

    def remove(self, cell: int) -> None:
        """Make ``cell`` a hole, joining it to the holes (and outside) around it."""
        p = self.padded(cell)
        self.kept[p] = 0
        for off in self.ring:
            if not self.kept[p + off]:
                a, b = self._root(p), self._root(p + off)
                if a != b:
                    self.parent[a] = b

    def is_kept(self, cell: int) -> bool:
        return bool(self.kept[self.padded(cell)])

    def mask(self) -> np.ndarray:
        arr = np.frombuffer(bytes(self.kept), dtype=np.uint8).reshape(self.h + 2, self.pw)
        return arr[1:-1, 1:-1].astype(bool).ravel()


def _carve_holes(rng: np.random.Generator, width: int, height: int, target: int, algorithm: str,
                 symmetric: bool, protected: frozenset[int], kernels=None) -> np.ndarray:
    """Remove cells from the full grid until ``target`` remain (pairs of rotated cells if symmetric).

    With ``kernels`` (`pyrat_env.kernels.mazes`) the compiled twin of `_carve_holes_py` does the work: it takes
    the same draws and makes the same decisions, so the result is the same.
    """
    if algorithm == "holes_on_side":
        return _grow_from_centre(rng, width, height, target, symmetric)
    if kernels is None:
        return _carve_holes_py(rng, width, height, target, algorithm, symmetric, protected)
    n = width * height
    prot = np.zeros(n, dtype=bool)
    if protected:
        prot[list(protected)] = True
    uniforms = rng.random(4 * n)
    out = np.empty(n, dtype=bool)
    while kernels.carve_holes(width, height, target, algorithm == "big_holes", symmetric, prot, uniforms,
                              _GAP_COUNT, _GAP_POS, out) < 0:
        uniforms = np.concatenate([uniforms, rng.random(4 * n)])  # as the Python loop draws its next batch
    return out


def _carve_holes_py(rng: np.random.Generator, width: int, height: int, target: int, algorithm: str,
                    symmetric: bool, protected: frozenset[int]) -> np.ndarray:
    """`_carve_holes` in Python (big or uniform holes): the reference for the compiled kernel."""
    n = width * height
    grid = _Grid(width, height)
    kept_count = n
    # Candidates are kept in a list (O(1) uniform draw, swap-remove); pyrat-game's weight
    # 1 + (cells removed) * lost^2 is split into a uniform part and a "frontier" part over the
    # cells that lost neighbours, so a draw costs a few Python operations instead of a pass over N.
    lost = [0] * n
    cand = [c for c in range(n) if c not in protected]
    where = {c: i for i, c in enumerate(cand)}
    frontier: dict[int, int] = {}  # candidate cell -> lost^2, for cells with lost > 0
    # Re-drawing after a rejected cell changes nothing, so a rejected cell is set aside until a
    # cell of its ring is removed: the same distribution as pyrat-game's retry loop, fewer draws.
    blocked: set[int] = set()
    uniforms = rng.random(4 * n).tolist()
    draw = 0
    centre = n // 2 if n % 2 == 1 else -1  # the one cell a rotation maps to itself (odd W and H)
    big = algorithm == "big_holes"

    def take_out(c: int) -> None:
        i = where.pop(c)
        last = cand.pop()
        if last != c:
            cand[i] = last
            where[last] = i
        frontier.pop(c, None)

    def put_back(c: int) -> None:
        where[c] = len(cand)
        cand.append(c)
        if lost[c]:
            frontier[c] = lost[c] * lost[c]

    while kept_count > target:
        if symmetric and kept_count - target < 2:
            # One cell left to remove: only the centre keeps the symmetry.
            if centre >= 0 and centre in where and grid.removable(centre):
                pair = [centre]
            else:
                break
        elif not cand:
            break  # no cell can go without disconnecting the maze: keep more cells than asked
        else:
            if draw == len(uniforms):
                uniforms, draw = rng.random(4 * n).tolist(), 0
            removed = n - kept_count
            fsum = removed * sum(frontier.values()) if big else 0
            u = uniforms[draw] * (len(cand) + fsum)
            draw += 1
            if u < len(cand):
                v = cand[int(u)]
            else:
                u -= len(cand)
                v = -1
                for c, l2 in frontier.items():
                    u -= removed * l2
                    v = c
                    if u < 0:
                        break
            pair = [v] if not symmetric or n - 1 - v == v else [v, n - 1 - v]
            ok = grid.removable(v)
            if ok and len(pair) == 2:
                ok = pair[1] in where and grid.removable(pair[1], also_removed=v)
            if not ok:
                take_out(v)
                blocked.add(v)
                continue
        changed = []
        for c in pair:
            grid.remove(c)
            if c in where:
                take_out(c)
            kept_count -= 1
            r, col = divmod(c, width)
            for dr, dc in _RING:
                rr, cc = r + dr, col + dc
                if 0 <= rr < height and 0 <= cc < width:
                    nb = rr * width + cc
                    changed.append(nb)
                    if dr == 0 or dc == 0:
                        lost[nb] += 1
                        if nb in frontier or (nb in where):
                            frontier[nb] = lost[nb] * lost[nb]
        for nb in changed:  # their ring changed: set-aside cells may have become removable
            if nb in blocked and grid.is_kept(nb):
                blocked.discard(nb)
                put_back(nb)
    return grid.mask()


def _grow_from_centre(rng: np.random.Generator, width: int, height: int, target: int, symmetric: bool) -> np.ndarray:
    """pyrat-game's holes-on-side: add cells from the centre, popping a random frontier cell each time."""
    n = width * height
    kept = np.zeros(n, dtype=bool)
    frontier = [(height // 2) * width + width // 2]
    # With even sides no cell touches its rotated image: the first step takes the central 2x2 block
    # (two rotated pairs), else the two halves grown from diagonal neighbours may never join.
    block = symmetric and width % 2 == 0 and height % 2 == 0
    count = 0
    while count < target and frontier:
        v = frontier.pop(int(rng.integers(len(frontier))))
        if kept[v]:
            continue
        cells = (v, n - 1 - v) if symmetric else (v,)
        if block:
            cells, block = cells + (v - 1, n - v), False
        for c in cells:
            if not kept[c]:
                kept[c] = True
                count += 1
                r, col = divmod(c, width)
                if r > 0:
                    frontier.append(c - width)
                if r < height - 1:
                    frontier.append(c + width)
                if col > 0:
                    frontier.append(c - 1)
                if col < width - 1:
                    frontier.append(c + 1)
    return kept


def _find(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _edge_mirror(width: int, height: int) -> np.ndarray:
    """Index of the 180-degree rotated edge for every grid edge (as listed by ``_grid_edges``)."""
    a, b = _grid_edges(width, height)
    n = width * height
    lookup = {(int(x), int(y)): i for i, (x, y) in enumerate(zip(a, b))}
    return np.array([lookup[(n - 1 - int(y), n - 1 - int(x))] for x, y in zip(a, b)])


_edge_mirror = functools.lru_cache(maxsize=64)(_edge_mirror)


def generate_maze(rng: np.random.Generator, width: int = 15, height: int = 13, cell_percentage: float = 80.0,
                  wall_percentage: float = 60.0, mud_percentage: float = 20.0, mud_range: tuple[int, int] = (4, 9),
                  algorithm: str = "big_holes", symmetric: bool = False,
                  protected: frozenset[int] = frozenset()) -> Maze:
    """A random connected maze, shaped like pyrat-game's (see the module docstring).

    ``protected`` cells are never made holes (used to keep corner starts in symmetric mazes).
    """
    return _generate_maze(rng, width, height, cell_percentage, wall_percentage, mud_percentage, mud_range,
                          algorithm, symmetric, protected, _maze_kernels())


def _generate_maze(rng: np.random.Generator, width: int, height: int, cell_percentage: float,
                   wall_percentage: float, mud_percentage: float, mud_range: tuple[int, int], algorithm: str,
                   symmetric: bool, protected: frozenset[int], kernels) -> Maze:
    if algorithm not in MAZE_ALGORITHMS:
        raise ValueError(f"unknown maze algorithm {algorithm!r}; choose one of {', '.join(MAZE_ALGORITHMS)}")
    for name, value in (("cell_percentage", cell_percentage), ("wall_percentage", wall_percentage),
                        ("mud_percentage", mud_percentage)):
        if not 0 <= value <= 100:
            raise ValueError(f"{name} must be within [0, 100], got {value}")
    lo, hi = int(mud_range[0]), int(mud_range[1])
    if mud_percentage > 0 and not 2 <= lo <= hi:
        raise ValueError(f"mud_range must satisfy 2 <= low <= high, got {tuple(mud_range)}")
    if width < 1 or height < 1 or width * height < 2:  # (the compiled path builds the Maze without its checks)
        raise MazeError(f"maze size {width}x{height} is too small (at least 2 cells)")
    n = width * height
    target = max(int(n * cell_percentage / 100), 2)
    cells = _carve_holes(rng, width, height, target, algorithm, symmetric, protected, kernels) if target < n \
        else np.ones(n, dtype=bool)

    ea, eb = _grid_edges(width, height)
    mirror = _edge_mirror(width, height) if symmetric else None
    if kernels is not None:
        return _edges_with_kernels(kernels, rng, width, height, cells, ea, eb, mirror, wall_percentage,
                                   mud_percentage, lo, hi)
    present = np.flatnonzero(cells[ea] & cells[eb])
    # Random spanning tree (Kruskal on shuffled edges); in symmetric mode edges go in rotated pairs.
    parent = list(range(n))
    in_tree = np.zeros(len(ea), dtype=bool)
    ea_l, eb_l = ea.tolist(), eb.tolist()
    for e in rng.permutation(present).tolist():
        if in_tree[e]:
            continue
        ra, rb = _find(parent, ea_l[e]), _find(parent, eb_l[e])
        if ra != rb:
            parent[ra] = rb
            in_tree[e] = True
            if mirror is not None:
                m = int(mirror[e])
                in_tree[m] = True
                rma, rmb = _find(parent, ea_l[m]), _find(parent, eb_l[m])
                if rma != rmb:
                    parent[rma] = rmb
    non_tree = present[~in_tree[present]]
    n_walls = int(len(non_tree) * wall_percentage / 100)
    keep = np.zeros(len(ea), dtype=bool)
    keep[present] = True
    _choose(rng, non_tree, n_walls, mirror, keep, False)
    edges = np.flatnonzero(keep)
    weight = np.ones(len(ea), dtype=np.int16)
    n_mud = int(len(edges) * mud_percentage / 100)
    if n_mud:
        mud = np.zeros(len(ea), dtype=bool)
        _choose(rng, edges, n_mud, mirror, mud, True)
        mud_edges = np.flatnonzero(mud)
        draws = rng.integers(lo, hi + 1, size=len(mud_edges))
        weight[mud_edges] = draws
        if mirror is not None:  # a rotated pair gets one weight: the one drawn for its lower index
            lower = np.minimum(mud_edges, mirror[mud_edges])
            weight[mud_edges] = weight[lower]
    weights = np.zeros((n, 5), dtype=np.int16)
    horizontal = (eb[edges] - ea[edges]) != width  # not `== 1`: in a 1-wide grid vertical edges differ by 1
    for sel, fwd, back in ((horizontal, EAST, WEST), (~horizontal, SOUTH, NORTH)):
        e = edges[sel]
        weights[ea[e], fwd] = weight[e]
        weights[eb[e], back] = weight[e]
    return Maze(width, height, cells, weights)


_NO_MIRROR = np.zeros(0, dtype=np.int64)
_NO_DRAWS = np.zeros(0, dtype=np.int64)


def _edges_with_kernels(kernels, rng: np.random.Generator, width: int, height: int, cells: np.ndarray,
                        ea: np.ndarray, eb: np.ndarray, mirror: np.ndarray | None, wall_percentage: float,
                        mud_percentage: float, lo: int, hi: int) -> Maze:
    """The rest of `generate_maze` after the holes, with the compiled kernels: the same draws in the same
    order (a permutation is drawn only where `_choose` would draw one), the same maze."""
    # ``rng.shuffle`` of a fresh copy takes the same draws as ``rng.permutation`` (and costs less).
    mir = _NO_MIRROR if mirror is None else mirror
    present = kernels.present_edges(cells, ea, eb)
    order = present.copy()
    rng.shuffle(order)
    non_tree = kernels.kruskal(order, ea, eb, mir, width * height, present)
    n_walls = int(len(non_tree) * wall_percentage / 100)
    if n_walls > 0:
        rng.shuffle(non_tree)  # a fresh array: only its shuffled order is used from now on
    edges = kernels.drop_walls(non_tree, n_walls, mir, present, len(ea))
    n_mud = int(len(edges) * mud_percentage / 100)
    mud_edges, draws = _NO_MIRROR, _NO_DRAWS
    if n_mud:
        order = edges.copy()
        rng.shuffle(order)
        mud_edges = kernels.pick_mud(order, n_mud, mir, len(ea))
        draws = rng.integers(lo, hi + 1, size=len(mud_edges))
    weights, neighbors = kernels.maze_tables(width, height, cells, ea, eb, edges, mud_edges, draws, mir)
    return _generated_maze(width, height, cells, weights, neighbors)


def _generated_maze(width: int, height: int, cells: np.ndarray, weights: np.ndarray, neighbors: np.ndarray) -> Maze:
    """A `Maze` from tables the generator built itself (valid by construction): the object
    ``Maze(width, height, cells, weights)`` would give, without its checks (``tests/test_kernels.py``)."""
    maze = object.__new__(Maze)
    maze.width, maze.height = width, height
    maze.cells, maze.weights, maze.neighbors = cells, weights, neighbors
    for arr in (cells, weights, neighbors):
        arr.flags.writeable = False
    maze._edges = None
    maze._key = None
    return maze


def _choose(rng: np.random.Generator, pool: np.ndarray, count: int, mirror: np.ndarray | None,
            flags: np.ndarray, value: bool) -> None:
    """Set ``flags[e] = value`` for ``count`` random edges of ``pool`` (rotated pairs together if symmetric)."""
    if count <= 0:
        return
    order = rng.permutation(pool)
    if mirror is None:
        flags[order[:count]] = value
        return
    done = 0
    seen = set()
    for e in order.tolist():
        if done >= count or e in seen:
            continue
        m = int(mirror[e])
        seen.update((e, m))
        flags[e] = value
        flags[m] = value
        done += 1 if m == e else 2


@dataclass(frozen=True)
class GameConfig:
    """Everything that defines a game before its seed: maze settings, cheese, starts, turn limit.

    ``starts`` has one entry per player: a named location (``center``, ``top_left``, ``top_right``,
    ``bottom_left``, ``bottom_right``, ``random``, ``same``) or a cell index; a start on a hole moves
    to the nearest existing cell. ``max_turns`` (None: no limit, as the official game) truncates.
    """

    width: int = 15
    height: int = 13
    cell_percentage: float = 80.0
    wall_percentage: float = 60.0
    mud_percentage: float = 20.0
    mud_range: tuple[int, int] = (4, 9)
    maze_algorithm: str = "big_holes"
    nb_cheese: int = 21
    symmetric: bool = False
    starts: tuple = ("center", "center")
    teams: tuple | None = None
    max_turns: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mud_range", tuple(int(x) for x in self.mud_range))
        object.__setattr__(self, "starts", tuple(self.starts))
        if self.teams is not None:
            object.__setattr__(self, "teams", tuple(self.teams))
        if self.width < 1 or self.height < 1 or self.width * self.height < 2:
            raise ValueError(f"maze size {self.width}x{self.height} is too small")
        if self.maze_algorithm not in MAZE_ALGORITHMS:
            raise ValueError(f"unknown maze_algorithm {self.maze_algorithm!r}; choose one of {MAZE_ALGORITHMS}")
        if self.nb_cheese < 1:
            raise ValueError(f"nb_cheese must be >= 1, got {self.nb_cheese}")
        if not self.starts:
            raise ValueError("starts must name at least one player's start")
        for s in self.starts:
            if not (isinstance(s, int) or s in NAMED_STARTS):
                raise ValueError(f"unknown start {s!r}; use a cell index or one of {NAMED_STARTS}")
        if self.teams is not None and len(self.teams) != len(self.starts):
            raise ValueError(f"{len(self.teams)} teams for {len(self.starts)} players")
        if self.max_turns is not None and self.max_turns < 1:
            raise ValueError(f"max_turns must be >= 1 or None, got {self.max_turns}")

    @property
    def n_players(self) -> int:
        return len(self.starts)

    def with_(self, **changes) -> GameConfig:
        """A copy with some fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mud_range"] = list(self.mud_range)
        d["starts"] = list(self.starts)
        d["teams"] = None if self.teams is None else list(self.teams)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> GameConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown game config field(s): {', '.join(sorted(unknown))}")
        return cls(**d)


PRESETS: dict[str, GameConfig] = {
    # pyrat-game's defaults: every player on the centre cell.
    "official": GameConfig(),
    # The 2019 game: symmetric maze, rat and python in opposite corners.
    "classic": GameConfig(width=21, height=15, nb_cheese=41, symmetric=True, starts=("top_left", "bottom_right")),
    # The course tournament.
    "tournament": GameConfig(width=25, height=20, nb_cheese=41, starts=("top_left", "bottom_right")),
    # Small and quick, for tests and first experiments.
    "tiny": GameConfig(width=7, height=5, cell_percentage=90.0, wall_percentage=50.0, mud_percentage=10.0,
                       mud_range=(2, 3), nb_cheese=5, symmetric=True, starts=("top_left", "bottom_right")),
}


def preset(name: str) -> GameConfig:
    """The named preset (``official``, ``classic``, ``tournament``, ``tiny``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


@dataclass(frozen=True)
class GameSetup:
    """A fully determined game: the maze, the cheese (official order) and one start cell per player."""

    config: GameConfig
    seed: int | None
    maze: Maze
    cheese: tuple[int, ...]
    starts: tuple[int, ...]
    extra: dict = field(default_factory=dict, compare=False)

    def game(self, max_turns: int | None = None) -> Game:
        """A fresh `Game` at turn 0 on this set-up."""
        return Game(self.maze, self.cheese, self.starts, self.config.teams,
                    max_turns if max_turns is not None else self.config.max_turns)


def resolve_starts(maze: Maze, specs: tuple, rng: np.random.Generator) -> tuple[int, ...]:
    """Turn start specifications into existing cells, as pyrat-game's ``add_player`` does."""
    w, h = maze.width, maze.height
    named = {"center": (h // 2) * w + w // 2, "top_left": 0, "top_right": w - 1,
             "bottom_left": (h - 1) * w, "bottom_right": h * w - 1}
    out: list[int] = []
    nearest: dict[int, int] = {}  # the same cell asked twice (both players on the centre) is looked up once
    for s in specs:
        if s == "random":
            existing = maze.existing_cells()
            cell = int(existing[rng.integers(len(existing))])
        elif s == "same":
            if not out:
                raise ValueError("start 'same' needs a previous player")
            cell = out[-1]
        elif isinstance(s, str):
            cell = named[s]
        else:
            cell = int(s)
            if not 0 <= cell < maze.n_cells:
                raise ValueError(f"start cell {cell} is outside the {w}x{h} maze")
        if cell not in nearest:
            nearest[cell] = nearest_existing_cell(maze, cell)
        out.append(nearest[cell])
    return tuple(out)


def place_cheese(maze: Maze, n: int, starts: tuple[int, ...], rng: np.random.Generator,
                 symmetric: bool = False) -> tuple[int, ...]:
    """``n`` distinct cheese cells, never on a start cell (rotated pairs if symmetric)."""
    taken = set(starts)
    existing = maze.existing_cells()
    free = np.ones(len(existing), dtype=bool)
    for s in taken:
        i = int(np.searchsorted(existing, s))
        if i < len(existing) and existing[i] == s:
            free[i] = False
    available = existing[free]
    if len(available) < n:
        raise ValueError(f"{n} cheese do not fit: only {len(available)} free cells in the maze")
    if not symmetric:
        rng.shuffle(available)  # a fresh array: the same draws as rng.permutation(available)
        return tuple(available[:n].tolist())
    available = available.tolist()
    last = maze.n_cells - 1
    pairs = [c for c in available if c < last - c and (last - c) not in taken]
    centre = [c for c in available if c == last - c]
    pairs = [int(c) for c in rng.permutation(pairs)] if pairs else []
    chosen: list[int] = []
    if n % 2 == 1 and centre:
        chosen.append(centre[0])
    for c in pairs:
        if len(chosen) + 2 > n:
            break
        chosen += [c, last - c]
    if len(chosen) < n:
        raise ValueError(f"{n} cheese do not fit symmetrically in this maze")
    return tuple(chosen)


def new_game(config: GameConfig | str = "official", seed: int | None = None) -> GameSetup:
    """The full game (maze, cheese, starts) for a config or preset name and a seed.

    The same seed gives the same game in any process. With ``seed=None`` a fresh seed is drawn
    from the OS and recorded in the result, so any game can be replayed.
    """
    if isinstance(config, str):
        config = preset(config)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)
    kernels = _maze_kernels()
    if kernels is not None:
        setup = _new_game_fused(kernels, config, seed)
        if setup is not None:
            return setup
    return _new_game_stepwise(config, seed, kernels)


def _new_game_stepwise(config: GameConfig, seed: int, kernels) -> GameSetup:
    """`new_game` one step at a time (maze, starts, cheese) from one generator: the reference path."""
    rng = np.random.default_rng(seed)
    maze = _generate_maze(rng, config.width, config.height, config.cell_percentage, config.wall_percentage,
                          config.mud_percentage, config.mud_range, config.maze_algorithm, config.symmetric,
                          _protected(config), kernels)
    starts = resolve_starts(maze, config.starts, rng)
    cheese = place_cheese(maze, config.nb_cheese, starts, rng, config.symmetric)
    return GameSetup(config, seed, maze, cheese, starts)


def _protected(config: GameConfig) -> frozenset[int]:
    if not config.symmetric:
        return frozenset()
    n = config.width * config.height
    # Corners stay (opposite-corner starts) and so does the centre (an odd cheese count needs it).
    return frozenset({0, config.width - 1, n - config.width, n - 1, n // 2})


# -- the whole set-up in one compiled call -----------------------------------------------------------------------
_FUSED: dict[str, bool | None] = {"ok": None}  # None: not checked yet in this process
_PLANS: dict[int, tuple] = {}  # id(config) -> (config, plan)


@functools.lru_cache(maxsize=64)
def _fused_plan(config: GameConfig) -> tuple | None:
    """The arguments of `kernels.mazes.new_setup` that depend on the config only; None when the config needs the
    Python code (holes on side, random starts, or settings that `generate_maze` rejects)."""
    w, h = config.width, config.height
    n = w * h
    lo, hi = int(config.mud_range[0]), int(config.mud_range[1])
    if config.maze_algorithm == "holes_on_side" or not all(
            0 <= v <= 100 for v in (config.cell_percentage, config.wall_percentage, config.mud_percentage)):
        return None
    if config.mud_percentage > 0 and not 2 <= lo <= hi < lo + 2**31:
        return None
    named = {"center": (h // 2) * w + w // 2, "top_left": 0, "top_right": w - 1,
             "bottom_left": (h - 1) * w, "bottom_right": h * w - 1}
    cells = []
    for i, s in enumerate(config.starts):
        if s == "random" or (s == "same" and i == 0):
            return None
        cell = -2 if s == "same" else named[s] if isinstance(s, str) else int(s)
        if not -2 <= cell < n or cell == -1:
            return None
        cells.append(cell)
    protected = np.zeros(n, dtype=bool)
    protected[list(_protected(config))] = True
    ea, eb = _grid_edges(w, h)
    mirror = _edge_mirror(w, h) if config.symmetric else _NO_MIRROR
    target = max(int(n * config.cell_percentage / 100), 2)
    return (w, h, target, config.maze_algorithm == "big_holes", bool(config.symmetric), protected,
            float(config.wall_percentage), float(config.mud_percentage), lo, hi, ea, eb, mirror, _GAP_COUNT,
            _GAP_POS, np.array(cells, dtype=np.int64))


def _seed_words(seed) -> tuple[np.ndarray, int] | None:
    """The seed as numpy's SeedSequence reads it (little-endian 32-bit words), if 0 <= seed < 2**128."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 1 << 128:
        return None
    x, words = int(seed), []
    while True:
        words.append(x & 0xFFFFFFFF)
        x >>= 32
        if not x:
            break
    return np.array(words + [0] * (4 - len(words)), dtype=np.uint64), len(words)


def _new_game_fused(kernels, config: GameConfig, seed) -> GameSetup | None:
    """`new_game` with `kernels.mazes.new_setup` (numpy's draws replayed in the kernel): the same game, or None
    when this config or seed needs the Python code."""
    cached = _PLANS.get(id(config))  # by identity: hashing a GameConfig costs more than the rest of this call
    if cached is None or cached[0] is not config:
        if len(_PLANS) > 64:
            _PLANS.clear()
        cached = _PLANS[id(config)] = (config, _fused_plan(config))
    plan = cached[1]
    words = _seed_words(seed)
    if plan is None or words is None or not _fused_matches_numpy(kernels):
        return None
    starts = np.empty(len(config.starts), dtype=np.int64)
    cheese = np.empty(config.nb_cheese, dtype=np.int64)
    status, cells, weights, neighbors = kernels.new_setup(words[0], words[1], *plan, starts, cheese)
    if status < 0:
        return None  # the Python code raises the error
    maze = _generated_maze(config.width, config.height, cells, weights, neighbors)
    return GameSetup(config, seed, maze, tuple(cheese.tolist()), tuple(starts.tolist()))


def _fused_matches_numpy(kernels) -> bool:
    """Once per process: does `kernels.mazes.new_setup` give the games numpy's own draws give? (numpy does not
    promise its Generator algorithms forever; if they ever differ, the one-call path is left unused.)"""
    if _FUSED["ok"] is None:
        _FUSED["ok"] = True  # for the check itself
        ok = True
        for config, seed in ((PRESETS["official"], 12345), (PRESETS["classic"], 2**40 + 7)):
            fused = _new_game_fused(kernels, config, seed)
            ref = _new_game_stepwise(config, seed, kernels)
            ok = ok and fused is not None and (fused.maze, fused.cheese, fused.starts) == (ref.maze, ref.cheese,
                                                                                          ref.starts)
        _FUSED["ok"] = ok
        if not ok:
            import warnings

            warnings.warn("pyrat_env.mazes: the compiled game set-up differs from numpy's draws; using numpy's",
                          RuntimeWarning, stacklevel=3)
    return _FUSED["ok"]


def rotate_cell(maze: Maze, cell: int) -> int:
    """The cell a 180-degree rotation maps ``cell`` to."""
    return maze.n_cells - 1 - int(cell)
