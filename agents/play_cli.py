"""``pyrat play A B [...]``: play games between agents and print a summary (the logic is `pyrat_rl.agents.match`).

Examples::

    pyrat play greedy random --games 20 --seed 1
    pyrat play opportunist greedy --games 100 --no-time-limit --json
    pyrat play my_player.py:MyPlayer greedy --maze recorded.json.gz --replay-dir replays/
    pyrat play search greedy --watch

With two agents and an even ``--games`` the games are paired (each maze played twice, seats
swapped). Time limits default to the official match mode: 3 s of preprocessing, 0.1 s a turn.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from pyrat_env.mazes import PRESETS

SUMMARY = "play games between agents and print a summary (replays optional)"  # pyrat --help


def _seconds(text: str) -> float | None:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a time limit must be >= 0, got {text}")
    return None if value == 0 else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("agents", nargs="+", metavar="AGENT",
                        help="agents, one per player: a built-in name (see 'pyrat agents'), path/to/player.py:Class, "
                             "package.module:Class, or a checkpoint (.zip, .pt, .onnx)")
    parser.add_argument("--games", "-n", type=int, default=2,
                        help="number of games (even with two agents: paired games, seats swapped; default 2)")
    parser.add_argument("--seed", type=int, default=0, help="series seed: gives every game's seed (default 0)")
    parser.add_argument("--preset", default="official", choices=sorted(PRESETS),
                        help="game settings (default official)")
    parser.add_argument("--maze", metavar="FILE",
                        help="play on the maze, cheese and start cells of a trace or replay file "
                             "(the i-th agent takes the i-th player's start cell)")
    parser.add_argument("--maze-index", type=int, default=None, metavar="I",
                        help="with --maze: use only the I-th game of the file (default: every game in turn)")
    parser.add_argument("--max-turns", type=int, default=None, metavar="T", help="stop a game after T turns")
    parser.add_argument("--replay-dir", metavar="DIR", help="write one replay per game (.json.gz) in DIR")
    parser.add_argument("--preprocessing-time", type=_seconds, default=3.0, metavar="S",
                        help="seconds for preprocessing (default 3; 0: no limit)")
    parser.add_argument("--turn-time", type=_seconds, default=0.1, metavar="S",
                        help="seconds per turn (default 0.1; 0: no limit, agents called directly, fastest)")
    parser.add_argument("--no-time-limit", action="store_true", help="no time limits at all (same as both set to 0)")
    parser.add_argument("--unpaired", action="store_true", help="do not pair games, even with an even number")
    parser.add_argument("--watch", action="store_true", help="watch the games live in a window")
    parser.add_argument("--watch-speed", type=float, default=None, metavar="X",
                        help="turns per second shown by --watch")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (games, wins, draws, mean_scores, timeouts, errors, ...)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no per-game progress lines")


def _make_watcher(speed: float | None):
    try:
        from pyrat_env.viewer.live import LiveWatcher
    except ImportError as exc:
        raise SystemExit(f"pyrat play --watch: the live viewer (pyrat_env.viewer.live) is not available: {exc}") \
            from None
    return LiveWatcher() if speed is None else LiveWatcher(speed=speed)


def run(args: argparse.Namespace) -> int:
    from .match import play_series, setups_from_file

    if args.games < 1:
        print("pyrat play: --games must be at least 1", file=sys.stderr)
        return 2
    if args.max_turns is not None and args.max_turns < 1:
        print("pyrat play: --max-turns must be at least 1", file=sys.stderr)
        return 2
    pre, turn = args.preprocessing_time, args.turn_time
    if args.no_time_limit:
        pre = turn = None
    setups = None
    if args.maze:
        try:
            setups = setups_from_file(args.maze, args.maze_index, args.max_turns)
        except ValueError as exc:
            print(f"pyrat play: {exc}", file=sys.stderr)
            return 2
        n_players = len(setups[0].starts)
        if n_players != len(args.agents):
            print(f"pyrat play: {args.maze} has {n_players} players; give {n_players} agents "
                  f"(got {len(args.agents)})", file=sys.stderr)
            return 2
    else:
        n_players = PRESETS[args.preset].n_players
        if n_players != len(args.agents):
            print(f"pyrat play: preset {args.preset!r} has {n_players} players; give {n_players} agents "
                  f"(got {len(args.agents)})", file=sys.stderr)
            return 2
    paired = False if args.unpaired or len(args.agents) != 2 or args.games % 2 else None
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
        with quiet_stdout:
            series = play_series(args.agents, games=args.games,
                                 seed=args.seed, config=args.preset, setups=setups, paired=paired,
                                 preprocessing_time=pre, turn_time=turn, max_turns=args.max_turns,
                                 replay_dir=args.replay_dir, keep_results=False, observer=watcher,
                                 progress=progress)
    except ValueError as exc:  # AgentSpecError included: says what was tried
        print(f"pyrat play: {exc}", file=sys.stderr)
        return 2
    finally:
        if watcher is not None:
            watcher.close()
    if args.json:
        out = series.to_dict()
        out["preset"] = None if args.maze else args.preset
        out["maze"] = args.maze
        out["time_limits"] = {"preprocessing": pre, "turn": turn}
        print(json.dumps(out))
    else:
        print(series.summary())
    return 0
