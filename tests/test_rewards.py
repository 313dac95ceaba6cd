"""pyrat_rl.train.rewards: returns and advantages match their definitions and stable-baselines3's RolloutBuffer."""

from __future__ import annotations

import numpy as np
import pytest
from pyrat_rl.train.rewards import discounted_returns, gae_advantages, play_episode


def test_returns_by_hand():
    r = np.array([0.0, 1.0, 0.0, 2.0])
    g = discounted_returns(r, gamma=0.5)
    assert g[3] == 2.0 and g[2] == 1.0 and g[1] == 1.5 and g[0] == 0.75
    assert discounted_returns(r, 0.5, last_value=4.0)[3] == 2.0 + 0.5 * 4.0


def test_gae_limits():
    rng = np.random.default_rng(0)
    r, v = rng.normal(size=12), rng.normal(size=12)
    adv1 = gae_advantages(r, v, gamma=0.9, lam=1.0, last_value=0.3)
    assert adv1 == pytest.approx(discounted_returns(r, 0.9, 0.3) - v)
    adv0 = gae_advantages(r, v, gamma=0.9, lam=0.0, last_value=0.3)
    assert adv0 == pytest.approx(r + 0.9 * np.append(v[1:], 0.3) - v)


def test_gae_matches_stable_baselines3():
    torch = pytest.importorskip("torch")
    from gymnasium import spaces
    from stable_baselines3.common.buffers import RolloutBuffer

    rng = np.random.default_rng(1)
    n = 9
    r, v = rng.normal(size=n).astype(np.float32), rng.normal(size=n).astype(np.float32)
    buf = RolloutBuffer(n, spaces.Box(0, 1, (2,)), spaces.Discrete(2), gamma=0.97, gae_lambda=0.9, n_envs=1)
    for t in range(n):
        buf.add(np.zeros((1, 2), np.float32), np.zeros((1, 1)), r[t:t + 1], np.array([t == 0]),
                torch.tensor([v[t]]), torch.zeros(1))
    buf.compute_returns_and_advantage(last_values=torch.tensor([0.5]), dones=np.array([False]))
    ours = gae_advantages(r, v, gamma=0.97, lam=0.9, last_value=0.5)
    assert buf.advantages[:, 0] == pytest.approx(ours, rel=1e-4, abs=1e-5)


def test_play_episode_sums_to_the_score_difference():
    from pyrat_env.envs.gym_env import PyRatEnv

    env = PyRatEnv(preset="tiny", opponent="greedy", encoder="flat")
    ep = play_episode(env, lambda obs, mask: int(np.flatnonzero(mask)[-1]), value=lambda obs: 0.25, seed=3)
    scores = ep.info["result"]["scores"]
    seat = env.seat
    assert ep.rewards.sum() == pytest.approx(scores[seat] - scores[1 - seat])
    assert len(ep.values) == len(ep.rewards) == len(ep.actions)
    assert (ep.values == 0.25).all()
    assert ep.last_value == (0.25 if ep.truncated else 0.0)
