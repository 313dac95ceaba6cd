"""Gymnasium and PettingZoo environments: registered ids, the ecosystems' checkers, rotation, rewards, opponents."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import pyrat_env
from pyrat_env.agent import Agent
from pyrat_env.encoders import ROTATED_ACTION
from pyrat_env.envs.gym_env import PolicyOpponent, PyRatEnv, render_text
from pyrat_env.envs.pettingzoo_env import aec_env
from pyrat_env.mazes import new_game

ENCODERS = ("flat", "planes", "tokens")


class StillAgent(Agent):
    """Never moves (keeps positions predictable in tests)."""

    name = "still"

    def act(self, game, seat):
        return 0


# -- registration (the import orders, in fresh interpreters: tests/test_imports.py) ---------------------------
def test_registered_ids_name_both_entry_points() -> None:
    import gymnasium as gym

    for env_id, preset_name in pyrat_env.ENV_IDS.items():
        spec = gym.spec(env_id)
        assert spec.entry_point == "pyrat_env.envs.gym_env:PyRatEnv"
        assert spec.vector_entry_point == "pyrat_env.envs.gym_vector_env:PyRatVectorEnv"
        assert spec.kwargs == {"preset": preset_name}


def test_lazy_attributes() -> None:
    assert pyrat_env.PyRatEnv is PyRatEnv
    assert callable(pyrat_env.parallel_env) and callable(pyrat_env.make_vec_env)
    assert pyrat_env.PyRatVectorEnv.__name__ == "PyRatVectorEnv"
    assert "make_vec_env" in dir(pyrat_env)
    with pytest.raises(AttributeError):
        pyrat_env.no_such_thing  # noqa: B018


def test_make_presets_and_options() -> None:
    import gymnasium as gym

    for env_id, size in (("PyRat-Tiny-v0", (5, 7)), ("PyRat-Classic-v0", (15, 21))):
        env = gym.make(env_id, encoder="planes", opponent="random", seat="random")
        obs, info = env.reset(seed=3)
        assert obs.shape == (18, *size) and info["seat"] in (0, 1)
    env = PyRatEnv(preset="tiny", nb_cheese=3, width=9, max_turns=7)
    assert env.config.nb_cheese == 3 and env.config.width == 9 and env.max_turns == 7
    assert PyRatEnv().max_turns == 4 * 15 * 13
    assert PyRatEnv(max_turns=None).max_turns is None
    with pytest.raises(TypeError, match="unknown env option"):
        PyRatEnv(colour="red")
    with pytest.raises(ValueError):
        PyRatEnv(seat=2)
    with pytest.raises(ValueError):
        PyRatEnv(reward="elo")
    with pytest.raises(ValueError):
        PyRatEnv(starts=("center",))


# -- checkers -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoder", ENCODERS)
def test_gymnasium_and_sb3_checkers(encoder: str) -> None:
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3 warns that [18, H, W] float planes are not uint8 images
        for preset in ("tiny", "official"):
            check_env(PyRatEnv(preset=preset, encoder=encoder, seat="random", render_mode="ansi"))
            sb3_check_env(PyRatEnv(preset=preset, encoder=encoder, seat="random"), warn=True)


def test_gymnasium_checker_through_make() -> None:
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(gym.make("PyRat-Tiny-v0", render_mode="ansi").unwrapped)


def test_docstrings_carry_the_spec() -> None:
    doc = PyRatEnv.__doc__
    for word in ("Observation", "Actions", "Reward", "Termination", "Truncation", "Versions"):
        assert word in doc
    assert "Versions" in pyrat_env.PyRatParallelEnv.__doc__


# -- episodes -----------------------------------------------------------------------------------------------
def play(env: PyRatEnv, seed: int, policy=None, limit: int = 10_000):
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = [(obs, 0.0, False, False, info)]
    for _ in range(limit):
        mask = env.action_masks()
        a = policy(obs, mask) if policy else int(rng.choice(np.flatnonzero(mask)))
        obs, r, term, trunc, info = env.step(a)
        out.append((obs, r, term, trunc, info))
        if term or trunc:
            break
    return out


def test_same_seed_same_episode() -> None:
    a = play(PyRatEnv(preset="tiny", opponent="random", seat="random"), 5)
    b = play(PyRatEnv(preset="tiny", opponent="random", seat="random"), 5)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:4] == y[1:4]


def test_score_difference_reward_sums_to_the_final_difference() -> None:
    env = PyRatEnv(opponent="greedy", reward="score_diff", max_turns=None)
    steps = play(env, 0)
    final = steps[-1]
    assert final[2] and not final[3]  # terminated, never truncated (no limit)
    me, other = env.seat, 1 - env.seat
    total = sum(s[1] for s in steps)
    assert total == pytest.approx(env.game.scores[me] - env.game.scores[other])
    assert final[4]["result"]["reason"] == "terminated"


def test_sparse_reward_and_truncation() -> None:
    env = PyRatEnv(preset="official", opponent=StillAgent(), reward="sparse", max_turns=5)
    steps = play(env, 1, policy=lambda obs, mask: 0)  # nobody moves: a draw, cut at the limit
    assert len(steps) == 6
    assert [s[3] for s in steps[1:]] == [False] * 4 + [True]
    assert not any(s[2] for s in steps)
    assert [s[1] for s in steps[1:]] == [0.0] * 5
    assert steps[-1][4]["result"] == {"scores": [0.0, 0.0], "outcome": 0.0, "turns": 5, "reason": "max_turns"}
    with pytest.raises(RuntimeError):
        env.step(0)
    env = PyRatEnv(preset="tiny", opponent="greedy", reward="sparse", max_turns=None)
    steps = play(env, 2, policy=lambda obs, mask: 0)  # the greedy opponent wins
    assert steps[-1][1] == -1.0 and sum(s[1] for s in steps) == -1.0


def test_score_reward_counts_own_points() -> None:
    env = PyRatEnv(preset="tiny", opponent="greedy", reward="score", max_turns=None)
    steps = play(env, 3)
    assert sum(s[1] for s in steps) == pytest.approx(env.game.scores[env.seat])


def test_walls_waste_the_turn_and_mud_masks_all_moves() -> None:
    env = PyRatEnv(preset="official", opponent=StillAgent(), max_turns=None)
    env.reset(seed=4)
    game = env.game
    mask = env.action_masks()
    blocked = [a for a in range(1, 5) if not mask[a]]
    if blocked:
        before = game.pos[0]
        env.step(blocked[0])
        assert game.pos[0] == before
    rng = np.random.default_rng(0)
    for _ in range(500):  # walk until in mud
        if game.mud_target[0] is not None:
            np.testing.assert_array_equal(env.action_masks(), [True, False, False, False, False])
            break
        env.step(int(rng.choice(np.flatnonzero(env.action_masks()[1:])) + 1))
    else:
        pytest.fail("never entered mud")


def test_rotated_seat_acts_in_its_own_frame() -> None:
    # Tiny mazes are symmetric: seat 1 sees the maze rotated; its "north" is the real south.
    env = PyRatEnv(preset="tiny", seat=1, opponent=StillAgent(), encoder="planes", max_turns=None)
    env.reset(seed=0)
    game, n, w = env.game, env.game.maze.n_cells, env.game.maze.width
    assert env._rotate
    obs = env.step(0)[0]
    view_self = int(np.flatnonzero(obs[10].reshape(-1))[0])
    assert view_self == n - 1 - game.pos[1]
    moved = 0
    for view_action in (1, 2, 3, 4, 1, 2, 3, 4):
        if game.mud_target[1] is not None or not env.action_masks()[view_action]:
            continue
        before = game.pos[1]
        real = int(ROTATED_ACTION[view_action])
        assert game.maze.weights[before, real] > 0
        obs = env.step(view_action)[0]
        if game.mud_target[1] is None:
            assert game.pos[1] == game.maze.neighbors[before, real]
            view_now = int(np.flatnonzero(obs[10].reshape(-1))[0])
            # in the view, the move went the way the policy chose
            dr = {1: -w, 2: 1, 3: w, 4: -1}[view_action]
            assert view_now == n - 1 - before + dr
            moved += 1
    assert moved


def test_seat_random_and_options() -> None:
    env = PyRatEnv(preset="tiny", seat="random", opponent="random")
    seats = {env.reset(seed=s)[1]["seat"] for s in range(12)}
    assert seats == {0, 1}
    _, info = env.reset(seed=0, options={"seat": 1, "game_seed": 42})
    assert info == {"seat": 1, "game_seed": 42}
    assert env.setup.maze == new_game(env.config, 42).maze
    setup = new_game("tiny", 7)
    _, info = env.reset(options={"setup": setup})
    assert env.game.maze == setup.maze and info["game_seed"] == 7
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"colour": 1})


def test_mask_in_info() -> None:
    env = PyRatEnv(preset="tiny", mask_in_info=True, opponent="random")
    _, info = env.reset(seed=0)
    np.testing.assert_array_equal(info["action_mask"], env.action_masks())
    _, _, _, _, info = env.step(0)
    np.testing.assert_array_equal(info["action_mask"], env.action_masks())


# -- opponents ----------------------------------------------------------------------------------------------
def test_opponents_by_name_instance_and_policy() -> None:
    assert PyRatEnv(opponent="random").opponent.name == "random"
    still = StillAgent()
    env = PyRatEnv(preset="tiny", opponent=still, seat=0)
    assert env.opponent is still
    env.reset(seed=0)
    start = env.game.pos[1]
    for _ in range(5):
        env.step(0)
    assert env.game.pos[1] == start
    with pytest.raises(ValueError):
        PyRatEnv(opponent="no-such-agent-anywhere")

    seen = []

    def policy(obs, masks):  # a policy opponent acts in its own (rotated) frame: always "north" when legal
        seen.append((obs.shape, masks.shape))
        return np.where(masks[:, 1], 1, 0)

    env = PyRatEnv(preset="tiny", opponent=policy, seat=0, encoder="flat")
    assert isinstance(env.opponent, PolicyOpponent)
    env.reset(seed=1)
    game = env.game
    before = game.pos[1]
    legal_north_in_view = env._opp_mask_table[before][1]
    env.step(0)
    assert seen[0] == ((1, 14 * 35 + 4), (1, 5))
    if legal_north_in_view:  # seat 1 is rotated on tiny mazes: its north is the real south
        assert game.pos[1] == before + game.maze.width or game.mud_target[1] is not None
    env.set_opponent("greedy")
    env.reset(seed=1)
    assert env.opponent.name == "greedy"


# -- rendering ------------------------------------------------------------------------------------------------
def test_ansi_render() -> None:
    env = PyRatEnv(preset="tiny", render_mode="ansi", opponent="random")
    assert env.render() is None
    env.reset(seed=0)
    text = env.render()
    assert "R" in text and "P" in text and "*" in text and text.count("\n") >= 2 * 5
    assert PyRatEnv(preset="tiny").render() is None
    setup = new_game("tiny", 0)
    drawing = render_text(setup.maze, setup.starts, setup.cheese)
    lines = drawing.splitlines()
    assert len(lines) == 2 * 5 + 1 and all(len(line) == 4 * 7 + 1 for line in lines)


def test_rgb_render() -> None:
    try:
        import pyrat_env.viewer.render as render
    except ImportError as exc:
        pytest.skip(f"the viewer (pyrat_env.viewer.render) is not available: {exc}")
    if not hasattr(render, "render_rgb"):
        pytest.skip("pyrat_env.viewer.render has no render_rgb yet")
    env = PyRatEnv(preset="tiny", render_mode="rgb_array", opponent="random")
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    pz = pyrat_env.parallel_env(preset="tiny", render_mode="rgb_array")
    pz.reset(seed=0)
    assert pz.render().shape[2] == 3


# -- PettingZoo ------------------------------------------------------------------------------------------------
def test_pettingzoo_api_and_seed_tests() -> None:
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    for preset in ("tiny", "official"):
        parallel_api_test(pyrat_env.parallel_env(preset=preset), num_cycles=300)
        parallel_seed_test(lambda preset=preset: pyrat_env.parallel_env(preset=preset))


def test_pettingzoo_aec_api_test() -> None:
    from pettingzoo.test import api_test

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dict observations: PettingZoo suggests Box or Discrete
        api_test(aec_env(preset="tiny"), num_cycles=100)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_pettingzoo_symmetric_seats_and_masks(encoder: str) -> None:
    env = pyrat_env.parallel_env(preset="tiny", encoder=encoder)
    obs, infos = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(30):
        # mirrored actions from a symmetric start keep the position symmetric: identical observations
        np.testing.assert_array_equal(obs["player_0"]["observation"], obs["player_1"]["observation"])
        np.testing.assert_array_equal(obs["player_0"]["action_mask"], obs["player_1"]["action_mask"])
        assert obs["player_0"]["action_mask"].dtype == np.int8 and obs["player_0"]["action_mask"][0] == 1
        a = int(rng.choice(np.flatnonzero(obs["player_0"]["action_mask"])))
        obs, rewards, terms, truncs, infos = env.step({"player_0": a, "player_1": a})  # same action in own frame
        assert rewards["player_0"] == rewards["player_1"] == 0.0
        if not env.agents:
            assert all(terms.values()) or all(truncs.values())
            assert "result" in infos["player_0"]
            break


def test_pettingzoo_rewards_are_zero_sum_and_missing_actions_are_nothing() -> None:
    env = pyrat_env.parallel_env(preset="tiny", rotate=False)
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(1)
    start1 = env.game.pos[1]
    totals = {"player_0": 0.0, "player_1": 0.0}
    while env.agents:
        a = int(rng.choice(np.flatnonzero(obs["player_0"]["action_mask"])))
        obs, rewards, _, _, _ = env.step({"player_0": a})
        for k in totals:
            totals[k] += rewards[k]
        assert env.game.pos[1] == start1
    assert totals["player_0"] == pytest.approx(-totals["player_1"])
    assert totals["player_0"] == pytest.approx(env.game.scores[0] - env.game.scores[1])
    assert env.state().shape == (18, 5, 7)
