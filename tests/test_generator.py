"""Maze generator invariants over many seeds: connectivity, exact counts of cells, walls and mud, symmetry.

The counts follow pyrat-game's formulas: ``int(W*H*cell%/100)`` cells (at least 2),
``int(non_tree_edges*wall%/100)`` walls, ``int(edges*mud%/100)`` mud edges, where the non-tree edges are
the grid-neighbour pairs of existing cells beyond a spanning tree (``pairs - (cells - 1)``).
"""

from __future__ import annotations

import numpy as np
import pytest

from pyrat_env.engine import Maze
from pyrat_env.mazes import MAZE_ALGORITHMS, PRESETS, GameConfig, generate_maze, new_game, preset

SIZES = [(15, 13), (7, 5), (8, 6), (1, 8), (9, 1), (2, 2)]
SEEDS = range(4)


def neighbour_pairs(maze: Maze) -> int:
    """Number of grid-neighbour pairs whose two cells exist (the edges of a maze without walls)."""
    cells = maze.cells.reshape(maze.height, maze.width)
    return int((cells[:, 1:] & cells[:, :-1]).sum() + (cells[1:, :] & cells[:-1, :]).sum())


def mud_edges(maze: Maze) -> list[tuple[int, int, int]]:
    return [e for e in maze.edges() if e[2] > 1]


@pytest.mark.parametrize("algorithm", MAZE_ALGORITHMS)
@pytest.mark.parametrize("cell_pct", [0.0, 35.0, 80.0, 100.0])
def test_counts_are_exact(algorithm: str, cell_pct: float) -> None:
    for (width, height) in SIZES:
        target = max(int(width * height * cell_pct / 100), 2)
        for wall_pct, mud_pct, mud_range in ((0.0, 0.0, (4, 9)), (60.0, 20.0, (4, 9)), (100.0, 100.0, (2, 3)),
                                             (25.0, 50.0, (5, 5))):
            for seed in SEEDS:
                where = f"{width}x{height} cells {cell_pct}% walls {wall_pct}% mud {mud_pct}% seed {seed}"
                maze = generate_maze(np.random.default_rng(seed), width, height, cell_pct, wall_pct, mud_pct,
                                     mud_range, algorithm)
                assert (maze.width, maze.height) == (width, height)
                assert maze.is_connected(), where
                n_cells = int(maze.cells.sum())
                assert n_cells == target, where
                pairs = neighbour_pairs(maze)
                non_tree = pairs - (n_cells - 1)
                n_walls = int(non_tree * wall_pct / 100)
                edges = maze.edges()
                assert len(edges) == (n_cells - 1) + (non_tree - n_walls), where
                assert len(maze.walls()) == n_walls, where
                if wall_pct == 100:
                    assert len(edges) == n_cells - 1, where  # a perfect maze: a spanning tree
                if wall_pct == 0:
                    assert len(edges) == pairs and not maze.walls(), where
                mud = mud_edges(maze)
                assert len(mud) == int(len(edges) * mud_pct / 100), where
                assert all(mud_range[0] <= w <= mud_range[1] for _, _, w in mud), where
                assert sum(1 for e in edges if e[2] == 1) == len(edges) - len(mud), where


def test_mud_weights_cover_the_range() -> None:
    weights = set()
    for seed in range(3):
        maze = generate_maze(np.random.default_rng(seed), 15, 13, 80.0, 60.0, 100.0, (4, 9))
        weights |= {w for _, _, w in maze.edges()}
    assert weights == set(range(4, 10))


def test_full_grid_with_no_walls_is_the_open_grid() -> None:
    for algorithm in MAZE_ALGORITHMS:
        maze = generate_maze(np.random.default_rng(5), 6, 4, 100.0, 0.0, 0.0, (4, 9), algorithm)
        assert maze == Maze.open_grid(6, 4)


def test_corridors_of_width_one() -> None:
    # Regression: in a 1-wide grid, vertical edges (a, a + 1) were taken for horizontal ones.
    maze = generate_maze(np.random.default_rng(0), 1, 6, 100.0, 0.0, 50.0, (2, 4))
    assert maze.neighbours(0) == [1] and maze.neighbours(5) == [4]
    assert maze.is_connected() and len(maze.edges()) == 5
    setup = new_game(GameConfig(width=1, height=7, nb_cheese=3, starts=("top_left",)), 1)
    assert setup.maze.is_connected() and len(setup.maze.edges()) == 4  # 5 cells in a row, no walls possible
    assert setup.starts == (int(setup.maze.existing_cells()[0]),)  # the cell nearest to the top


@pytest.mark.parametrize("algorithm", MAZE_ALGORITHMS)
@pytest.mark.parametrize("size", [(7, 5), (8, 6), (9, 6), (6, 9), (4, 4), (21, 15)], ids=str)
def test_symmetric_mazes(algorithm: str, size: tuple[int, int]) -> None:
    width, height = size
    n = width * height
    for cell_pct in (30.0, 60.0, 90.0):
        target = max(int(n * cell_pct / 100), 2)
        for seed in SEEDS:
            where = f"{width}x{height} cells {cell_pct}% seed {seed}"
            maze = generate_maze(np.random.default_rng(seed), width, height, cell_pct, 60.0, 30.0, (2, 9),
                                 algorithm, symmetric=True)
            assert maze.is_connected(), where
            assert (maze.cells == maze.cells[::-1]).all(), where
            edges = set(maze.edges())
            assert {(min(n - 1 - a, n - 1 - b), max(n - 1 - a, n - 1 - b), w) for a, b, w in edges} == edges, where
            # Rotated pairs of cells go together: one cell more than asked may remain, and more where no
            # pair can go without disconnecting the maze (rings of cells in small grids).
            assert int(maze.cells.sum()) >= target, where
            if cell_pct >= 90:
                assert int(maze.cells.sum()) in (target, target + 1), where


@pytest.mark.parametrize("size", [(4, 4), (8, 8), (10, 6), (2, 6)], ids=str)
def test_symmetric_holes_on_side_even_grids_are_connected(size: tuple[int, int]) -> None:
    # Regression: on grids with two even sides no cell touches its rotated image, so growing from the
    # centre pair (two diagonal cells) could give two halves that never joined.
    width, height = size
    for cell_pct in (0.0, 20.0, 50.0):
        for seed in range(6):
            maze = generate_maze(np.random.default_rng(seed), width, height, cell_pct, 0.0, 0.0, (4, 9),
                                 "holes_on_side", symmetric=True)
            assert maze.is_connected(), (size, cell_pct, seed)
            assert (maze.cells == maze.cells[::-1]).all()


def test_big_holes_cluster_more_than_uniform_holes() -> None:
    def hole_clustering(maze: Maze) -> float:
        holes = ~maze.cells.reshape(maze.height, maze.width)
        both = (holes[:, 1:] & holes[:, :-1]).sum() + (holes[1:, :] & holes[:-1, :]).sum()
        one = (holes[:, 1:] | holes[:, :-1]).sum() + (holes[1:, :] | holes[:-1, :]).sum()
        return both / one

    def mean(algorithm: str) -> float:
        return float(np.mean([hole_clustering(generate_maze(np.random.default_rng(s), 15, 13, 80.0, 60.0, 20.0,
                                                            (4, 9), algorithm)) for s in range(10)]))

    assert mean("big_holes") > 2 * mean("uniform_holes")


def test_holes_on_side_keeps_the_centre() -> None:
    for seed in range(10):
        maze = generate_maze(np.random.default_rng(seed), 15, 13, 30.0, 60.0, 20.0, (4, 9), "holes_on_side")
        assert maze.exists(6 * 15 + 7)


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_set_up_valid_games(name: str) -> None:
    config = preset(name)
    for seed in range(5):
        setup = new_game(name, seed)
        maze = setup.maze
        assert (maze.width, maze.height) == (config.width, config.height)
        assert maze.is_connected()
        assert len(setup.cheese) == config.nb_cheese == len(set(setup.cheese))
        assert all(maze.exists(c) for c in setup.cheese + setup.starts)
        assert not set(setup.cheese) & set(setup.starts)
        assert len(setup.starts) == config.n_players
        game = setup.game()
        assert game.turn == 0 and not game.over and game.max_turns == config.max_turns


def test_start_on_a_hole_moves_to_the_nearest_cell() -> None:
    config = GameConfig(width=9, height=7, cell_percentage=50.0, nb_cheese=3,
                        starts=("top_left", "bottom_right", "center", "random", "same", 30))
    for seed in range(10):
        setup = new_game(config, seed)
        maze = setup.maze
        assert setup.starts[4] == setup.starts[3]
        for spec, cell in zip(((0, 0), (6, 8), (3, 4), None, None, (3, 3)), setup.starts):
            assert maze.exists(cell)
            if spec is None:
                continue
            rows, cols = np.divmod(maze.existing_cells(), 9)
            nearest = ((rows - spec[0]) ** 2 + (cols - spec[1]) ** 2).min()
            r, c = divmod(cell, 9)
            assert (r - spec[0]) ** 2 + (c - spec[1]) ** 2 == nearest


# -- bad parameters ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(algorithm="spiral"), "unknown maze algorithm"),
    (dict(cell_percentage=101.0), "cell_percentage must be within"),
    (dict(wall_percentage=-1.0), "wall_percentage must be within"),
    (dict(mud_percentage=100.5), "mud_percentage must be within"),
    (dict(mud_range=(1, 3)), "mud_range"),
    (dict(mud_range=(6, 4)), "mud_range"),
    (dict(width=1, height=1), "too small"),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_generate_maze_rejects_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_maze(np.random.default_rng(0), **kwargs)


def test_mud_range_is_not_checked_without_mud() -> None:
    maze = generate_maze(np.random.default_rng(0), 5, 5, 80.0, 50.0, 0.0, (1, 0))
    assert not mud_edges(maze)


@pytest.mark.parametrize("kwargs, message", [
    (dict(width=1, height=1), "too small"),
    (dict(maze_algorithm="spiral"), "unknown maze_algorithm"),
    (dict(nb_cheese=0), "nb_cheese"),
    (dict(starts=()), "at least one"),
    (dict(starts=("middle",)), "unknown start"),
    (dict(starts=("center", "center"), teams=("a",)), "teams"),
    (dict(max_turns=0), "max_turns"),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_game_config_rejects_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GameConfig(**kwargs)


@pytest.mark.parametrize("config, message", [
    ("nonexistent", "unknown preset"),
    (GameConfig(width=3, height=2, nb_cheese=6), "do not fit"),
    (GameConfig(starts=("same", "center")), "needs a previous player"),
    (GameConfig(starts=(195,)), "outside"),
], ids=["preset", "too_much_cheese", "same_first", "start_outside"])
def test_new_game_rejects_bad_parameters(config, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        new_game(config, 0)


def test_game_config_round_trip_and_unknown_fields() -> None:
    config = GameConfig(width=9, height=7, teams=("a", "b"), starts=("top_left", 5), max_turns=50)
    assert GameConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown game config field"):
        GameConfig.from_dict({**config.to_dict(), "colour": "red"})
