"""``pyrat tournament check``: one game under tournament conditions tells a submission OK or FAIL, and why.

The submissions (the two templates, and broken files written here) are checked together in a pool of two
(a module fixture), on the ``tiny`` preset to keep the file quick; the command-line tests check the output
formats on a few files each.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from pyrat_rl.agents.tournament import check as chk
from pyrat_rl.agents.tournament import game as game_module
from pyrat_rl.agents.tournament.config import Limits

from pyrat_env.cli_options import ArgumentParser, UsageError
from pyrat_env.mazes import preset

TEMPLATES = Path(chk.__file__).resolve().parents[1] / "templates"

TWO_CLASSES = '''
from pyrat_env import Agent


class Careful(Agent):
    def act(self, game, seat):
        return 0


class Bold(Agent):
    def act(self, game, seat):
        return 1
'''

RAISES = '''
import os

print(f"imported in process {os.getpid()} of session {os.getsid(0)}", flush=True)
raise RuntimeError("kaboom at import")
'''

SLOW = '''
import time

from pyrat_env import Agent


class Slow(Agent):
    def act(self, game, seat):
        print("thinking hard")
        time.sleep(0.3)
        return "north"
'''


def _write(folder: Path) -> dict[str, Path]:
    files = {"good": folder / "alice.py", "player": folder / "bob.py", "two": folder / "two.py",
             "raises": folder / "raises.py", "slow": folder / "slow.py"}
    shutil.copy(TEMPLATES / "agent_template.py", files["good"])
    shutil.copy(TEMPLATES / "student_player.py", files["player"])
    files["two"].write_text(TWO_CLASSES)
    files["raises"].write_text(RAISES)
    files["slow"].write_text(SLOW)
    return files


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("submissions")
    return folder, _write(folder)


@pytest.fixture(scope="module")
def reports(folder) -> dict[str, dict]:
    path, files = folder
    done = []
    out = chk.check_submissions([files[k] for k in files], workers=2, preset="tiny", seed=3, on_done=done.append)
    assert len(done) == len(files)
    return dict(zip(files, out))


def test_reports_come_in_order(reports, folder) -> None:
    _, files = folder
    assert [r["file"] for r in reports.values()] == [str(files[k]) for k in reports]
    for r in reports.values():
        assert r["opponent"] == "greedy" and r["seat"] == 0 and r["names"][1] == "greedy"
        assert r["limits"]["turn_time"] == Limits().turn_time


@pytest.mark.parametrize("key", ["good", "player"])
def test_a_good_submission_is_ok(reports, key: str) -> None:
    r = reports[key]
    assert r["ok"] and r["verdict"] == "OK" and r["problem"] is None and r["problems"] == []
    assert r["loaded"] and r["forfeit"] is None and r["timeouts"] == 0 and r["errors"]["count"] == 0
    assert r["result"] in ("win", "draw", "loss") and r["reason"] != "forfeit"
    assert set(r["scores"]) == {"submission", "opponent"}
    t = r["think"]
    assert t["n"] > 0 and 0 <= t["median"] <= t["p99"] <= t["max"] < t["limit"] == 0.1
    assert r["preprocessing"]["time"] is not None and r["preprocessing"]["time"] < r["preprocessing"]["limit"]
    assert r["name"] == Path(r["file"]).stem


def test_two_classes_fail_and_name_them(reports) -> None:
    r = reports["two"]
    assert not r["ok"] and r["verdict"] == "FAIL" and not r["loaded"]
    assert r["forfeit"]["kind"] == "load" and r["load_problem"]
    assert "Careful" in r["problem"] and "Bold" in r["problem"]
    assert "keep only one" in r["problem"] and "two.py:Careful" in r["problem"]
    assert r["classes"] == ["Careful", "Bold"]      # the static scan agrees with the loader


def test_an_import_error_fails_at_load_in_the_agent_process(reports) -> None:
    r = reports["raises"]
    assert not r["ok"] and r["verdict"] == "FAIL" and not r["loaded"]
    assert r["forfeit"]["kind"] == "load"
    assert "kaboom at import" in r["load_problem"] and "kaboom at import" in r["problem"]
    assert r["problem"].startswith("cannot be loaded")
    # the file ran (it printed), but in its own process and session, never in the checker's
    assert "imported in process" in r["output"]
    assert f"of session {os.getsid(0)}" not in r["output"]
    assert not any("raises" in name for name in sys.modules if name.startswith("_pyrat_agent_"))


def test_a_slow_agent_fails_with_timeouts(reports) -> None:
    r = reports["slow"]
    assert not r["ok"] and r["verdict"] == "FAIL" and r["loaded"]
    assert r["timeouts"] > 0 and "timeout" in r["problem"]
    # on a tiny maze greedy may end the game before ten timeouts in a row make the agent forfeit
    assert r["forfeit"] is None or r["forfeit"]["kind"] == "timeouts"
    assert r["think"]["p99"] == pytest.approx(r["think"]["limit"])
    assert r["output"].startswith("thinking hard") and len(r["output"]) <= chk.OUTPUT_CHARS


# -- the report, from a record (no game): memory, errors, forwarding of the game's options ----------------------
def _record(names=("alice", "greedy"), seat_think=(0.01, 0.02, 0.03), **over) -> dict:
    players = [{"think_times": list(seat_think), "preprocessing_time": 0.5},
               {"think_times": [], "preprocessing_time": 0}]
    record = {"names": list(names), "scores": [3.0, 2.0], "winner": names[0], "reason": "score", "turns": 40,
              "timeouts": [0, 0], "errors": [0, 0], "error_samples": [[], []], "forfeits": [None, None],
              "outputs": ["x" * 2000, ""], "seconds": 1.5, "replay": {"players": players}}
    record.update(over)
    return record


def test_summary_of_a_record() -> None:
    errors = [{"turn": t, "kind": "exception", "message": f"ZeroDivisionError {t}"} for t in range(1, 6)]
    rec = _record(errors=[5, 0], error_samples=[errors, []], peak_memory_mb=[123.45, 80.0])
    r = chk.summarize(rec, 0, chk._base_report("alice.py", "greedy", Limits()), "alice.py")
    assert r["result"] == "win" and r["scores"] == {"submission": 3.0, "opponent": 2.0}
    assert r["peak_memory_mb"] == pytest.approx(123.5)
    assert r["think"]["median"] == pytest.approx(0.02) and r["think"]["max"] == pytest.approx(0.03)
    assert r["preprocessing"] == {"time": 0.5, "limit": 3.0}
    assert r["errors"]["count"] == 5 and len(r["errors"]["messages"]) == chk.ERROR_SAMPLES
    assert r["errors"]["messages"][0] == "turn 1: exception: ZeroDivisionError 1"
    assert not r["ok"] and r["verdict"] == "FAIL" and "5 error(s)" in r["problem"]
    assert len(r["output"]) == chk.OUTPUT_CHARS
    # the other seat, and a record without peak memory
    r = chk.summarize(_record(), 1, chk._base_report("greedy", "x", Limits()), "greedy")
    assert r["result"] == "loss" and r["peak_memory_mb"] is None and r["think"]["n"] == 0


def test_an_opponent_that_does_not_load_is_an_error_not_a_fail() -> None:
    rec = _record(forfeits=[None, {"kind": "load", "message": "no such agent", "turn": 0}], winner="alice")
    r = chk.summarize(rec, 0, chk._base_report("alice.py", "bad", Limits()), "alice.py")
    assert not r["ok"] and r["verdict"] == "ERROR" and "opponent" in r["problem"]


def test_static_scan(tmp_path) -> None:
    f = tmp_path / "a.py"
    f.write_text("import pyrat\nclass Helper:\n    pass\nclass Base(pyrat.Player):\n    pass\n"
                 "class Mine(Base):\n    pass\n")
    assert chk.scan_classes(f) == ["Base", "Mine"]
    f.write_text("def broken(:\n")
    assert chk.scan_classes(f) is None


def _fake_play(seen: list):
    def play(task, stop=None, pool=None):
        seen.append((task, pool))
        return _record(names=task.names)
    return play


@pytest.mark.parametrize("sandbox", [None, "none", "bwrap"])
def test_the_sandbox_option_reaches_the_game(tmp_path, monkeypatch, capsys, sandbox) -> None:
    seen: list = []
    monkeypatch.setattr(game_module, "play_isolated_game", _fake_play(seen))
    f = tmp_path / "alice.py"
    shutil.copy(TEMPLATES / "agent_template.py", f)
    argv = ["check", str(f), "--turn-time", "0.25", "--memory-mb", "0", "--preprocessing-time", "2"]
    argv += [] if sandbox is None else ["--sandbox", sandbox]
    assert chk.run_check(_parse(argv)) == 0
    task, pool = seen[0]
    assert task.sandbox == (sandbox or "bwrap") and pool is not None and pool.sandbox == task.sandbox
    assert task.limits.turn_time == 0.25 and task.limits.memory_mb is None and task.limits.preprocessing_time == 2
    assert task.names == ("alice", "greedy") and task.game == preset("official").to_dict()   # the default preset
    assert "alice" in capsys.readouterr().out


# -- the command ------------------------------------------------------------------------------------------------
def _parse(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(prog="pyrat tournament")
    sub = parser.add_subparsers(dest="action")
    chk.add_check_arguments(sub)
    return parser.parse_args(argv)


def _main(argv: list[str]) -> int:
    """What the ``pyrat`` dispatcher does: a `UsageError` is one line on stderr and exit status 2."""
    try:
        return chk.run_check(_parse(argv))
    except UsageError as exc:
        print(f"pyrat tournament: error: {exc}", file=sys.stderr)
        return 2


def test_missing_file_is_a_usage_error(folder, capsys) -> None:
    _, files = folder
    assert _main(["check", str(files["good"]), "nowhere/carol.py"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "pyrat tournament: error: nowhere/carol.py: no such file"
    with pytest.raises(UsageError, match="unknown opponent"):
        chk.run_check(_parse(["check", str(files["good"]), "--opponent", "nobody"]))
    with pytest.raises(SystemExit):
        _parse(["check", str(files["good"]), "--sandbox", "docker"])


def test_table_json_and_csv(folder, tmp_path, capsys) -> None:
    _, files = folder
    args = ["check", str(files["good"]), str(files["two"]), "--preset", "tiny", "--seed", "3", "--workers", "2",
            "--quiet"]
    out_csv = tmp_path / "check.csv"
    assert _main([*args, "--csv", str(out_csv)]) == 1
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["file", "verdict", "result"]
    assert lines[2].split()[:2] == ["alice", "OK"] and lines[3].split()[:2] == ["two", "FAIL"]
    assert "2 file(s) checked: 1 OK, 1 not OK" in table and "Careful" in table
    rows = list(csv.DictReader(out_csv.open()))
    assert [r["verdict"] for r in rows] == ["OK", "FAIL"] and list(rows[0]) == list(chk.CSV_FIELDS)
    assert rows[0]["turn_limit_ms"] == "100.0" and rows[1]["forfeit_kind"] == "load"

    assert _main([*args, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [r["verdict"] for r in data] == ["OK", "FAIL"]
    for key in ("ok", "problem", "result", "scores", "think", "preprocessing", "timeouts", "errors", "forfeit",
                "peak_memory_mb", "output", "seat", "names", "load_problem"):
        assert key in data[0]

    assert _main([*args[:2], "--preset", "tiny", "--seed", "3", "--csv", "-"]) == 0   # one file, CSV on stdout
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and rows[0]["name"] == "alice" and rows[0]["ok"] == "True"


def test_a_folder_stands_for_its_submissions(tmp_path) -> None:
    (tmp_path / "a.py").write_text("")
    (tmp_path / "b.onnx").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "__init__.py").write_text("")
    assert chk.expand_submissions([str(tmp_path)]) == [str(tmp_path / "a.py"), str(tmp_path / "b.onnx")]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="no .py file"):
        chk.expand_submissions([str(empty)])
    assert chk.expand_submissions([f"{tmp_path / 'a.py'}:Mine"]) == [f"{tmp_path / 'a.py'}:Mine"]


def test_not_a_submission(tmp_path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    r = chk.check_submission(f)
    assert not r["ok"] and r["verdict"] == "FAIL" and "not a submission" in r["problem"]
    with pytest.raises(FileNotFoundError):
        chk.check_submission(tmp_path / "missing.py")
