"""Replay files: the versioned record of a game, shared by matches, tournaments, datasets and the viewer.

Format ``pyrat-replay/1`` (JSON, gzipped when the name ends in ``.gz``) extends the official trace
format ``pyrat-game-trace/1`` (the format of the games recorded from pyrat-game; ``tests/data/traces``
holds a few): the trace keys keep their meaning, and the others are additions.

=================  ===========================================================================
key                meaning
=================  ===========================================================================
``format``         ``"pyrat-replay/1"``
``width``          grid width (cells are ``row * width + col``, row 0 at the top)
``height``         grid height
``maze``           ``{"cell": {"neighbour": weight}}``, every existing cell a key; weight 1 passage, >1 mud
``cheese``         initial cheese cells, in official order
``players``        in seat order: ``name``, ``team``, ``agent`` (what played), ``start`` (cell),
                   ``actions`` (one name per turn the player was asked, none while in mud),
                   ``think_times`` (seconds per asked turn, same length as ``actions``),
                   ``preprocessing_time`` (seconds), ``timeouts`` (count), ``errors``
                   (list of ``{"turn", "kind", "message"}``)
``states``         every state from turn 0 to the end: ``turn``, ``locations``, ``scores``,
                   ``muds`` (``{"target", "count"}``), ``cheese`` (remaining, in order)
``stats``          ``turns`` (move turns, ``len(states) - 2``) and final ``scores``, as in traces
``config``         the `GameConfig` as a dict, or null for a maze taken from a file
``seed``           the game's seed, or null
``result``         ``scores``, ``team_scores``, ``winner`` (team label, null on a draw), ``draw``,
                   ``reason`` (``all_cheese_eaten``, ``ranking_decided``, ``max_turns``,
                   ``forfeit``), ``turns``; tournaments add ``forfeits`` (by player name:
                   ``{"turn", "kind", "message"}``)
``created``        UTC time of writing (ISO 8601); ``software``: the writer's name and version
=================  ===========================================================================

The format is stated as a JSON Schema, shipped as ``pyrat_env/schemas/replay.schema.json`` (see
`pyrat_env.schemas`). `load_game_file` reads traces and replays alike (one game or a list of games) and
raises `ReplayError` naming the file, the JSON path and what is wrong; `validate_game` checks one game, by
hand (no dependency) or against the schema (with the jsonschema package).
"""

from __future__ import annotations

import gzip
import json
import os
import reprlib
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from . import schemas
from .engine import ACTION_INDEX, Maze, MazeError

REPLAY_FORMAT = "pyrat-replay/1"
TRACE_FORMAT = "pyrat-game-trace/1"
KNOWN_FORMATS = (REPLAY_FORMAT, TRACE_FORMAT)
SOFTWARE = "pyrat-rl 0.1.0"


class ReplayError(ValueError):
    """A game file that cannot be read; the message names the file and the problem."""


def _open_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReplayError(f"{path}: truncated or corrupt gzip data ({exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReplayError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


VALIDATIONS = ("hand", "schema", "auto")


def validation_method(validation: str = "auto") -> str:
    """What `validate_game` does for ``validation``: ``"schema"`` or ``"hand"`` (``"auto"``: the JSON Schema
    when the jsonschema package is installed, the hand checks otherwise)."""
    if validation not in VALIDATIONS:
        raise ValueError(f"validation must be one of {', '.join(VALIDATIONS)}, not {validation!r}")
    if validation == "auto":
        return "schema" if schemas.available() else "hand"
    return validation


def load_game_file(path: str | os.PathLike, *, validation: str = "hand") -> list[dict]:
    """All games in a trace or replay file (``.json`` or ``.json.gz``, one game or a list), validated.

    ``validation`` as in `validate_game`. A problem is raised as `ReplayError`, one line: the file, the JSON
    path (``$`` is the file's content: ``$[2]`` the third game of a list) and what is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise ReplayError(f"{path}: no such file")
    if path.is_dir():
        raise ReplayError(f"{path}: is a directory, not a game file")
    text = _open_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{path}: invalid or truncated JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") \
            from None
    games = data if isinstance(data, list) else [data]
    if not games:
        raise ReplayError(f"{path}: the file holds an empty list of games")
    for i, game in enumerate(games):
        validate_game(game, str(path), validation=validation, path="$" if data is game else f"$[{i}]")
    return games


def load_replay(path: str | os.PathLike) -> dict:
    """The single game of a replay or trace file (the first one if the file holds a list)."""
    return load_game_file(path)[0]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_game(game: object, where: str = "game", *, validation: str = "hand", path: str = "$") -> None:
    """Check a trace or replay dict; raise `ReplayError` (``"WHERE: JSON_PATH: problem"``) on the first problem.

    ``validation="hand"`` runs the checks below, which need nothing but this package: the structure the
    engine and the readers rely on, and what a JSON Schema cannot say (a maze whose edges join grid
    neighbours both ways, unique player names, states naming every player). ``"schema"`` checks the game
    against the shipped JSON Schema first (``pyrat_env/schemas/replay.schema.json``, stricter: every key and
    type of the format; needs the jsonschema package), then runs the same checks; ``"auto"`` uses the schema
    when jsonschema is installed. ``path`` is the game's JSON path in its file.
    """
    if validation_method(validation) == "schema":
        problem = schemas.game_error(game, path)
        if problem is not None:
            raise ReplayError(f"{where}: {problem}")

    def need(cond: bool, parts: tuple, msg: str) -> None:
        if not cond:
            raise ReplayError(f"{where}: {schemas.json_path(parts, path)}: {msg}")

    need(isinstance(game, Mapping), (), f"a game must be a JSON object, not {type(game).__name__}")
    fmt = game.get("format")
    need(fmt in KNOWN_FORMATS, ("format",), f"is {reprlib.repr(fmt)}; expected one of {', '.join(KNOWN_FORMATS)}")
    for key in ("width", "height", "maze", "cheese", "players", "states"):
        need(key in game, (), f"missing field '{key}'")
    for key in ("width", "height"):
        need(_is_int(game[key]) and game[key] > 0, (key,), f"must be a positive integer, got {reprlib.repr(game[key])}")
    need(isinstance(game["maze"], Mapping) and game["maze"], ("maze",), "must be a non-empty object")
    try:
        maze_from_game(game)
        maze_problem = None
    except (MazeError, ValueError, TypeError) as exc:
        maze_problem = str(exc)
    need(maze_problem is None, ("maze",), str(maze_problem))
    cheese = game["cheese"]
    need(isinstance(cheese, list) and all(_is_int(c) for c in cheese), ("cheese",), "must be a list of cell indices")
    players = game["players"]
    need(isinstance(players, list) and players, ("players",), "must be a non-empty list")
    names = []
    for p, player in enumerate(players):
        need(isinstance(player, Mapping), ("players", p), "must be an object")
        for key in ("name", "start", "actions"):
            need(key in player, ("players", p), f"missing field '{key}'")
        need(_is_int(player["start"]), ("players", p, "start"),
             f"must be a cell index, got {reprlib.repr(player['start'])}")
        acts = player["actions"]
        need(isinstance(acts, list), ("players", p, "actions"), "must be a list")
        for t, a in enumerate(acts):
            need(isinstance(a, str) and a in ACTION_INDEX, ("players", p, "actions", t),
                 f"{reprlib.repr(a)} is not an action name")
        names.append(str(player["name"]))
    need(len(set(names)) == len(names), ("players",), f"player names must be unique, got {names}")
    states = game["states"]
    need(isinstance(states, list) and len(states) >= 1, ("states",), "must be a non-empty list")
    for t, st in enumerate(states):
        need(isinstance(st, Mapping), ("states", t), "must be an object")
        for key in ("turn", "locations", "scores", "muds", "cheese"):
            need(key in st, ("states", t), f"missing field '{key}'")
        need(isinstance(st["locations"], Mapping) and set(st["locations"]) == set(names), ("states", t, "locations"),
             f"must name every player ({', '.join(map(repr, names))}) and no other")


def maze_from_game(game: Mapping) -> Maze:
    """The `Maze` of a trace or replay dict (width and height taken from the file, never inferred)."""
    return Maze.from_dict(game["maze"], int(game["width"]), int(game["height"]))


def save_replay(replay: Mapping, path: str | os.PathLike) -> Path:
    """Write a replay dict (gzipped if the name ends in ``.gz``); parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(replay, separators=(",", ":")).encode("utf-8")
    tmp = path.with_name(path.name + ".part")
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    tmp.write_bytes(data)
    os.replace(tmp, path)  # never leave a half-written replay under the final name
    return path


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- building replays (shared by the match runner and the tournament) -------------------------------------
ACTION_STAT_KEYS = ("nothing", "north", "east", "south", "west", "mud", "error", "miss", "wall")


def start_replay(maze: Maze, cheese, starts, names, teams, agents, first_state: dict,
                 config: dict | None, seed: int | None) -> dict:
    """A replay under construction: every key of the format, ``states`` holding the turn-0 state.

    ``players[p]["actions"]``, ``["think_times"]`` and ``["errors"]`` are fresh lists the caller appends
    to; ``stats`` and ``result`` are filled in by `finish_replay`.
    """
    n = len(starts)
    return {
        "format": REPLAY_FORMAT, "width": maze.width, "height": maze.height,
        "maze": maze.to_dict(), "cheese": [int(c) for c in cheese],
        "players": [{"name": names[p], "team": teams[p], "agent": agents[p], "start": int(starts[p]),
                     "actions": [], "think_times": [], "preprocessing_time": None,
                     "timeouts": 0, "errors": []} for p in range(n)],
        "states": [first_state], "stats": None, "config": config,
        "seed": None if seed is None else int(seed), "result": None,
        "created": utc_now(), "software": SOFTWARE,
    }


def end_reason(game) -> str:
    """Why a finished `Game` ended: ``max_turns``, ``all_cheese_eaten`` or ``ranking_decided``."""
    if game.truncated:
        return "max_turns"
    return "all_cheese_eaten" if not game.cheese else "ranking_decided"


def game_result(game, names, teams) -> dict:
    """The ``result`` of a finished game: scores, team scores, winner (a team label) or draw, reason, turns.

    With one team, that team wins; otherwise the single team with the best score, or a draw.
    """
    scores = [float(s) for s in game.scores]
    team_order = list(dict.fromkeys(teams))
    team_scores = {t: float(s) for t, s in zip(team_order, game.team_scores())}
    best = max(team_scores.values())
    leaders = [t for t, s in team_scores.items() if s == best]
    if len(team_scores) == 1:
        winner = team_order[0]
    else:
        winner = leaders[0] if len(leaders) == 1 else None
    return {"scores": dict(zip(names, scores)), "team_scores": team_scores, "winner": winner,
            "draw": winner is None, "reason": end_reason(game), "turns": game.moves_played}


def forfeit_result(result: dict, forfeits: dict[str, dict], standing: set) -> dict:
    """Turn a `game_result` into a forfeit's (in place, returned): reason ``forfeit``, ``forfeits`` (by player
    name: ``kind``, ``message``, ``turn``), and the winner the one team still standing (a draw otherwise)."""
    result["reason"] = "forfeit"
    result["winner"] = next(iter(standing)) if len(standing) == 1 else None
    result["draw"] = result["winner"] is None
    result["forfeits"] = forfeits
    return result


def finish_replay(replay: dict, result: dict, preprocessing_times, timeouts) -> dict:
    """Fill in ``stats``, ``result`` and the per-player totals of a replay built with `start_replay`."""
    for pl, prep, t in zip(replay["players"], preprocessing_times, timeouts):
        pl["preprocessing_time"] = None if prep is None else round(prep, 6)
        pl["timeouts"] = t
    replay["stats"] = {"turns": result["turns"], "scores": dict(result["scores"])}
    replay["result"] = result
    return replay
