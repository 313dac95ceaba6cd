"""The lighter installs documented in the README work without the extras they leave out.

A subprocess gets a ``sitecustomize`` that makes the left-out packages unimportable (as if never installed),
in every Python process it starts (tournament agent processes included), then runs the documented commands:

* a tournament host of ``.py`` bots (``pip install pyrat-rl``): no gymnasium, pettingzoo, pygame, torch,
  stable-baselines3, tensorboard, pyrat-game;
* a researcher who wants only the environments (``pip install "pyrat-rl[envs]"``): no pygame, torch,
  stable-baselines3, tensorboard, pyrat-game.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCKER = '''
import sys
BLOCKED = {blocked!r}
class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (left out of this install)", name=name)
        return None
sys.meta_path.insert(0, _Absent())
'''
HOST = ("gymnasium", "pettingzoo", "pygame", "torch", "stable_baselines3", "sb3_contrib", "tensorboard", "pyrat")
RESEARCHER = ("pygame", "torch", "stable_baselines3", "sb3_contrib", "tensorboard", "pyrat")


def _env(tmp_path: Path, blocked: tuple[str, ...]) -> dict:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(blocked)))
    return dict(os.environ, PYTHONPATH=str(site))


def _run(args, env, cwd, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_the_blocker_blocks(tmp_path: Path):
    out = _run([sys.executable, "-c", "import torch"], _env(tmp_path, HOST), tmp_path)
    assert out.returncode != 0 and "left out of this install" in out.stderr


def test_tournament_host_of_py_bots(tmp_path: Path):
    env = _env(tmp_path, HOST)
    play = _run(["pyrat", "play", "greedy", "random", "--games", "2", "--seed", "1", "--json"], env, tmp_path)
    assert play.returncode == 0, play.stderr
    assert json.loads(play.stdout)["wins"][0] == 2
    bot = ROOT / "tests" / "data" / "players" / "our_agent.py"
    db = tmp_path / "class.sqlite"
    run = _run(["pyrat", "tournament", "run", "--agents", str(bot), "greedy", "random", "--games-per-pair", "2",
                "--seed", "3", "--db", str(db), "--workers", "2"], env, tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    table = _run(["pyrat", "tournament", "standings", "--db", str(db), "--json"], env, tmp_path)
    assert table.returncode == 0, table.stderr
    rows = json.loads(table.stdout)["standings"]
    assert len(rows) == 3 and all(r["games"] == 4 and r["errors"] == 0 for r in rows), rows
    replay = _run(["pyrat", "compat", "check", *map(str, sorted(tmp_path.rglob("*.json.gz"))[:2])], env, tmp_path)
    assert replay.returncode == 0, replay.stdout + replay.stderr


def test_researcher_with_the_environments_only(tmp_path: Path):
    code = """
import gymnasium as gym
import numpy as np
import pyrat_env
from pyrat_env.envs.pettingzoo_env import parallel_env
env = gym.make("pyrat_env:PyRat-v0", opponent="greedy")
obs, info = env.reset(seed=0)
steps = 0
done = False
while not done:
    obs, reward, term, trunc, info = env.step(int(np.flatnonzero(env.unwrapped.action_masks())[-1]))
    done = term or trunc
    steps += 1
pz = parallel_env()
observations, infos = pz.reset(seed=1)
print(steps, sorted(observations))
"""
    out = _run([sys.executable, "-c", code], _env(tmp_path, RESEARCHER), tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    steps, _ = out.stdout.split(" ", 1)
    assert int(steps) > 0
