"""Rewards, returns, values and advantages on one recorded episode: what PPO computes, shown step by step.

Notebook 06 plays one game in the Gymnasium environment and looks at the numbers PPO learns from:

* `play_episode`: one episode of ``PyRatEnv`` with a chooser of actions (``fn(obs, mask) -> action``), and,
  optionally, a value function (``fn(obs) -> float``) evaluated on every observation; the rewards, the
  values, and the last observation's value when the game was cut by the turn limit.
* `discounted_returns`: ``G_t = r_t + gamma * G_{t+1}``, what the value function learns to predict.
* `gae_advantages`: generalised advantage estimation, ``A_t = sum_k (gamma * lambda)^k delta_{t+k}`` with
  ``delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)``: how much better the action turned out than expected.
  The targets of the value function are then ``A_t + V(s_t)`` (stable-baselines3's ``RolloutBuffer``
  computes the same, which the tests check).
* `policy_fns`: the chooser and value function of an SB3 actor-critic policy (a PPO model's ``policy``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Episode:
    """One episode: ``rewards [T]``, ``values [T]`` (zeros without a value function), ``actions [T]``,
    ``last_value`` (the value after the last step: 0 when the game ended by the rules, the value of the
    final observation when it was truncated), ``truncated`` and the final ``info``."""

    rewards: np.ndarray
    values: np.ndarray
    actions: np.ndarray
    last_value: float
    truncated: bool
    info: dict


def play_episode(env, act: Callable[[np.ndarray, np.ndarray], int], value: Callable[[np.ndarray], float] | None = None,
                 seed: int = 0) -> Episode:
    """Play one episode of ``env`` (reset with ``seed``); ``act(obs, mask)`` chooses each action."""
    obs, info = env.reset(seed=seed)
    rewards, values, actions = [], [], []
    while True:
        values.append(float(value(obs)) if value is not None else 0.0)
        a = int(act(obs, env.action_masks()))
        actions.append(a)
        obs, r, terminated, truncated, info = env.step(a)
        rewards.append(float(r))
        if terminated or truncated:
            break
    last = float(value(obs)) if (value is not None and truncated and not terminated) else 0.0
    return Episode(np.asarray(rewards), np.asarray(values), np.asarray(actions, dtype=np.int64), last,
                   bool(truncated and not terminated), info)


def discounted_returns(rewards: np.ndarray, gamma: float = 0.99, last_value: float = 0.0) -> np.ndarray:
    """``G_t = r_t + gamma * G_{t+1}``, starting from ``last_value`` after the last reward."""
    out = np.zeros(len(rewards))
    g = float(last_value)
    for t in range(len(rewards) - 1, -1, -1):
        g = rewards[t] + gamma * g
        out[t] = g
    return out


def gae_advantages(rewards: np.ndarray, values: np.ndarray, gamma: float = 0.99, lam: float = 0.95,
                   last_value: float = 0.0) -> np.ndarray:
    """Generalised advantage estimates ``[T]`` (``lam = 1``: returns minus values; ``lam = 0``: one-step TD errors)."""
    values = np.asarray(values, dtype=np.float64)
    nxt = np.append(values[1:], last_value)
    deltas = np.asarray(rewards, dtype=np.float64) + gamma * nxt - values
    out = np.zeros(len(deltas))
    acc = 0.0
    for t in range(len(deltas) - 1, -1, -1):
        acc = deltas[t] + gamma * lam * acc
        out[t] = acc
    return out


def policy_fns(policy, deterministic: bool = True):
    """``(act, value)`` for `play_episode` from an SB3 (maskable) actor-critic policy."""
    import torch

    def act(obs: np.ndarray, mask: np.ndarray) -> int:
        with torch.no_grad():
            try:
                a, _ = policy.predict(obs, deterministic=deterministic, action_masks=mask)
            except TypeError:     # a policy without masks
                a, _ = policy.predict(obs, deterministic=deterministic)
        return int(np.asarray(a).reshape(-1)[0])

    def value(obs: np.ndarray) -> float:
        with torch.no_grad():
            t = torch.as_tensor(obs[None], device=policy.device)
            return float(policy.predict_values(t).reshape(-1)[0])

    return act, value
