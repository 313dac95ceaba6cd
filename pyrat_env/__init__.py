"""PyRat RL: an exact numpy engine of the PyRat maze game, with Gymnasium, PettingZoo and SB3 environments.

``import pyrat_env`` is light: it loads no torch, pygame or numba, so ``import pyrat_env.engine`` stays
cheap. When gymnasium is installed (the ``envs`` extra) it imports gymnasium and registers the ids, as
Gymnasium documents for third-party envs: ``PyRat-v0`` (the ``official`` preset against ``greedy``),
``PyRat-Classic-v0``, ``PyRat-Tournament-v0`` and ``PyRat-Tiny-v0``. So ``gym.make("pyrat_env:PyRat-v0")``
works without importing anything first, and so does ``gym.register_envs(pyrat_env); gym.make("PyRat-v0")``.
Each id has a ``vector_entry_point``: ``gym.make_vec("PyRat-v0", 256)`` returns the batched `PyRatVectorEnv`.
The Agent interface (``from pyrat_env import Agent, GameContext``) and the environments are loaded on
first use::

    pyrat_env.PyRatEnv(...)            # Gymnasium env (also gymnasium.make("PyRat-v0"))
    pyrat_env.PyRatVectorEnv(256, ...) # batched Gymnasium VectorEnv (also gymnasium.make_vec("PyRat-v0", 256))
    pyrat_env.parallel_env(...)        # PettingZoo ParallelEnv, two players (aec_env: the AEC version)
    pyrat_env.make_vec_env(256, ...)   # batched stable-baselines3 VecEnv
"""

from __future__ import annotations

# Gymnasium id -> preset of the game settings.
ENV_IDS: dict[str, str] = {
    "PyRat-v0": "official",
    "PyRat-Classic-v0": "classic",
    "PyRat-Tournament-v0": "tournament",
    "PyRat-Tiny-v0": "tiny",
}
ENTRY_POINT = "pyrat_env.envs.gym_env:PyRatEnv"
VECTOR_ENTRY_POINT = "pyrat_env.envs.gym_vector_env:PyRatVectorEnv"

_LAZY = {
    # the Agent interface: students write ``from pyrat_env import Agent`` (agents/templates/agent_template.py)
    "Agent": "pyrat_env.agent",
    "GameContext": "pyrat_env.agent",
    "to_action_index": "pyrat_env.agent",
    "PyRatEnv": "pyrat_env.envs.gym_env",
    "PolicyOpponent": "pyrat_env.envs.gym_env",
    "PyRatVectorEnv": "pyrat_env.envs.gym_vector_env",
    "PyRatParallelEnv": "pyrat_env.envs.pettingzoo_env",
    "parallel_env": "pyrat_env.envs.pettingzoo_env",
    "aec_env": "pyrat_env.envs.pettingzoo_env",
    "PyRatVecEnv": "pyrat_env.envs.vec_env",
    "make_vec_env": "pyrat_env.envs.vec_env",
    "env_benchmarks": "pyrat_env.envs.bench",
}


def _register_gymnasium_ids() -> None:
    """Register the PyRat ids (entry points are strings: nothing of ours is imported until an env is made)."""
    try:
        import gymnasium
    except ImportError:  # gymnasium is optional (the `envs` extra): the engine works without it
        return
    for env_id, preset_name in ENV_IDS.items():
        if env_id not in gymnasium.registry:  # re-importing the package must not warn about overriding
            gymnasium.register(id=env_id, entry_point=ENTRY_POINT, vector_entry_point=VECTOR_ENTRY_POINT,
                               kwargs={"preset": preset_name})


_register_gymnasium_ids()


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyrat_env' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
