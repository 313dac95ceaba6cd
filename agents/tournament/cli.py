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

from pyrat_env import cli_options as opt
from pyrat_env.cli_options import UsageError

from .config import Limits, TournamentConfig, describe_agents, game_config, load_toml
from .standings import FORMATS, render

SUMMARY = "run tournaments and print standings"  # pyrat --help


def _run_default(name: str):
    """A default of `run_tournament`'s options (the runner is imported when the command is, not with the package)."""
    from .runner import run_tournament

    return opt.default_of(run_tournament, name)


# Defaults of the options that a TOML file may also set: the options default to None (not given), and
# `build_config` takes the file's value, else these (the dataclasses' and the runner's own defaults).
def _defaults() -> dict:
    return {"games_per_pair": opt.default_of(TournamentConfig, "games_per_pair"),
            "preset": opt.default_of(game_config, "preset_name"), "seed": opt.default_of(TournamentConfig, "seed"),
            "max_turns": opt.default_of(TournamentConfig, "max_turns"), "db": "tournament.sqlite",
            "workers": _run_default("workers"), "backend": _run_default("backend"),
            "sandbox": _run_default("sandbox")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .runner import run_tournament, tournament_standings

    d = _defaults()
    limit = {f: opt.default_of(Limits, f) for f in Limits.IDENTITY}
    from .check import add_check_arguments
    from .sandbox import SANDBOXES
    from .swiss import add_swiss_arguments

    sub = parser.add_subparsers(dest="action", metavar="{run,standings,check,publish}")
    sub.required = True
    run_p = sub.add_parser("run", help="play a round robin (or resume it) and print the standings",
                           description="Play a round robin between agents, each in its own process with time, "
                                       "memory and CPU limits; every game goes into the database and leaves a "
                                       "replay. Running the same command again resumes it.")
    run_p.add_argument("--agents", nargs="+", metavar="SPEC", type=opt.agent_arg, help=f"agents: {opt.AGENT_HELP}")
    run_p.add_argument("--config", metavar="FILE.toml", help="tournament settings (see docs/tournaments.md)")
    run_p.add_argument("--games-per-pair", type=opt.positive, metavar="K",
                       help=opt.with_default("games per pair, even", d["games_per_pair"]))
    opt.add_preset(run_p, None, shown=d["preset"])
    opt.add_seed(run_p, None, "tournament seed: gives every maze", shown=d["seed"])
    run_p.add_argument("--db", metavar="FILE.sqlite", help=opt.with_default("results database", d["db"]))
    run_p.add_argument("--replay-dir", metavar="DIR", help="where replays go (default: DB-replays/ID/ beside the DB)")
    run_p.add_argument("--workers", type=opt.positive, metavar="N",
                       help=opt.with_default("games played at once", d["workers"]))
    opt.add_max_turns(run_p, None, shown=d["max_turns"])
    run_p.add_argument("--turn-time", type=float, metavar="S",
                       help=opt.with_default("seconds per turn", limit["turn_time"]))
    run_p.add_argument("--preprocessing-time", type=float, metavar="S",
                       help=opt.with_default("seconds for preprocessing", limit["preprocessing_time"]))
    run_p.add_argument("--max-timeouts", type=opt.count, metavar="N",
                       help=opt.with_default("timeouts in a row that forfeit a game, 0 for never",
                                             limit["max_consecutive_timeouts"]))
    run_p.add_argument("--memory-mb", type=opt.count, metavar="MB",
                       help=opt.with_default("address-space limit of an agent's process, 0 for none",
                                             limit["memory_mb"]))
    run_p.add_argument("--cpu-seconds", type=float, metavar="S",
                       help=opt.with_default("CPU-time limit of an agent's process in one game, 0 for none",
                                             limit["cpu_seconds"]))
    run_p.add_argument("--backend", choices=("local", "ray"), help=opt.with_default("where games run", d["backend"]))
    run_p.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to join (default: a local instance)")
    add_swiss_arguments(run_p)
    run_p.add_argument("--sandbox", choices=SANDBOXES,
                       help=opt.with_default("bwrap: each agent in a bubblewrap sandbox (sees only its own file, "
                                             "no network, no other process); none: process limits only, for "
                                             "agents you trust", d["sandbox"]))
    bootstrap = opt.default_of(run_tournament, "bootstrap")
    run_p.add_argument("--bootstrap", type=opt.positive, default=bootstrap, metavar="B",
                       help=opt.with_default("bootstrap resamples for the rating intervals", bootstrap))
    opt.add_json(run_p, "print one JSON object: games, standings, matrix...")
    run_p.add_argument("--quiet", action="store_true", help="no progress bar")

    st_p = sub.add_parser("standings", help="print or export the standings of a recorded tournament",
                          description="Standings (points, Bradley-Terry ratings with bootstrap intervals) and the "
                                      "per-pair results of a tournament in a database.")
    st_p.add_argument("--db", required=True, metavar="FILE.sqlite")
    st_p.add_argument("--tournament", metavar="ID", help="tournament id or its first characters (default: the latest)")
    st_p.add_argument("--format", choices=FORMATS, default="table", help="table (default), md, html or csv")
    st_p.add_argument("--matrix", action="store_true", help="only the per-pair results matrix")
    st_p.add_argument("--output", "-o", metavar="FILE", help="write to a file instead of printing")
    st_bootstrap = opt.default_of(tournament_standings, "bootstrap")
    st_p.add_argument("--bootstrap", type=opt.positive, default=st_bootstrap, metavar="B",
                      help=opt.with_default("bootstrap resamples", st_bootstrap))
    opt.add_json(st_p, "print one JSON object (tournament, standings, matrix)")
    st_p.add_argument("--list", action="store_true", help="list the tournaments in the database")
    add_check_arguments(sub)
    try:
        from .publish import add_publish_arguments
    except ImportError:   # noqa: the publishing module is optional while it is being written
        pass
    else:
        add_publish_arguments(sub)


def build_config(args: argparse.Namespace) -> tuple[TournamentConfig, dict]:
    """The `TournamentConfig` and the run options (db, replay_dir, workers, backend, ray_address) from args + TOML.

    Raises ``ValueError`` (or ``OSError`` for the TOML file) for settings that cannot make a tournament.
    """
    file = load_toml(args.config) if getattr(args, "config", None) else {}
    defaults = _defaults()

    def pick(name: str, default=None):
        value = getattr(args, name, None)
        return value if value is not None else file.get(name, defaults.get(name, default))

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
    config = TournamentConfig(agents=entries, games_per_pair=int(pick("games_per_pair")),
                              game=game_config(pick("preset"), file.get("game")),
                              seed=int(pick("seed")), max_turns=int(pick("max_turns") or 0) or None,
                              limits=Limits(**limits))
    from .swiss import swiss_options

    fmt, rounds = swiss_options(args, len(entries), file)
    options = {"format": fmt, "rounds": rounds, "db": pick("db"), "replay_dir": pick("replay_dir"),
               "workers": int(pick("workers")),
               "backend": pick("backend"), "ray_address": pick("ray_address"), "sandbox": pick("sandbox")}
    return config, options


def check_agents_exist(config: TournamentConfig) -> None:
    """A `UsageError` for an agent that names nothing: an unknown name, a file or checkpoint that does not exist.

    Agents are not imported here (only ever in their own process); one that exists but fails to load
    forfeits its games, as a broken submission should.
    """
    from ..spec import BUILTIN, shipped_agents

    known = [*BUILTIN, *(n for n in shipped_agents() if n not in BUILTIN)]
    for e in config.agents:
        target, cls = opt.split_target(e.run_spec)
        if opt.is_path(target):
            if not Path(target).is_file():
                raise UsageError(f"agent {e.spec!r}: {target} does not exist")
        elif cls is None and target not in known:
            raise UsageError(f"unknown agent {e.spec!r}: not a built-in or shipped agent ({', '.join(known)}), "
                             "a file, a checkpoint or package.module:Class")


def _run(args: argparse.Namespace) -> int:
    from .runner import run_tournament

    with opt.user_errors(ValueError, OSError):
        config, options = build_config(args)
    check_agents_exist(config)
    from .sandbox import SandboxUnavailable, check_sandbox

    with opt.user_errors(SandboxUnavailable):
        check_sandbox(options["sandbox"])
    kwargs = dict(replay_dir=options["replay_dir"], workers=options["workers"], backend=options["backend"],
                  ray_address=options["ray_address"], progress=not args.quiet, bootstrap=args.bootstrap,
                  sandbox=options["sandbox"])
    if options["format"] == "swiss":
        from .swiss import run_swiss

        outcome = run_swiss(config, options["db"], options["rounds"], **kwargs)
    else:
        outcome = run_tournament(config, options["db"], **kwargs)
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
        raise UsageError(f"{args.db}: no such database")
    if args.list:
        with TournamentStore(args.db) as store:
            for t in store.tournaments():
                names = ", ".join(a["name"] for a in t["agents"])
                print(f"{t['id']}  {t['created']}  {t['recorded']}/{t['scheduled']} games  seed {t['seed']}  {names}")
        return 0
    from .swiss import is_swiss, swiss_tournament_standings

    with opt.user_errors(ValueError):   # an unknown or ambiguous --tournament id
        info, rows, matrix = tournament_standings(args.db, args.tournament, bootstrap=args.bootstrap)
        if is_swiss(info):
            info, rows, matrix = swiss_tournament_standings(args.db, info["id"], bootstrap=args.bootstrap)
    with TournamentStore(args.db) as store:
        problems = store.replay_problems(info["id"])
    for key, problem in problems.items():
        print(f"warning: game {key}: {problem}", file=sys.stderr)
    if args.json:
        text = json.dumps({"tournament": info["id"], "games": info["recorded"], "scheduled": info["scheduled"],
                           "standings": rows, "matrix": matrix, "replay_problems": problems}, indent=2) + "\n"
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
    if problems:
        print(f"{len(problems)} replay(s) missing or changed since their games were recorded: the results of those "
              "games cannot be checked against their replays", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "run":
        return _run(args)
    if args.action == "check":
        from .check import run_check

        return run_check(args)
    if args.action == "publish":
        from .publish import run_publish

        return run_publish(args)
    return _standings(args)
