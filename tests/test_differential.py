"""Differential tests: games played by our engine, replayed in pyrat-game itself, reach the same states.

The other direction of ``test_compat.py``: random mazes from `new_game` (mud, big mud, 1 to 4 players,
teams, symmetric mazes, the three hole algorithms, several start rules) are played by `Game` with seeded
random actions (sometimes into walls, ``nothing`` while in mud); the same maze, cheese, starts and
actions are then played by ``pyrat.Game`` in simulation mode through `pyrat_env.interop`, with width
and height given explicitly, and every state from turn 0 to game over must be equal. The same games
stepped together in a `GameBatch` must agree as well. Also checks the maze conversions, and that the
installed pyrat-game replays the official traces as recorded.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from pyrat_env import interop
from pyrat_env.compat import compare_states
from pyrat_env.engine import ACTION_NAMES, GameBatch, Maze
from pyrat_env.mazes import GameConfig, GameSetup, new_game
from pyrat_env.paths import distance_matrix, first_moves_towards
from pyrat_env.replay import load_game_file, maze_from_game

try:
    PYRAT = interop._import_pyrat()
except interop.InteropError:  # pragma: no cover - pyrat-game is a dev dependency
    pytest.skip("pyrat-game is not installed", allow_module_level=True)

# (id, config, seeds): about 26 games in all.
CONFIGS = [
    ("official", GameConfig(), (1, 2, 3)),
    ("corners_tournament_size", GameConfig(width=25, height=20, nb_cheese=41, starts=("top_left", "bottom_right")),
     (4,)),
    ("symmetric_classic", GameConfig(width=21, height=15, nb_cheese=41, symmetric=True,
                                     starts=("top_left", "bottom_right")), (5, 6)),
    ("tiny_symmetric", "tiny", (7, 8)),
    ("big_mud", GameConfig(width=17, height=11, nb_cheese=31, mud_percentage=60.0, mud_range=(2, 9),
                           starts=("top_left", "bottom_right")), (9, 10)),
    ("uniform_holes_mud", GameConfig(width=11, height=9, nb_cheese=15, maze_algorithm="uniform_holes",
                                     mud_percentage=40.0, mud_range=(2, 5), starts=("random", "random")), (11, 12)),
    ("holes_on_side", GameConfig(width=11, height=9, nb_cheese=15, maze_algorithm="holes_on_side",
                                 starts=("top_right", "bottom_left")), (13, 14)),
    ("three_players_two_teams", GameConfig(width=11, height=9, nb_cheese=15, starts=("top_left", 10, "center"),
                                           teams=("A", "A", "B")), (15, 16)),
    ("three_teams_same_cell", GameConfig(width=11, height=9, nb_cheese=15, starts=("center", "same", "same"),
                                         teams=("A", "B", "C")), (17, 18)),
    ("four_players_one_team", GameConfig(width=11, height=9, nb_cheese=9, mud_percentage=30.0,
                                         starts=("top_left", "top_right", "bottom_left", "bottom_right"),
                                         teams=("t", "t", "t", "t")), (19, 20)),
    ("four_players_two_teams", GameConfig(width=13, height=9, nb_cheese=13, starts=("random",) * 4,
                                          teams=("x", "y", "x", "y")), (21, 22)),
    ("single_player", GameConfig(width=7, height=5, nb_cheese=3, starts=("center",)), (23, 24)),
    ("open_maze_twins", GameConfig(width=9, height=7, nb_cheese=9, wall_percentage=0.0, mud_percentage=0.0,
                                   cell_percentage=100.0, starts=("center", "center")), (25,)),
    ("perfect_maze", GameConfig(width=9, height=7, nb_cheese=7, wall_percentage=100.0, cell_percentage=100.0,
                                starts=("top_left", "bottom_right")), (26,)),
]
CASES = [(name, config, seed) for name, config, seeds in CONFIGS for seed in seeds]


def play_ours(setup: GameSetup, seed: int) -> tuple[list[dict], list[list[str]]]:
    """Play a game with our engine and seeded random actions; return every state and the actions asked.

    Each asked player picks, at random: a first move towards its nearest cheese (half the time, so that
    games end in a few hundred turns), a legal move, or any of the five actions (into walls and holes
    too). Players are named "0", "1", ... in the states.
    """
    rng = np.random.default_rng(seed)
    dist = distance_matrix(setup.maze)
    g = setup.game()
    names = [str(p) for p in range(g.n_players)]
    actions: list[list[str]] = [[] for _ in names]
    states = [g.snapshot(names)]
    while not g.over:
        assert g.turn < 20_000, "the random game does not end"
        step = [0] * g.n_players
        if g.turn > 0:
            for p in range(g.n_players):
                if g.in_mud(p):
                    continue  # not asked: its action is "nothing"
                u = rng.random()
                if u < 0.5:
                    nearest = min(g.cheese, key=lambda c: (dist[g.pos[p], c], c))
                    a = int(rng.choice(first_moves_towards(setup.maze, g.pos[p], nearest)))
                elif u < 0.8:
                    a = int(rng.choice(g.legal_actions(p)))
                else:
                    a = int(rng.integers(5))
                step[p] = a
                actions[p].append(ACTION_NAMES[a])
        g.step(step)
        states.append(g.snapshot(names))
    return states, actions


def first_difference(reference: list[dict], ours: list[dict], names: list[str]) -> str | None:
    for ref, mine in zip(reference, ours):
        m = compare_states(ref, mine, names)
        if m is not None:
            return f"{m} (pyrat-game is 'the file', our engine 'the engine')"
    if len(reference) != len(ours):
        return (f"pyrat-game has {len(reference)} states (to turn {reference[-1]['turn']}), "
                f"our engine {len(ours)} (to turn {ours[-1]['turn']})")
    return None


def pyrat_starts(setup: GameSetup) -> list[int | str]:
    """Named starts as pyrat-game's own names (it moves a start on a hole itself); the others as cells."""
    return [spec if isinstance(spec, str) and spec != "random" else cell
            for spec, cell in zip(setup.config.starts, setup.starts)]


@pytest.fixture(scope="module")
def played() -> dict:
    """Every case played by our engine once: {(name, seed): (setup, states, actions)}."""
    out = {}
    for name, config, seed in CASES:
        setup = new_game(config, seed)
        states, actions = play_ours(setup, seed)
        out[(name, seed)] = (setup, states, actions)
    return out


def test_the_cases_cover_the_rules(played):
    """The random games are varied enough: mud crossings, shared cheese, team endings, long games."""
    assert len(played) >= 20
    muds = shared = ranking = moved_starts = 0
    for setup, states, _ in played.values():
        muds += any(m["target"] is not None for st in states for m in st["muds"].values())
        shared += any(s % 1 != 0 for s in states[-1]["scores"].values())
        ranking += bool(states[-1]["cheese"])
        named = {"top_left": 0, "top_right": setup.maze.width - 1, "bottom_left": setup.maze.n_cells - setup.maze.width,
                 "bottom_right": setup.maze.n_cells - 1}
        moved_starts += any(named.get(spec, cell) != cell for spec, cell in zip(setup.config.starts, setup.starts))
    assert muds >= 15 and shared >= 3 and ranking >= 10 and moved_starts >= 2, (muds, shared, ranking, moved_starts)


@pytest.mark.parametrize("name,config,seed", CASES, ids=[f"{n}-{s}" for n, _, s in CASES])
def test_pyrat_game_reaches_the_same_states(played, name, config, seed):
    setup, ours, actions = played[(name, seed)]
    names = [str(p) for p in range(len(setup.starts))]
    teams = None if setup.config.teams is None else list(setup.config.teams)
    reference = interop.play_in_pyrat_game(setup.maze, setup.cheese, pyrat_starts(setup), teams, names, actions)
    diff = first_difference(reference, ours, names)
    assert diff is None, f"{name} seed {seed}: {diff}"
    assert reference == ours


@pytest.mark.parametrize("name", [n for n, _, seeds in CONFIGS if len(seeds) > 1])
def test_batched_engine_reaches_the_same_states(played, name):
    """The games of one config stepped together in a GameBatch give the states of `Game` (and so of pyrat)."""
    runs = [played[(n, s)] for n, _, s in CASES if n == name]
    setups = [r[0] for r in runs]
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups],
                      setups[0].config.teams)
    n_players = batch.n_players
    used = np.zeros((len(runs), n_players), dtype=int)
    views: list[list[dict]] = [[batch.game_view(i)] for i in range(len(runs))]
    while not batch.over.all():
        acts = np.zeros((len(runs), n_players), dtype=int)
        for i, (_, _, actions) in enumerate(runs):
            if batch.over[i] or batch.turn[i] == 0:
                continue
            for p in range(n_players):
                if batch.mud_target[i, p] < 0:
                    acts[i, p] = ACTION_NAMES.index(actions[p][used[i, p]])
                    used[i, p] += 1
        live = ~batch.over
        batch.step(acts)
        for i in np.flatnonzero(live):
            views[i].append(batch.game_view(int(i)))
    for (_, states, actions), view, u in zip(runs, views, used):
        names = [str(p) for p in range(n_players)]
        assert first_difference(states, view, names) is None
        assert list(u) == [len(a) for a in actions]


# -- maze conversions -------------------------------------------------------------------------------------
def test_maze_round_trip_keeps_the_explicit_size():
    for config, seed in ((GameConfig(), 1), (GameConfig(width=25, height=20), 2), ("tiny", 3)):
        maze = new_game(config, seed).maze
        pm = interop.to_pyrat_maze(maze)
        assert (pm.get_width(), pm.get_height()) == (maze.width, maze.height)
        assert sorted(pm.get_vertices()) == maze.existing_cells().tolist()
        assert interop.from_pyrat_maze(pm) == maze
        assert interop.from_pyrat_maze(pickle.loads(pickle.dumps(pm))) == maze


def test_size_is_not_inferred_from_the_edges():
    """pyrat's MazeFromDict infers the width from index gaps; a single row fools it, our conversion does not."""
    maze = Maze.open_grid(6, 1)
    inferred = PYRAT.MazeFromDict({int(k): {int(n): w for n, w in v.items()} for k, v in maze.to_dict().items()})
    assert inferred.get_width() != 6  # the trap this module avoids
    pm = interop.to_pyrat_maze(maze)
    assert (pm.get_width(), pm.get_height()) == (6, 1)
    assert interop.from_pyrat_maze(pm) == maze
    # And a maze whose last rows are holes: the height must not shrink.
    tall = Maze.from_edges(4, 5, range(8), [(0, 1, 1), (1, 2, 1), (2, 3, 1), (0, 4, 1), (4, 5, 3), (5, 6, 1),
                                            (6, 7, 1)])
    assert interop.from_pyrat_maze(interop.to_pyrat_maze(tall)) == tall


def test_pyrat_generated_maze_converts():
    pm = PYRAT.BigHolesRandomMaze(80.0, 60.0, 20.0, (4, 9), 7, 15, 13)
    maze = interop.from_pyrat_maze(pm)
    assert (maze.width, maze.height) == (15, 13) and maze.is_connected()
    assert int(maze.cells.sum()) == pm.nb_vertices() == 156
    for a, b, w in maze.edges():
        assert pm.get_weight(a, b) == w


def test_state_snapshot_matches_the_engine_form():
    setup = new_game("official", 4)
    gs = PYRAT.GameState()
    for p, (name, start) in enumerate(zip(("rat", "python"), setup.starts)):
        gs.player_locations[name] = start
        gs.score_per_player[name] = 0
        gs.muds[name] = {"target": None, "count": 0}
        gs.teams.setdefault(str(p), []).append(name)
    gs.cheese = list(setup.cheese)
    assert interop.pyrat_state_to_snapshot(gs, ["rat", "python"]) == setup.game().snapshot(["rat", "python"])


def test_running_out_of_actions_is_an_error():
    setup = new_game(GameConfig(width=7, height=5, nb_cheese=3), 1)
    with pytest.raises(interop.InteropError, match="ran out of actions"):
        interop.play_in_pyrat_game(setup.maze, setup.cheese, setup.starts, None, ["a", "b"], [["east"], []])


# -- the installed pyrat-game against the official traces ---------------------------------------------------
def test_installed_pyrat_game_replays_the_official_traces(official_traces):
    """The reference used above (this pyrat-game, through interop) gives the recorded states of every trace
    (the full set when ``../shared`` is there, else the copies in ``tests/data/traces``)."""
    checked = 0
    for path in official_traces.files:
        for i, game in enumerate(load_game_file(path)):
            if len(game["states"]) > 1500:  # the long random walks take seconds in pyrat-game
                continue
            names = [p["name"] for p in game["players"]]
            states = interop.play_in_pyrat_game(
                maze_from_game(game), game["cheese"], [p["start"] for p in game["players"]],
                [p["team"] for p in game["players"]], names, [p["actions"] for p in game["players"]])
            diff = first_difference(game["states"], states, names)
            assert diff is None, f"{path.name} game {i}: {diff}"
            checked += 1
    if official_traces.full:
        assert checked >= 30
    elif official_traces.games is not None:
        assert checked == official_traces.games  # the local copies are all short games
    else:
        assert checked > 0
