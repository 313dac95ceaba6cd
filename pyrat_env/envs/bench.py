"""Speed of the environments, measured in one run: `env_benchmarks` (wired into ``pyrat bench``).

The figures, all on the ``official`` preset (15 x 13, 21 cheese) with the ``planes`` encoder and
random learner actions (drawn in advance from a seeded generator, so the learner costs nothing):

* ``env_steps_per_s``: one `PyRatEnv` (the raw class, no wrappers) against the ``random`` agent, resets
  included. ``env_steps_per_s_gym_make`` is the same through ``gymnasium.make("PyRat-v0", ...)``, which
  adds the OrderEnforcing and PassiveEnvChecker wrappers.
* ``vec_env_steps_per_s``: `make_vec_env` with 256 games against ``greedy``, 256 steps per call.
* ``sync_vector_env_steps_per_s``: gymnasium's ``SyncVectorEnv`` over 256 `PyRatEnv` against ``greedy``,
  256 steps per call.
* ``gym_vector_env_steps_per_s``: the batched Gymnasium ``VectorEnv`` that
  ``gymnasium.make_vec("PyRat-v0", 256, vectorization_mode="vector_entry_point")`` returns (`PyRatVectorEnv`),
  against ``greedy``, next-step autoreset like the SyncVectorEnv; ``gym_vector_over_sync`` is its speed over
  the SyncVectorEnv's, both measured in this run.

Every figure counts the new games started when games end (maze generation and, for ``greedy``, its
travel times from the cheese), as training would. The vector envs are first run for
``WARMUP_STEPS`` steps (64: about two games against ``greedy``) so that both are timed in the steady
state, games ending and starting at their natural rate: just after a reset no game has ended yet, and
a short window would time the slower SyncVectorEnv (a second holds about 50 of its steps) with
almost no new games while timing the batched envs with them. ``vec_env_steps_per_s_fixed_games`` replays a pool
of 64 set-ups in the SB3 vector env, which leaves out most of that per-game cost and shows the stepping itself.
``sync_vector_env_steps_per_s_fixed_games`` is the same for the SyncVectorEnv, and
``vec_over_sync_fixed_games`` the ratio of the two: the speed-up of batching on the stepping path alone.
``cpu_share`` is the CPU time this process got over the wall time: well below 1 on a busy machine.
"""

from __future__ import annotations

import platform
import time

import numpy as np

PRESET = "official"
NUM_ENVS = 256
WARMUP_STEPS = 64  # steps of each vector env before timing (see the module docstring)


def _timed(step, seconds: float, per_call: int, warmup: int, state: dict | None = None) -> tuple[float, int]:
    for _ in range(warmup):
        step()
    if state is not None:
        state["episodes"] = 0  # count the episodes of the timed steps only
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        step()
        n += 1
        if n % 8 == 0 and time.perf_counter() >= deadline:
            break
    return n * per_call / (time.perf_counter() - start), n * per_call


def _single_env(env, seconds: float) -> tuple[float, int, int]:
    actions = np.random.default_rng(0).integers(0, 5, 1 << 16).tolist()
    env.reset(seed=0)
    state = {"i": 0, "episodes": 0}
    step, reset = env.step, env.reset
    mask = len(actions) - 1

    def run() -> None:
        i = state["i"]
        for _ in range(256):
            _, _, term, trunc, _ = step(actions[i & mask])
            i += 1
            if term or trunc:
                reset()
                state["episodes"] += 1
        state["i"] = i

    rate, steps = _timed(run, seconds, 256, warmup=4, state=state)
    return rate, steps, state["episodes"]


def _vec_rate(venv, seconds: float, warmup: int = WARMUP_STEPS) -> tuple[float, int]:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 5, (64, venv.num_envs))
    venv.reset()
    state = {"i": 0, "episodes": 0}

    def run() -> None:
        out = venv.step(actions[state["i"] % 64])
        state["i"] += 1
        state["episodes"] += int(np.count_nonzero(out[2]))

    rate, _ = _timed(run, seconds, venv.num_envs, warmup, state)
    return rate, state["episodes"]


def _gym_vector_rate(envs, seconds: float, warmup: int = WARMUP_STEPS) -> tuple[float, int]:
    """Steps per second of a Gymnasium ``VectorEnv`` (random actions), and the episodes ended while timed."""
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 5, (64, envs.num_envs))
    state = {"i": 0, "episodes": 0}

    def run() -> None:
        out = envs.step(actions[state["i"] % 64])
        state["i"] += 1
        state["episodes"] += int(np.count_nonzero(out[2] | out[3]))

    rate, _ = _timed(run, seconds, envs.num_envs, warmup, state)
    return rate, state["episodes"]


def env_benchmarks(seconds: float = 3.0, num_envs: int = NUM_ENVS, preset: str = PRESET) -> dict:
    """Steps per second of the single env, the batched VecEnv and VectorEnv and a SyncVectorEnv, measured now.

    ``seconds`` is the time spent on each measurement (after a short warm-up). Returns a dict of
    figures (``*_per_s``), ratios and the settings used (see the module docstring).
    """
    import gymnasium as gym

    from .gym_env import PyRatEnv
    from .vec_env import PyRatVecEnv

    out: dict = {"preset": preset, "encoder": "planes", "num_envs": num_envs, "seconds": seconds,
                 "python": platform.python_version(), "numpy": np.__version__}
    wall0, cpu0 = time.perf_counter(), time.process_time()

    rate, steps, episodes = _single_env(PyRatEnv(preset=preset, encoder="planes", opponent="random"), seconds)
    out["env_steps_per_s"] = round(rate)
    out["env_measured"] = "PyRatEnv class (raw, no wrappers), random opponent, resets included"
    out["env_steps_per_episode"] = round(steps / max(episodes, 1), 1)
    env = gym.make("PyRat-v0", preset=preset, encoder="planes", opponent="random")
    rate, _, _ = _single_env(env, seconds)
    out["env_steps_per_s_gym_make"] = round(rate)

    venv = PyRatVecEnv(num_envs, seed=0, preset=preset, encoder="planes", opponent="greedy")
    rate, episodes = _vec_rate(venv, seconds)
    out["vec_env_steps_per_s"] = round(rate)
    out["vec_env_episodes"] = episodes

    def sync_rate(pool_size: int | None) -> tuple[float, int]:
        envs = [PyRatEnv(preset=preset, encoder="planes", opponent="greedy") for _ in range(num_envs)]
        if pool_size:
            for env in envs:
                _use_fixed_games(env, pool_size)
        sync = gym.vector.SyncVectorEnv([lambda env=env: env for env in envs])
        rate, episodes = _gym_vector_rate(sync, seconds)
        sync.close()
        return rate, episodes

    rate, episodes = sync_rate(None)
    out["sync_vector_env_steps_per_s"] = round(rate)
    out["sync_vector_env_episodes"] = episodes
    out["vec_over_sync"] = round(out["vec_env_steps_per_s"] / max(out["sync_vector_env_steps_per_s"], 1), 2)

    vector = gym.make_vec("PyRat-v0", num_envs, vectorization_mode="vector_entry_point", preset=preset,
                          encoder="planes", opponent="greedy")
    rate, episodes = _gym_vector_rate(vector, seconds)
    vector.close()
    out["gym_vector_env_steps_per_s"] = round(rate)
    out["gym_vector_env_episodes"] = episodes
    out["gym_vector_over_sync"] = round(
        out["gym_vector_env_steps_per_s"] / max(out["sync_vector_env_steps_per_s"], 1), 2)

    fixed = PyRatVecEnv(num_envs, seed=0, preset=preset, encoder="planes", opponent="greedy")
    _use_fixed_games(fixed, 64)
    rate, _ = _vec_rate(fixed, seconds)
    out["vec_env_steps_per_s_fixed_games"] = round(rate)
    rate, _ = sync_rate(64)
    out["sync_vector_env_steps_per_s_fixed_games"] = round(rate)
    out["vec_over_sync_fixed_games"] = round(rate and out["vec_env_steps_per_s_fixed_games"] / rate, 2)
    # Below 1 when other processes took the CPU: the figures are then low by about that factor.
    out["cpu_share"] = round((time.process_time() - cpu0) / (time.perf_counter() - wall0), 2)
    return out


_POOLS: dict = {}


def _use_fixed_games(env, pool_size: int) -> None:
    """Make an env draw its games from ``pool_size`` set-ups made once (for the stepping-only figures)."""
    from ..mazes import new_game

    key = (env.config, pool_size)
    if key not in _POOLS:
        _POOLS.clear()
        _POOLS[key] = [new_game(env.config, seed) for seed in range(pool_size)]
    pool = _POOLS[key]
    env._new_setup = lambda game_seed: pool[game_seed % pool_size]


def format_benchmarks(figures: dict) -> str:
    """The figures as aligned text lines."""
    width = max(len(k) for k in figures)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in figures.items())


if __name__ == "__main__":
    print(format_benchmarks(env_benchmarks()))
