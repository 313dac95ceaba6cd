"""The compiled kernels (``pyrat_env.kernels``, and the greedy expert's) give exactly what their twins give.

Each fast path is checked against the code it replaces, on many games: the batched step against `Game`,
against `GameBatch`'s own path without the kernel (game by game with `Game`'s rules) and against an
independent vectorised numpy oracle kept here (`numpy_step`); maze generation (both compiled paths:
numpy's draws fed to the kernels, and the whole set-up in one kernel with numpy's random numbers
replayed) against the Python generator, maze for maze; the replayed random numbers against numpy itself;
distances against scipy; the greedy expert's batched moves against its one-game moves; the batched
encoders against their numpy code; the kernel's score rounding against the engine's. Also: the kernels
load lazily (a short script never imports numba), and ``PYRAT_KERNELS=0`` turns them off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pyrat_env import _accel, encoders, engine, mazes
from pyrat_env.encoders import make_encoder
from pyrat_env.engine import Game, GameBatch, Maze
from pyrat_env.mazes import PRESETS, GameConfig, new_game

K = _accel.kernels()  # the package pyrat_env.kernels, every module loaded (None without numba)
pytestmark = pytest.mark.skipif(K is None, reason="numba is not available")

CONFIGS = [
    "official", "classic", "tournament", "tiny",
    GameConfig(maze_algorithm="uniform_holes"),
    GameConfig(maze_algorithm="holes_on_side", nb_cheese=11),
    GameConfig(cell_percentage=50, symmetric=True, starts=("top_left", "bottom_right")),
    GameConfig(width=8, height=6, cell_percentage=60, symmetric=True, starts=("top_left", "bottom_right"),
               nb_cheese=4),
    GameConfig(width=9, height=7, cell_percentage=40, nb_cheese=3, maze_algorithm="uniform_holes"),
    GameConfig(width=1, height=9, cell_percentage=100, nb_cheese=2),
    GameConfig(width=10, height=1, cell_percentage=90, nb_cheese=2, mud_percentage=50),
    GameConfig(width=3, height=2, cell_percentage=50, nb_cheese=1, starts=("random", "same")),
    GameConfig(width=21, height=15, cell_percentage=30, symmetric=True, nb_cheese=11,
               starts=("top_left", "bottom_right")),
    GameConfig(width=11, height=9, wall_percentage=0, mud_percentage=100, mud_range=(2, 2), nb_cheese=7,
               starts=(3, "same", 60)),
]


def _key(setup) -> tuple:
    return setup.maze.key(), setup.cheese, setup.starts


# -- maze generation -----------------------------------------------------------------------------------------
def test_compiled_generation_gives_the_python_mazes(monkeypatch):
    seeds = list(range(40)) + [int(s) for s in np.random.default_rng(3).integers(0, 2**63 - 1, 20)] + [2**64 + 5]
    _accel.set_enabled(False)
    try:
        reference = {(i, s): _key(new_game(c, s)) for i, c in enumerate(CONFIGS) for s in seeds}
    finally:
        _accel.set_enabled(True)
    mazes._generated[0] = max(mazes._generated[0], 10**6)  # past the point where generation loads kernels
    for fused in (True, False):
        if not fused:  # the kernels fed with numpy's own draws (the path of generate_maze(rng, ...))
            monkeypatch.setattr(mazes, "_new_game_fused", lambda kernels, config, seed: None)
        for i, c in enumerate(CONFIGS):
            for s in seeds:
                assert _key(new_game(c, s)) == reference[i, s], (fused, c, s)


def test_fused_set_up_is_used_and_checked_once():
    assert mazes._fused_matches_numpy(K.mazes)
    assert mazes._fused_plan(PRESETS["official"]) is not None
    assert mazes._fused_plan(GameConfig(starts=("random", "center"))) is None
    assert mazes._fused_plan(GameConfig(maze_algorithm="holes_on_side")) is None
    setup = mazes._new_game_fused(K.mazes, PRESETS["official"], 7)
    assert setup is not None and setup.seed == 7


def test_generated_maze_objects_equal_checked_ones():
    for seed in range(30):
        m = new_game("official" if seed % 2 else "classic", seed).maze
        ref = Maze(m.width, m.height, m.cells, m.weights)
        assert m == ref and m.is_connected()
        for name in ("cells", "weights", "neighbors"):
            a, b = getattr(m, name), getattr(ref, name)
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
            assert not a.flags.writeable
        assert set(Maze.__slots__) == {"width", "height", "cells", "weights", "neighbors", "_edges", "_key"}


def test_errors_come_from_the_python_code():
    with pytest.raises(ValueError, match="too small"):
        mazes.generate_maze(np.random.default_rng(0), width=1, height=1)
    mazes._generated[0] = max(mazes._generated[0], 10**6)
    with pytest.raises(ValueError, match="do not fit"):
        new_game(GameConfig(width=4, height=3, nb_cheese=20), 0)


# -- numpy's random numbers, replayed ----------------------------------------------------------------------
def test_replayed_random_numbers_are_numpys():
    seeds = [0, 1, 2**32 - 1, 2**32, 2**63 - 2, 2**64 + 1, 2**127 + 3] + \
        [int(s) for s in np.random.default_rng(1).integers(0, 2**63 - 1, 100)]
    for seed in seeds:
        words, n_words = mazes._seed_words(seed)
        st = np.zeros(6, dtype=np.uint64)
        K.rng.seed_state(words, n_words, st)
        ref = np.random.default_rng(seed)
        state = ref.bit_generator.state["state"]
        assert (int(st[0]) << 64 | int(st[1]), int(st[2]) << 64 | int(st[3])) == (state["state"], state["inc"])
        assert [K.rng.next_double(st) for _ in range(5)] == ref.random(5).tolist()
        for size in (150, 37, 2, 1, 0):
            arr = np.arange(size)
            K.rng.shuffle(st, arr)
            assert np.array_equal(arr, ref.permutation(size))
        for lo, hi, size in ((4, 9, 31), (2, 3, 5), (7, 7, 4), (0, 1000, 9), (0, 2**31, 3)):
            out = np.empty(size, dtype=np.int64)
            K.rng.integers_fill(st, lo, hi - lo, out)
            assert np.array_equal(out, ref.integers(lo, hi + 1, size=size))
        assert K.rng.next_double(st) == ref.random()


# -- the batched step --------------------------------------------------------------------------------------
def _random_batch(config, n, seed, max_turns=None, teams=None):
    setups = [new_game(config, seed + i) for i in range(n)]
    return setups, GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups],
                             teams, max_turns)


def numpy_step(b: GameBatch, actions: np.ndarray) -> np.ndarray:
    """`GameBatch.step` written independently, the whole batch at once in vectorised numpy (an oracle for the
    kernel and for the engine's game-by-game path); int64 actions in 0..4."""
    live = ~(b.terminated | b.truncated)
    rows = np.arange(b.batch_size)[:, None]
    free = (b.mud_target < 0) & (live & (b.turn > 0))[:, None]
    a = actions * free  # action 0 (weight 0) for players not asked
    w, target = b.weights[rows, b.pos, a], b.neighbors[rows, b.pos, a]
    pos = np.where(w == 1, target, b.pos)
    into = w > 1
    b.mud_target[:] = np.where(into, target, b.mud_target)
    b.mud_count[:] = np.where(into, w, b.mud_count)
    in_mud = (b.mud_target >= 0) & live[:, None]
    b.mud_count -= in_mud
    arrive = in_mud & (b.mud_count == 0)
    b.pos[:] = np.where(arrive, b.mud_target, pos)
    b.mud_target[arrive] = -1
    b.turn += live
    on = b.cheese[rows, b.pos] & live[:, None]
    sharing = (b.pos[:, :, None] == b.pos[:, None, :]).sum(axis=2)
    gains = np.where(on, 1.0 / sharing, 0.0)
    b.scores += gains
    r, pl = np.nonzero(on)
    b.cheese[r, b.pos[r, pl]] = False
    b.n_cheese[:] = b.cheese.sum(axis=1)
    over = b.n_cheese == 0
    if b.n_teams >= 2:  # the end rule on rounded team scores (`engine.ranking_decided`), every pair of teams
        ts = b.team_scores()
        s1, s2, rem = ts[:, :, None], ts[:, None, :], b.n_cheese[:, None, None]
        open_pair = ((s1 == s2) | ((s1 < s2) & (s1 + rem >= s2))) & ~np.eye(b.n_teams, dtype=bool)
        over |= ~open_pair.any(axis=(1, 2))
    b.terminated |= live & over
    if b.max_turns is not None:
        b.truncated |= live & ~b.terminated & (b.turn - 1 >= b.max_turns)
    return gains


@pytest.mark.parametrize(("config", "max_turns", "teams"), [
    ("official", None, None), ("tiny", 30, None),
    (GameConfig(width=7, height=5, mud_percentage=60, mud_range=(2, 5), nb_cheese=9,
                starts=("center", "center", "top_left", "same")), 80, ("a", "b", "a", "c")),
    (GameConfig(width=6, height=4, nb_cheese=3, starts=("top_left",)), 25, None),
])
def test_compiled_step_equals_python_step_numpy_oracle_and_game(config, max_turns, teams):
    setups, fast = _random_batch(config, 40, 11, max_turns, teams)
    _, plain = _random_batch(config, 40, 11, max_turns, teams)
    _, oracle = _random_batch(config, 40, 11, max_turns, teams)
    games = [s.game(max_turns) if teams is None else
             Game(s.maze, s.cheese, s.starts, teams, max_turns) for s in setups]
    rng = np.random.default_rng(5)
    names = ("pos", "mud_target", "mud_count", "scores", "cheese", "n_cheese", "turn", "terminated", "truncated")
    for _ in range(120):
        actions = rng.integers(0, 5, fast.pos.shape)
        gains = fast.step(actions)
        _accel.set_enabled(False)
        try:
            assert np.array_equal(gains, plain.step(actions))
        finally:
            _accel.set_enabled(True)
        assert np.array_equal(gains, numpy_step(oracle, actions.astype(np.int64)))
        for name in names:
            assert np.array_equal(getattr(fast, name), getattr(plain, name)), name
            assert np.array_equal(getattr(fast, name), getattr(oracle, name)), name
        for i, g in enumerate(games):
            if not g.over:
                assert g.step(actions[i].tolist()) == gains[i].tolist()
            assert fast.game_view(i) == g.snapshot([str(p) for p in range(g.n_players)])
            assert (g.terminated, g.truncated) == (bool(fast.terminated[i]), bool(fast.truncated[i]))


def test_bad_actions_change_nothing():
    _, b = _random_batch("tiny", 4, 0)
    b.step(np.zeros((4, 2), dtype=np.int64))
    before = (b.pos.copy(), b.turn.copy())
    for bad in (5, -1):
        actions = np.ones((4, 2), dtype=np.int64)
        actions[3, 1] = bad
        with pytest.raises(ValueError, match="0..4"):
            b.step(actions)
    assert np.array_equal(b.pos, before[0]) and np.array_equal(b.turn, before[1])


def test_reset_game_checks_and_heavy_mud():
    setups, b = _random_batch("tiny", 3, 0)
    s = setups[0]
    with pytest.raises(ValueError, match="distinct"):
        b.reset_game(1, s.maze, [s.cheese[0], s.cheese[0]], s.starts)
    hole = int(np.flatnonzero(~s.maze.cells)[0]) if (~s.maze.cells).any() else None
    if hole is not None:
        with pytest.raises(ValueError, match="not an existing cell"):
            b.reset_game(1, s.maze, [hole], s.starts)
    # a maze with weights above 255 cannot use the packed tables: the batch is stepped game by game, the same way
    heavy = Maze(s.maze.width, s.maze.height, s.maze.cells, np.where(s.maze.weights > 1, 300, s.maze.weights))
    b.reset_game(2, heavy, s.cheese, s.starts)
    game = Game(heavy, s.cheese, s.starts)
    rng = np.random.default_rng(0)
    for _ in range(40):
        actions = rng.integers(0, 5, (3, 2))
        gains = b.step(actions)
        if not game.over:
            assert game.step(actions[2].tolist()) == gains[2].tolist()
        assert b.game_view(2) == game.snapshot(["0", "1"])


def test_round_to_five_decimals_is_the_engines():
    # the kernel's compiled copy of the score rule rounds as `engine.round_score` and `engine.round_scores`
    x = np.concatenate([np.random.default_rng(0).random(20000) * 40, np.arange(0, 30, 1 / 3), [0.5e-5, 2.5e-5]])
    compiled = np.array([K.rules._round5(v) for v in x])
    assert np.array_equal(compiled, np.array([engine.round_score(v) for v in x.tolist()]))
    assert np.array_equal(compiled, engine.round_scores(x))
    assert K.rules._round5(2.5e-5) == engine.round_score(2.5e-5) == 2e-5  # a half to even, where round(x, 5) is not


# -- distances and the greedy expert ---------------------------------------------------------------------
def test_distances_equal_scipys():
    from pyrat_env.paths import distance_matrix, distances_from

    mazes_ = [new_game(c, s).maze for c in ("official", "tiny", CONFIGS[9], CONFIGS[12]) for s in range(6)]
    m = mazes_[0]
    mazes_.append(Maze(m.width, m.height, m.cells, np.where(m.weights > 1, 300, m.weights)))  # the heap path
    for maze in mazes_:
        before = _accel.set_enabled(False)
        try:
            ref = distance_matrix.__wrapped__(maze)  # scipy
        finally:
            _accel.set_enabled(before)
        assert np.array_equal(distance_matrix.__wrapped__(maze), ref)  # the compiled kernel
        src = [0, int(maze.existing_cells()[-1])]
        assert np.array_equal(distances_from(maze, src), ref[src])
        if not maze.cells[0]:
            assert np.isinf(distances_from(maze, [0])).all()


def test_batched_greedy_equals_one_game_greedy():
    """The batched greedy keeps its targets between calls: it must still choose, at every call, exactly what
    the one-game greedy (times from every cheese, no memory) chooses, whatever moves were really played."""
    from pyrat_rl.agents.scripted import GreedyAgent

    heavy_mud = GameConfig(width=9, height=7, mud_percentage=70, mud_range=(2, 9), nb_cheese=11)
    for config in ("official", "tiny", heavy_mud, CONFIGS[12]):
        _, b1 = _random_batch(config, 24, 3, max_turns=80)
        _, b2 = _random_batch(config, 24, 500, max_turns=80)
        agent, slow, single = GreedyAgent(), GreedyAgent(), GreedyAgent()
        rng = np.random.default_rng(1)
        for t in range(80):
            if t == 30:  # new games in some slots
                for i in (0, 5, 6):
                    s = new_game(config, 1000 + i)
                    b1.reset_game(i, s.maze, s.cheese, s.starts)
            for b in (b1, b2):  # one agent for two batches and both seats
                chosen = [agent.act_batch(b, seat) for seat in (0, 1)]
                assert np.array_equal(agent.act_batch(b, 1), chosen[1])  # asked twice: the same answer
                for seat in (0, 1):
                    _accel.set_enabled(False)
                    try:
                        assert np.array_equal(slow.act_batch(b, seat), chosen[seat])
                    finally:
                        _accel.set_enabled(True)
                    for i in range(b.batch_size):
                        if not b.over[i] and b.cheese[i].any():
                            assert single.act(b.to_game(i), seat) == chosen[seat][i], (config, t, i, seat)
                # mostly greedy moves, sometimes others (the agent must notice it was not followed)
                stray = rng.random((b.batch_size, 2)) < 0.15
                actions = np.where(stray, rng.integers(0, 5, (b.batch_size, 2)), np.stack(chosen, axis=1))
                b.step(actions)


def test_batched_greedy_on_very_long_paths():
    from pyrat_rl.agents.scripted import GreedyAgent

    # a corridor of mud of weight 255: times above 65535 turns
    n = 300
    maze = Maze.from_edges(n, 1, range(n), [(c, c + 1, 255) for c in range(n - 1)])
    b = GameBatch([maze, maze], [[n - 1, 5], [0]], [[0, 2], [n - 1, n - 2]])
    agent = GreedyAgent()
    b.step(np.zeros((2, 2), dtype=np.int64))
    assert agent.act_batch(b, 0).tolist() == [agent.act(b.to_game(i), 0) for i in range(2)]


def test_greedy_with_a_hand_made_cheese_list():
    from pyrat_rl.agents.scripted import GreedyAgent

    game = new_game("official", 4).game()
    game.step([0, 0])
    agent = GreedyAgent()
    a = agent.act(game, 0)
    extra = next(c for c in game.maze.existing_cells().tolist() if c not in game.initial_cheese and c != game.pos[0])
    game.cheese = game.cheese + [extra]  # not an initial cheese: the agent falls back to all-pairs distances
    game._cheese_set = set(game.cheese)
    assert agent.act(game, 0) in range(5) and a in range(5)


# -- encoders --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["flat", "planes", "tokens"])
def test_compiled_batch_encoding_equals_numpy(name):
    enc = make_encoder(name)
    for config in ("official", "tiny"):
        setups, b = _random_batch(config, 16, 8, max_turns=50)
        rotate = np.random.default_rng(0).random(16) < 0.5
        fast = enc.batch(16, b.width, b.height, 0)
        slow = enc.batch(16, b.width, b.height, 0)
        fast.reset_rows(b, np.arange(16), rotate)
        _accel.set_enabled(False)
        try:
            slow.reset_rows(b, np.arange(16), rotate)
        finally:
            _accel.set_enabled(True)
        assert np.array_equal(fast.static, slow.static)
        rng = np.random.default_rng(2)
        kept = []
        for _ in range(40):
            b.step(rng.integers(0, 5, (16, 2)))
            obs = fast.encode(b)
            assert np.array_equal(obs, slow._encode_numpy(b))
            rows = np.array([3, 0, 9])
            assert np.array_equal(fast.encode(b, rows), obs[rows])
            kept.append((obs, obs.copy()))
            if len(kept) > 3:
                kept.pop(0)
        for obs, copy in kept:  # outputs still held are never reused
            assert np.array_equal(obs, copy)


def test_encoder_kernels_use_the_encoders_channel_layout():
    assert (K.encoders.N_STATIC_CHANNELS, K.encoders.N_CELL_CHANNELS) == (encoders.N_STATIC, encoders.N_CELL)
    assert (encoders.CH_CHEESE, encoders.CH_SELF, encoders.CH_OPP, encoders.CH_SELF_MUD, encoders.CH_OPP_MUD) == \
        (9, 10, 11, 12, 13)  # the kernels write these channels by number


# -- loading ---------------------------------------------------------------------------------------------------
def _child(code: str, env: dict | None = None) -> list:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_few_games_do_not_load_numba():
    code = ("import json, sys\nfrom pyrat_env.mazes import new_game\nfrom pyrat_rl.agents.scripted import GreedyAgent\n"
            "g = new_game('official', 0).game(); g.step([0, 0]); GreedyAgent().act(g, 0)\n"
            "print(json.dumps(['numba' in sys.modules]))")
    assert _child(code) == [False]


def test_kernels_can_be_turned_off():
    code = ("import json, sys, numpy as np\nfrom pyrat_env.mazes import new_game\n"
            "from pyrat_env.engine import GameBatch\n"
            "s = [new_game('tiny', i) for i in range(40)]\n"
            "b = GameBatch([x.maze for x in s], [x.cheese for x in s], [x.starts for x in s])\n"
            "b.step(np.zeros((40, 2), dtype=np.int64))\nprint(json.dumps(['numba' in sys.modules]))")
    assert _child(code, {"PYRAT_KERNELS": "0"}) == [False]
