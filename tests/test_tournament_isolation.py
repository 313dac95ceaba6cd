"""Agents in their own processes: every kind of misbehaviour is recorded, and the game always ends.

Each misbehaving agent (``tests/data/tournament/``) plays one game against ``greedy`` on a small
maze with short limits; the games run side by side (a module fixture) to keep the suite quick.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pyrat_rl.agents.tournament.config import Limits, game_config
from pyrat_rl.agents.tournament.game import GameTask, play_isolated_game

from pyrat_env.compat import check_game
from pyrat_env.replay import validate_game

DATA = Path(__file__).parent / "data" / "tournament"
GAME = game_config("tiny", {"nb_cheese": 9})  # enough cheese that a game outlasts a few timeouts
LIMITS = Limits(turn_time=0.1, preprocessing_time=1.0, max_consecutive_timeouts=3, memory_mb=400, cpu_seconds=30,
                load_time=30.0, output_limit=4096, end_time=0.5)
BAD = ("sleeper", "looper", "memhog", "exiter", "quitter", "raiser", "invalid", "printer", "forker", "broken_import",
       "slow_start")


def task(spec0: str, spec1: str = "greedy", seed: int = 11, limits: Limits = LIMITS) -> GameTask:
    specs = tuple(str(DATA / f"{s}.py") if s in BAD else s for s in (spec0, spec1))
    names = tuple(Path(s).stem.split("_")[0] if s.endswith(".py") and s not in BAD else s for s in (spec0, spec1))
    names = names if names[0] != names[1] else (names[0] + "#1", names[1] + "#2")
    return GameTask(index=0, key="test", seed=seed, swap=False, game=GAME.to_dict(), max_turns=300,
                    run_specs=specs, specs=specs, names=names, agent_seeds=((seed, 0), (seed, 1)), limits=limits)


def processes_with(token: str) -> list[int]:
    """Live processes of this machine whose command line holds ``token``."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if token.encode() in f.read() and _alive(int(name)):
                        out.append(int(name))
            except OSError:
                pass
    return out


@pytest.fixture(scope="module")
def games(tmp_path_factory) -> dict[str, dict]:
    token = f"forker_{uuid.uuid4().hex[:12]}"
    forker = tmp_path_factory.mktemp("forker") / f"{token}.py"
    shutil.copyfile(DATA / "forker.py", forker)
    cases = {name: task(name) for name in BAD if name != "forker"}
    cases["forker"] = task(str(forker))
    cases["both_broken"] = task("broken_import", "broken_import")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {}
        for name, t in cases.items():
            futures[name] = (pool.submit(_timed, t))
        out = {name: f.result() for name, f in futures.items()}
    out["forker"]["token"] = token
    return out


def _timed(t: GameTask) -> dict:
    t0 = time.monotonic()
    record = play_isolated_game(t)
    record["wall"] = time.monotonic() - t0
    return record


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _check_replay(record: dict) -> None:
    replay = record["replay"]
    validate_game(replay)
    assert check_game(replay) is None
    assert replay["result"]["reason"] == record["reason"]


@pytest.mark.parametrize("name, kind", [("sleeper", "timeouts"), ("looper", "timeouts"), ("memhog", "memory"),
                                        ("exiter", "crash"), ("quitter", "exit"), ("broken_import", "load"),
                                        ("slow_start", "timeouts")])
def test_fatal_misbehaviour_forfeits_the_game(games, name: str, kind: str) -> None:
    r = games[name]
    assert r["reason"] == "forfeit"
    assert r["winner"] == "greedy"
    assert r["forfeits"][0]["kind"] == kind, r["forfeits"]
    assert r["forfeits"][1] is None
    assert r["replay"]["result"]["forfeits"][name]["kind"] == kind
    assert any(e["kind"] == kind and e["message"].startswith("forfeit") for e in r["error_samples"][0])
    _check_replay(r)
    # nobody waits for a broken agent: a few turns of 0.1 s, never its 2 s sleeps or endless loops
    assert r["wall"] < 15


def test_timeouts_are_counted_and_forfeit_after_a_run(games) -> None:
    sleeper = games["sleeper"]
    assert sleeper["timeouts"][0] == LIMITS.max_consecutive_timeouts
    assert sleeper["turns"] == LIMITS.max_consecutive_timeouts - 1  # the forfeiting turn is not played
    assert sleeper["forfeits"][0]["message"] == "3 timeouts in a row"
    assert all(a == "nothing" for a in sleeper["replay"]["players"][0]["actions"])
    # preprocessing counts as the first timeout of the run
    assert games["slow_start"]["timeouts"][0] == 3 and games["slow_start"]["turns"] == 1


def test_process_death_is_described(games) -> None:
    assert "exited with code 7" in games["exiter"]["forfeits"][0]["message"]
    assert "exit(3)" in games["quitter"]["forfeits"][0]["message"]
    assert "does not even import" in games["broken_import"]["forfeits"][0]["message"]
    assert games["broken_import"]["turns"] == 0
    assert "MemoryError" in games["memhog"]["forfeits"][0]["message"]


def test_both_forfeiting_is_a_draw(games) -> None:
    r = games["both_broken"]
    assert r["reason"] == "forfeit" and r["winner"] is None
    assert [f["kind"] for f in r["forfeits"]] == ["load", "load"]


def test_exceptions_and_invalid_values_count_as_nothing(games) -> None:
    raiser, invalid = games["raiser"], games["invalid"]
    for r in (raiser, invalid):
        assert r["reason"] != "forfeit" and r["forfeits"] == [None, None]
        _check_replay(r)
    asked = len(raiser["replay"]["players"][0]["actions"])
    errors = [e for e in raiser["replay"]["players"][0]["errors"]]
    assert raiser["errors"][0] == len(errors) == (asked + 1) // 2   # every odd turn
    assert all(e["kind"] == "exception" and "no idea what to do" in e["message"] and e["turn"] % 2 == 1
               for e in errors)
    assert all(raiser["replay"]["players"][0]["actions"][e["turn"] - 1] == "nothing" for e in errors)
    inv = invalid["replay"]["players"][0]
    assert invalid["errors"][0] == len(inv["actions"]) > 0
    assert {e["kind"] for e in inv["errors"]} == {"invalid_action"}
    assert set(inv["actions"]) == {"nothing"}
    assert any("'jump'" in e["message"] for e in inv["errors"])


def test_output_is_captured_and_capped(games) -> None:
    r = games["printer"]
    out = r["outputs"][0]
    assert out.startswith("PRINTER START")
    assert len(out) < LIMITS.output_limit + 100
    assert "more bytes of output not kept" in out
    assert r["forfeits"] == [None, None] and r["reason"] != "forfeit"  # printing is no crime


def test_printing_agent_does_not_reach_the_console(capfd) -> None:
    record = play_isolated_game(task("printer", seed=12))
    captured = capfd.readouterr()
    assert "chatty" not in captured.out and "chatty" not in captured.err
    assert "chatty" in record["outputs"][0]


def test_the_process_group_is_killed(games) -> None:
    r = games["forker"]
    assert r["forfeits"] == [None, None] and r["turns"] > 0
    assert not processes_with(r["token"])


def test_games_between_good_agents_are_clean_and_reproducible() -> None:
    limits = Limits(turn_time=1.0, preprocessing_time=3.0, memory_mb=1024)
    a = play_isolated_game(task("greedy", "random", seed=5, limits=limits))
    b = play_isolated_game(task("greedy", "random", seed=5, limits=limits))
    for r in (a, b):
        assert r["forfeits"] == [None, None] and r["timeouts"] == [0, 0] and r["errors"] == [0, 0]
        _check_replay(r)
    assert a["replay"]["states"] == b["replay"]["states"]
    assert [p["actions"] for p in a["replay"]["players"]] == [p["actions"] for p in b["replay"]["players"]]


def test_the_student_template_plays_cleanly() -> None:
    pytest.importorskip("pyrat")
    pytest.importorskip("pyrat_rl.agents.pyrat_player")  # the pyrat-game Player adapter
    template = Path(__file__).resolve().parents[1] / "agents" / "templates" / "student_player.py"
    limits = Limits(turn_time=1.0, preprocessing_time=3.0, memory_mb=2048)
    t = GameTask(index=0, key="template", seed=3, swap=False, game=GAME.to_dict(), max_turns=300,
                 run_specs=(str(template), "random"), specs=(str(template), "random"), names=("student", "random"),
                 agent_seeds=((3, 0), (3, 1)), limits=limits)
    r = play_isolated_game(t)
    assert r["forfeits"] == [None, None], r["forfeits"]
    assert r["errors"] == [0, 0] and r["timeouts"][0] == 0, r["error_samples"]
    assert r["winner"] == "student"   # a shortest-path player beats a random one


def test_kept_errors_are_bounded_but_all_counted(monkeypatch) -> None:
    from pyrat_rl.agents.tournament import game as game_module

    monkeypatch.setattr(game_module, "MAX_ERRORS_KEPT", 2)
    r = play_isolated_game(task("raiser", seed=11))
    errors = r["replay"]["players"][0]["errors"]
    assert r["errors"][0] > 2                       # every error counted...
    assert len(errors) == 3 and errors[-1]["kind"] == "truncated"   # ...two kept, and how many were not
    assert errors[-1]["message"] == f"{r['errors'][0] - 2} more errors not kept"
    validate_game(r["replay"])
