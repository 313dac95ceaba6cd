"""Training speed: PPO steps per second, end to end, for each network (``pyrat bench --train``).

`train_benchmarks` builds, for ``mlp``, ``cnn`` and ``transformer``, the same MaskablePPO set-up as
``pyrat train ppo`` (batched VecEnv on the ``official`` preset against ``greedy``, the default PPO
settings of `pyrat_rl.train.ppo.PPOConfig`) and times ``model.learn`` over whole rollouts: the figure is env steps
divided by wall time, rollouts *and* updates included (SB3's logged ``fps`` leaves out the last update).
Model construction is not timed; one warm-up rollout is played before timing (first-call costs).
The reference, measured in the same run, is the textbook SB3 set-up for the ``cnn``
(`reference_ppo_steps_per_s`: SB3's ``DummyVecEnv`` of 16 Gymnasium envs, the opponent asked one game
at a time, same network and PPO settings); on a machine with CUDA every network is also measured there.
Rollouts run on one torch thread and updates on 1 or every core (both are measured; the best is the
headline): on a machine where other processes are busy, torch threads wait for each other at every
operation and two threads can be slower than one. The settings, the thread counts and the load average go
in the result, so figures can be compared.
"""

from __future__ import annotations

import os
import platform
import time

import torch
from pyrat_rl.agents.networks import count_parameters

NETWORK_ORDER = ("mlp", "cnn", "transformer")


def ppo_steps_per_s(policy: str, rollouts: int = 3, threads: int | None = None, seed: int = 0,
                    rollout_threads: int | None = 1, device: str = "cpu", **overrides) -> tuple[float, dict]:
    """End-to-end PPO steps per second for one network: ``(rate, details)``.

    As in training, rollouts use ``rollout_threads`` torch threads and updates ``threads`` (None: every
    core); ``rollout_threads=None`` uses ``threads`` throughout.
    """
    from pyrat_env.runtime import set_threads

    from .ppo import PPOConfig, RolloutThreadsCallback, build_model, make_env

    cfg = PPOConfig(policy=policy, seed=seed, eval_games=0, progress=False, threads=threads, **overrides)
    n_threads = set_threads(cfg.threads)
    env = make_env(cfg)
    model = build_model(cfg, env, torch.device(device))
    callback = RolloutThreadsCallback(n_threads, rollout_threads or n_threads)
    rate, dt, steps = _time_learn(model, cfg.n_envs * cfg.n_steps, rollouts, callback)
    env.close()
    details = {"steps": steps, "seconds": round(dt, 2), "threads": n_threads, "device": device,
               "rollout_threads": rollout_threads or n_threads, "parameters": count_parameters(model.policy)}
    return rate, details


def _time_learn(model, per_rollout: int, rollouts: int, callback=None) -> tuple[float, float, int]:
    """(steps per second, seconds, steps) of ``rollouts`` whole rollouts, after one warm-up rollout."""
    model.learn(total_timesteps=per_rollout, callback=callback)   # warm-up rollout and update
    t0 = time.perf_counter()
    model.learn(total_timesteps=rollouts * per_rollout, reset_num_timesteps=False, callback=callback)
    dt = time.perf_counter() - t0
    return rollouts * per_rollout / dt, dt, rollouts * per_rollout


def reference_ppo_steps_per_s(policy: str = "cnn", rollouts: int = 1, threads: int | None = None,
                              gym_envs: int = 16, seed: int = 0, **overrides) -> tuple[float, dict]:
    """The same PPO on the textbook SB3 set-up: the reference the batched figures are compared with.

    ``gym_envs`` Gymnasium `PyRatEnv` in SB3's ``DummyVecEnv``, each game stepped on its own and the
    ``greedy`` opponent asked one game at a time, with the same network, rollout size (``n_envs`` x
    ``n_steps``), minibatch size and epochs as `pyrat_rl.train.ppo.PPOConfig`; torch on every core throughout.
    """
    from pyrat_rl.agents.networks import encoder_for, policy_kwargs
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
    from stable_baselines3.common.vec_env import DummyVecEnv

    from pyrat_env.envs.gym_env import PyRatEnv
    from pyrat_env.runtime import set_threads

    from .ppo import PPOConfig

    cfg = PPOConfig(policy=policy, seed=seed, **overrides)
    n_threads = set_threads(threads)
    per_rollout = cfg.n_envs * cfg.n_steps
    n_steps = per_rollout // gym_envs
    env = DummyVecEnv([lambda: PyRatEnv(preset=cfg.preset, opponent=cfg.opponent, encoder=encoder_for(policy),
                                    max_turns=cfg.max_turns if cfg.max_turns is not None else "auto")
                       for _ in range(gym_envs)])
    env.seed(seed)
    model = MaskablePPO(MaskableActorCriticPolicy, env, n_steps=n_steps, batch_size=cfg.batch_size,
                        n_epochs=cfg.n_epochs, learning_rate=cfg.learning_rate, gamma=cfg.gamma,
                        gae_lambda=cfg.gae_lambda, ent_coef=cfg.ent_coef, seed=seed, device="cpu",
                        policy_kwargs=policy_kwargs(policy, cfg.net_kwargs))
    rate, dt, steps = _time_learn(model, per_rollout, rollouts)
    env.close()
    return rate, {"steps": steps, "seconds": round(dt, 2), "threads": n_threads, "n_envs": gym_envs,
                  "n_steps": n_steps, "vec_env": "stable_baselines3 DummyVecEnv of PyRatEnv"}


def train_benchmarks(quick: bool = False, threads: int | None = None) -> dict:
    """``ppo_steps_per_s_{mlp,cnn,transformer}`` and the settings used (see the module docstring).

    Each network is measured with 1 torch thread for the updates and, on a machine with more cores, with
    every core (or only with ``threads`` when given; with ``quick`` only with every core); the
    headline figure is the best, and ``ppo_steps_per_s_by_threads`` has them all. Rollouts use 1 thread.
    """
    from pyrat_env.runtime import cpu_count

    from .ppo import PPOConfig

    cfg = PPOConfig()
    cores = cpu_count()
    if threads:
        options = [int(threads)]
    elif quick:
        options = [cores]
    else:
        options = sorted({1, cores})
    out: dict = {}
    details: dict = {}
    by_threads: dict = {}
    for name in NETWORK_ORDER:
        rollouts = 1 if quick or name == "transformer" else 3
        for n in options:
            rate, info = ppo_steps_per_s(name, rollouts=rollouts, threads=n)
            by_threads.setdefault(name, {})[str(n)] = round(rate, 1)
            if rate > out.get(f"ppo_steps_per_s_{name}", 0.0):
                out[f"ppo_steps_per_s_{name}"] = round(rate, 1)
                details[name] = info
    if torch.cuda.is_available():
        for name in NETWORK_ORDER:
            rate, info = ppo_steps_per_s(name, rollouts=1 if quick else 3, threads=threads, device="cuda")
            out[f"ppo_steps_per_s_{name}_cuda"] = round(rate, 1)
            details[f"{name}_cuda"] = info
    ref, ref_info = reference_ppo_steps_per_s("cnn", rollouts=1, threads=threads)
    out["ppo_steps_per_s_cnn_sb3_reference"] = round(ref, 1)
    out.setdefault("ratios", {})["ppo_cnn_vs_sb3_reference"] = round(out["ppo_steps_per_s_cnn"] / ref, 2)
    details["cnn_sb3_reference"] = ref_info
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    out["ppo_steps_per_s_by_threads"] = by_threads
    out["ppo_settings"] = {
        "algorithm": "MaskablePPO (sb3-contrib)", "preset": cfg.preset, "opponent": cfg.opponent,
        "n_envs": cfg.n_envs, "n_steps": cfg.n_steps, "batch_size": cfg.batch_size, "n_epochs": cfg.n_epochs,
        "device": "cpu", "torch": torch.__version__, "update_threads_tried": options, "rollout_threads": 1,
        "cpus": cores, "load_average_after": None if load is None else round(load, 2),
        "processor": platform.processor() or platform.machine(),
        "measured": "env steps / wall time of model.learn over whole rollouts (collection + updates), "
                    "after one warm-up rollout", "runs": details,
    }
    return out
