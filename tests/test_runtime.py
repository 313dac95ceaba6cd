"""pyrat_env.runtime: the one module for CPU count, torch threads and device; importing it loads no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pyrat_env import runtime


def test_import_loads_no_torch():
    code = ("import json, sys, pyrat_env.runtime as r; r.cpu_count(); r.env_threads(); "
            "print(json.dumps('torch' in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) is False


def test_cpu_count_is_the_affinity():
    n = runtime.cpu_count()
    assert 1 <= n <= (os.cpu_count() or n)
    if hasattr(os, "sched_getaffinity"):
        assert n == len(os.sched_getaffinity(0))


def test_env_threads(monkeypatch):
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    assert runtime.env_threads() is None
    for value, expected in (("", None), ("0", None), ("3", 3), (" 2 ", 2)):
        monkeypatch.setenv(runtime.THREADS_ENV, value)
        assert runtime.env_threads() == expected


def test_set_threads_and_device():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        assert runtime.set_threads(1) == 1 and torch.get_num_threads() == 1
        assert runtime.set_threads(None) == runtime.cpu_count()
    finally:
        torch.set_num_threads(before)
    assert runtime.resolve_device("cpu") == torch.device("cpu")
    assert runtime.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    info = runtime.machine_info()
    assert info["cpus"] == runtime.cpu_count() and info["torch"] == torch.__version__
