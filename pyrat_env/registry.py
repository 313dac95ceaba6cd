"""Names that the higher layers give to the lower ones, without an upward import.

The engine and the environments name things they do not define: an env's ``opponent="search"`` or
``opponent="runs/ppo/best.zip"``, a ``pyrat`` subcommand, a benchmark section. The packages that define
them declare them as entry points in ``pyproject.toml``; this module reads those (and what code registers
at run time, for tests and plug-ins) and never imports a higher package by name:

* ``pyrat_env.agent_resolvers``: a callable ``spec -> (make, label, spec_string)`` that turns an agent spec
  (a name, a file, a module, a checkpoint) into a factory of fresh agents (`agent_factory`, `resolve_agent`);
* ``pyrat_env.commands``: ``pyrat`` subcommands, each a module with ``add_arguments(parser)`` and ``run(args)``;
* ``pyrat_env.benchmarks``: extra sections of ``pyrat bench`` (a callable returning a dict of figures).

Only the standard library is used, so this stays in the lowest layer.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from .agent import Agent

AGENT_RESOLVERS = "pyrat_env.agent_resolvers"
COMMANDS = "pyrat_env.commands"
BENCHMARKS = "pyrat_env.benchmarks"

_registered: dict[str, dict[str, Any]] = {AGENT_RESOLVERS: {}, COMMANDS: {}, BENCHMARKS: {}}


class RegistryError(LookupError):
    """Nothing registered under a name; the message says what was looked for and how to provide it."""


def register(group: str, name: str, value: Any) -> None:
    """Register ``value`` under ``name`` in ``group`` for this process (takes precedence over entry points)."""
    _registered.setdefault(group, {})[name] = value


def unregister(group: str, name: str) -> None:
    _registered.get(group, {}).pop(name, None)


def names(group: str) -> list[str]:
    """Every name of a group: registered at run time first, then the entry points, in their order."""
    out = list(_registered.get(group, {}))
    out += [ep.name for ep in entry_points(group=group) if ep.name not in out]
    return out


def load(group: str, name: str) -> Any:
    """What ``name`` stands for in ``group`` (an entry point is imported now); RegistryError if nothing."""
    if name in _registered.get(group, {}):
        return _registered[group][name]
    for ep in entry_points(group=group):
        if ep.name == name:
            return ep.load()
    raise RegistryError(f"nothing named {name!r} in {group} (known: {', '.join(names(group)) or 'none'}; "
                        "install pyrat-rl, e.g. 'pip install -e .', so that its entry points are declared)")


def target(group: str, name: str) -> str | None:
    """The ``module[:attr]`` an entry point names, without importing it (None for run-time registrations)."""
    for ep in entry_points(group=group):
        if ep.name == name:
            return ep.value
    return None


def summary(group: str, name: str) -> str:
    """One line about what ``name`` names, read from its source without importing it: the module's ``SUMMARY``
    string when it has one, else the first line of its docstring."""
    value = target(group, name)
    if value is None:
        obj = _registered.get(group, {}).get(name)
        return ((getattr(obj, "__doc__", None) or "").strip().splitlines() or [""])[0]
    module = value.split(":", 1)[0].strip()
    try:
        spec = importlib.util.find_spec(module)
        with open(spec.origin, encoding="utf-8") as f:  # type: ignore[union-attr, arg-type]
            tree = ast.parse(f.read())
    except Exception:
        return ""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SUMMARY" for t in node.targets) \
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return node.value.value
    doc = ast.get_docstring(tree) or ""
    return (doc.strip().splitlines() or [""])[0].rstrip(".")


# -- agents ------------------------------------------------------------------------------------------------
def agent_factory(spec) -> tuple[Callable[[], Agent], str, str]:
    """``(make, label, spec_string)`` for an agent spec; an `Agent` instance is used as it is.

    Strings, classes and callables go to the first resolver of ``pyrat_env.agent_resolvers`` (pyrat-rl's
    own is ``pyrat_rl.agents.spec.agent_factory``: built-in names, files, modules, checkpoints).
    """
    if isinstance(spec, Agent):
        return (lambda: spec), str(spec.name), str(spec.name)
    resolvers = names(AGENT_RESOLVERS)
    if not resolvers:
        raise RegistryError(f"cannot resolve agent {spec!r}: no agent resolver is installed "
                            "(install pyrat-rl so that its entry points are declared)")
    return load(AGENT_RESOLVERS, resolvers[0])(spec)


def resolve_agent(spec) -> Agent:
    """A fresh agent for a spec (an `Agent` instance is returned as it is)."""
    if isinstance(spec, Agent):
        return spec
    make, _, _ = agent_factory(spec)
    return make()
