"""``pyrat play A B [...]``: play games between agents and print a summary (the logic is `pyrat_rl.agents.match`).

Examples::

    pyrat play greedy random --games 20 --seed 1
    pyrat play opportunist greedy --games 100 --no-time-limit --json
    pyrat play my_player.py:MyPlayer greedy --maze recorded.json.gz --replay-dir replays/
    pyrat play search greedy --watch
    pyrat play alice=students/a.py bob=students/b.py --max-turns 0

With two agents and an even ``--games`` the games are paired (each maze played twice, seats
swapped). Time limits default to the official match mode: 3 s of preprocessing, 0.1 s a turn. A
game stops after `DEFAULT_MAX_TURNS` turns, as in tournaments (``--max-turns 0``: no limit, as the
official game; two agents that never eat would then play forever). Agents are named as ``pyrat
tournament`` names them (`pyrat_env.cli_options.name_agents`): ``NAME=SPEC``, else from the spec.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from pyrat_env import cli_options as opt
from pyrat_env.cli_options import UsageError
from pyrat_env.mazes import PRESETS

from .match import DEFAULT_MAX_TURNS, DEFAULT_PREPROCESSING_TIME, DEFAULT_TURN_TIME, play_series, setups_from_file

SUMMARY = "play games between agents and print a summary (replays optional)"  # pyrat --help


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a time limit must be >= 0, got {text}")
    return None if value == 0 else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("agents", nargs="+", metavar="AGENT", type=opt.agent_arg,
                        help=f"agents, one per player: {opt.AGENT_HELP}")
    parser.add_argument("--games", "-n", type=opt.positive, default=opt.default_of(play_series, "games"), metavar="N",
                        help=opt.with_default("number of games (even with two agents: paired games, seats swapped)",
                                              opt.default_of(play_series, "games")))
    opt.add_seed(parser, opt.default_of(play_series, "seed"), "series seed: gives every game's seed")
    opt.add_preset(parser, opt.default_of(play_series, "config"))
    parser.add_argument("--maze", metavar="FILE",
                        help="play on the maze, cheese and start cells of a trace or replay file "
                             "(the i-th agent takes the i-th player's start cell)")
    parser.add_argument("--maze-index", type=int, default=None, metavar="I",
                        help="with --maze: use only the I-th game of the file (default: every game in turn)")
    opt.add_max_turns(parser, DEFAULT_MAX_TURNS, "stop a game after T turns")
    parser.add_argument("--replay-dir", metavar="DIR", help="write one replay per game (.json.gz) in DIR")
    parser.add_argument("--preprocessing-time", type=_seconds, default=DEFAULT_PREPROCESSING_TIME, metavar="S",
                        help=opt.with_default("seconds for preprocessing, 0 for no limit", DEFAULT_PREPROCESSING_TIME))
    parser.add_argument("--turn-time", type=_seconds, default=DEFAULT_TURN_TIME, metavar="S",
                        help=opt.with_default("seconds per turn, 0 for no limit (agents called directly, fastest)",
                                              DEFAULT_TURN_TIME))
    parser.add_argument("--no-time-limit", action="store_true", help="no time limits at all (same as both set to 0)")
    parser.add_argument("--unpaired", action="store_true", help="do not pair games, even with an even number")
    parser.add_argument("--watch", action="store_true", help="watch the games live in a window")
    parser.add_argument("--watch-speed", type=float, default=None, metavar="X",
                        help="turns per second shown by --watch")
    opt.add_json(parser, "print one JSON object (games, wins, draws, mean_scores, timeouts, errors, ...)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no per-game progress lines")


def _make_watcher(speed: float | None):
    try:
        from pyrat_env.viewer.live import LiveWatcher
    except ImportError as exc:
        raise UsageError(f"--watch: the live viewer (pyrat_env.viewer.live) is not available: {exc}") from None
    return LiveWatcher() if speed is None else LiveWatcher(speed=speed)


def run(args: argparse.Namespace) -> int:
    from .spec import AgentSpecError

    with opt.user_errors(ValueError):
        agents = opt.name_agents(args.agents)   # as 'pyrat tournament' names them
    max_turns = args.max_turns or None
    pre, turn = args.preprocessing_time, args.turn_time
    if args.no_time_limit:
        pre = turn = None
    setups = None
    if args.maze:
        with opt.user_errors(ValueError, OSError):   # ReplayError is a ValueError
            setups = setups_from_file(args.maze, args.maze_index, max_turns)
        n_players, what = len(setups[0].starts), args.maze
    else:
        n_players, what = PRESETS[args.preset].n_players, f"preset {args.preset!r}"
    if n_players != len(agents):
        raise UsageError(f"{what} has {n_players} players; give {n_players} agents (got {len(agents)})")
    paired = False if args.unpaired or len(agents) != 2 or args.games % 2 else None
    watcher = _make_watcher(args.watch_speed) if args.watch else None

    def progress(i, result) -> None:
        if args.quiet or args.json:
            return
        scores = ", ".join(f"{n} {s:g}" for n, s in zip(result.names, result.scores))
        outcome = "draw" if result.winner is None else f"{result.winner} wins"
        print(f"game {i + 1}/{args.games}: {scores}: {outcome} ({result.reason}, {result.turns} turns)", flush=True)

    # in --json mode stdout carries the JSON alone: what agents print (students do) goes to stderr
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    try:
        with quiet_stdout, opt.user_errors(AgentSpecError):   # says what was tried
            series = play_series([spec for _, spec in agents], names=[name for name, _ in agents],
                                 games=args.games, seed=args.seed, config=args.preset, setups=setups, paired=paired,
                                 preprocessing_time=pre, turn_time=turn, max_turns=max_turns,
                                 replay_dir=args.replay_dir, keep_results=False, observer=watcher,
                                 progress=progress)
    finally:
        if watcher is not None:
            watcher.close()
    if args.json:
        out = series.to_dict()
        out["preset"] = None if args.maze else args.preset
        out["maze"] = args.maze
        out["time_limits"] = {"preprocessing": pre, "turn": turn}
        out["max_turns"] = max_turns
        print(json.dumps(out))
    else:
        print(series.summary())
    return 0
