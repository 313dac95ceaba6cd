"""The batched SB3 VecEnv: same games as the single env, resets in the step, masks, opponents, and PPO on it.

The Gymnasium VectorEnv over the same core: tests/test_gym_conventions.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from pyrat_env.agent import Agent
from pyrat_env.envs.gym_env import PolicyOpponent, PyRatEnv
from pyrat_env.envs.vec_env import PyRatVecEnv, make_vec_env


@pytest.fixture
def one_torch_thread():
    """Tiny networks run fastest on one thread (several threads fight over a busy machine's cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class StillAgent(Agent):
    name = "still"

    def act(self, game, seat):
        return 0


def test_shapes_masks_and_sb3_plumbing() -> None:
    env = make_vec_env(6, seed=0, preset="tiny", encoder="tokens")
    assert isinstance(env, PyRatVecEnv)
    obs = env.reset()
    assert obs.shape == (6, 35, 20) and obs.dtype == np.float32
    assert env.observation_space.shape == (35, 20) and env.action_space.n == 5
    masks = env.action_masks()
    assert masks.shape == (6, 5) and masks[:, 0].all()
    np.testing.assert_array_equal(np.stack(env.env_method("action_masks")), masks)
    assert env.has_attr("action_masks") and env.get_attr("render_mode") == [None] * 6
    assert env.env_is_wrapped(object) == [False] * 6
    obs, rewards, dones, infos = env.step(np.zeros(6, dtype=np.int64))
    assert rewards.dtype == np.float32 and dones.dtype == bool and len(infos) == 6
    assert [i["seat"] for i in env.reset_infos] == [0] * 6
    with pytest.raises(ValueError):
        env.step(np.full(6, 7))


def south_east_policy(obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """A deterministic policy opponent: south if legal in its own frame, else east, else nothing."""
    return np.where(masks[:, 3], 3, np.where(masks[:, 2], 2, 0))


@pytest.mark.parametrize(("encoder", "opponent"), [("planes", "greedy"), ("flat", "greedy"),
                                                   ("tokens", "policy")])
def test_same_games_as_the_single_env(encoder: str, opponent: str) -> None:
    """Each slot, replayed in a `PyRatEnv` (same game seed, seat, actions, opponent), gives the same
    observations, rewards, masks and ends: batching, seat swapping and rotation change nothing."""
    n = 8
    opp = south_east_policy if opponent == "policy" else opponent
    venv = make_vec_env(n, seed=1, preset="tiny", encoder=encoder, seat="random", max_turns=9, opponent=opp)
    obs = venv.reset()
    singles = [PyRatEnv(config=venv.config, opponent=opp, encoder=encoder, max_turns=venv.max_turns)
               for _ in range(n)]
    current = []
    for i, env in enumerate(singles):
        info = venv.reset_infos[i]
        o, _ = env.reset(options={"game_seed": info["game_seed"], "seat": info["seat"]})
        np.testing.assert_array_equal(o, obs[i])
        current.append(o)
    assert {info["seat"] for info in venv.reset_infos} == {0, 1}
    rng = np.random.default_rng(0)
    ends = truncations = 0
    for _ in range(60):
        masks = venv.action_masks()
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        for i, env in enumerate(singles):
            np.testing.assert_array_equal(masks[i], env.action_masks())
        obs, rewards, dones, infos = venv.step(actions)
        for i, env in enumerate(singles):
            o, r, term, trunc, info = env.step(int(actions[i]))
            assert r == pytest.approx(rewards[i])
            assert dones[i] == (term or trunc)
            if dones[i]:
                ends += 1
                np.testing.assert_array_equal(infos[i]["terminal_observation"], o)
                assert infos[i]["TimeLimit.truncated"] == (trunc and not term)
                truncations += trunc and not term
                assert infos[i]["result"]["scores"] == pytest.approx(info["result"]["scores"])
                assert infos[i]["result"]["outcome"] == info["result"]["outcome"]
                assert infos[i]["episode"]["l"] == info["result"]["turns"]
                new = infos[i]["new_game"]
                o, _ = env.reset(options={"game_seed": new["game_seed"], "seat": new["seat"]})
            np.testing.assert_array_equal(obs[i], o)
    assert ends >= n and truncations >= 1


def test_seeding() -> None:
    def trajectory(seed):
        env = make_vec_env(4, seed=seed, preset="tiny", opponent="random", seat="random")
        out = [env.reset()]
        rng = np.random.default_rng(0)
        for _ in range(20):
            out.append(env.step(rng.integers(0, 5, 4))[0])
        return np.stack(out)

    np.testing.assert_array_equal(trajectory(1), trajectory(1))
    assert not np.array_equal(trajectory(1), trajectory(2))
    env = make_vec_env(4, preset="tiny")
    env.seed(5)
    a = env.reset()
    env.seed(5)
    np.testing.assert_array_equal(env.reset(), a)


def test_sparse_reward_and_truncation_infos() -> None:
    env = make_vec_env(3, seed=0, preset="official", opponent=StillAgent(), reward="sparse", max_turns=4)
    env.reset()
    for _ in range(4):
        obs, rewards, dones, infos = env.step(np.zeros(3, dtype=np.int64))
        assert (rewards == 0).all()
    assert dones.all()
    for info in infos:
        assert info["TimeLimit.truncated"] is True
        assert info["result"]["reason"] == "max_turns"
        assert info["episode"]["r"] == 0.0 and info["episode"]["l"] == 4
        assert info["terminal_observation"].shape == obs.shape[1:]
    assert (env.batch.turn == 1).all()  # the slots hold new games, past turn 0


def test_opponent_policy_pool_and_replacement() -> None:
    calls = []

    def north(obs, masks):
        calls.append(len(obs))
        return np.where(masks[:, 1], 1, 0)

    env = make_vec_env(6, seed=0, preset="tiny", opponent=north, seat="random")
    assert isinstance(env.opponent, PolicyOpponent)
    env.reset()
    for _ in range(5):
        env.step(np.zeros(6, dtype=np.int64))
    assert calls == [6] * 5  # one call per step over the whole batch

    still = StillAgent()
    env.set_opponent(still)
    starts = env.batch.pos[:, 1].copy()
    in_mud = env.batch.mud_target[:, 1] >= 0
    env.step(np.zeros(6, dtype=np.int64))
    moved = env.batch.pos[:, 1] != starts
    assert not (moved & ~in_mud).any()

    chosen = []

    def sampler(rng):
        pick = ["greedy", "random"][int(rng.integers(2))]
        chosen.append(pick)
        return pick

    env = make_vec_env(8, seed=1, preset="tiny", opponent_sampler=sampler)
    env.reset()
    assert len(chosen) == 8 and len({id(o) for o in env._row_opps}) == len(set(chosen))
    rng = np.random.default_rng(0)
    for _ in range(40):
        env.step(rng.integers(0, 5, 8))
    assert len(chosen) > 8  # new games drew new opponents


def test_sb3_model_as_opponent_and_render(one_torch_thread) -> None:
    from stable_baselines3 import PPO

    env = make_vec_env(4, seed=0, preset="tiny", encoder="flat", render_mode="ansi")
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=32, policy_kwargs={"net_arch": [16]}, seed=0)
    env.set_opponent(model)
    env.reset()
    obs, *_ = env.step(np.zeros(4, dtype=np.int64))
    text = env.render()
    assert "R" in text and "P" in text and "learner" in text


def test_ppo_and_maskable_ppo_learn_on_it(one_torch_thread) -> None:
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    env = make_vec_env(16, seed=0, preset="tiny", encoder="flat", opponent="random", seat="random")
    model = MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=256, n_epochs=2,
                        policy_kwargs={"net_arch": [32]}, seed=0)
    model.learn(total_timesteps=3 * 16 * 64)
    assert model.num_timesteps >= 3000
    assert len(model.ep_info_buffer) > 0  # "episode" infos reach SB3's logger without a Monitor
    obs = env.reset()
    actions, _ = model.predict(obs, action_masks=env.action_masks())
    assert actions.shape == (16,)
    env = make_vec_env(8, seed=0, preset="tiny", encoder="planes", opponent="greedy")
    PPO("MlpPolicy", env, n_steps=32, batch_size=128, n_epochs=1, policy_kwargs={"net_arch": [16]},
        seed=0).learn(total_timesteps=512)


def test_env_benchmarks_smoke() -> None:
    from pyrat_env.envs.bench import env_benchmarks, format_benchmarks

    figures = env_benchmarks(seconds=0.05, num_envs=8, preset="tiny")
    for key in ("env_steps_per_s", "vec_env_steps_per_s", "sync_vector_env_steps_per_s",
                "env_steps_per_s_gym_make", "vec_env_steps_per_s_fixed_games", "vec_over_sync",
                "gym_vector_env_steps_per_s", "gym_vector_over_sync"):
        assert figures[key] > 0
    assert "env_steps_per_s" in format_benchmarks(figures)
