"""PyRat RL: an exact numpy engine of the PyRat maze game, with Gymnasium, PettingZoo and SB3 environments.

``import pyrat_env`` is light: it loads no gymnasium, torch or pygame, so ``import pyrat_env.engine``
stays numpy-only. It still registers the Gymnasium ids (``PyRat-v0``: the ``official`` preset against
``greedy``; ``PyRat-Classic-v0``, ``PyRat-Tournament-v0``, ``PyRat-Tiny-v0``): at once when gymnasium is
already imported, otherwise right after gymnasium finishes importing (a one-shot import hook on
``sys.meta_path`` that removes itself). The environments are loaded on first use::

    pyrat_env.PyRatEnv(...)            # Gymnasium env (also gymnasium.make("PyRat-v0"))
    pyrat_env.parallel_env(...)        # PettingZoo ParallelEnv, two players
    pyrat_env.make_vec_env(256, ...)   # batched stable-baselines3 VecEnv
"""

from __future__ import annotations

import importlib.abc
import sys
import warnings

# Gymnasium id -> preset of the game settings.
ENV_IDS: dict[str, str] = {
    "PyRat-v0": "official",
    "PyRat-Classic-v0": "classic",
    "PyRat-Tournament-v0": "tournament",
    "PyRat-Tiny-v0": "tiny",
}
ENTRY_POINT = "pyrat_env.envs.gym_env:PyRatEnv"

_LAZY = {
    "PyRatEnv": "pyrat_env.envs.gym_env",
    "PolicyOpponent": "pyrat_env.envs.gym_env",
    "PyRatParallelEnv": "pyrat_env.envs.pettingzoo_env",
    "parallel_env": "pyrat_env.envs.pettingzoo_env",
    "aec_env": "pyrat_env.envs.pettingzoo_env",
    "PyRatVecEnv": "pyrat_env.envs.vec_env",
    "make_vec_env": "pyrat_env.envs.vec_env",
    "env_benchmarks": "pyrat_env.envs.bench",
}


def register_envs() -> None:
    """Register the PyRat ids with gymnasium (imports gymnasium; a no-op for ids already registered)."""
    from gymnasium.envs.registration import register, registry

    for env_id, preset_name in ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=ENTRY_POINT, kwargs={"preset": preset_name})


class _RegisterAfterGymnasium(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when ``gymnasium`` is imported, wraps its loader to register our ids after it.

    It stays on ``sys.meta_path`` until gymnasium has really been executed (a bare
    ``importlib.util.find_spec("gymnasium")`` loads nothing), then removes itself.
    """

    _searching = False

    def find_spec(self, fullname, path, target=None):
        if fullname != "gymnasium" or self._searching:
            return None
        self._searching = True
        try:
            spec = None
            for finder in list(sys.meta_path):  # the usual search, in the usual order
                find = getattr(finder, "find_spec", None)
                if finder is not self and find is not None:
                    spec = find(fullname, path, target)
                    if spec is not None:
                        break
        finally:
            self._searching = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            try:
                original(module)
            finally:
                try:
                    del loader.exec_module      # back to the class's method
                except AttributeError:
                    pass
            _remove_hook()
            try:
                register_envs()
            except Exception as exc:  # never break gymnasium's import because of ours
                warnings.warn(f"pyrat_env could not register its gymnasium ids: {exc!r}", stacklevel=2)

        try:
            loader.exec_module = exec_module
        except (AttributeError, TypeError):
            return spec
        return spec


_HOOK = _RegisterAfterGymnasium()


def _remove_hook() -> None:
    while _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


if "gymnasium" in sys.modules:
    register_envs()
elif _HOOK not in sys.meta_path:
    sys.meta_path.insert(0, _HOOK)


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
