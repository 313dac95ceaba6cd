"""The engine's modules stay light: importing them loads neither torch, pygame nor gymnasium."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "pygame", "gymnasium")
CHILD = """
import json, sys
import pyrat_env.engine, pyrat_env.mazes, pyrat_env.replay
from pyrat_env.mazes import new_game
new_game("tiny", 0).game().step([0, 0])  # using them does not import anything heavy either
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


def test_engine_imports_no_heavy_packages() -> None:
    code = CHILD.format(heavy=set(HEAVY))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_check_can_fail() -> None:
    # The same probe reports a heavy module when one is imported (pygame is a dependency of the project).
    code = "import pygame\n" + CHILD.format(heavy=set(HEAVY))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pygame" in json.loads(result.stdout.strip().splitlines()[-1])
