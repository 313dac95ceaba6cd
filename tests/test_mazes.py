"""The maze generator is shaped like pyrat-game's: same counts, same statistics, always connected.

For each algorithm (big_holes, uniform_holes, holes_on_side) at the official settings (80 % cells, 60 %
walls, 20 % mud of weight 4 to 9) on the official 15 x 13 grid and on 11 x 9, 40 mazes from our
`generate_maze` and 40 from pyrat-game's own generator (``pyrat.BigHolesRandomMaze`` etc.) are compared:

=====================  ======================================================  ==================
statistic              meaning                                                 tolerance (means)
=====================  ======================================================  ==================
``cells``              cells kept (pyrat-game's formula: exact)                equal, every maze
``edges``              edges between kept cells                                1 %
``mud``                mud edges                                               2 %
``walls``              walls between kept neighbours                           5 %
``hole_neighbours``    hole neighbours per hole (how holes cluster)            10 %
``border_holes``       share of holes on the grid's border                     20 %
``mud_weight``         mean weight of a mud edge                               3 %
=====================  ======================================================  ==================

The tolerances are a few standard deviations of the difference of two 40-maze means (measured: about
0.2 % for edges, 1 % for walls, 1 to 3.5 % for hole neighbours, so a 10 % gap in clustering or 5 % in walls
is a real difference in shape). Also checked: big holes cluster more than uniform holes in both
implementations, holes-on-side puts most holes on the border, mazes are connected for many settings,
and the fast exact connectivity test used while carving holes agrees with a search of the maze.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from pyrat_env import interop
from pyrat_env.engine import Maze
from pyrat_env.mazes import MAZE_ALGORITHMS, GameConfig, _Grid, generate_maze, new_game

SIZES = ((15, 13), (11, 9))
N_MAZES = 40
TOLERANCE = {"edges": 0.01, "mud": 0.02, "walls": 0.05, "hole_neighbours": 0.10, "border_holes": 0.20,
             "mud_weight": 0.03}
PYRAT_CLASSES = {"big_holes": "BigHolesRandomMaze", "uniform_holes": "UniformHolesRandomMaze",
                 "holes_on_side": "HolesOnSideRandomMaze"}


def maze_stats(maze: Maze) -> dict[str, float]:
    """The shape statistics of one maze (see the module docstring)."""
    w, h = maze.width, maze.height
    kept = maze.cells.reshape(h, w)
    holes = ~kept
    padded = np.pad(holes, 1, constant_values=False)
    hole_nbrs = padded[:-2, 1:-1].astype(int) + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    border = np.zeros((h, w), dtype=bool)
    border[[0, -1], :] = True
    border[:, [0, -1]] = True
    edges = maze.edges()
    mud = [wt for _, _, wt in edges if wt > 1]
    n_holes = int(holes.sum())
    return {
        "cells": int(kept.sum()),
        "edges": len(edges),
        "mud": len(mud),
        "walls": len(maze.walls()),
        "hole_neighbours": float(hole_nbrs[holes].mean()) if n_holes else 0.0,
        "border_holes": float(border[holes].mean()) if n_holes else 0.0,
        "mud_weight": float(np.mean(mud)) if mud else 0.0,
    }


def _mean(stats: list[dict], key: str) -> float:
    return float(np.mean([s[key] for s in stats]))


@functools.cache
def ours(algorithm: str, width: int, height: int) -> tuple[list[dict], list[bool]]:
    mazes = [generate_maze(np.random.default_rng(seed), width, height, algorithm=algorithm)
             for seed in range(N_MAZES)]
    return [maze_stats(m) for m in mazes], [m.is_connected() for m in mazes]


@functools.cache
def theirs(algorithm: str, width: int, height: int) -> tuple[list[dict], list[bool]]:
    try:
        pyrat = interop._import_pyrat()
    except interop.InteropError:  # pragma: no cover - pyrat-game is a dev dependency
        pytest.skip("pyrat-game is not installed")
    cls = getattr(pyrat, PYRAT_CLASSES[algorithm])
    mazes = [interop.from_pyrat_maze(cls(80.0, 60.0, 20.0, (4, 9), seed, width, height)) for seed in range(N_MAZES)]
    return [maze_stats(m) for m in mazes], [m.is_connected() for m in mazes]


CASES = [(alg, w, h) for w, h in SIZES for alg in MAZE_ALGORITHMS]


@pytest.mark.parametrize("algorithm,width,height", CASES, ids=[f"{a}-{w}x{h}" for a, w, h in CASES])
def test_statistics_match_pyrat_game(algorithm, width, height):
    mine, mine_connected = ours(algorithm, width, height)
    ref, ref_connected = theirs(algorithm, width, height)
    assert all(mine_connected) and all(ref_connected)
    expected_cells = int(width * height * 80.0 / 100)
    assert {s["cells"] for s in mine} == {s["cells"] for s in ref} == {expected_cells}
    table, bad = [], []
    for key, tol in TOLERANCE.items():
        a, b = _mean(mine, key), _mean(ref, key)
        rel = (a - b) / b
        table.append(f"{key}: ours {a:.3f}, pyrat-game {b:.3f} ({rel:+.1%}, tolerance {tol:.0%})")
        if abs(rel) > tol:
            bad.append(key)
    assert not bad, f"{algorithm} {width}x{height}: {', '.join(bad)} differ\n" + "\n".join(table)


@pytest.mark.parametrize("width,height", SIZES)
def test_big_holes_cluster_more_than_uniform_holes_in_both(width, height):
    for source in (ours, theirs):
        big = _mean(source("big_holes", width, height)[0], "hole_neighbours")
        uniform = _mean(source("uniform_holes", width, height)[0], "hole_neighbours")
        assert big > 2 * uniform, (source.__name__, big, uniform)


@pytest.mark.parametrize("width,height", SIZES)
def test_holes_on_side_are_on_the_border_in_both(width, height):
    for source in (ours, theirs):
        side = _mean(source("holes_on_side", width, height)[0], "border_holes")
        for other in ("big_holes", "uniform_holes"):
            assert side > 1.5 * _mean(source(other, width, height)[0], "border_holes"), (source.__name__, other)


@pytest.mark.parametrize("algorithm", MAZE_ALGORITHMS)
def test_generated_mazes_are_always_connected(algorithm):
    rng = np.random.default_rng(0)
    for seed in range(60):
        width, height = int(rng.integers(2, 26)), int(rng.integers(2, 21))
        cells = float(rng.choice([30.0, 50.0, 80.0, 95.0, 100.0]))
        walls = float(rng.choice([0.0, 60.0, 100.0]))
        symmetric = bool(seed % 3 == 0)
        maze = generate_maze(np.random.default_rng(seed), width, height, cells, walls, 20.0, (2, 9), algorithm,
                             symmetric)
        assert maze.is_connected(), (algorithm, seed, width, height, cells, walls, symmetric)
        if not symmetric:  # pyrat-game's count, which the generator always reaches
            assert int(maze.cells.sum()) == max(int(width * height * cells / 100), 2), (algorithm, seed)


def test_presets_give_connected_mazes_with_the_official_counts():
    for seed in range(30):
        setup = new_game(GameConfig(), seed)
        stats = maze_stats(setup.maze)
        assert setup.maze.is_connected() and stats["cells"] == 156
        # walls: int(non-tree edges * 60 %); mud: int(edges * 20 %), as pyrat-game computes them
        n_possible = stats["edges"] + stats["walls"]
        assert stats["walls"] == int((n_possible - (156 - 1)) * 0.6)
        assert stats["mud"] == int(stats["edges"] * 0.2)


def _connected_without(mask: np.ndarray, width: int, height: int, removed: list[int]) -> bool:
    m = mask.copy()
    m[removed] = False
    start = int(np.flatnonzero(m)[0])
    seen, stack = {start}, [start]
    while stack:
        c = stack.pop()
        r, col = divmod(c, width)
        for nb, ok in ((c - width, r > 0), (c + width, r < height - 1), (c - 1, col > 0), (c + 1, col < width - 1)):
            if ok and m[nb] and nb not in seen:
                seen.add(nb)
                stack.append(nb)
    return len(seen) == int(m.sum())


def test_exact_removability_test_agrees_with_a_search():
    """`_Grid.removable` (local look-ups and a union-find of holes) is exactly "stays connected"."""
    rng = np.random.default_rng(5)
    checked = disagreements = 0
    for _ in range(40):
        width, height = int(rng.integers(2, 10)), int(rng.integers(2, 8))
        grid, mask = _Grid(width, height), np.ones(width * height, dtype=bool)
        for v in rng.permutation(width * height).tolist():
            if mask.sum() <= 3:
                break
            kept = np.flatnonzero(mask).tolist()
            for c in kept:
                checked += 1
                disagreements += grid.removable(c) != _connected_without(mask, width, height, [c])
            a, b = (int(x) for x in rng.choice(kept, 2, replace=False))
            if grid.removable(a):
                checked += 1
                disagreements += grid.removable(b, also_removed=a) != _connected_without(mask, width, height, [a, b])
            if _connected_without(mask, width, height, [v]):
                grid.remove(v)
                mask[v] = False
    assert checked > 3000 and disagreements == 0
