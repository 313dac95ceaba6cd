"""Training speed: PPO steps per second, end to end, for each network (``pyrat bench --train``).

`train_benchmarks` builds, for ``mlp``, ``cnn`` and ``transformer``, the same MaskablePPO set-up as
``pyrat train ppo`` (batched VecEnv on the ``official`` preset against ``greedy``, the default PPO
settings of `train.ppo.PPOConfig`) and times ``model.learn`` over whole rollouts: the figure is env steps
divided by wall time, rollouts *and* updates included (SB3's logged ``fps`` leaves out the last update).
Model construction is not timed; one warm-up rollout is played before timing (first-call costs). The
settings and the machine go in the result, so figures can be compared.
"""

from __future__ import annotations

import os
import platform
import time

import torch

from .networks import count_parameters

NETWORK_ORDER = ("mlp", "cnn", "transformer")


def ppo_steps_per_s(policy: str, rollouts: int = 3, threads: int | None = None, seed: int = 0,
                    **overrides) -> tuple[float, dict]:
    """End-to-end PPO steps per second for one network: ``(rate, details)``."""
    from .imitation import set_threads
    from .ppo import PPOConfig, build_model, make_env

    cfg = PPOConfig(policy=policy, seed=seed, eval_games=0, progress=False, threads=threads, **overrides)
    n_threads = set_threads(cfg.threads)
    env = make_env(cfg)
    model = build_model(cfg, env, torch.device("cpu"))
    per_rollout = cfg.n_envs * cfg.n_steps
    model.learn(total_timesteps=per_rollout)                      # warm-up rollout and update
    t0 = time.perf_counter()
    model.learn(total_timesteps=rollouts * per_rollout, reset_num_timesteps=False)
    dt = time.perf_counter() - t0
    env.close()
    details = {"steps": rollouts * per_rollout, "seconds": round(dt, 2), "threads": n_threads,
               "parameters": count_parameters(model.policy)}
    return rollouts * per_rollout / dt, details


def train_benchmarks(quick: bool = False, threads: int | None = None) -> dict:
    """``ppo_steps_per_s_{mlp,cnn,transformer}`` and the settings used (see the module docstring)."""
    from .ppo import PPOConfig

    cfg = PPOConfig()
    out: dict = {}
    details: dict = {}
    for name in NETWORK_ORDER:
        rollouts = 1 if quick or name == "transformer" else 3
        rate, info = ppo_steps_per_s(name, rollouts=rollouts, threads=threads)
        out[f"ppo_steps_per_s_{name}"] = round(rate, 1)
        details[name] = info
    out["ppo_settings"] = {
        "algorithm": "MaskablePPO (sb3-contrib)", "preset": cfg.preset, "opponent": cfg.opponent,
        "n_envs": cfg.n_envs, "n_steps": cfg.n_steps, "batch_size": cfg.batch_size, "n_epochs": cfg.n_epochs,
        "device": "cpu", "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "processor": platform.processor() or platform.machine(), "measured": "env steps / wall time of model.learn "
        "over whole rollouts (collection + updates), after one warm-up rollout", "runs": details,
    }
    return out
