"""The JSON Schema of game files (``pyrat_env/schemas/replay.schema.json``) is the contract between writers and readers.

It is a valid draft 2020-12 schema, shipped inside the package; it accepts every official trace and every
replay the project writes (``pyrat play --replay-dir``, tournaments: normal games, games cut by
``max_turns``, mazes read from a file, agents that raise or never load); it rejects each broken game of a
table with a one-line message naming the file, the JSON path and the problem, and the hand checks that
run without jsonschema report the same path for the problems they cover. The runtime never needs
jsonschema.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from jsonschema import Draft202012Validator

from pyrat_env import schemas
from pyrat_env.cli import main
from pyrat_env.compat import check_files
from pyrat_env.replay import ReplayError, load_game_file, validate_game, validation_method

DATA = Path(__file__).parent / "data"
SCHEMA_FILE = Path(schemas.__file__).parent / schemas.REPLAY_SCHEMA


def _raw_error(data) -> str | None:
    """The shipped schema as it is (``$ref`` and all, the root accepting a game or a list), through jsonschema
    alone: ``"JSON_PATH: message"`` of the most relevant error, or None."""
    error = jsonschema.exceptions.best_match(Draft202012Validator(schemas.load_schema()).iter_errors(data))
    return None if error is None else f"{schemas.json_path(error.absolute_path)}: {error.message}"


# -- the schema itself ------------------------------------------------------------------------------------------
def test_the_schema_is_valid_under_the_2020_12_metaschema():
    schema = schemas.load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert jsonschema.validators.validator_for(schema) is Draft202012Validator


def test_the_schema_ships_in_the_package_and_loads_as_a_fresh_copy():
    assert SCHEMA_FILE.is_file() and json.loads(SCHEMA_FILE.read_text()) == schemas.load_schema()
    a = schemas.load_schema()
    a["$defs"].clear()
    assert schemas.load_schema()["$defs"], "load_schema must not hand out the cached dict"


def test_the_format_names_are_the_ones_the_code_writes():
    from pyrat_env.replay import KNOWN_FORMATS

    assert set(schemas.load_schema()["$defs"]["trace"]["properties"]["format"]["enum"]) == set(KNOWN_FORMATS)


# -- what it accepts --------------------------------------------------------------------------------------------
def test_every_official_trace_is_valid(official_traces):
    """The whole set when ``../shared`` is there (the copies in tests/data/traces otherwise), game by game."""
    for path in official_traces.files:
        games = load_game_file(path, validation="schema")
        assert len(games) >= 1
    for path in (DATA / "traces").glob("*.json.gz"):  # whole files through the shipped schema as written
        assert _raw_error(json.loads(gzip.decompress(path.read_bytes()))) is None, path.name


@pytest.fixture(scope="module")
def real_replays(tmp_path_factory) -> list[Path]:
    """Replays written by ``pyrat play`` and ``pyrat tournament run``, in several situations."""
    out = tmp_path_factory.mktemp("replays")
    plays = [
        ["greedy", "random", "-n", "2", "--preset", "tiny"],                      # paired games, a config
        ["random", "random", "-n", "1", "--max-turns", "5"],                        # cut by max_turns
        ["greedy", "random", "random", "-n", "1", "--maze-index", "0",              # three players, maze from a file
         "--maze", str(DATA / "traces" / "three_teams.json.gz")],
    ]
    for i, args in enumerate(plays):
        assert main(["play", *args, "--no-time-limit", "--quiet", "--replay-dir", str(out / f"play{i}")]) == 0
    tour = DATA / "tournament"
    rc = main(["tournament", "run", "--agents", "greedy", str(tour / "raiser.py"), str(tour / "broken_import.py"),
               "--seed", "3", "--db", str(out / "t.sqlite"), "--replay-dir", str(out / "tournament"),
               "--workers", "2", "--preset", "tiny", "--turn-time", "1", "--preprocessing-time", "3",
               "--memory-mb", "1024", "--quiet"])
    assert rc == 0
    files = sorted(out.glob("*/*.json.gz"))
    assert len(files) == 2 + 1 + 1 + 6
    return files


def test_every_replay_the_project_writes_is_valid(real_replays):
    reasons = set()
    for path in real_replays:
        data = json.loads(gzip.decompress(path.read_bytes()))
        assert _raw_error(data) is None, path
        assert schemas.game_error(data) is None, path
        reasons.add(data["result"]["reason"])
    assert reasons >= {"max_turns", "forfeit"} and reasons & {"all_cheese_eaten", "ranking_decided"}
    report = check_files(real_replays, validation="schema")
    assert report.ok, report.lines()


# -- what it rejects --------------------------------------------------------------------------------------------
def _set(path: tuple, value):
    def change(game):
        node = game
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _delete(path: tuple):
    def change(game):
        node = game
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


def _append_to(path: tuple, value):
    def change(game):
        node = game
        for key in path:
            node = node[key]
        node.append(value)
    return change


def _rename_player(game):
    game["players"][1]["name"] = game["players"][0]["name"]


def _as_trace_without_stats(game):
    game["format"] = "pyrat-game-trace/1"
    del game["stats"]


# (id, change, JSON path of the problem, words of the message, path reported by the hand checks or None when
# only the schema covers it). The base is a tiny greedy-against-random replay: players "greedy" and "random".
BROKEN = [
    ("unknown_format", _set(("format",), "pyrat-replay/2"), "$.format", "is not one of", "$.format"),
    ("no_maze", _delete(("maze",)), "$", "'maze' is a required property", "$"),
    ("width_as_text", _set(("width",), "7"), "$.width", "is not of type 'integer'", "$.width"),
    ("zero_height", _set(("height",), 0), "$.height", "less than the minimum of 1", "$.height"),
    ("cell_key_not_a_number", _set(("maze", "x"), {}), "$.maze", "'x' does not match", "$.maze"),
    ("mud_weight_zero", _set(("maze", "0", "1"), 0), "$.maze['0']['1']", "less than the minimum of 1", "$.maze"),
    ("cheese_twice", _set(("cheese",), [3, 3]), "$.cheese", "non-unique elements", None),
    ("start_not_a_cell", _set(("players", 0, "start"), "3"), "$.players[0].start", "not of type 'integer'",
     "$.players[0].start"),
    ("negative_start", _set(("players", 1, "start"), -1), "$.players[1].start", "less than the minimum of 0", None),
    ("unknown_action", _set(("players", 0, "actions", 2), "jump"), "$.players[0].actions[2]", "'jump' is not one of",
     "$.players[0].actions[2]"),
    ("player_without_team", _delete(("players", 1, "team")), "$.players[1]", "'team' is a required property", None),
    ("negative_think_time", _set(("players", 0, "think_times", 0), -1.0), "$.players[0].think_times[0]",
     "less than the minimum of 0", None),
    ("error_without_message", _append_to(("players", 1, "errors"), {"turn": 1, "kind": "exception"}),
     "$.players[1].errors[0]", "'message' is a required property", None),
    ("same_names", _rename_player, "$.players", "unique", "$.players"),
    ("no_states", _set(("states",), []), "$.states", "should be non-empty", "$.states"),
    ("state_without_locations", _delete(("states", 4, "locations")), "$.states[4]",
     "'locations' is a required property", "$.states[4]"),
    ("state_missing_a_player", _delete(("states", 1, "locations", "random")), "$.states[1].locations",
     "must name every player", "$.states[1].locations"),
    ("mud_count_as_text", _set(("states", 3, "muds", "greedy", "count"), "2"), "$.states[3].muds.greedy.count",
     "not of type 'integer'", None),
    ("score_as_text", _set(("states", 5, "scores", "random"), "lots"), "$.states[5].scores.random",
     "not of type 'number'", None),
    ("cheese_left_as_text", _set(("states", 2, "cheese"), "all"), "$.states[2].cheese", "not of type 'array'", None),
    ("unknown_reason", _set(("result", "reason"), "timeout"), "$.result.reason", "is not one of", None),
    ("no_result", _delete(("result",)), "$", "'result' is a required property", None),
    ("draw_as_text", _set(("result", "draw"), "no"), "$.result.draw", "not of type 'boolean'", None),
    ("seed_as_text", _set(("seed",), "7"), "$.seed", "not of type 'integer', 'null'", None),
    ("zero_max_turns", _set(("config", "max_turns"), 0), "$.config.max_turns", "less than the minimum of 1", None),
    ("fractional_stats_turns", _set(("stats", "turns"), 1.5), "$.stats.turns", "not of type 'integer'", None),
    ("trace_without_stats", _as_trace_without_stats, "$", "'stats' is a required property", None),
    ("huge_wrong_value", _set(("maze",), list(range(5000))), "$.maze", "is not of type 'object'", "$.maze"),
]


BEYOND_A_SCHEMA = {"same_names", "state_missing_a_player"}  # found by the checks that follow the schema


@pytest.fixture(scope="module")
def base_replay(real_replays) -> dict:
    path = next(p for p in real_replays if p.parent.name == "play0")
    game = json.loads(gzip.decompress(path.read_bytes()))
    assert [p["name"] for p in game["players"]] == ["greedy", "random"] and len(game["states"]) > 6
    return game


@pytest.mark.parametrize("name,change,path,words,hand_path", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_game_is_rejected_with_its_path(base_replay, tmp_path, name, change, path, words, hand_path):
    game = copy.deepcopy(base_replay)
    change(game)
    file = tmp_path / f"{name}.json"
    file.write_text(json.dumps(game))
    with pytest.raises(ReplayError) as info:
        load_game_file(file, validation="schema")
    message = str(info.value)
    assert "\n" not in message and len(message) < len(str(file)) + 300, message
    assert message.startswith(f"{file}: {path}: ") and words in message, message
    if name not in BEYOND_A_SCHEMA:  # the shipped schema, $refs and all, finds the same problem
        assert _raw_error(game).startswith(f"{path}: "), "the shipped schema and the one used disagree"
    if hand_path is not None:
        with pytest.raises(ReplayError, match="^" + re.escape(f"{file}: {hand_path}: ")):
            load_game_file(file, validation="hand")


def test_a_broken_game_in_a_list_is_named_by_its_index(base_replay, tmp_path):
    games = [copy.deepcopy(base_replay) for _ in range(3)]
    games[2]["players"][1]["actions"][0] = "up"
    file = tmp_path / "list.json.gz"
    file.write_bytes(gzip.compress(json.dumps(games).encode()))
    for validation in ("schema", "hand"):
        with pytest.raises(ReplayError, match=r"list\.json\.gz: \$\[2\]\.players\[1\]\.actions\[0\]: 'up' "):
            load_game_file(file, validation=validation)
    assert _raw_error(games).startswith("$[2].players[1].actions[0]: ")


# -- without jsonschema -----------------------------------------------------------------------------------------
def test_without_jsonschema_the_hand_checks_are_used(base_replay, monkeypatch):
    assert validation_method("auto") == "schema"
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    assert not schemas.available() and schemas.validator_version() is None
    assert validation_method("auto") == "hand"
    validate_game(base_replay, validation="auto")
    with pytest.raises(schemas.SchemaUnavailable):
        validate_game(base_replay, validation="schema")
    with pytest.raises(ValueError, match="validation must be one of"):
        validation_method("strict")


def test_the_runtime_never_imports_jsonschema():
    code = ("import sys; sys.modules['jsonschema'] = None\n"
            "from pyrat_env import compat, replay\n"
            f"r = compat.check_files([{str(DATA / 'traces' / 'three_teams.json.gz')!r}])\n"
            "print(r.validation, r.ok, 'jsonschema' in {m.split('.')[0] for m in sys.modules if sys.modules[m]})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["hand", "True", "False"]
