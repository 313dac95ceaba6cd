"""Where code runs: the CPU count, torch's threads, the torch device, and a description of the machine.

The one module for these settings, used by the benchmarks, the training commands and the course
notebooks. Importing it loads the standard library only; torch is imported by the functions that set
or read torch state, so the engine's layer stays free of it.

* `cpu_count`: the cores this process may run on (its CPU affinity, which a container or ``taskset`` may
  restrict; ``os.cpu_count`` would report the whole machine).
* `env_threads`: the thread count asked for by ``$PYRAT_THREADS`` (None when unset or 0).
* `set_threads`: torch's intra-op threads (default: every core this process may use) and one inter-op thread.
* `resolve_device`: ``"auto"`` -> ``cuda`` when there is a GPU, else ``cpu``.
* `machine_info`: what run folders record about the machine (Python, torch, processor, cores, CUDA).
"""

from __future__ import annotations

import os
import platform
from typing import Any

THREADS_ENV = "PYRAT_THREADS"


def cpu_count() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def env_threads() -> int | None:
    """``$PYRAT_THREADS`` as a positive int, or None when it is unset, empty or 0."""
    value = os.environ.get(THREADS_ENV, "").strip()
    return int(value) if value and int(value) > 0 else None


def set_threads(threads: int | None = None) -> int:
    """Torch intra-op threads: ``threads``, or every core this process may use when None; inter-op threads 1.

    Returns the intra-op thread count now in force.
    """
    import torch

    n = int(threads) if threads else cpu_count()
    torch.set_num_threads(max(n, 1))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass   # torch allows it once per process, before any inter-op work: a second call changes nothing
    return torch.get_num_threads()


def resolve_device(device: Any = "auto"):
    """A ``torch.device``: ``"auto"`` gives ``cuda`` when available, else ``cpu``; anything else is passed on."""
    import torch

    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def machine_info() -> dict:
    """Python and torch versions, machine, processor, usable cores and whether CUDA is available."""
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
            "processor": platform.processor(), "cpus": cpu_count(), "cuda": torch.cuda.is_available()}
