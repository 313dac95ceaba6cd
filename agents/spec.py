"""Naming agents: turn a spec string into an `Agent`, and ``pyrat agents`` (the list of built-in agents).

A spec is one of:

* a built-in name: ``random``, ``greedy``, ``opportunist``, ``search``, or a shipped neural agent
  (a checkpoint in ``agents/shipped/``, named by its file stem);
* a file and a class, ``path/to/player.py:ClassName`` (``path/to/player.py`` alone works when the
  file defines exactly one agent or player class);
* a module and a class, ``package.module:ClassName``;
* a trained checkpoint, a path ending in ``.zip``, ``.pt`` or ``.onnx``, loaded by
  ``pyrat_rl.agents.policy_agent.load_agent``.

The class may be an `Agent` subclass, or a subclass of pyrat-game's ``pyrat.Player`` (a student's
player, unchanged), which is wrapped in `pyrat_rl.agents.pyrat_player.PyratPlayerAgent`. A spec that
resolves to nothing raises `AgentSpecError`, whose message says what was tried.

`agent_factory` gives a zero-argument function that makes a fresh agent per game (what match
series use); `resolve_agent` gives one agent.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path

from pyrat_env.agent import Agent
from pyrat_env.cli_options import CHECKPOINT_SUFFIXES, is_path, split_target

from .scripted import GreedyAgent, OpportunistAgent, RandomAgent, SearchAgent

SUMMARY = "list the built-in and shipped agents"  # pyrat --help

BUILTIN: dict[str, type[Agent]] = {
    "random": RandomAgent,
    "greedy": GreedyAgent,
    "opportunist": OpportunistAgent,
    "search": SearchAgent,
}
SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"


class AgentSpecError(ValueError):
    """A spec that names no agent; the message says what was tried."""


# -- shipped neural agents -------------------------------------------------------------------------------
def shipped_agents() -> dict[str, Path]:
    """Checkpoints shipped with the package (``agents/shipped/NAME.zip|.pt|.onnx``), by name."""
    out: dict[str, Path] = {}
    if SHIPPED_DIR.is_dir():
        for path in sorted(SHIPPED_DIR.iterdir()):
            if path.suffix in CHECKPOINT_SUFFIXES and path.stem not in out:
                out[path.stem] = path
    return out


def _shipped_description(path: Path) -> str:
    meta = path.with_suffix(".json")
    if meta.is_file():
        try:
            return str(json.loads(meta.read_text()).get("description", ""))
        except (OSError, ValueError, AttributeError):
            pass
    return f"trained policy ({path.name})"


def list_agents() -> list[dict]:
    """The built-in and shipped agents: ``name``, ``kind`` (scripted or neural), ``description``."""
    out = [{"name": name, "kind": cls.kind, "description": cls.description, "class": f"{cls.__module__}.{cls.__name__}"}
           for name, cls in BUILTIN.items()]
    for name, path in shipped_agents().items():
        if name not in BUILTIN:
            out.append({"name": name, "kind": "neural", "description": _shipped_description(path),
                        "checkpoint": str(path)})
    return out


# -- loading code ----------------------------------------------------------------------------------------
_FILE_MODULES: dict[tuple[str, float], object] = {}


def _load_file(path: Path, spec: str):
    """Import a Python file as a module (cached by path and modification time)."""
    path = path.resolve()
    key = (str(path), path.stat().st_mtime)
    if key in _FILE_MODULES:
        return _FILE_MODULES[key]
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    mod_name = f"_pyrat_agent_{path.stem}_{digest}"
    loader_spec = importlib.util.spec_from_file_location(mod_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise AgentSpecError(f"agent {spec!r}: cannot import {path} as a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    # a student's file may import its neighbours (``from utils import ...``): its folder is on the path while it loads
    folder = str(path.parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(mod_name, None)
        raise AgentSpecError(f"agent {spec!r}: importing {path} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
    _FILE_MODULES[key] = module
    return module


def _is_pyrat_player_class(obj) -> bool:
    pyrat = sys.modules.get("pyrat")  # a file that subclasses pyrat.Player has imported pyrat already
    return pyrat is not None and inspect.isclass(obj) and issubclass(obj, pyrat.Player) and obj is not pyrat.Player


def _is_agent_class(obj) -> bool:
    return inspect.isclass(obj) and issubclass(obj, Agent) and obj is not Agent


def _candidates(module) -> list[str]:
    """Agent and player classes defined in a module (not the ones it imports)."""
    out = []
    for name, obj in vars(module).items():
        if (_is_agent_class(obj) or _is_pyrat_player_class(obj)) and getattr(obj, "__module__", None) == \
                module.__name__ and not inspect.isabstract(obj):
            out.append(name)
    return out


def _class_factory(cls, spec: str) -> tuple[Callable[[], Agent], str]:
    if _is_agent_class(cls):
        label = cls.name if cls.__dict__.get("name") else cls.__name__
        return cls, label
    if _is_pyrat_player_class(cls):
        from .pyrat_player import PyratPlayerAgent

        return (lambda: PyratPlayerAgent(cls)), cls.__name__
    raise AgentSpecError(f"agent {spec!r}: {getattr(cls, '__name__', cls)!r} is neither an agents.Agent subclass "
                         "nor a pyrat.Player subclass")


def _from_module(module, class_name: str | None, spec: str, where: str) -> tuple[Callable[[], Agent], str]:
    if class_name is None:
        found = _candidates(module)
        if len(found) != 1:
            listed = ", ".join(found) if found else "none"
            raise AgentSpecError(f"agent {spec!r}: name the class as {where}:ClassName "
                                 f"({len(found)} agent or player classes found in {where}: {listed})")
        class_name = found[0]
    if not hasattr(module, class_name):
        found = _candidates(module)
        raise AgentSpecError(f"agent {spec!r}: {where} has no class {class_name!r} "
                             f"(agent or player classes there: {', '.join(found) or 'none'})")
    return _class_factory(getattr(module, class_name), spec)


def _load_checkpoint(path: Path, spec: str) -> Agent:
    try:
        from .policy_agent import load_agent
    except ImportError as exc:
        raise AgentSpecError(f"agent {spec!r}: {path} is a checkpoint, and playing one needs torch "
                             f"('pip install pyrat-rl[neural]'): {exc}") from exc
    try:
        agent = load_agent(path)
    except Exception as exc:
        raise AgentSpecError(f"agent {spec!r}: loading checkpoint {path} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(agent, Agent):
        raise AgentSpecError(f"agent {spec!r}: load_agent({path}) returned {type(agent).__name__}, not an Agent")
    return agent


def _checkpoint_factory(path: Path, spec: str) -> tuple[Callable[[], Agent], str]:
    agent = _load_checkpoint(path, spec)  # loaded once; the same (stateless between games) agent plays every game
    label = agent.name if agent.name not in ("agent", "") else path.stem
    return (lambda: agent), label


def agent_factory(spec) -> tuple[Callable[[], Agent], str, str]:
    """``(make, label, spec_string)`` for a spec: ``make()`` returns an agent ready for a new game.

    ``spec`` may be a string (see the module docstring), an `Agent` instance (reused as it is), an
    `Agent` or ``pyrat.Player`` subclass, or any zero-argument callable returning an agent.
    """
    if isinstance(spec, Agent):
        return (lambda: spec), str(spec.name), str(spec.name)
    if inspect.isclass(spec):
        make, label = _class_factory(spec, getattr(spec, "__name__", str(spec)))
        return make, label, f"{spec.__module__}:{spec.__qualname__}"
    if callable(spec) and not isinstance(spec, str):
        agent = spec()
        if not isinstance(agent, Agent):
            raise AgentSpecError(f"agent factory {spec!r} returned {type(agent).__name__}, not an Agent")
        first = [agent]

        def make() -> Agent:
            return first.pop() if first else spec()

        return make, str(agent.name), str(agent.name)
    if not isinstance(spec, str) or not spec.strip():
        raise AgentSpecError(f"agent spec must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    make, label = _factory_from_string(spec)
    return make, label, spec


def _factory_from_string(spec: str) -> tuple[Callable[[], Agent], str]:
    tried = []
    if spec in BUILTIN:
        cls = BUILTIN[spec]
        return cls, spec
    tried.append(f"built-in names ({', '.join(BUILTIN)})")
    shipped = shipped_agents()
    if spec in shipped:
        return _checkpoint_factory(shipped[spec], spec)
    tried.append(f"shipped agents ({', '.join(shipped) or 'none installed'})")

    if spec.lower().endswith(CHECKPOINT_SUFFIXES):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise AgentSpecError(f"unknown agent {spec!r}: tried {'; '.join(tried)}; "
                                 f"as a checkpoint file: {path} does not exist")
        return _checkpoint_factory(path, spec)
    tried.append("a checkpoint (.zip, .pt or .onnx path): no such suffix")

    target, class_name = split_target(spec)
    if is_path(target):
        path = Path(target).expanduser()
        if not path.is_file():
            raise AgentSpecError(f"unknown agent {spec!r}: tried {'; '.join(tried)}; "
                                 f"as a file: {path} does not exist")
        module = _load_file(path, spec)
        return _from_module(module, class_name, spec, str(target))
    tried.append(f"a file {target!r}: not a .py path")

    if class_name and target and all(part.isidentifier() for part in target.split(".")):
        try:
            module = importlib.import_module(target)
        except Exception as exc:
            raise AgentSpecError(f"unknown agent {spec!r}: tried {'; '.join(tried)}; "
                                 f"as a module: importing {target!r} failed: {type(exc).__name__}: {exc}") from exc
        return _from_module(module, class_name, spec, target)
    tried.append("a module (package.module:ClassName): no ':ClassName' part")
    raise AgentSpecError(f"unknown agent {spec!r}: tried {'; '.join(tried)}")


def resolve_agent(spec) -> Agent:
    """A fresh agent for a spec (an `Agent` instance is returned as it is)."""
    if isinstance(spec, Agent):
        return spec
    make, _, _ = agent_factory(spec)
    return make()


# -- ``pyrat agents`` ------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pyrat_env.cli_options import add_json

    add_json(parser, "print a JSON list of {name, kind, description}")


def run(args: argparse.Namespace) -> int:
    agents = list_agents()
    if args.json:
        print(json.dumps(agents, indent=2))
        return 0
    width = max(len(a["name"]) for a in agents)
    for a in agents:
        print(f"{a['name']:<{width}}  {a['kind']:<8}  {a['description']}")
    print("\nAlso accepted wherever an agent is named: path/to/player.py:ClassName, package.module:ClassName, "
          "or a checkpoint file (.zip, .pt, .onnx).")
    return 0
