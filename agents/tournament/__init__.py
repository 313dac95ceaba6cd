"""Tournaments between agents: isolated, time-limited, rated, resumable, and able to run on a Ray cluster.

Modules: `config` (settings, agent entries, the tournament id), `schedule` (the round robin and its
seeds), `protocol` / `worker` / `process` (an agent in its own process, and talking to it), `game`
(one game with forfeits and the replay), `store` (SQLite), `ratings` (Bradley-Terry, bootstrap),
`standings` (tables), `runner` (`run_tournament`, backends), `cli` (``pyrat tournament``), `ladder`
(``pyrat ladder``: candidates rated against four reference agents, greedy at 1000).

This package imports nothing heavy at import time: an agent's process imports it before it limits
its own memory. ``from pyrat_rl.agents.tournament import run_tournament`` loads the runner on first use.
"""

from __future__ import annotations

_LAZY = {
    "run_tournament": "runner", "tournament_standings": "runner", "TournamentOutcome": "runner",
    "TournamentConfig": "config", "Limits": "config", "describe_agents": "config",
    "make_schedule": "schedule", "play_isolated_game": "game", "GameTask": "game",
    "TournamentStore": "store", "standings": "standings", "pair_matrix": "standings", "render": "standings",
    "run_ladder": "ladder", "run_swiss": "swiss", "publish": "publish", "check_submissions": "check",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
