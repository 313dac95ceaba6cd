"""Layers point one way: engine and game config <- encoders <- envs <- agents <- train.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are checked by import-linter, which
reads every import statement, function-level ones included. This file runs it, checks that every module
of the project belongs to a layer (a new module cannot slip past the contract), that no import cycle exists,
and that the check does fail on an upward import planted in a copy of the code.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")
pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
ROOTS = CONFIG["root_packages"]


def _lint(cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-P", "-c", code, str(cwd / "pyproject.toml"), "--no-cache"],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def _layer_modules() -> list[str]:
    layers = next(c for c in CONFIG["contracts"] if c["id"] == "layers")["layers"]
    out = []
    for layer in layers:
        out += [m.strip() for m in layer.replace("|", ":").split(":")]
    return out


def test_contracts_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout


def test_every_module_is_in_a_layer():
    graph = grimp.build_graph(*ROOTS)
    layered = _layer_modules()
    loose = sorted(m for m in graph.modules if m not in ROOTS
                   and not any(m == x or m.startswith(x + ".") for x in layered))
    assert loose == [], f"modules in no layer of pyproject.toml's [tool.importlinter]: {loose}"


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    adj = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(adj):
        if start in index:
            continue
        work = [(start, iter(adj[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(adj[w])))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycle():
    assert _cycles(grimp.build_graph(*ROOTS)) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = grimp.build_graph(*ROOTS)
    graph.add_import(importer="pyrat_env.engine", imported="pyrat_env.replay")  # replay imports the engine
    assert any({"pyrat_env.engine", "pyrat_env.replay"} <= set(c) for c in _cycles(graph))


def test_an_upward_function_level_import_breaks_the_contract(tmp_path: Path):
    # A copy of the code with one lazy import from the engine up to the training layer.
    shutil.copytree(ROOT / "pyrat_env", tmp_path / "pyrat_env", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pyrat_rl").mkdir()
    shutil.copytree(ROOT / "agents", tmp_path / "pyrat_rl" / "agents", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "train", tmp_path / "pyrat_rl" / "train", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    engine = tmp_path / "pyrat_env" / "engine.py"
    engine.write_text(engine.read_text() + "\n\ndef _upward():\n    from pyrat_rl.train import ppo\n    return ppo\n")
    import os

    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    result = _lint(tmp_path, env)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "pyrat_env.engine -> pyrat_rl.train.ppo" in result.stdout
