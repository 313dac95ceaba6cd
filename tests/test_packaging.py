"""Installed names are distinctive, and a user's own train.py, agents.py or inspect.py never gets in the way.

The folders agents/ and train/ install as ``pyrat_rl.agents`` and ``pyrat_rl.train`` (setuptools'
package-dir): nothing called ``agents`` or ``train`` lands in site-packages. From a working folder that
holds files with those names (and ``inspect.py``, the standard library's name), which fail loudly if
imported, the notebooks' imports (in a real Jupyter kernel), ``pyrat play`` with the shipped neural agent,
and a tournament with a checkpoint agent all work.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"pyrat_env": "pyrat_env", "agents": "pyrat_rl.agents", "train": "pyrat_rl.train"}
USER_FILES = ("train", "agents", "inspect")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed_under_its_installed_name():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = set()
    for folder, name in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *rel)))
    assert found == listed, f"missing from pyproject: {found - listed}; listed but absent: {listed - found}"


def test_shipped_checkpoints_are_package_data():
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["pyrat_rl.agents"]
    shipped = [p for p in (ROOT / "agents" / "shipped").iterdir() if p.suffix in (".pt", ".json", ".onnx", ".zip")]
    assert shipped
    for path in shipped:
        assert any(path.relative_to(ROOT / "agents").match(p) for p in patterns), path


@pytest.fixture()
def user_folder(tmp_path: Path) -> Path:
    """A working folder with the most common clashing file names, each failing loudly when imported."""
    for name in USER_FILES:
        (tmp_path / f"{name}.py").write_text(f'raise SystemExit("the user\'s {name}.py was imported")\n')
    return tmp_path


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_no_generic_top_level_names_are_installed(tmp_path: Path):
    code = "import importlib.util, json; print(json.dumps([importlib.util.find_spec(n) is None for n in " \
           "('agents', 'train', 'pyrat_rl.agents', 'pyrat_rl.train')]))"
    out = _run([sys.executable, "-P", "-c", code], tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [True, True, False, False]


def test_pyrat_play_with_the_shipped_agent_from_a_clashing_folder(user_folder: Path):
    out = _run(["pyrat", "play", "cnn_planner", "greedy", "--games", "2", "--seed", "3", "--json"], user_folder)
    assert out.returncode == 0, out.stderr
    assert "was imported" not in out.stdout + out.stderr
    summary = json.loads(out.stdout)
    assert summary["games"] == 2 and summary["errors"] == [0, 0] and summary["timeouts"] == [0, 0]


def test_tournament_with_a_checkpoint_agent_from_a_clashing_folder(user_folder: Path):
    ckpt = ROOT / "agents" / "shipped" / "cnn_planner.pt"
    db = user_folder / "t.sqlite"
    out = _run(["pyrat", "tournament", "run", "--agents", str(ckpt), "greedy", "--games-per-pair", "2",
                "--seed", "5", "--db", str(db), "--preset", "official"], user_folder)
    assert out.returncode == 0, out.stderr
    assert "was imported" not in out.stdout + out.stderr
    standings = _run(["pyrat", "tournament", "standings", "--db", str(db), "--json"], user_folder)
    assert standings.returncode == 0, standings.stderr
    table = json.loads(standings.stdout)
    assert table["games"] == 2
    for row in table["standings"]:
        assert (row["games"], row["errors"], row["timeouts"], row["forfeits"]) == (2, 0, 0, 0), row


LOADED_FROM_HERE = """
import os, sys
here = os.path.realpath(os.getcwd())
def places(module):
    out = [getattr(module, "__file__", None)]
    path = getattr(module, "__path__", None)
    if isinstance(path, list):  # a regular package; namespace and torch's synthetic modules have other types
        out += path
    return [p for p in out if isinstance(p, str) and os.path.isabs(p)]  # torch.ops names itself, not a file
print(sorted(n for n, m in list(sys.modules.items()) if any(os.path.realpath(p).startswith(here) for p in places(m))))
"""


def _notebook_imports() -> list[str]:
    lines: set[str] = set()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.startswith(("%", "!")))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    text = ast.unparse(node)
                    if re.match(r"^(from|import) (pyrat_env|pyrat_rl)\b", text):
                        lines.add(text)
    return sorted(lines)


def test_notebook_imports_in_a_jupyter_kernel_from_a_clashing_folder(user_folder: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    imports = _notebook_imports()
    assert any("pyrat_rl.train" in line for line in imports), imports  # the notebooks do use the training code
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("\n".join(imports)),
                nbformat.v4.new_code_cell(LOADED_FROM_HERE)]
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(user_folder)}})
    client.execute()
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert printed.strip() == "[]", printed


def test_the_wheel_installs_distinctive_names_only(tmp_path: Path):
    """A real build: only pyrat_env and pyrat_rl at the top, every source file and data file in, PEP 639 license."""
    import zipfile

    out = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                          "-q", "-w", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("pyrat_rl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"pyrat_env", "pyrat_rl"}, top
    for folder, name in FOLDERS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".pt", ".json"):
                installed = "/".join((*name.split("."), *path.relative_to(ROOT / folder).parts))
                assert installed in names, f"{path.relative_to(ROOT)} is not in the wheel"
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in meta and "License-File: LICENSE" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_templates_copied_into_a_clashing_folder_play(user_folder: Path):
    """A student copies a template into a folder of their own and plays it; the agent template imports only
    ``pyrat_env`` (the documented ``from pyrat_env import Agent``)."""
    template = (ROOT / "agents" / "templates" / "agent_template.py").read_text()
    assert "from pyrat_env import Agent" in template
    (user_folder / "mine.py").write_text(template)
    (user_folder / "alice.py").write_text((ROOT / "agents" / "templates" / "student_player.py").read_text())
    for spec in ("mine.py:MyAgent", "alice.py"):
        out = _run(["pyrat", "play", spec, "random", "--games", "2", "--seed", "4", "--json"], user_folder)
        assert out.returncode == 0, out.stderr
        summary = json.loads(out.stdout)
        assert summary["errors"] == [0, 0] and summary["points"][0] > 0.5, summary
