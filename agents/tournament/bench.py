"""``pyrat bench --tournament``: what a tournament game costs, against the same games in ``pyrat play``.

For each pair of agents (``greedy`` v ``random``; two copies of the pyrat-game ``Player`` template when
pyrat-game is installed) the same 40 games (20 mazes, seats swapped, official preset and time limits) are
played twice in this process, best of each kept:

* ``play``: `pyrat_rl.agents.match.play_series`, the agents in this process, replays written (what
  ``pyrat play --replay-dir`` does);
* ``tournament``: `run_tournament` in a fresh database, one worker, every agent in its sandbox (``bwrap`` where
  it runs, else ``none``, said in the figures), its servers started (the load check) and its games recorded;

and the figure is games per second of wall time, with the ratio tournament / play.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

GAMES = 40


def _play(specs: list[str], games: int, folder: Path) -> float:
    from ..match import play_series

    t0 = time.perf_counter()
    play_series(specs, games=games, seed=1, replay_dir=folder / "play", keep_results=False)
    return games / (time.perf_counter() - t0)


def _tournament(specs: list[str], games: int, folder: Path, sandbox: str) -> float:
    from .config import TournamentConfig, describe_agents
    from .runner import run_tournament

    config = TournamentConfig(agents=describe_agents(specs), games_per_pair=games, seed=1)
    db = folder / f"t{time.monotonic_ns()}.sqlite"
    t0 = time.perf_counter()
    out = run_tournament(config, db, progress=False, sandbox=sandbox, log=lambda msg: None)
    seconds = time.perf_counter() - t0
    if out.games != games or out.failed:
        raise RuntimeError(f"the benchmark tournament recorded {out.games} of {games} games")
    return games / seconds


def tournament_benchmarks(quick: bool = False, repeats: int = 2) -> dict:
    """``tournament_games_per_s`` and ``play_games_per_s`` per pair of agents, the sandbox used, and the ratios."""
    from .sandbox import bwrap_problem

    sandbox = "bwrap" if bwrap_problem() is None else "none"
    games = 10 if quick else GAMES
    pairs = {"greedy_random": ["greedy", "random"]}
    try:
        import pyrat  # noqa: F401
    except ImportError:
        pass
    else:
        pairs["players"] = None
    out: dict = {"tournament_sandbox": sandbox, "tournament_games": games, "play_games_per_s": {},
                 "tournament_games_per_s": {}, "ratios": {}}
    folder = Path(tempfile.mkdtemp(prefix="pyrat-bench-"))
    try:
        for name, specs in pairs.items():
            if specs is None:   # two students' pyrat-game players (the template), as files
                template = Path(__file__).resolve().parents[1] / "templates" / "student_player.py"
                specs = []
                for who in ("alice", "bob"):
                    shutil.copy(template, folder / f"{who}.py")
                    specs.append(str(folder / f"{who}.py"))
            play = max(_play(specs, games, folder) for _ in range(repeats))
            tour = max(_tournament(specs, games, folder, sandbox) for _ in range(repeats))
            out["play_games_per_s"][name] = play
            out["tournament_games_per_s"][name] = tour
            out["ratios"][f"tournament_vs_play_{name}"] = tour / play
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out
