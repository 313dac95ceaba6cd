"""When to use the compiled kernels (numba), which are loaded on demand.

The kernels are one module per job: ``pyrat_env.kernels.rules`` (`GameBatch`'s turn), ``.paths`` (travel
times), ``.mazes`` with ``.rng`` (maze generation, numpy's random numbers replayed), ``.encoders`` (batched
observations); a higher layer may keep its own (the greedy expert's, ``pyrat_rl.agents.greedy_kernel``) and
load it by its full name through `kernels` too.

Importing numba and making the first kernel call of a process costs about a second, so nothing
loads the kernels at import time. The batched paths (`GameBatch.step`, the greedy expert's
``act_batch``, `BatchEncoding`) load them on first use: they serve many games per call. The
per-game paths (maze generation, `paths.distance_matrix`) use them once numba is loaded (`loaded`)
and run their plain Python / scipy twin until then, so a short script or an agent process never pays
that second; maze generation also loads them after `MAZES_BEFORE_LOADING` mazes (a Python maze costs
about a millisecond, a compiled one a few hundredths: past about a thousand mazes, loading pays for
itself). Both twins give exactly the same results (``tests/test_kernels.py``).

Set the environment variable ``PYRAT_KERNELS=0`` to never use them (plain numpy / Python everywhere).
"""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType

_PACKAGE = "pyrat_env.kernels"
_JOBS = ("rules", "paths", "rng", "mazes", "encoders")  # the engine's kernel modules (`kernels()` loads them all)
MAZES_BEFORE_LOADING = 1000
_state = {"disabled": os.environ.get("PYRAT_KERNELS", "1").strip() in ("0", "false", "no", "off")}
# The kernel modules loaded in this process, by the name they were asked by (None: the package, all loaded).
# Non-empty once numba is loaded: the second it costs is paid, so `loaded` imports any further module.
_modules: dict[str | None, ModuleType] = {}


def kernels(module: str | None = None, load: bool = True) -> ModuleType | None:
    """A kernel module (``"rules"``, ``"paths"``, ... in ``pyrat_env.kernels``, or a full dotted name), loading
    it if ``load`` (and numba works); None if the kernels are off or unavailable, or not loaded and not ``load``.

    Without ``module``: the package ``pyrat_env.kernels`` with every engine kernel module loaded. With
    ``load=False`` a module is still imported when numba already is (then importing it costs next to nothing).
    """
    if _state["disabled"]:
        return None
    mod = _modules.get(module)  # the batched paths ask on every call: one look-up when loaded
    if mod is not None:
        return mod
    if not (load or _modules):
        return None
    try:
        if module is None:
            for job in _JOBS:
                importlib.import_module(f"{_PACKAGE}.{job}")
        mod = importlib.import_module(_PACKAGE if module is None else module if "." in module
                                      else f"{_PACKAGE}.{module}")
    except Exception as exc:  # numba missing or broken: the plain implementations still work
        _state["disabled"] = True
        warnings.warn(f"pyrat_env: compiled kernels unavailable ({exc!r}); using the plain numpy paths",
                      RuntimeWarning, stacklevel=2)
        return None
    _modules[module] = mod
    return mod


def loaded(module: str | None = None) -> ModuleType | None:
    """`kernels(module)` if numba is already loaded in this process (never loads it)."""
    return kernels(module, load=False)


def set_enabled(enabled: bool) -> bool:
    """Turn the kernels on or off for this process (tests and benchmarks compare both paths); returns
    whether they were on before."""
    before = not _state["disabled"]
    _state["disabled"] = not enabled
    return before
