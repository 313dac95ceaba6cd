"""Environments over the engine: Gymnasium (`PyRatEnv`, batched `PyRatVectorEnv`), PettingZoo (`parallel_env`),
batched SB3 (`make_vec_env`). How to use each: ``docs/environments.md``.

Loaded lazily (this package imports nothing heavy until an attribute is asked for). Speed figures:
`env_benchmarks` in ``pyrat_env.envs.bench``.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "PyRatEnv": "gym_env",
    "PolicyOpponent": "gym_env",
    "as_opponent": "gym_env",
    "game_config": "gym_env",
    "render_text": "gym_env",
    "PyRatVectorEnv": "gym_vector_env",
    "PyRatParallelEnv": "pettingzoo_env",
    "parallel_env": "pettingzoo_env",
    "aec_env": "pettingzoo_env",
    "PyRatVecEnv": "vec_env",
    "make_vec_env": "vec_env",
    "env_benchmarks": "bench",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyrat_env.envs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
