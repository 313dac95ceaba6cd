"""Replay files: the versioned record of a game, shared by matches, tournaments, datasets and the viewer.

Format ``pyrat-replay/1`` (JSON, gzipped when the name ends in ``.gz``) extends the official trace
format ``pyrat-game-trace/1`` (``../shared/pyrat-game-traces/README.md``): the trace keys keep their
meaning, and the others are additions.

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
                   ``forfeit``), ``turns``
``created``        UTC time of writing (ISO 8601); ``software``: the writer's name and version
=================  ===========================================================================

`load_game_file` reads traces and replays alike (one game or a list of games) and raises
`ReplayError` naming the file and what is wrong.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

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


def load_game_file(path: str | os.PathLike) -> list[dict]:
    """All games in a trace or replay file (``.json`` or ``.json.gz``, one game or a list), validated."""
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
        where = f"{path}" if len(games) == 1 else f"{path}: game {i}"
        validate_game(game, where)
    return games


def load_replay(path: str | os.PathLike) -> dict:
    """The single game of a replay or trace file (the first one if the file holds a list)."""
    return load_game_file(path)[0]


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise ReplayError(f"{where}: {msg}")


def validate_game(game: object, where: str = "game") -> None:
    """Check the structure of a trace or replay dict; raise `ReplayError` on the first problem."""
    _need(isinstance(game, Mapping), where, f"a game must be a JSON object, not {type(game).__name__}")
    fmt = game.get("format")
    _need(fmt in KNOWN_FORMATS, where, f"field 'format' is {fmt!r}; expected one of {', '.join(KNOWN_FORMATS)}")
    for key in ("width", "height", "maze", "cheese", "players", "states"):
        _need(key in game, where, f"missing field '{key}'")
    w, h = game["width"], game["height"]
    _need(isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0, where,
          f"fields 'width' and 'height' must be positive integers, got {w!r} and {h!r}")
    _need(isinstance(game["maze"], Mapping) and game["maze"], where, "field 'maze' must be a non-empty object")
    try:
        maze_from_game(game)
    except (MazeError, ValueError, TypeError) as exc:
        raise ReplayError(f"{where}: field 'maze': {exc}") from None
    cheese = game["cheese"]
    _need(isinstance(cheese, list) and all(isinstance(c, int) for c in cheese), where,
          "field 'cheese' must be a list of cell indices")
    players = game["players"]
    _need(isinstance(players, list) and players, where, "field 'players' must be a non-empty list")
    names = []
    for p, player in enumerate(players):
        _need(isinstance(player, Mapping), where, f"players[{p}] must be an object")
        for key in ("name", "start", "actions"):
            _need(key in player, where, f"players[{p}] is missing '{key}'")
        _need(isinstance(player["start"], int), where, f"players[{p}].start must be a cell index")
        acts = player["actions"]
        _need(isinstance(acts, list), where, f"players[{p}].actions must be a list")
        for t, a in enumerate(acts):
            _need(a in ACTION_INDEX, where, f"players[{p}].actions[{t}] is {a!r}, not an action name")
        names.append(str(player["name"]))
    _need(len(set(names)) == len(names), where, f"player names must be unique, got {names}")
    states = game["states"]
    _need(isinstance(states, list) and len(states) >= 1, where, "field 'states' must be a non-empty list")
    for t, st in enumerate(states):
        _need(isinstance(st, Mapping), where, f"states[{t}] must be an object")
        for key in ("turn", "locations", "scores", "muds", "cheese"):
            _need(key in st, where, f"states[{t}] is missing '{key}'")
        _need(isinstance(st["locations"], Mapping) and set(st["locations"]) == set(names), where,
              f"states[{t}].locations must name every player")


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


def finish_replay(replay: dict, result: dict, preprocessing_times, timeouts) -> dict:
    """Fill in ``stats``, ``result`` and the per-player totals of a replay built with `start_replay`."""
    for pl, prep, t in zip(replay["players"], preprocessing_times, timeouts):
        pl["preprocessing_time"] = None if prep is None else round(prep, 6)
        pl["timeouts"] = t
    replay["stats"] = {"turns": result["turns"], "scores": dict(result["scores"])}
    replay["result"] = result
    return replay
