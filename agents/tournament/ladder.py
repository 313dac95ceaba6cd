"""``pyrat ladder``: rate agents on one scale, against four reference agents, in one command.

::

    pyrat ladder cnn_planner my_agent.py --games 20 --workers 2
    pyrat ladder cnn_planner --preset tournament --games 50 --json

Each candidate plays the reference agents ``random``, ``greedy``, ``opportunist`` and ``search`` on ``--games``
distinct mazes per opponent, under the official time limits (3 s of preprocessing, 0.1 s a turn), every agent in
its own process as in a tournament (`pyrat_rl.agents.tournament.game`). The reference agents also play their own
round robin on the same mazes. That round robin alone fixes their ratings, with greedy pinned at 1000 (the
convention of the PyRat ecosystem), and each candidate is then fitted against their ratings held fixed
(`pyrat_rl.agents.tournament.ratings.pool_ratings`): a candidate's rating depends on its own games only, not on the
other candidates of the run. Candidates do not play each other: they are compared through the references, and
each one costs 4 N games (N mazes per pairing).

Seats. On presets whose two start cells differ (``classic``, ``tournament``, ``tiny``: opposite corners) every
maze is played twice, seats swapped, so that neither agent keeps the better corner. On ``official`` both players
start on the centre cell and the rules do not depend on the seat: a seat-swapped game would repeat the first for
deterministic agents. There each maze is played once, the seats alternating from maze to maze, and N games
per pairing are N distinct games. The output counts the distinct games: distinct (maze, start cell of each
agent, agents), where on a shared start cell the seat order does not count.

Storage. The games go into an SQLite database (``--db``, default ``ladder.sqlite`` in the working folder),
through the tournament store, as one tournament for the references' round robin and one per candidate. The id
of each digests its agents (and their files), the game settings, the seed, the turn limit and the limits, but
not the number of mazes: maze k comes from the seed alone, so ``--games 50`` after ``--games 20`` plays the 30
new mazes, a second candidate later reuses the reference games, and the same command run again after an
interruption plays the missing games only (``pyrat tournament standings --db ladder.sqlite --list`` shows the
sets). The replays go beside the database (``ladder-replays/ID/``).

Output: the ratings (rank, agent, rating, 95 % bootstrap interval, games, points, timeouts, errors, forfeits,
think time per move: median and 99th percentile in ms) and the score of every pairing (W-D-L, points %, 95 %
Wilson interval with a draw as half a win), or the same as one JSON object (``--json``, format ``pyrat-ladder/1``).
Think times are the runner's measure of each move (a timeout counts as the turn time), read from the replays of
the games the report counts (a candidate's games against the references, a reference's games in the round robin):
median, 99th percentile, maximum (ms) and moves per agent (``think_ms``), and how many of those games have a replay
that is missing, unreadable or changed since the game (``replays_missing``: skipped).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from pyrat_env import cli_options as opt
from pyrat_env.mazes import GameConfig, preset
from pyrat_env.runtime import cpu_count

from ..match import DEFAULT_MAX_TURNS, game_seed
from .cli import check_agents_exist
from .config import SWAP_IDENTITY, AgentEntry, Limits, describe_agents, same_start
from .process import ServerPool
from .ratings import ANCHOR_RATING, pool_ratings
from .runner import Job, check_agents, default_replay_dir, play_jobs
from .sandbox import DEFAULT_SANDBOX, SANDBOXES, SandboxUnavailable, check_sandbox
from .schedule import ScheduledGame, circle_rounds
from .standings import _text_table
from .store import TournamentStore

SUMMARY = "rate agents against random, greedy, opportunist and search (greedy = 1000)"  # pyrat --help
FORMAT = "pyrat-ladder/1"
REFERENCES = ("random", "greedy", "opportunist", "search")
ANCHOR = "greedy"
DEFAULT_DB = "ladder.sqlite"
Z95 = 1.959963984540054      # the 97.5 % quantile of the normal law


class CandidateError(ValueError):
    """A candidate that cannot take part (its name is a reference's, it cannot be loaded...)."""


def default_workers() -> int:
    """Half the cores: both agents of a game think at once, each on its own core, so that timing stays fair."""
    return max(1, cpu_count() // 2)


# -- the sets of games ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GameSet:
    """Ladder games kept as one tournament in the database: the references' round robin, or one candidate
    against every reference. It carries what `pyrat_rl.agents.tournament.runner.make_task` reads."""

    agents: tuple[AgentEntry, ...]   # the references; or the candidate (index 0), then the references
    candidate: bool
    game: GameConfig
    seed: int
    max_turns: int | None
    limits: Limits

    @property
    def kind(self) -> str:
        return "candidate" if self.candidate else "references"

    @property
    def both_seats(self) -> bool:
        return not same_start(self.game)

    def pairs(self) -> list[tuple[int, int]]:
        """The pairs that meet: the candidate and each reference, or every pair of references (circle order)."""
        if self.candidate:
            return [(0, j) for j in range(1, len(self.agents))]
        return [pair for block in circle_rounds(len(self.agents)) for pair in block]

    def identity(self) -> dict:
        """Everything that decides the games, the number of mazes aside (hashed into the id)."""
        out = {"ladder": 1, "set": self.kind, "agents": [[a.name, a.spec, a.digest] for a in self.agents],
               "game": self.game.to_dict(), "seed": int(self.seed), "max_turns": self.max_turns,
               "limits": self.limits.identity()}
        if self.both_seats:
            out.update(SWAP_IDENTITY)
        return out

    @property
    def tournament_id(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def games_per_pair(self, mazes: int) -> int:
        return mazes * (2 if self.both_seats else 1)

    def schedule(self, mazes: int) -> list[ScheduledGame]:
        """The games on the first ``mazes`` mazes, maze by maze: the schedule for more mazes starts with these.

        Maze ``r`` comes from ``game_seed(seed, r)`` (the same in every set). With both seats, each pair
        plays it twice, seats swapped; on a shared start cell once, the lower index in seat 0 on even mazes.
        """
        pairs = self.pairs()
        out: list[ScheduledGame] = []
        for r in range(mazes):
            gseed = game_seed(self.seed, r)
            for swap in ((False, True) if self.both_seats else (bool(r % 2),)):
                for a, b in pairs:
                    out.append(ScheduledGame(len(out), r, a, b, swap, gseed))
        return out

    def settings(self, mazes: int) -> dict:
        """What the database keeps (``pyrat tournament standings`` reads it too)."""
        return {"ladder": self.kind, "agents": [a.to_dict() for a in self.agents], "game": self.game.to_dict(),
                "games_per_pair": self.games_per_pair(mazes), "mazes": mazes, "both_seats": self.both_seats,
                "seed": int(self.seed), "max_turns": self.max_turns,
                "limits": {f.name: getattr(self.limits, f.name) for f in fields(Limits)}}


def game_sets(candidates: Sequence[AgentEntry], game: GameConfig, seed: int, max_turns: int | None,
              limits: Limits) -> list[GameSet]:
    """The references' round robin, then one set per candidate. Raises `CandidateError` on a name clash."""
    names = [c.name for c in candidates]
    for name in names:
        if name in REFERENCES:
            raise CandidateError(f"candidate {name!r} has the name of a reference agent; name it: OTHER={name}")
    if len(set(names)) != len(names):
        raise CandidateError(f"candidate names must be unique, got {names}")
    if game.n_players != 2 or game.teams is not None:
        raise ValueError("ladder games are two-player games without teams")
    refs = describe_agents(REFERENCES)
    common = {"game": game, "seed": int(seed), "max_turns": max_turns, "limits": limits}
    return [GameSet(refs, False, **common)] + [GameSet((c, *refs), True, **common) for c in candidates]


# -- scores --------------------------------------------------------------------------------------------------
def wilson(points: float, games: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval of a points share (a draw is half a win): ``(low, high)``, None without games."""
    if games <= 0:
        return None, None
    p = points / games
    denom = 1.0 + z * z / games
    centre = (p + z * z / (2 * games)) / denom
    half = z * math.sqrt(max(p * (1.0 - p), 0.0) / games + z * z / (4 * games * games)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _score(winner: int | None, agent: int) -> float:
    return 0.5 if winner is None else (1.0 if winner == agent else 0.0)


def _game_key(gs: GameSet, row: dict) -> tuple:
    """What makes a game distinct: its maze, where each agent starts (the seat order on a shared start cell does not
    count), and the agents (by name: the same agent under two names plays two games)."""
    names = (gs.agents[row["seat0"]].name, gs.agents[row["seat1"]].name)
    if gs.both_seats:
        return (int(row["seed"]), bool(row["swap"]), names)
    return (int(row["seed"]), frozenset(names))


def _replay_think_times(row: dict, base: Path | None, seats: Sequence[int]) -> dict[int, list[float]] | None:
    """The think times (s) of the given seats, from the replay of a game's row (its path relative to ``base``, the
    database's folder); None when the replay is missing, unreadable, or not the one the row's sha256 names."""
    name = row.get("replay")
    if not name:
        return None
    path = Path(name)
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        data = path.read_bytes()
        digest = row.get("replay_sha256")
        if digest and hashlib.sha256(data).hexdigest() != digest:
            return None
        players = json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)["players"]
        return {seat: [float(t) for t in players[seat]["think_times"]] for seat in seats}
    except Exception:   # a bad replay (truncated, corrupt, another format...) is skipped, never the ladder's end
        return None


def _think_summary(times: list[float]) -> dict:
    """Median, 99th percentile (linear interpolation) and maximum of think times in ms, and how many moves."""
    if not times:
        return {"median": None, "p99": None, "max": None, "moves": 0}
    ms = np.asarray(times, dtype=float) * 1000.0
    median, p99 = np.percentile(ms, [50, 99])
    return {"median": round(float(median), 3), "p99": round(float(p99), 3), "max": round(float(ms.max()), 3),
            "moves": len(times)}


def ladder_report(sets: Sequence[GameSet], rows: Sequence[Sequence[dict]], mazes: int, bootstrap: int = 1000,
                  seed: int = 0, replay_base: str | os.PathLike | None = None) -> dict:
    """Ratings, pairings and counts from the games of each set (``sets`` as `game_sets` gives them, references
    first; ``rows[k]``: the recorded games of ``sets[k]``).

    Only the games on the first ``mazes`` mazes count, so the report is the same whatever else the database holds.
    Each agent's think times come from the replays of its counted games (a candidate's own set, a reference's
    round robin): ``replay_base`` is the folder the rows' replay paths are relative to (the database's).
    """
    names = list(REFERENCES) + [gs.agents[0].name for gs in sets if gs.candidate]
    specs = list(REFERENCES) + [gs.agents[0].spec for gs in sets if gs.candidate]
    index = {n: i for i, n in enumerate(names)}
    n = len(names)
    stats = [{"games": 0, "wins": 0, "draws": 0, "losses": 0, "points": 0.0, "timeouts": 0, "errors": 0,
              "forfeits": 0} for _ in range(n)]
    think: list[list[float]] = [[] for _ in range(n)]
    replays_missing = [0] * n
    base = None if replay_base is None else Path(replay_base)
    results: list[list[tuple[int, int, float]]] = []
    pairings: list[dict] = []
    distinct: set = set()
    counted = 0
    for gs, set_rows in zip(sets, rows):
        glob = [index[a.name] for a in gs.agents]
        kept = [r for r in set_rows if r["round"] < mazes]
        res = []
        by_pair: dict[tuple[int, int], list[float]] = {}
        for r in kept:
            seats = (r["seat0"], r["seat1"])
            winner = r["winner"]
            res.append((glob[seats[0]], glob[seats[1]], _score(winner, seats[0])))
            for seat, local in enumerate(seats):
                st = stats[glob[local]]
                s = _score(winner, local)
                st["games"] += 1
                st["points"] += s
                st["wins" if s == 1.0 else "draws" if s == 0.5 else "losses"] += 1
                st["timeouts"] += r[f"timeouts{seat}"]
                st["errors"] += r[f"errors{seat}"]
                st["forfeits"] += r[f"forfeit{seat}"] is not None
            # think times: the candidate's seat in its set, both seats in the references' round robin
            timed = [seat for seat, local in enumerate(seats) if not gs.candidate or local == 0]
            times = _replay_think_times(r, base, timed)
            for seat in timed:
                if times is None:
                    replays_missing[glob[seats[seat]]] += 1
                else:
                    think[glob[seats[seat]]].extend(times[seat])
            a, b = min(seats), max(seats)
            by_pair.setdefault((a, b), []).append(_score(winner, a))
            distinct.add(_game_key(gs, r))
        counted += len(kept)
        results.append(res)
        for a, b in gs.pairs():
            scores = by_pair.get((a, b), [])
            pts = float(sum(scores))
            low, high = wilson(pts, len(scores))
            pairings.append({
                "agent": gs.agents[a].name, "opponent": gs.agents[b].name, "games": len(scores),
                "wins": sum(s == 1.0 for s in scores), "draws": sum(s == 0.5 for s in scores),
                "losses": sum(s == 0.0 for s in scores), "points": pts,
                "score": None if not scores else round(pts / len(scores), 4),
                "score_low": None if low is None else round(low, 4),
                "score_high": None if high is None else round(high, 4)})
    # candidate pairings first (in the order given), then the references' round robin in the references' order
    rank = {name: i for i, name in enumerate(REFERENCES)}
    pairings = [p for p in pairings if p["agent"] not in rank] + \
        sorted((p for p in pairings if p["agent"] in rank), key=lambda p: (rank[p["agent"]], rank[p["opponent"]]))

    rating = low = high = [None] * n
    warnings = []
    if results and results[0]:
        pool = [index[r] for r in REFERENCES]
        others = [(int(gs.tournament_id, 16), res) for gs, res in zip(sets[1:], results[1:]) if res]
        r_, lo_, hi_ = pool_ratings(n, pool, index[ANCHOR], results[0], others, samples=bootstrap, seed=seed)
        rating, low, high = ([None if v != v else round(float(v), 1) for v in arr] for arr in (r_, lo_, hi_))
    else:
        warnings.append("no reference games yet: no ratings")
    table = []
    for i, name in enumerate(names):
        st = stats[i]
        played = st["games"] > 0
        table.append({"agent": name, "spec": specs[i], "role": "reference" if name in REFERENCES else "candidate",
                      "rating": rating[i] if played else None, "rating_low": low[i] if played else None,
                      "rating_high": high[i] if played else None, **st,
                      "score": round(st["points"] / st["games"], 4) if played else None,
                      "think_ms": _think_summary(think[i]), "replays_missing": replays_missing[i]})
    order = sorted(range(n), key=lambda i: (table[i]["rating"] is None, -(table[i]["rating"] or 0.0), names[i]))
    ratings = [dict(rank=k, **table[i]) for k, i in enumerate(order, 1)]
    return {"ratings": ratings, "pairings": pairings, "games": counted, "distinct_games": len(distinct),
            "warnings": warnings}


# -- running it ----------------------------------------------------------------------------------------------
def run_ladder(candidates: Sequence[AgentEntry], mazes: int = 20, preset_name: str = "official", seed: int = 0,
               max_turns: int | None = DEFAULT_MAX_TURNS, limits: Limits | None = None,
               db: str | os.PathLike = DEFAULT_DB, workers: int | None = None, progress: bool = True,
               bootstrap: int = 1000, check: bool = True, stop: threading.Event | None = None,
               log: Callable[[str], None] | None = None, sandbox: str = DEFAULT_SANDBOX) -> dict:
    """Play the ladder's missing games, record them, and return the report (`ladder_report`, with the settings).

    ``mazes``: distinct mazes per pairing. Raises `CandidateError` for a candidate that cannot take part
    (checked before any game: ``check`` loads each candidate that still has games to play, in its own process).
    """
    if mazes < 1:
        raise ValueError(f"mazes must be >= 1, got {mazes}")
    log = log or (lambda msg: print(msg, file=sys.stderr))
    limits = limits or Limits()
    workers = workers or default_workers()
    t0 = time.monotonic()
    game = preset(preset_name)
    sets = game_sets(candidates, game, seed, max_turns, limits)
    db = Path(db)
    jobs: list[Job] = []
    scheduled = 0
    check_sandbox(sandbox)
    with TournamentStore(db) as store, ServerPool(sandbox) as pool:
        for gs in sets:
            tid = gs.tournament_id
            schedule = gs.schedule(mazes)
            scheduled += len(schedule)
            store.ensure_tournament(tid, gs.settings(mazes), len(schedule))
            store.grow_tournament(tid, gs.settings(mazes), len(schedule))
            done = store.done_keys(tid)
            jobs += [Job(tid, gs, g, default_replay_dir(db, tid)) for g in schedule if g.key not in done]
        if jobs and check:
            pending = {id(job.config) for job in jobs if job.config.candidate}
            entries = tuple(gs.agents[0] for gs in sets if id(gs) in pending)
            if entries:
                problems = check_agents(entries, sets[0], pool)
                if problems:
                    name, problem = next(iter(problems.items()))
                    raise CandidateError(f"candidate {name!r} cannot be loaded: {opt.one_line(problem)}")
        # maze by maze across the sets: an interrupted ladder leaves every pairing with about as many games
        order = {id(gs): k for k, gs in enumerate(sets)}
        jobs.sort(key=lambda j: (j.game.round, order[id(j.config)], j.game.index))
        bar = None
        if progress and jobs:
            from tqdm import tqdm

            bar = tqdm(total=scheduled, initial=scheduled - len(jobs), unit="game", file=sys.stderr, desc="ladder",
                       dynamic_ncols=True, smoothing=0.1)
        try:
            played, failed = play_jobs(jobs, store, db, workers=workers, stop=stop, log=log, bar=bar,
                                       sandbox=sandbox, pool=pool)
        finally:
            if bar is not None:
                bar.close()
        rows = [store.games(gs.tournament_id) for gs in sets]
    report = ladder_report(sets, rows, mazes, bootstrap=bootstrap, seed=seed, replay_base=db.resolve().parent)
    settings = {"preset": preset_name, "game": game.to_dict(), "mazes": mazes,
                "games_per_pairing": sets[0].games_per_pair(mazes),
                "seats": "swapped" if sets[0].both_seats else "alternating",
                "seed": int(seed), "max_turns": max_turns,
                "limits": {f.name: getattr(limits, f.name) for f in fields(Limits)},
                "references": list(REFERENCES), "anchor": ANCHOR, "anchor_rating": ANCHOR_RATING,
                "bootstrap": bootstrap,
                "rating_interval": "95 % bootstrap percentile interval (games resampled 'bootstrap' times)",
                "score_interval": "95 % Wilson score interval, a draw as half a win"}
    return {"format": FORMAT, "settings": settings, "scheduled": scheduled, "played": played,
            "complete": report["games"] == scheduled, "failed": [f"{j.tid}/{j.game.key}" for j in failed],
            "seconds": round(time.monotonic() - t0, 2), "db": str(db),
            "sets": [{"id": gs.tournament_id, "kind": gs.kind, "agents": [a.name for a in gs.agents],
                      "games": sum(r["round"] < mazes for r in set_rows), "scheduled": len(gs.schedule(mazes))}
                     for gs, set_rows in zip(sets, rows)],
            **report}


# -- output ----------------------------------------------------------------------------------------------------
def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def _ms(x: float) -> str:
    return format(x, ".0f" if x >= 100 else ".1f" if x >= 1 else ".2f")


def _think_cell(think: dict | None) -> str:
    if not think or think.get("median") is None:
        return "-"
    return f"{_ms(think['median'])}/{_ms(think['p99'])}"


def render_ladder(report: dict) -> str:
    """The report as text: a line of settings, the ratings table, the pairings table."""
    s = report["settings"]
    lim = s["limits"]
    cands = [r["agent"] for r in report["ratings"] if r["role"] == "candidate"]
    seats = "each maze twice, seats swapped" if s["seats"] == "swapped" else \
        "one game per maze, seats alternating: both start on the same cell"
    head = [f"Strength ladder: {', '.join(cands) or 'no candidate'} against {', '.join(s['references'])}",
            f"{s['preset']} preset, {s['mazes']} mazes per pairing ({seats}), seed {s['seed']}; "
            f"{lim['preprocessing_time']:g} s preprocessing, {lim['turn_time']:g} s a turn",
            f"{report['games']} of {report['scheduled']} games recorded, {report['distinct_games']} distinct "
            f"({report['played']} played now, {report['seconds']:.1f} s); database {report['db']}"]
    body = []
    for r in report["ratings"]:
        anchored = r["agent"] == s["anchor"] and r["rating"] is not None
        interval = "(anchor)" if anchored else \
            "-" if r["rating_low"] is None else f"{r['rating_low']:.0f} to {r['rating_high']:.0f}"
        body.append([str(r["rank"]), r["agent"], _num(r["rating"], ".0f"), interval, str(r["games"]),
                     _num(None if r["score"] is None else 100 * r["score"], ".1f"), str(r["timeouts"]),
                     str(r["errors"]), str(r["forfeits"]), _think_cell(r.get("think_ms"))])
    ratings = _text_table(["#", "agent", "rating", "95% interval", "games", "points %", "timeouts", "errors",
                           "forfeits", "think ms med/p99"], body, {0, 2, 4, 5, 6, 7, 8, 9})
    missing = [f"{r['agent']} {r['replays_missing']}" for r in report["ratings"] if r.get("replays_missing")]
    if missing:
        ratings += ("\nGames without a usable replay (missing, unreadable or changed), left out of the think "
                    "times: " + ", ".join(missing))
    pbody = []
    for p in report["pairings"]:
        interval = "-" if p["score_low"] is None else f"{100 * p['score_low']:.0f} to {100 * p['score_high']:.0f}"
        pbody.append([p["agent"], p["opponent"], str(p["games"]), f"{p['wins']}-{p['draws']}-{p['losses']}",
                      _num(None if p["score"] is None else 100 * p["score"], ".1f"), interval])
    pairings = _text_table(["agent", "opponent", "games", "W-D-L", "points %", "95% interval"], pbody, {2, 3, 4})
    parts = ["\n".join(head),
             f"Ratings (Bradley-Terry, Elo scale, {s['anchor']} = {s['anchor_rating']:g}; 95 % bootstrap intervals)",
             ratings, "Pairings (the first agent's points; 95 % Wilson intervals, a draw as half a win)", pairings]
    parts += report["warnings"]
    return "\n\n".join(parts) + "\n"


# -- the command -----------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    limit = {f: opt.default_of(Limits, f) for f in Limits.IDENTITY}
    parser.description = (
        "Play each candidate against random, greedy, opportunist and search (and those four among themselves), "
        "each agent in its own process under the official time limits, on N distinct mazes per pairing; print "
        "Bradley-Terry ratings with greedy at 1000. Games are kept in a database: running the command again "
        "resumes, and later candidates reuse the reference games.")
    parser.add_argument("candidates", nargs="+", metavar="CANDIDATE", type=opt.agent_arg,
                        help=f"agents to rate: {opt.AGENT_HELP}")
    opt.add_preset(parser, opt.default_of(run_ladder, "preset_name"))
    mazes = opt.default_of(run_ladder, "mazes")
    parser.add_argument("--games", type=opt.positive, default=mazes, metavar="N",
                        help=opt.with_default("distinct mazes per pairing (played once on official, where both "
                                              "start on the centre cell; twice, seats swapped, elsewhere)", mazes))
    opt.add_seed(parser, opt.default_of(run_ladder, "seed"), "ladder seed: gives every maze")
    parser.add_argument("--workers", type=opt.positive, default=default_workers(), metavar="W",
                        help=opt.with_default("games played at once (more than half the cores makes agents "
                                              "compete for the CPU)", default_workers()))
    parser.add_argument("--db", default=DEFAULT_DB, metavar="FILE.sqlite",
                        help=opt.with_default("games database, kept between runs", DEFAULT_DB))
    opt.add_max_turns(parser, opt.default_of(run_ladder, "max_turns"))
    parser.add_argument("--turn-time", type=float, default=limit["turn_time"], metavar="S",
                        help=opt.with_default("seconds per turn", limit["turn_time"]))
    parser.add_argument("--preprocessing-time", type=float, default=limit["preprocessing_time"], metavar="S",
                        help=opt.with_default("seconds for preprocessing", limit["preprocessing_time"]))
    parser.add_argument("--memory-mb", type=opt.count, default=limit["memory_mb"], metavar="MB",
                        help=opt.with_default("address-space limit of an agent's process, 0 for none (agents on "
                                              "a GPU need 0)", limit["memory_mb"]))
    bootstrap = opt.default_of(run_ladder, "bootstrap")
    parser.add_argument("--bootstrap", type=opt.positive, default=bootstrap, metavar="B",
                        help=opt.with_default("bootstrap resamples for the rating intervals", bootstrap))
    parser.add_argument("--sandbox", choices=SANDBOXES, default=DEFAULT_SANDBOX,
                        help=opt.with_default("bwrap: each agent in a bubblewrap sandbox; none: process limits "
                                              "only (see docs/tournaments.md)", DEFAULT_SANDBOX))
    opt.add_json(parser, "print one JSON object (settings, ratings, pairings, counts)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    with opt.user_errors(ValueError):
        candidates = describe_agents(args.candidates)
        limits = Limits(turn_time=args.turn_time, preprocessing_time=args.preprocessing_time,
                        memory_mb=args.memory_mb or None)
    check_agents_exist(SimpleNamespace(agents=candidates))
    with opt.user_errors(SandboxUnavailable):
        check_sandbox(args.sandbox)
    with opt.user_errors(CandidateError, OSError):
        report = run_ladder(candidates, mazes=args.games, preset_name=args.preset, seed=args.seed,
                            max_turns=args.max_turns or None, limits=limits, db=args.db, workers=args.workers,
                            progress=not args.quiet, bootstrap=args.bootstrap, sandbox=args.sandbox)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        sys.stdout.write(render_ladder(report))
    if report["failed"]:
        print(f"{len(report['failed'])} game(s) could not be played; run the same command again to retry them",
              file=sys.stderr)
        return 1
    return 0
