"""Observation encoders: shapes, a small position checked by hand, rotation, fast paths against the reference."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from pyrat_env.encoders import (
    CELL_CHANNELS,
    ENCODERS,
    GLOBAL_FEATURES,
    ROTATED_ACTION,
    FlatEncoder,
    PlanesEncoder,
    TokensEncoder,
    action_mask,
    action_mask_batch,
    action_mask_table,
    make_encoder,
)
from pyrat_env.engine import Game, GameBatch, Maze
from pyrat_env.mazes import new_game

NAMES = sorted(ENCODERS)


def small_game(max_turns: int | None = 10) -> Game:
    """3 x 2 maze (cell 5 a hole), mud of weight 4 between 1 and 2, a wall between 1 and 4::

        0 - 1 ~ 2
        |
        3 - 4   #
    """
    maze = Maze.from_edges(3, 2, [0, 1, 2, 3, 4], [(0, 1, 1), (1, 2, 4), (0, 3, 1), (3, 4, 1)])
    game = Game(maze, cheese=[2, 4], starts=[0, 3], max_turns=max_turns)
    game.step([0, 0])  # turn 0
    return game


def planes(game: Game, seat: int, rotate: bool = False) -> np.ndarray:
    return PlanesEncoder().encode(game, seat, rotate)


def ch(name: str) -> int:
    return CELL_CHANNELS.index(name)


# -- shapes and spaces ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("preset", ["tiny", "official"])
def test_shapes_and_spaces(name: str, preset: str) -> None:
    setup = new_game(preset, 1)
    w, h, n = setup.config.width, setup.config.height, setup.config.width * setup.config.height
    enc = make_encoder(name)
    expected = {"flat": (14 * n + 4,), "planes": (18, h, w), "tokens": (n, 20)}[name]
    assert enc.shape(w, h) == expected
    game = setup.game()
    game.step([0, 0])
    obs = enc.encode(game, 0)
    assert obs.shape == expected and obs.dtype == np.float32
    space = enc.space(w, h)
    assert space.shape == expected and space.contains(obs)
    assert len(CELL_CHANNELS) == 14 and len(GLOBAL_FEATURES) == 4


def test_make_encoder() -> None:
    assert isinstance(make_encoder("flat"), FlatEncoder)
    enc = TokensEncoder(horizon=50)
    assert make_encoder(enc) is enc
    with pytest.raises(ValueError, match="unknown encoder"):
        make_encoder("pixels")


# -- a position checked by hand --------------------------------------------------------------------------
def test_planes_by_hand() -> None:
    game = small_game()
    obs = planes(game, 0)
    assert obs.shape == (18, 2, 3)
    np.testing.assert_array_equal(obs[ch("wall_north")], [[1, 1, 1], [0, 1, 1]])
    np.testing.assert_array_equal(obs[ch("wall_east")], [[0, 0, 1], [0, 1, 1]])
    np.testing.assert_array_equal(obs[ch("wall_south")], [[0, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(obs[ch("wall_west")], [[1, 0, 0], [1, 0, 1]])
    np.testing.assert_allclose(obs[ch("mud_east")], [[0, 0.4, 0], [0, 0, 0]])
    np.testing.assert_allclose(obs[ch("mud_west")], [[0, 0, 0.4], [0, 0, 0]])
    assert obs[ch("mud_north")].sum() == 0 and obs[ch("mud_south")].sum() == 0
    np.testing.assert_array_equal(obs[ch("hole")], [[0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(obs[ch("cheese")], [[0, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(obs[ch("self")], [[1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(obs[ch("opponent")], [[0, 0, 0], [1, 0, 0]])
    assert obs[ch("self_mud")].sum() == 0 and obs[ch("opponent_mud")].sum() == 0
    np.testing.assert_allclose(obs[14:].reshape(4, -1).mean(axis=1), [0, 0, 1, 0])  # scores, cheese left, turn

    # Seat 0 east (0 -> 1), seat 1 east (3 -> 4) eats the cheese on 4.
    game.step([2, 2])
    obs = planes(game, 0)
    np.testing.assert_array_equal(obs[ch("self")], [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(obs[ch("opponent")], [[0, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(obs[ch("cheese")], [[0, 0, 1], [0, 0, 0]])
    np.testing.assert_allclose(obs[14:].reshape(4, -1)[:, 0], [0, 0.5, 0.5, 0.1])  # 1 move of max_turns 10

    # Seat 0 enters the mud towards 2 (weight 4: three turns left after this one).
    game.step([2, 0])
    obs = planes(game, 0)
    np.testing.assert_array_equal(obs[ch("self")], [[0, 1, 0], [0, 0, 0]])  # still on the cell it leaves
    np.testing.assert_allclose(obs[ch("self_mud")], [[0, 0, 0.3], [0, 0, 0]])
    # Seat 1's view, rotated: view cell j is real cell 5 - j, north is real south.
    rot = planes(game, 1, rotate=True)
    np.testing.assert_array_equal(rot[ch("self")], [[0, 1, 0], [0, 0, 0]])       # real 4 -> view 1
    np.testing.assert_array_equal(rot[ch("opponent")], [[0, 0, 0], [0, 1, 0]])   # real 1 -> view 4
    np.testing.assert_allclose(rot[ch("opponent_mud")], [[0, 0, 0], [0.3, 0, 0]])  # real 2 -> view 3
    np.testing.assert_array_equal(rot[ch("wall_north")], [[1, 1, 1], [1, 1, 0]])
    np.testing.assert_allclose(rot[ch("mud_east")], [[0, 0, 0], [0.4, 0, 0]])    # real 2 west -> view 3 east
    np.testing.assert_allclose(rot[ch("mud_west")], [[0, 0, 0], [0, 0.4, 0]])    # real 1 east -> view 4 west
    np.testing.assert_array_equal(rot[ch("hole")], [[1, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(rot[14:].reshape(4, -1)[:, 0], [0.5, 0, 0.5, 0.2])


def test_flat_and_tokens_hold_the_same_values() -> None:
    game = small_game()
    game.step([2, 2])
    game.step([2, 0])
    ref = planes(game, 0).reshape(18, 6)
    flat = FlatEncoder().encode(game, 0)
    np.testing.assert_array_equal(flat[: 14 * 6].reshape(14, 6), ref[:14])
    np.testing.assert_array_equal(flat[14 * 6:], ref[14:, 0])
    tokens = TokensEncoder().encode(game, 0)
    np.testing.assert_array_equal(tokens[:, :14].T, ref[:14])
    np.testing.assert_array_equal(tokens[:, 16:].T, ref[14:])
    np.testing.assert_allclose(tokens[4, 14:16], [1.0, 0.5])     # cell 4: row 1 of 0..1, col 1 of 0..2
    np.testing.assert_allclose(tokens[2, 14:16], [0.0, 1.0])


def test_action_masks_by_hand() -> None:
    game = small_game()
    np.testing.assert_array_equal(action_mask(game, 0), [1, 0, 1, 1, 0])          # at 0: east, south
    np.testing.assert_array_equal(action_mask(game, 1), [1, 1, 1, 0, 0])          # at 3: north, east
    np.testing.assert_array_equal(action_mask(game, 1, rotate=True), [1, 0, 0, 1, 1])  # view: south, west
    game.step([2, 0])
    game.step([2, 0])                                                              # seat 0 in mud
    np.testing.assert_array_equal(action_mask(game, 0), [1, 0, 0, 0, 0])
    table = action_mask_table(game.maze, True)
    real = action_mask_table(game.maze, False)
    np.testing.assert_array_equal(table, real[:, ROTATED_ACTION])


# -- rotation: one network for both seats --------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_symmetric_positions_look_the_same_from_both_seats(name: str) -> None:
    enc = make_encoder(name)
    rng = np.random.default_rng(0)
    for seed in range(3):
        setup = new_game("tiny", seed)
        assert setup.config.symmetric
        game = setup.game()
        game.step([0, 0])
        n = game.maze.n_cells
        assert game.pos[1] == n - 1 - game.pos[0]
        for _ in range(40):
            np.testing.assert_array_equal(enc.encode(game, 0), enc.encode(game, 1, rotate=True))
            if game.over:
                break
            a = int(rng.integers(5))
            game.step([a, int(ROTATED_ACTION[a])])      # the mirrored move keeps the position symmetric
        # and the same holds for the batched encoder
        batch = GameBatch([game.maze], [setup.cheese], [setup.starts])
        batch.step(np.zeros((1, 2), dtype=np.int64))
        np.testing.assert_array_equal(enc.encode_batch(batch, 0, False), enc.encode_batch(batch, 1, True))


# -- fast paths against the reference ----------------------------------------------------------------------
def random_games(preset: str, seeds: range, turns: int, rng: np.random.Generator) -> list[list[Game]]:
    """For each seed, the game's states (copies) after random turns (mud and eaten cheese included)."""
    out = []
    for seed in seeds:
        game = new_game(preset, seed).game(max_turns=60)
        game.step([0, 0])
        states = [game.copy()]
        for _ in range(turns):
            if game.over:
                break
            game.step([int(rng.integers(5)), int(rng.integers(5))])
            states.append(game.copy())
        out.append(states)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_incremental_matches_reference(name: str) -> None:
    enc = make_encoder(name)
    rng = np.random.default_rng(1)
    for states in random_games("tiny", range(4), 50, rng) + random_games("official", range(2), 80, rng):
        for seat in (0, 1):
            for rotate in (False, True):
                inc = enc.incremental(seat, rotate)
                first = inc.reset(states[0])
                np.testing.assert_array_equal(first, enc.encode(states[0], seat, rotate))
                for state in states[1:]:
                    obs = inc.update(state)
                    np.testing.assert_array_equal(obs, enc.encode(state, seat, rotate))
                    obs[...] = -1  # callers may keep or change what they get: it is a copy
        # a reused encoding restarts cleanly on another game
        inc = enc.incremental(0)
        inc.reset(states[-1])
        np.testing.assert_array_equal(inc.reset(states[0]), enc.encode(states[0], 0))


@pytest.mark.parametrize("name", NAMES)
def test_batch_matches_reference(name: str) -> None:
    enc = make_encoder(name)
    rng = np.random.default_rng(2)
    setups = [new_game("tiny", s) for s in range(12)]
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups],
                      max_turns=40)
    rotate = rng.random(12) < 0.5
    learner = enc.batch(12, batch.width, batch.height, 0)
    learner.reset_rows(batch, np.arange(12), rotate)
    seen_mud = False
    for _ in range(30):
        batch.step(rng.integers(0, 5, (12, 2)))
        seen_mud |= bool((batch.mud_target >= 0).any())
        obs = learner.encode(batch)
        for player in (0, 1):
            other = enc.encode_batch(batch, player, rotate)
            for i in range(12):
                game = batch.to_game(i)
                np.testing.assert_array_equal(other[i], enc.encode(game, player, bool(rotate[i])))
        np.testing.assert_array_equal(obs, enc.encode_batch(batch, 0, rotate))
        rows = np.array([3, 7, 1])
        np.testing.assert_array_equal(learner.encode(batch, rows), obs[rows])
        masks = action_mask_batch(batch, 0, rotate)
        for i in range(12):
            np.testing.assert_array_equal(masks[i], action_mask(batch.to_game(i), 0, bool(rotate[i])))
    assert seen_mud


def test_static_part_is_shared_and_read_only() -> None:
    enc = PlanesEncoder()
    maze = new_game("tiny", 0).maze
    t = enc.template(maze, False)
    assert enc.template(maze, False) is t and not t.flags.writeable
    assert enc.template(maze, True) is not t


def test_encoders_import_neither_torch_nor_gymnasium() -> None:
    # With torch, gymnasium and pygame made unimportable (as in an install without those extras), encoding
    # still works: ``import pyrat_env`` registers the Gymnasium ids only when gymnasium is there.
    code = ("import json, sys\n"
            "class Absent:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('torch', 'gymnasium', 'pygame'):\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, Absent())\n"
            "import pyrat_env.encoders as e; from pyrat_env.mazes import new_game\n"
            "g = new_game('tiny', 0).game(); g.step([0, 0]); e.PlanesEncoder().encode(g, 0)\n"
            "print(json.dumps(sorted(m for m in ('torch', 'gymnasium', 'pygame') if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
