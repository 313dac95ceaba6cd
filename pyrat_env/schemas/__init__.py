"""JSON Schemas of the project's file formats, shipped with the package, and the check of a game against them.

``replay.schema.json`` (JSON Schema draft 2020-12) states the game file format: one game or a list of
games, each an official trace (``pyrat-game-trace/1``) or a replay of this project (``pyrat-replay/1``,
a trace plus its own keys). One schema with the trace as the base, because a replay *is* a trace with
additions: one checker reads both, and a change to the shared keys is made once.

Checking needs the ``jsonschema`` package (in the ``dev`` extra), which the runtime never requires:
`available` says whether it is installed, and `pyrat_env.replay.validate_game` falls back to its hand
checks without it. `load_schema` gives the schema as shipped (to publish it or to check it against the
metaschema); `game_error` checks one game.
"""

from __future__ import annotations

import copy
import json
import re
import reprlib
from functools import cache
from importlib import resources

REPLAY_SCHEMA = "replay.schema.json"
_MAX_MESSAGE = 200  # a wrong value is quoted in the message; keep the line short when it is a big one


class SchemaUnavailable(RuntimeError):
    """The ``jsonschema`` package is not installed."""


def load_schema(name: str = REPLAY_SCHEMA) -> dict:
    """The schema ``name`` as shipped (a fresh copy: callers may change it)."""
    return copy.deepcopy(_shipped(name))


@cache
def _shipped(name: str) -> dict:
    return json.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))


def _jsonschema():
    """The jsonschema module, or None; imported on each call so that a test can hide it."""
    try:
        import jsonschema
    except ImportError:
        return None
    return jsonschema


def available() -> bool:
    """Whether games can be checked against the schema (the ``jsonschema`` package is installed)."""
    return _jsonschema() is not None


def validator_version() -> str | None:
    """The installed jsonschema's version, or None."""
    if _jsonschema() is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jsonschema")
    except PackageNotFoundError:  # pragma: no cover - imported but not installed as a distribution
        return "unknown"


def _inline_refs(node, defs: dict):
    """``node`` with every local ``$ref`` replaced by its target (the schema has no recursion).

    Resolving a ``$ref`` costs jsonschema a lookup on every use: inlined, checking the official traces
    takes about 2.5 times less time. The result means exactly what the shipped schema means.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        rest = {k: _inline_refs(v, defs) for k, v in node.items() if k not in ("$ref", "$defs")}
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
            return {"allOf": [target, rest]} if rest else target
        return rest
    if isinstance(node, list):
        return [_inline_refs(x, defs) for x in node]
    return node


@cache
def _game_validator():
    jsonschema = _jsonschema()
    schema = _shipped(REPLAY_SCHEMA)
    game = _inline_refs(schema["$defs"]["game"], schema["$defs"])
    game["$schema"] = schema["$schema"]
    return jsonschema.Draft202012Validator(game)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(parts, root: str = "$") -> str:
    """A JSON path: ``$.players[0].actions[3]``; a key that is not an identifier is bracketed (``$.maze['12']``)."""
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


_REPR = reprlib.Repr()  # keyword arguments need Python 3.12
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 3, 40, 40


def _message(error) -> str:
    """jsonschema's message on one short line: a big wrong value, quoted first, is abridged (``[0, 1, ...]``)."""
    message = error.message
    if len(message) > _MAX_MESSAGE:
        quoted = repr(error.instance)
        if message.startswith(quoted):
            message = _REPR.repr(error.instance) + message[len(quoted):]
    message = " ".join(message.split())
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def game_error(game: object, path: str = "$") -> str | None:
    """The most relevant way ``game`` breaks the schema, as ``"JSON_PATH: problem"``, or None if it is valid.

    ``path`` is the JSON path of the game in its file (``$`` for a file holding one game, ``$[2]`` for
    the third game of a list). Raises `SchemaUnavailable` if jsonschema is not installed.
    """
    jsonschema = _jsonschema()
    if jsonschema is None:
        raise SchemaUnavailable("checking against the JSON Schema needs the 'jsonschema' package")
    error = jsonschema.exceptions.best_match(_game_validator().iter_errors(game))
    if error is None:
        return None
    return f"{json_path(error.absolute_path, path)}: {_message(error)}"
