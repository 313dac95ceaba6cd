"""When to use the compiled kernels of `pyrat_env._kernels` (numba), which are loaded on demand.

Importing numba and making the first kernel call of a process costs about a second, so nothing
loads the kernels at import time. The batched paths (`GameBatch.step`, the greedy expert's
``act_batch``, `BatchEncoding`) load them on first use: they serve many games per call. The
per-game paths (maze generation, `paths.distance_matrix`) use them once loaded and run their plain
Python / scipy twin until then, so a short script or an agent process never pays that second; maze
generation also loads them after `MAZES_BEFORE_LOADING` mazes (a Python maze costs about a
millisecond, a compiled one a few hundredths: past about a thousand mazes, loading pays for itself).
Both twins give exactly the same results (``tests/test_kernels.py``).

Set the environment variable ``PYRAT_KERNELS=0`` to never use them (plain numpy / Python everywhere).
"""

from __future__ import annotations

import os
import sys
import warnings
from types import ModuleType

_NAME = "pyrat_env._kernels"
MAZES_BEFORE_LOADING = 1000
_state = {"disabled": os.environ.get("PYRAT_KERNELS", "1").strip() in ("0", "false", "no", "off")}


def kernels(load: bool = True) -> ModuleType | None:
    """The kernels module, loading it if ``load`` (and numba works); None if unavailable or not loaded."""
    mod = sys.modules.get(_NAME)
    if mod is not None or not load or _state["disabled"]:
        return mod if not _state["disabled"] else None
    try:
        from . import _kernels
    except Exception as exc:  # numba missing or broken: the plain implementations still work
        _state["disabled"] = True
        warnings.warn(f"pyrat_env: compiled kernels unavailable ({exc!r}); using the plain numpy paths",
                      RuntimeWarning, stacklevel=2)
        return None
    return _kernels


def loaded() -> ModuleType | None:
    """The kernels module if it is already loaded (never loads it)."""
    return kernels(load=False)


def set_enabled(enabled: bool) -> bool:
    """Turn the kernels on or off for this process (tests and benchmarks compare both paths); returns
    whether they were on before."""
    before = not _state["disabled"]
    _state["disabled"] = not enabled
    return before
