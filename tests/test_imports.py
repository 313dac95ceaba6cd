"""Importing the package stays light, and registers the Gymnasium ids in every order Gymnasium documents.

The engine's modules (``pyrat_env.engine``, ``mazes``, ``replay``) load neither torch, pygame, numba nor
scipy, when imported or used for a game. Gymnasium is the one package ``import pyrat_env`` does load, and
only to register the ids (``PyRat-v0`` and friends): Gymnasium 1.x has no plugin entry points and its
``gym.register_envs(module)`` does nothing but name the module, so the import itself must register them,
as Gymnasium's documentation asks of third-party environments. Without gymnasium (it is the optional
``envs`` extra) the package still imports and the engine still plays. Each check runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "pygame", "numba", "scipy")
IDS = ["PyRat-v0", "PyRat-Classic-v0", "PyRat-Tournament-v0", "PyRat-Tiny-v0"]
CHILD = """
import json, sys
import pyrat_env.engine, pyrat_env.mazes, pyrat_env.replay
from pyrat_env.mazes import new_game
new_game("tiny", 0).game().step([0, 0])  # using them does not import anything heavy either
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & {heavy!r})))
"""


def run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_engine_imports_no_heavy_packages() -> None:
    assert json.loads(run(CHILD.format(heavy=set(HEAVY)))) == []


def test_the_check_can_fail() -> None:
    # The same probe reports a heavy module when one is imported (pygame is a dependency of the project).
    assert "pygame" in json.loads(run("import pygame\n" + CHILD.format(heavy=set(HEAVY))))


def test_gymnasium_is_loaded_only_to_register_the_ids() -> None:
    code = ("import json, sys, pyrat_env, gymnasium\n"
            "print(json.dumps(['gymnasium' in sys.modules, 'pyrat_env.envs.gym_env' in sys.modules,"
            f" [i for i in {IDS!r} if i in gymnasium.registry]]))")
    loaded, envs_loaded, ids = json.loads(run(code))
    assert loaded and ids == IDS
    assert not envs_loaded  # the entry points are strings: no env module is imported until an env is made


def test_without_gymnasium_the_package_and_engine_still_work() -> None:
    code = ("import sys\nsys.modules['gymnasium'] = None  # as if the envs extra were not installed\n"
            + CHILD.format(heavy=set(HEAVY)))
    assert json.loads(run(code)) == []


def test_make_with_the_module_prefix_in_a_fresh_interpreter() -> None:
    # Gymnasium's documented way for third-party ids: it imports `pyrat_env`, whose import registers them.
    code = ("import json, sys, gymnasium as gym\n"
            "env = gym.make('pyrat_env:PyRat-v0')\nobs, info = env.reset(seed=0)\n"
            f"ids = [i for i in {IDS!r} if i in gym.registry]\n"
            "print(json.dumps([ids, list(obs.shape), info['seat'], sorted(m for m in ('torch', 'pygame') "
            "if m in sys.modules)]))")
    ids, shape, seat, heavy = json.loads(run(code))
    assert ids == IDS and shape == [18, 13, 15] and seat == 0 and heavy == []


def test_register_envs_then_make_in_a_fresh_interpreter() -> None:
    code = ("import json, pyrat_env\nimport gymnasium as gym\ngym.register_envs(pyrat_env)\n"
            "env = gym.make('PyRat-Tiny-v0', encoder='flat')\n"
            "print(json.dumps([list(env.reset(seed=0)[0].shape), type(env.unwrapped).__name__]))")
    assert json.loads(run(code)) == [[14 * 35 + 4], "PyRatEnv"]


def test_make_vec_with_the_vector_entry_point_in_a_fresh_interpreter() -> None:
    code = ("import json, gymnasium as gym\n"
            "envs = gym.make_vec('pyrat_env:PyRat-v0', 4, vectorization_mode='vector_entry_point')\n"
            "obs, infos = envs.reset(seed=0)\n"
            "print(json.dumps([type(envs).__name__, isinstance(envs, gym.vector.VectorEnv), list(obs.shape),"
            " envs.metadata['autoreset_mode'].value]))")
    assert json.loads(run(code)) == ["PyRatVectorEnv", True, [4, 18, 13, 15], "NextStep"]
