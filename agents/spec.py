"""Naming agents: turn a spec string into an `Agent` (built-in name, file, module, checkpoint).

(Minimal version: built-in names only; file, module and checkpoint specs come with the agents issue.)
"""

from __future__ import annotations

from .base import Agent
from .scripted import GreedyAgent, RandomAgent

BUILTIN = {"random": RandomAgent, "greedy": GreedyAgent}


class AgentSpecError(ValueError):
    """A spec that names no agent; the message says what was tried."""


def resolve_agent(spec: str | Agent) -> Agent:
    """A fresh agent for a spec (an `Agent` instance is returned as it is)."""
    if isinstance(spec, Agent):
        return spec
    if spec in BUILTIN:
        return BUILTIN[spec]()
    raise AgentSpecError(f"unknown agent {spec!r}; built-in agents: {', '.join(BUILTIN)}")
