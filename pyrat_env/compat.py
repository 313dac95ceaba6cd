"""``pyrat compat check``: does the engine reproduce recorded games, state by state?

Reads official traces (``pyrat-game-trace/1``, recorded by pyrat-game) and this project's replays
(``pyrat-replay/1``), one game or a list per ``.json`` / ``.json.gz`` file, and replays every game
through the engine: the maze comes from the file with the file's width and height, each player is fed
its recorded actions in turn (``nothing`` while it is in mud, when it is not asked), and turn 0 is the
preprocessing step in which nobody moves. Every state is compared with the recorded one: turn,
locations, mud target and count, scores, and the remaining cheese in order. The game must end exactly
at the last recorded state (by the rules, or by truncation at ``config.max_turns`` for a replay whose
``result.reason`` is ``max_turns``), with every recorded action used. A replay that ended by
``forfeit`` stops early by design: its states are compared, but not its end.

Before any game is replayed, each file is checked against the format's JSON Schema
(``pyrat_env/schemas/replay.schema.json``) when the jsonschema package is installed, and by the hand
checks of `pyrat_env.replay.validate_game` otherwise; ``--json`` and ``--verbose`` say which.

The logic is importable: `check_game` (one game dict -> `Mismatch` or None), `check_file`, and
`check_files` (paths -> `CompatReport`); `run` is the CLI on top of them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from . import cli_options, schemas
from .cli_options import UsageError
from .engine import ACTION_INDEX, Game
from .replay import REPLAY_FORMAT, ReplayError, load_game_file, maze_from_game, validation_method

SUMMARY = "check that the engine reproduces official traces and replays"  # pyrat --help


@dataclass(frozen=True)
class Mismatch:
    """The first place where the engine and a recorded game disagree.

    ``turn`` is the turn of the state concerned (None for the set-up, before any state); ``field``
    names what differs (``locations['rat']``, ``muds['rat'].count``, ``cheese``, ``end``, ...);
    ``message`` says it in words, with the recorded and the engine's values.
    """

    turn: int | None
    field: str
    message: str

    def __str__(self) -> str:
        return self.message if self.turn is None else f"turn {self.turn}: {self.message}"


@dataclass
class FileResult:
    """The check of one file: the number of games, their mismatches, or why it could not be read."""

    path: str
    games: int = 0
    mismatches: list[tuple[int, Mismatch]] = field(default_factory=list)
    error: str | None = None

    @property
    def reproduced(self) -> int:
        return self.games - len(self.mismatches)

    @property
    def counted(self) -> int:
        """Games counted in the total: an unreadable file counts as one failed game."""
        return 1 if self.error is not None else self.games


@dataclass
class CompatReport:
    """The check of several files; ``validation`` is how they were validated (``"schema"`` or ``"hand"``)."""

    files: list[FileResult] = field(default_factory=list)
    validation: str = "hand"

    @property
    def reproduced(self) -> int:
        return sum(f.reproduced for f in self.files if f.error is None)

    @property
    def total(self) -> int:
        return sum(f.counted for f in self.files)

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.reproduced == self.total

    def lines(self) -> list[str]:
        """One line per problem: ``FILE game I: turn T: message``, or the file's read error."""
        out = []
        for f in self.files:
            if f.error is not None:
                out.append(f.error)
            for i, m in f.mismatches:
                out.append(f"{f.path} game {i}: {m}")
        return out

    def summary(self) -> str:
        return f"reproduced {self.reproduced}/{self.total} games"

    def validation_line(self) -> str:
        """How the files were validated, in words (printed in verbose mode)."""
        if self.validation == "schema":
            return f"files validated against the JSON Schema (jsonschema {schemas.validator_version()})"
        return "files validated by the hand checks of pyrat_env.replay (jsonschema is not installed)" \
            if not schemas.available() else "files validated by the hand checks of pyrat_env.replay"

    def to_dict(self) -> dict:
        return {
            "reproduced": self.reproduced,
            "total": self.total,
            "ok": self.ok,
            "validation": self.validation,
            "files": [{"path": f.path, "games": f.games, "reproduced": f.reproduced if f.error is None else 0,
                       "error": f.error,
                       "mismatches": [{"game": i, **asdict(m)} for i, m in f.mismatches]} for f in self.files],
        }


# -- comparing states ---------------------------------------------------------------------------------
def _fmt(value) -> str:
    return repr(value)


def _cheese_message(recorded, engine) -> str:
    if not isinstance(recorded, list):
        return f"cheese is {_fmt(recorded)} in the file, not a list"
    rec_set, eng_set = set(recorded), set(engine)
    if rec_set == eng_set:
        return f"cheese order is {recorded} in the file, {engine} by the engine"
    parts = [f"cheese: {len(recorded)} left in the file, {len(engine)} by the engine"]
    if eng_set - rec_set:
        parts.append(f"missing from the file: {sorted(eng_set - rec_set)}")
    if rec_set - eng_set:
        parts.append(f"not left by the engine: {sorted(rec_set - eng_set)}")
    return "; ".join(parts)


def _same_number(a, b) -> bool:
    return isinstance(a, (int, float)) and not isinstance(a, bool) and a == b


def compare_states(recorded: Mapping, engine: Mapping, names: Sequence[str]) -> Mismatch | None:
    """The first difference between a recorded state and the engine's, or None.

    Fields are compared in this order: turn, then for each player (in seat order) location, mud target,
    mud count and score, then the remaining cheese (content and order). Scores are compared exactly: the
    engine adds ``1 / k`` in the same order as pyrat-game.
    """
    turn = engine["turn"]
    if recorded.get("turn") != turn or isinstance(recorded.get("turn"), bool):
        return Mismatch(turn, "turn", f"state turn is {_fmt(recorded.get('turn'))} in the file, {turn} by the engine")
    for key in ("locations", "scores", "muds"):
        if not isinstance(recorded.get(key), Mapping):
            return Mismatch(turn, key, f"{key} is {_fmt(recorded.get(key))} in the file, not an object")
    for n in names:
        for key in ("locations", "scores", "muds"):
            if n not in recorded[key]:
                return Mismatch(turn, f"{key}[{n!r}]", f"{key} has no entry for player {n!r} in the file")
        rec_loc, eng_loc = recorded["locations"][n], engine["locations"][n]
        if not _same_number(rec_loc, eng_loc):
            return Mismatch(turn, f"locations[{n!r}]",
                            f"locations[{n!r}] is {_fmt(rec_loc)} in the file, {eng_loc} by the engine")
        rec_mud, eng_mud = recorded["muds"][n], engine["muds"][n]
        if not isinstance(rec_mud, Mapping):
            return Mismatch(turn, f"muds[{n!r}]", f"muds[{n!r}] is {_fmt(rec_mud)} in the file, not an object")
        rt, et = rec_mud.get("target"), eng_mud["target"]
        if not (rt is None and et is None) and not _same_number(rt, et):
            return Mismatch(turn, f"muds[{n!r}].target",
                            f"muds[{n!r}].target is {_fmt(rt)} in the file, {_fmt(et)} by the engine")
        rc, ec = rec_mud.get("count"), eng_mud["count"]
        if not _same_number(rc, ec):
            return Mismatch(turn, f"muds[{n!r}].count",
                            f"muds[{n!r}].count is {_fmt(rc)} in the file, {ec} by the engine")
        rs, es = recorded["scores"][n], engine["scores"][n]
        if not _same_number(rs, es):
            return Mismatch(turn, f"scores[{n!r}]", f"scores[{n!r}] is {_fmt(rs)} in the file, {es!r} by the engine")
    if recorded.get("cheese") != engine["cheese"]:
        return Mismatch(turn, "cheese", _cheese_message(recorded.get("cheese"), engine["cheese"]))
    return None


# -- replaying one game -------------------------------------------------------------------------------
def _max_turns(game: Mapping) -> int | None:
    """``config.max_turns`` of a replay (traces have none: the official game has no turn limit)."""
    if game.get("format") != REPLAY_FORMAT:
        return None
    config = game.get("config")
    value = config.get("max_turns") if isinstance(config, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def _end_reason(g: Game) -> str:
    if g.truncated:
        return "max_turns"
    return "all_cheese_eaten" if not g.cheese else "ranking_decided"


def check_game(game: Mapping) -> Mismatch | None:
    """Replay one validated trace or replay dict through the engine; the first disagreement, or None."""
    result = game.get("result") if isinstance(game.get("result"), Mapping) else {}
    reason = result.get("reason")
    max_turns = _max_turns(game)
    if reason == "max_turns" and max_turns is None:
        return Mismatch(None, "result.reason", "result.reason is 'max_turns' but config.max_turns is not set")
    players = game["players"]
    names = [str(p["name"]) for p in players]
    starts = [p["start"] for p in players]
    teams = [p.get("team", names[i]) for i, p in enumerate(players)]
    for team in teams:
        if not isinstance(team, (str, int)) or isinstance(team, bool):
            return Mismatch(None, "players.team", f"team label {team!r} must be a string")
    cheese = game["cheese"]
    maze = maze_from_game(game)
    for n, s in zip(names, starts):
        if s in cheese:
            return Mismatch(None, "cheese", f"cheese {s} is on the start cell of player {n!r} "
                                            "(the official game never places cheese there)")
    try:
        g = Game(maze, cheese, starts, teams, max_turns=max_turns)
    except ValueError as exc:
        return Mismatch(None, "setup", f"the game cannot be set up: {exc}")
    actions = [[ACTION_INDEX[a] for a in p["actions"]] for p in players]
    used = [0] * len(players)
    states = game["states"]
    m = compare_states(states[0], g.snapshot(names), names)
    if m is not None:
        return m
    for i in range(1, len(states)):
        if g.over:
            return Mismatch(g.turn, "end", f"the game is over by the rules after turn {g.turn} "
                                           f"({_end_reason(g)}) but the file has {len(states) - i} more state(s)")
        step = [0] * len(players)
        if g.turn > 0:  # turn 0 is preprocessing: nobody is asked
            for p in range(len(players)):
                if g.in_mud(p):
                    continue
                if used[p] >= len(actions[p]):
                    return Mismatch(g.turn, f"players[{p}].actions",
                                    f"player {names[p]!r} is asked for an action at turn {g.turn} "
                                    f"but its {len(actions[p])} recorded actions are all used")
                step[p] = actions[p][used[p]]
                used[p] += 1
        g.step(step)
        m = compare_states(states[i], g.snapshot(names), names)
        if m is not None:
            return m
    last = g.turn
    if reason == "forfeit":
        return None
    if not g.over:
        return Mismatch(last, "end", f"the file ends at turn {last} but the game goes on by the rules "
                                     f"({len(g.cheese)} cheese left, team scores {g.team_scores()})")
    for p in range(len(players)):
        if used[p] != len(actions[p]):
            return Mismatch(last, f"players[{p}].actions",
                            f"player {names[p]!r} has {len(actions[p]) - used[p]} recorded action(s) never asked for")
    stats = game.get("stats")
    if isinstance(stats, Mapping) and "turns" in stats and stats["turns"] != len(states) - 2:
        return Mismatch(last, "stats.turns", f"stats.turns is {stats['turns']!r} in the file, "
                                             f"{len(states) - 2} by the engine")
    if reason is not None and reason != _end_reason(g):
        return Mismatch(last, "result.reason",
                        f"result.reason is {reason!r} in the file, {_end_reason(g)!r} by the engine")
    return None


def check_file(path: str | os.PathLike, validation: str = "auto") -> FileResult:
    """Check every game of one file; a file that cannot be read is reported, never raised.

    ``validation``: how the file is validated before its games are replayed (see
    `pyrat_env.replay.validate_game`; ``"auto"``: the JSON Schema when jsonschema is installed).
    """
    res = FileResult(str(path))
    try:
        games = load_game_file(path, validation=validation)
    except ReplayError as exc:
        res.error = str(exc)
        return res
    except OSError as exc:
        res.error = f"{path}: cannot read the file ({exc.strerror or exc})"
        return res
    res.games = len(games)
    for i, game in enumerate(games):
        try:
            m = check_game(game)
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # a malformed value validation let through
            m = Mismatch(None, "malformed", f"malformed game: {type(exc).__name__}: {exc}")
        if m is not None:
            res.mismatches.append((i, m))
    return res


def check_files(paths: Iterable[str | os.PathLike], validation: str = "auto") -> CompatReport:
    """Check every game of every file (``validation`` as in `check_file`)."""
    method = validation_method(validation)
    return CompatReport([check_file(p, method) for p in paths], validation=method)


# -- command line ---------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="compat_command", metavar="COMMAND", required=True)
    check = sub.add_parser("check", help="replay trace/replay files through the engine and compare every state",
                           description="Replay every game of the files through the engine and compare every state "
                                       "(turn, locations, muds, scores, remaining cheese) and the end of the game. "
                                       "Exit status 0 only if every game is reproduced.")
    check.add_argument("files", nargs="+", metavar="FILE", help=".json or .json.gz trace or replay files")
    cli_options.add_json(check, "print the report as JSON")
    check.add_argument("-v", "--verbose", action="store_true", help="also print one line per file")


def run(args: argparse.Namespace) -> int:
    # a path that names no file is a typo (a user error, exit 2); a file that is not a valid game is a failed check
    missing = [f for f in args.files if not os.path.isfile(f)]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UsageError(f"{missing[0]}: no such file{more}")
    report = check_files(args.files)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    else:
        if args.verbose:
            print(report.validation_line())
            for f in report.files:
                if f.error is None:
                    print(f"{f.path}: {f.reproduced}/{f.games} games reproduced")
        for line in report.lines():
            print(line)
        print(report.summary())
    return 0 if report.ok else 1
