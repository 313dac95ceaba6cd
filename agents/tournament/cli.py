"""``pyrat tournament``: ``run`` a round robin between agents, or print the ``standings`` of a recorded one.

::

    pyrat tournament run --agents greedy random alice=submissions/alice.py --games-per-pair 4 \\
        --preset tournament --seed 2024 --db course.sqlite --workers 2
    pyrat tournament run --config course.toml          # the same settings in a file
    pyrat tournament standings --db course.sqlite --format html --output standings.html

Running the same ``run`` command again resumes an interrupted tournament (or just prints the
standings of a finished one). Options given on the command line win over the TOML file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import DEFAULT_MAX_TURNS, Limits, TournamentConfig, describe_agents, game_config, load_toml
from .standings import FORMATS, render

SUMMARY = "run tournaments and print standings"  # pyrat --help


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="{run,standings}")
    sub.required = True
    run_p = sub.add_parser("run", help="play a round robin (or resume it) and print the standings",
                           description="Play a round robin between agents, each in its own process with time, "
                                       "memory and CPU limits; every game goes into the database and leaves a "
                                       "replay. Running the same command again resumes it.")
    run_p.add_argument("--agents", nargs="+", metavar="SPEC",
                       help="agents: built-in names, path/to/file.py[:Class], package.module:Class, checkpoints; "
                            "NAME=SPEC names one")
    run_p.add_argument("--config", metavar="FILE.toml", help="tournament settings (see docs/tournaments.md)")
    run_p.add_argument("--games-per-pair", type=int, metavar="K", help="games per pair, even (default 2)")
    run_p.add_argument("--preset", help="game preset: official (default), classic, tournament, tiny")
    run_p.add_argument("--seed", type=int, help="tournament seed: gives every maze (default 0)")
    run_p.add_argument("--db", metavar="FILE.sqlite", help="results database (default tournament.sqlite)")
    run_p.add_argument("--replay-dir", metavar="DIR", help="where replays go (default: DB-replays/ID/ beside the DB)")
    run_p.add_argument("--workers", type=int, metavar="N", help="games played at once (default 1)")
    run_p.add_argument("--max-turns", type=int, metavar="T",
                       help=f"turn limit of a game, 0 for none (default {DEFAULT_MAX_TURNS})")
    run_p.add_argument("--turn-time", type=float, metavar="S", help="seconds per turn (default 0.1)")
    run_p.add_argument("--preprocessing-time", type=float, metavar="S", help="seconds for preprocessing (default 3)")
    run_p.add_argument("--max-timeouts", type=int, metavar="N",
                       help="timeouts in a row that forfeit a game, 0 for never (default 10)")
    run_p.add_argument("--memory-mb", type=int, metavar="MB",
                       help="address-space limit of an agent's process, 0 for none (default 4096)")
    run_p.add_argument("--cpu-seconds", type=float, metavar="S",
                       help="CPU-time limit of an agent's process in one game, 0 for none (default 600)")
    run_p.add_argument("--backend", choices=("local", "ray"), help="where games run (default local)")
    run_p.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to join (default: a local instance)")
    run_p.add_argument("--bootstrap", type=int, default=1000, metavar="B",
                       help="bootstrap resamples for the rating intervals (default 1000)")
    run_p.add_argument("--json", action="store_true", help="print one JSON object: games, standings, matrix...")
    run_p.add_argument("--quiet", action="store_true", help="no progress bar")

    st_p = sub.add_parser("standings", help="print or export the standings of a recorded tournament",
                          description="Standings (points, Bradley-Terry ratings with bootstrap intervals) and the "
                                      "per-pair results of a tournament in a database.")
    st_p.add_argument("--db", required=True, metavar="FILE.sqlite")
    st_p.add_argument("--tournament", metavar="ID", help="tournament id or its first characters (default: the latest)")
    st_p.add_argument("--format", choices=FORMATS, default="table", help="table (default), md, html or csv")
    st_p.add_argument("--matrix", action="store_true", help="only the per-pair results matrix")
    st_p.add_argument("--output", "-o", metavar="FILE", help="write to a file instead of printing")
    st_p.add_argument("--bootstrap", type=int, default=1000, metavar="B", help="bootstrap resamples (default 1000)")
    st_p.add_argument("--json", action="store_true", help="print one JSON object (tournament, standings, matrix)")
    st_p.add_argument("--list", action="store_true", help="list the tournaments in the database")


def build_config(args: argparse.Namespace) -> tuple[TournamentConfig, dict]:
    """The `TournamentConfig` and the run options (db, replay_dir, workers, backend, ray_address) from args + TOML."""
    file = load_toml(args.config) if getattr(args, "config", None) else {}

    def pick(name: str, default=None):
        value = getattr(args, name, None)
        return value if value is not None else file.get(name, default)

    specs = args.agents if args.agents else file.get("agents")
    if not specs:
        raise ValueError("no agents: give --agents SPEC... or a --config file with an 'agents' list")
    base_dir = None if args.agents else file.get("base_dir")
    entries = describe_agents(specs, base_dir)
    limits = dict(file.get("limits", {}))
    for arg, key in (("turn_time", "turn_time"), ("preprocessing_time", "preprocessing_time"),
                     ("max_timeouts", "max_consecutive_timeouts"), ("memory_mb", "memory_mb"),
                     ("cpu_seconds", "cpu_seconds")):
        value = getattr(args, arg, None)
        if value is not None:
            limits[key] = value
    for key in ("memory_mb", "cpu_seconds"):
        if key in limits and not limits[key]:
            limits[key] = None
    max_turns = pick("max_turns", DEFAULT_MAX_TURNS)
    config = TournamentConfig(agents=entries, games_per_pair=int(pick("games_per_pair", 2)),
                              game=game_config(pick("preset", "official"), file.get("game")),
                              seed=int(pick("seed", 0)), max_turns=int(max_turns) or None, limits=Limits(**limits))
    options = {"db": pick("db", "tournament.sqlite"), "replay_dir": pick("replay_dir"),
               "workers": int(pick("workers", 1)), "backend": pick("backend", "local"),
               "ray_address": pick("ray_address")}
    return config, options


def _run(args: argparse.Namespace) -> int:
    from .runner import run_tournament

    try:
        config, options = build_config(args)
    except (ValueError, OSError) as exc:
        print(f"pyrat tournament run: {exc}", file=sys.stderr)
        return 2
    outcome = run_tournament(config, options["db"], replay_dir=options["replay_dir"], workers=options["workers"],
                             backend=options["backend"], ray_address=options["ray_address"],
                             progress=not args.quiet, bootstrap=args.bootstrap)
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=2))
    else:
        info = (f"tournament {outcome.tournament_id}: {outcome.games} of {outcome.scheduled} games recorded "
                f"({outcome.played} played now, {outcome.seconds:.1f} s); database {outcome.db}; "
                f"replays in {outcome.replay_dir}")
        print(render(outcome.standings, outcome.matrix, "table", title=outcome.tournament_id, info=info), end="")
    if outcome.failed:
        print(f"{len(outcome.failed)} game(s) could not be played; run the same command again to retry them",
              file=sys.stderr)
        return 1
    return 0


def _standings(args: argparse.Namespace) -> int:
    from .runner import tournament_standings
    from .store import TournamentStore

    if not Path(args.db).is_file():
        print(f"pyrat tournament standings: {args.db}: no such database", file=sys.stderr)
        return 2
    if args.list:
        with TournamentStore(args.db) as store:
            for t in store.tournaments():
                names = ", ".join(a["name"] for a in t["agents"])
                print(f"{t['id']}  {t['created']}  {t['recorded']}/{t['scheduled']} games  seed {t['seed']}  {names}")
        return 0
    try:
        info, rows, matrix = tournament_standings(args.db, args.tournament, bootstrap=args.bootstrap)
    except ValueError as exc:
        print(f"pyrat tournament standings: {exc}", file=sys.stderr)
        return 2
    if args.json:
        text = json.dumps({"tournament": info["id"], "games": info["recorded"], "scheduled": info["scheduled"],
                           "standings": rows, "matrix": matrix}, indent=2) + "\n"
    else:
        settings = info["settings"]
        game = settings["game"]
        summary = (f"{info['recorded']} of {info['scheduled']} games; {settings['games_per_pair']} per pair; "
                   f"{game['width']}x{game['height']} mazes, {game['nb_cheese']} cheese; seed {info['seed']}; "
                   f"{settings['limits']['turn_time']} s a turn")
        text = render(rows, matrix, args.format, title=info["id"], info=summary, matrix_only=args.matrix)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "run":
        return _run(args)
    return _standings(args)
