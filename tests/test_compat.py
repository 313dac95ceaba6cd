"""`pyrat compat check`: every official recorded game is reproduced, and tampered or broken files are caught.

The official traces (recorded by pyrat-game: the full set in ``../shared/pyrat-game-traces`` when it is
there, else the few copied into ``tests/data/traces``; see the ``official_traces`` fixture) are replayed
through the engine by `pyrat_env.compat`, through its functions and through the ``pyrat`` command. Tampered copies
of one game (a location, a score, a mud count, a cheese, an action, the end) must be reported with the
right turn and field; malformed files must give one line naming the file, never a traceback.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pyrat_env import cli, compat
from pyrat_env.engine import ACTION_INDEX, ACTION_NAMES, GameBatch
from pyrat_env.mazes import GameConfig, new_game
from pyrat_env.replay import finish_replay, game_result, load_game_file, maze_from_game, save_replay, start_replay

REPO = Path(__file__).resolve().parents[1]
# sha256 of the official trace files copied into tests/data/traces: the copies stay untouched
LOCAL_COPIES = {
    "big_mud.json.gz": "03af735d3f94363761be40cbd8c8749641df839b1ca523ab2aacedd307914a59",
    "default_corners_greedy.json.gz": "4ef887574d45f8abafcb8d2f9b3d6acad38b429edfc1a453889526cbfeac6ce6",
    "four_players_one_team.json.gz": "afd3b1c44f818d65a6bf324c0258d608d6a87b6324ce5118329e3173f057ac02",
    "three_teams.json.gz": "efe3ced6add68edd16d03648be8f4480b876706165861fa5a87111afd183c0e4",
}


@pytest.fixture(scope="module")
def trace_files(official_traces) -> list[Path]:
    return list(official_traces.files)


@pytest.fixture(scope="module")
def n_games(official_traces) -> int:
    """Games in the trace files: known for the full and the local sets, counted for another folder."""
    if official_traces.games is not None:
        return official_traces.games
    return sum(len(load_game_file(f)) for f in official_traces.files)


@pytest.fixture(scope="module")
def corners_game(official_traces) -> dict:
    """A two-player official game with mud crossings (default_corners_greedy, game 0)."""
    return load_game_file(official_traces.file("default_corners_greedy.json.gz"))[0]


def _mud_entry(game: dict) -> tuple[int, str]:
    """(state index, player) of the first state where a player is in mud with more than one turn to go."""
    for i, st in enumerate(game["states"]):
        for name, mud in st["muds"].items():
            if mud["target"] is not None and mud["count"] >= 2:
                return i, name
    raise AssertionError("the game has no mud crossing")


def _run_cli(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["compat", "check", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out


# -- the official games -------------------------------------------------------------------------------
def test_local_traces_are_untouched_copies_of_the_official_ones(official_traces):
    local = REPO / "tests" / "data" / "traces"
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in local.glob("*.json.gz")} == LOCAL_COPIES
    if official_traces.full:  # the originals agree with the copies
        for name, digest in LOCAL_COPIES.items():
            assert hashlib.sha256((official_traces.folder / name).read_bytes()).hexdigest() == digest, name


def test_every_official_game_is_reproduced(trace_files, n_games):
    # by hand: the schema's own pass over every file is in the next test, through the command
    report = compat.check_files(trace_files, validation="hand")
    assert report.lines() == []
    assert (report.reproduced, report.total) == (n_games, n_games)
    assert report.ok and report.validation == "hand"
    assert report.summary() == f"reproduced {n_games}/{n_games} games"


def test_every_official_game_through_the_command(trace_files, n_games, capsys):
    code, out = _run_cli(capsys, *map(str, trace_files))
    assert code == 0
    assert out.strip().splitlines() == [f"reproduced {n_games}/{n_games} games"]


def _renamed(view: dict, names: list[str]) -> dict:
    """A `GameBatch.game_view` state (players "0", "1", ...) with the players' names."""
    out = dict(view)
    for key in ("locations", "scores", "muds"):
        out[key] = {names[int(k)]: v for k, v in view[key].items()}
    return out


def test_batched_engine_reproduces_every_official_game(trace_files, n_games):
    """The games of each trace file (same size and players) stepped together in one `GameBatch`."""
    checked = 0
    for path in trace_files:
        games = load_game_file(path)
        names = [p["name"] for p in games[0]["players"]]
        teams = [p["team"] for p in games[0]["players"]]
        batch = GameBatch([maze_from_game(g) for g in games], [g["cheese"] for g in games],
                          [[p["start"] for p in g["players"]] for g in games], teams)
        used = np.zeros((len(games), len(names)), dtype=int)
        index = [0] * len(games)
        while True:
            for i, g in enumerate(games):
                if index[i] < len(g["states"]):
                    m = compat.compare_states(g["states"][index[i]], _renamed(batch.game_view(i), names), names)
                    assert m is None, f"{path.name} game {i}: {m}"
                    index[i] += 1
            if batch.over.all():
                break
            acts = np.zeros(used.shape, dtype=int)
            for i, g in enumerate(games):
                if batch.over[i] or batch.turn[i] == 0:
                    continue
                for p, player in enumerate(g["players"]):
                    if batch.mud_target[i, p] < 0:
                        acts[i, p] = ACTION_INDEX[player["actions"][used[i, p]]]
                        used[i, p] += 1
            batch.step(acts)
        for i, g in enumerate(games):
            assert index[i] == len(g["states"]) and batch.turn[i] == g["states"][-1]["turn"], \
                f"{path.name} game {i} ended at turn {batch.turn[i]}"
            assert list(used[i]) == [len(p["actions"]) for p in g["players"]]
            checked += 1
    assert checked == n_games


def test_the_installed_pyrat_command_runs_as_a_process(trace_files):
    files = [str(p) for p in trace_files[:3]]
    proc = subprocess.run([sys.executable, "-m", "pyrat_env.cli", "compat", "check", *files],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n = sum(len(load_game_file(f)) for f in files)
    assert proc.stdout.strip().splitlines()[-1] == f"reproduced {n}/{n} games"


def test_json_report(trace_files, capsys):
    code, out = _run_cli(capsys, str(trace_files[0]), "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] is True
    assert data["reproduced"] == data["total"] == data["files"][0]["games"] > 0
    assert data["files"][0]["mismatches"] == [] and data["files"][0]["error"] is None
    assert data["validation"] == "schema"  # jsonschema is in the dev extra


@pytest.fixture(params=["schema", "hand"])
def validation(request, monkeypatch) -> str:
    """Both ways of validating files: with jsonschema, and with jsonschema hidden (as when not installed)."""
    if request.param == "hand":
        monkeypatch.setitem(sys.modules, "jsonschema", None)
    return request.param


def test_the_command_says_how_it_validated_only_when_asked(official_traces, validation, capsys):
    path = str(official_traces.file("three_teams.json.gz"))
    code, out = _run_cli(capsys, path)
    assert (code, out.strip()) == (0, "reproduced 2/2 games")
    code, out = _run_cli(capsys, path, "--json")
    assert code == 0 and json.loads(out)["validation"] == validation
    code, out = _run_cli(capsys, path, "--verbose")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 3 and lines[1:] == [f"{path}: 2/2 games reproduced", "reproduced 2/2 games"]
    if validation == "schema":
        assert lines[0].startswith("files validated against the JSON Schema (jsonschema ")
    else:
        assert lines[0] == "files validated by the hand checks of pyrat_env.replay (jsonschema is not installed)"


def test_the_schema_is_used_only_when_jsonschema_is_installed(official_traces, monkeypatch):
    path = official_traces.file("three_teams.json.gz")
    assert compat.check_files([path]).validation == "schema"
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    report = compat.check_files([path])
    assert (report.validation, report.ok) == ("hand", True)


# -- tampered games -----------------------------------------------------------------------------------
def _tamper_location(game):
    st = game["states"][17]
    st["locations"]["rat"] += 1
    return st["turn"], "locations['rat']"


def _tamper_score(game):
    st = next(s for s in game["states"] if s["scores"]["python"] > 0)
    st["scores"]["python"] += 1.0
    return st["turn"], "scores['python']"


def _tamper_mud_count(game):
    i, name = _mud_entry(game)
    game["states"][i]["muds"][name]["count"] += 1
    return game["states"][i]["turn"], f"muds[{name!r}].count"


def _tamper_mud_target(game):
    i, name = _mud_entry(game)
    game["states"][i]["muds"][name]["target"] = None
    return game["states"][i]["turn"], f"muds[{name!r}].target"


def _tamper_remove_cheese(game):
    st = game["states"][5]
    st["cheese"].pop(0)
    return st["turn"], "cheese"


def _tamper_cheese_order(game):
    st = game["states"][3]
    st["cheese"][0], st["cheese"][1] = st["cheese"][1], st["cheese"][0]
    return st["turn"], "cheese"


def _tamper_turn(game):
    game["states"][9]["turn"] += 1
    return 9, "turn"


def _tamper_action(game):
    # The rat's first action is played at turn 1 and shows in the state of turn 2: it moved there.
    before, after = game["states"][1]["locations"]["rat"], game["states"][2]["locations"]["rat"]
    assert before != after
    game["players"][0]["actions"][0] = "nothing"
    return 2, "locations['rat']"


def _tamper_extra_action(game):
    game["players"][1]["actions"].append("north")
    return game["states"][-1]["turn"], "players[1].actions"


def _tamper_missing_action(game):
    game["players"][0]["actions"].pop()
    # The rat is asked at turn t >= 1 when it is not in mud in the state of turn t.
    last_asked = max(st["turn"] for st in game["states"][1:-1] if st["muds"]["rat"]["target"] is None)
    return last_asked, "players[0].actions"


def _tamper_stats(game):
    game["stats"]["turns"] += 1
    return game["states"][-1]["turn"], "stats.turns"


def _tamper_drop_last_state(game):
    game["states"].pop()
    return game["states"][-1]["turn"], "end"


def _tamper_extra_state(game):
    game["states"].append(copy.deepcopy(game["states"][-1]))
    return game["states"][-2]["turn"], "end"


TAMPERINGS = [_tamper_location, _tamper_score, _tamper_mud_count, _tamper_mud_target, _tamper_remove_cheese,
              _tamper_cheese_order, _tamper_turn, _tamper_action, _tamper_extra_action, _tamper_missing_action,
              _tamper_drop_last_state, _tamper_extra_state, _tamper_stats]


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda f: f.__name__.removeprefix("_tamper_"))
def test_tampered_game_is_reported_with_turn_and_field(corners_game, tamper):
    game = copy.deepcopy(corners_game)
    turn, field = tamper(game)
    m = compat.check_game(game)
    assert m is not None, "the tampered game was not caught"
    assert (m.turn, m.field) == (turn, field), str(m)
    assert str(m).startswith(f"turn {turn}: ")


def test_mismatch_message_names_both_values(corners_game):
    game = copy.deepcopy(corners_game)
    st = game["states"][17]
    true_cell = st["locations"]["rat"]
    st["locations"]["rat"] = true_cell + 1
    m = compat.check_game(game)
    assert str(m) == (f"turn {st['turn']}: locations['rat'] is {true_cell + 1} in the file, "
                      f"{true_cell} by the engine")


def test_tampered_file_through_the_command(corners_game, official_traces, tmp_path, capsys):
    games = [copy.deepcopy(corners_game), copy.deepcopy(corners_game)]
    turn, field = _tamper_location(games[1])
    path = tmp_path / "tampered.json.gz"
    path.write_bytes(gzip.compress(json.dumps(games).encode()))
    good = official_traces.file("three_teams.json.gz")
    code, out = _run_cli(capsys, str(good), str(path))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[-1] == "reproduced 3/4 games"
    assert len(lines) == 2
    assert lines[0].startswith(f"{path} game 1: turn {turn}: {field} is ")


def test_several_tampered_games_give_one_line_each(corners_game, tmp_path, capsys):
    games = []
    for tamper in (_tamper_score, _tamper_mud_count, _tamper_remove_cheese):
        g = copy.deepcopy(corners_game)
        tamper(g)
        games.append(g)
    path = tmp_path / "three.json"
    path.write_text(json.dumps(games))
    code, out = _run_cli(capsys, str(path))
    lines = out.strip().splitlines()
    assert code == 1
    assert lines[-1] == "reproduced 0/3 games"
    assert [line.split(": ")[0] for line in lines[:-1]] == [f"{path} game {i}" for i in range(3)]
    assert "scores['python']" in lines[0] and "muds[" in lines[1] and "cheese" in lines[2]


# -- malformed files ----------------------------------------------------------------------------------
def _not_json(tmp_path, game):
    p = tmp_path / "notjson.json"
    p.write_text("this is not json {")
    return p


def _truncated_gzip(tmp_path, game):
    p = tmp_path / "truncated.json.gz"
    data = gzip.compress(json.dumps(game).encode())
    p.write_bytes(data[: len(data) // 2])
    return p


def _truncated_json(tmp_path, game):
    p = tmp_path / "cut.json"
    p.write_text(json.dumps(game)[:500])
    return p


def _missing_field(tmp_path, game):
    g = copy.deepcopy(game)
    del g["maze"]
    p = tmp_path / "nomaze.json"
    p.write_text(json.dumps(g))
    return p


def _bad_action(tmp_path, game):
    g = copy.deepcopy(game)
    g["players"][0]["actions"][3] = "jump"
    p = tmp_path / "jump.json"
    p.write_text(json.dumps(g))
    return p


def _bad_state(tmp_path, game):
    g = copy.deepcopy(game)
    g["states"][4] = {"turn": 4}
    p = tmp_path / "badstate.json"
    p.write_text(json.dumps(g))
    return p


MALFORMED = [(_not_json, "JSON"), (_truncated_gzip, "gzip"), (_truncated_json, "JSON"),
             (_missing_field, "'maze'"), (_bad_action, "$.players[0].actions[3]: 'jump'"),
             (_bad_state, "$.states[4]: ")]


def test_a_missing_file_is_one_line_naming_it(tmp_path, capsys):
    missing = tmp_path / "missing.json"
    report = compat.check_files([missing])
    assert (report.lines(), report.total, report.ok) == ([f"{missing}: no such file"], 1, False)
    code = cli.main(["compat", "check", str(missing)])
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert code != 0 and len(lines) == 1 and str(missing) in lines[0] and "no such file" in lines[0]


@pytest.mark.parametrize("make,words", MALFORMED, ids=lambda x: getattr(x, "__name__", "").strip("_"))
def test_malformed_file_gives_one_line_naming_the_file(corners_game, tmp_path, capsys, make, words, validation):
    path = make(tmp_path, corners_game)
    code, out = _run_cli(capsys, str(path))
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 2, out
    assert lines[0].startswith(f"{path}: ") and words in lines[0]
    assert lines[1] == "reproduced 0/1 games"


def test_malformed_file_counts_as_failed_next_to_good_ones(trace_files, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    report = compat.check_files([trace_files[0], bad])
    n = len(load_game_file(trace_files[0]))
    assert (report.reproduced, report.total, report.ok) == (n, n + 1, False)
    assert report.lines() == [f"{bad}: the file holds an empty list of games"]


def test_wrongly_typed_values_are_mismatches_not_crashes(corners_game):
    game = copy.deepcopy(corners_game)
    game["states"][6]["scores"]["rat"] = "lots"
    game["states"][2]["muds"]["python"] = 7
    m = compat.check_game(game)
    assert (m.turn, m.field) == (2, "muds['python']")


def test_cheese_on_a_start_cell_is_refused(corners_game):
    game = copy.deepcopy(corners_game)
    game["cheese"][0] = game["players"][0]["start"]
    m = compat.check_game(game)
    assert m is not None and m.turn is None and m.field == "cheese"


# -- our replays, including games truncated by max_turns ------------------------------------------------
def _our_replay(config: GameConfig, seed: int, max_turns: int | None) -> dict:
    """A pyrat-replay/1 dict of a game played by the engine with seeded random moves, built as the match
    runner builds its replays (`start_replay`, `game_result`, `finish_replay`)."""
    setup = new_game(config.with_(max_turns=max_turns), seed)
    rng = np.random.default_rng(seed)
    g = setup.game()
    names = [f"p{i}" for i in range(g.n_players)]
    replay = start_replay(setup.maze, setup.cheese, setup.starts, names, names, ["pattern"] * len(names),
                          g.snapshot(names), setup.config.to_dict(), seed)
    while not g.over:
        assert g.turn < 20_000, "the test game does not end"
        step = [0] * g.n_players
        if g.turn > 0:
            for p in range(g.n_players):
                if not g.in_mud(p):
                    step[p] = int(rng.choice(g.legal_actions(p)))
                    replay["players"][p]["actions"].append(ACTION_NAMES[step[p]])
                    replay["players"][p]["think_times"].append(0.0)
        g.step(step)
        replay["states"].append(g.snapshot(names))
    return finish_replay(replay, game_result(g, names, names), [0.0] * len(names), [0] * len(names))


def test_replay_truncated_by_max_turns_is_reproduced(tmp_path, capsys):
    replay = _our_replay(GameConfig(), 3, max_turns=12)
    assert replay["result"]["reason"] == "max_turns"
    assert replay["states"][-1]["turn"] == 13 and replay["stats"]["turns"] == 12
    assert compat.check_game(replay) is None
    path = save_replay(replay, tmp_path / "r.json.gz")
    code, out = _run_cli(capsys, str(path))
    assert (code, out.strip()) == (0, "reproduced 1/1 games")


def test_replay_played_to_the_end_is_reproduced():
    replay = _our_replay(GameConfig(width=7, height=5, nb_cheese=3, starts=("top_left", "bottom_right")), 5, None)
    assert replay["result"]["reason"] != "max_turns"
    assert compat.check_game(replay) is None


def test_truncation_without_max_turns_in_config_is_reported():
    replay = _our_replay(GameConfig(), 3, max_turns=12)
    replay["config"]["max_turns"] = None
    m = compat.check_game(replay)
    assert (m.turn, m.field) == (None, "result.reason")


def test_truncation_at_another_turn_is_reported():
    replay = _our_replay(GameConfig(), 3, max_turns=12)
    replay["config"]["max_turns"] = 20  # the engine goes on after turn 13; the file ends there
    m = compat.check_game(replay)
    assert (m.turn, m.field) == (13, "end")
    replay["config"]["max_turns"] = 8  # the engine stops at turn 9; the file goes on
    m = compat.check_game(replay)
    assert (m.turn, m.field) == (9, "end")


def test_wrong_result_reason_is_reported():
    replay = _our_replay(GameConfig(width=7, height=5, nb_cheese=3, starts=("top_left", "bottom_right")), 5, None)
    replay["result"]["reason"] = "ranking_decided" if replay["result"]["reason"] == "all_cheese_eaten" \
        else "all_cheese_eaten"
    m = compat.check_game(replay)
    assert m is not None and m.field == "result.reason"


def test_forfeit_replay_ends_early_without_complaint():
    replay = _our_replay(GameConfig(), 3, max_turns=12)
    replay["states"] = replay["states"][:8]
    replay["result"]["reason"] = "forfeit"
    assert compat.check_game(replay) is None
    replay["states"][7]["scores"]["p0"] += 1  # states are still compared
    assert compat.check_game(replay).field == "scores['p0']"
