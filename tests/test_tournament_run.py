"""Tournaments end to end: the command, the database, the replays, resuming after ``kill -9``, Ray.

Small and quick: three agents on the ``tiny`` preset, two games per pair. Agents that must give the
same games twice (resume, Ray) are deterministic and get a generous turn time, so that a loaded
machine cannot turn an answer into a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyrat_rl.agents.tournament.cli import build_config
from pyrat_rl.agents.tournament.runner import run_tournament
from pyrat_rl.agents.tournament.store import TournamentStore

from pyrat_env.cli import main
from pyrat_env.compat import check_game
from pyrat_env.replay import load_replay

DATA = Path(__file__).parent / "data" / "tournament"
ROOT = Path(__file__).resolve().parents[1]
STANDING_KEYS = {"agent", "points", "games", "wins", "draws", "losses", "rating", "rating_low", "rating_high",
                 "timeouts", "errors"}
# deterministic agents, limits far above what they need
STEADY = ["--preset", "tiny", "--turn-time", "1", "--preprocessing-time", "3", "--memory-mb", "1024", "--quiet"]


def _run_cli(args: list[str], capsys) -> tuple[int, str]:
    rc = main(["tournament", "run", *args])
    return rc, capsys.readouterr().out


def _results(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key, seat0, seat1, score0, score1, winner, reason, turns FROM games").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_run_records_every_game_with_a_replay(tmp_path: Path, capsys) -> None:
    db, replays = tmp_path / "t.sqlite", tmp_path / "replays"
    exiter = str(DATA / "exiter.py")
    args = ["--agents", "greedy", "random", exiter, "--seed", "3", "--db", str(db), "--replay-dir", str(replays),
            "--workers", "2", "--json", *STEADY]
    rc, out = _run_cli(args, capsys)
    assert rc == 0
    data = json.loads(out)
    assert data["games"] == data["scheduled"] == 6 and data["played"] == 6 and data["complete"]
    rows = data["standings"]
    assert [r["agent"] for r in rows][-1] == "exiter"  # its process dies in every game; the tournament goes on
    for r in rows:
        assert STANDING_KEYS <= set(r)
        assert r["games"] == 4 and r["wins"] + r["draws"] + r["losses"] == 4
        assert r["rating_low"] <= r["rating"] <= r["rating_high"]
    assert rows[-1]["forfeits"] == 4 and rows[-1]["points"] == 0
    assert sum(r["points"] for r in rows) == 6
    assert data["matrix"]["agents"] == ["greedy", "random", "exiter"]

    with TournamentStore(db) as store:
        games = store.games(data["tournament"])
    assert len(games) == 6 and len({g["key"] for g in games}) == 6
    for g in games:
        replay = load_replay(db.parent / g["replay"])
        assert check_game(replay) is None
        assert [p["name"] for p in replay["players"]] == [data["matrix"]["agents"][g["seat0"]],
                                                          data["matrix"]["agents"][g["seat1"]]]
        assert replay["result"]["reason"] == g["reason"]
    # the paired games of a round are on the same maze, seats swapped
    first = {g["key"]: g for g in games}
    a, b = load_replay(db.parent / first["r0-0-1-f"]["replay"]), load_replay(db.parent / first["r0-0-1-s"]["replay"])
    assert a["maze"] == b["maze"] and a["cheese"] == b["cheese"]
    # the agents exchange seats and so start cells: each plays the maze from both corners
    assert [p["name"] for p in a["players"]] == [p["name"] for p in b["players"]][::-1]
    assert [p["start"] for p in a["players"]] == [p["start"] for p in b["players"]] == [0, 34]

    # the same command again: nothing left to play, the same standings
    rc, out = _run_cli(args, capsys)
    again = json.loads(out)
    assert rc == 0 and again["played"] == 0 and again["games"] == 6
    assert again["standings"] == data["standings"]

    # standings in every format
    assert main(["tournament", "standings", "--db", str(db)]) == 0
    table = capsys.readouterr().out
    assert "greedy" in table and "Results by pair" in table
    for fmt, marker in (("md", "| --- |"), ("html", "<table>"), ("csv", "rank,agent,spec,points")):
        out_file = tmp_path / f"standings.{fmt}"
        assert main(["tournament", "standings", "--db", str(db), "--format", fmt, "-o", str(out_file)]) == 0
        assert marker in out_file.read_text()
    assert main(["tournament", "standings", "--db", str(db), "--json", "--bootstrap", "200"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["games"] == 6 and [r["agent"] for r in js["standings"]] == [r["agent"] for r in rows]
    assert main(["tournament", "standings", "--db", str(db), "--list"]) == 0
    assert data["tournament"] in capsys.readouterr().out


def test_config_file_and_bad_input(tmp_path: Path, capsys) -> None:
    (tmp_path / "t.toml").write_text('agents = ["greedy", "random"]\npreset = "tiny"\nseed = 9\n'
                                     'games_per_pair = 4\ndb = "r.sqlite"\n[limits]\nturn_time = 0.5\n')
    ns = type("A", (), {"config": str(tmp_path / "t.toml"), "agents": None, "seed": 2, "preset": None,
                        "games_per_pair": None, "db": None, "replay_dir": None, "workers": None, "max_turns": None,
                        "turn_time": None, "preprocessing_time": None, "max_timeouts": None, "memory_mb": 0,
                        "cpu_seconds": None, "backend": None, "ray_address": None})()
    config, options = build_config(ns)
    assert config.seed == 2 and config.games_per_pair == 4 and config.game.width == 7  # the flag wins over the file
    assert config.limits.turn_time == 0.5 and config.limits.memory_mb is None
    assert options["db"] == str(tmp_path / "r.sqlite")
    assert main(["tournament", "run", "--agents", "greedy", "--db", str(tmp_path / "x.sqlite")]) == 2
    assert main(["tournament", "run", "--agents", "greedy", "random", "--games-per-pair", "3",
                 "--db", str(tmp_path / "x.sqlite")]) == 2
    assert main(["tournament", "standings", "--db", str(tmp_path / "missing.sqlite")]) == 2


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (the agents' sandboxes, servers and game processes)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        todo += kids
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_resume_after_kill_9_plays_each_game_exactly_once(tmp_path: Path) -> None:
    # games are cheap (forked agents): 24 of them, so that the runner is still at work when it is killed
    agents = ["--agents", "greedy", "random", "opportunist", "--seed", "4", "--workers", "1", "--games-per-pair", "8",
              *STEADY]
    # the reference: an uninterrupted run
    ref_db = tmp_path / "ref.sqlite"
    assert main(["tournament", "run", *agents, "--db", str(ref_db)]) == 0
    reference = _results(ref_db)
    assert len(reference) == 24

    db = tmp_path / "cut.sqlite"
    cmd = [sys.executable, "-m", "pyrat_env.cli", "tournament", "run", *agents, "--db", str(db)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    recorded, agents_alive = 0, []
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    recorded = len(_results(db))
                except sqlite3.OperationalError:   # the tables are being created
                    recorded = 0
            agents_alive = _children(proc.pid)
            if recorded >= 2 and agents_alive:   # mid-way, with a game in progress
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the runner finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    cut = _results(db)
    assert 2 <= len(cut) < 24
    # the agents' processes die with the runner
    time.sleep(0.5)
    end = time.monotonic() + 5
    while any(_alive(p) for p in agents_alive) and time.monotonic() < end:
        time.sleep(0.1)
    assert not any(_alive(p) for p in agents_alive)

    # the same command again finishes the tournament
    done = subprocess.run(cmd + ["--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["games"] == 24 and data["played"] == 24 - len(cut)
    final = _results(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM games").fetchone() == (24, 24)
        replays = [r[0] for r in conn.execute("SELECT replay FROM games")]
    assert all((db.parent / r).is_file() for r in replays)
    assert final == reference           # the games that were played again are the games that would have been
    assert {k: final[k] for k in cut} == cut


def test_ray_backend_gives_the_same_results(tmp_path: Path) -> None:
    if not os.environ.get("CI"):   # CI installs the ray extra: there the test must run
        pytest.importorskip("ray")
    from pyrat_rl.agents.tournament.config import Limits, TournamentConfig, describe_agents, game_config
    from pyrat_rl.agents.tournament.sandbox import bwrap_problem

    student = tmp_path / "student.py"
    shutil.copy(ROOT / "agents" / "templates" / "agent_template.py", student)
    sandbox = "bwrap" if bwrap_problem() is None or os.environ.get("CI") else "none"
    config = TournamentConfig(agents=describe_agents(["greedy", "random", str(student)]), game=game_config("tiny"),
                              seed=6, limits=Limits(turn_time=1.0, memory_mb=1024))
    local = run_tournament(config, tmp_path / "local.sqlite", workers=2, progress=False, check=False,
                           sandbox=sandbox)
    remote = run_tournament(config, tmp_path / "ray.sqlite", workers=2, backend="ray", progress=False, check=False,
                            sandbox=sandbox)
    assert local.games == remote.games == 6 and not remote.failed
    assert all(s["forfeits"] == 0 and s["errors"] == 0 for s in remote.standings)
    assert _results(tmp_path / "local.sqlite") == _results(tmp_path / "ray.sqlite")
    assert remote.standings == local.standings


@pytest.mark.slow
def test_nine_agents_with_misbehaving_ones_finish_in_ten_minutes(tmp_path: Path) -> None:
    """The issue's scenario: 9 agents, 2 games per pair, default limits and maze, four broken agents."""
    bad = [str(DATA / f"{n}.py") for n in ("sleeper", "looper", "memhog", "exiter")]
    agents = ["greedy", "random", "opportunist", "search", str(DATA / "printer.py"), *bad]
    t0 = time.monotonic()
    ns = type("A", (), {"config": None, "agents": agents, "seed": 1, "preset": None, "games_per_pair": 2,
                        "db": None, "replay_dir": None, "workers": 2, "max_turns": None, "turn_time": None,
                        "preprocessing_time": None, "max_timeouts": None, "memory_mb": None, "cpu_seconds": None,
                        "backend": None, "ray_address": None})()
    config, _ = build_config(ns)
    outcome = run_tournament(config, tmp_path / "nine.sqlite", workers=2, progress=False)
    seconds = time.monotonic() - t0
    print(f"9-agent tournament: {outcome.games} games in {seconds:.1f} s")
    assert outcome.games == 72 and not outcome.failed
    assert seconds < 600
    by_name = {r["agent"]: r for r in outcome.standings}
    for name in ("sleeper", "looper", "memhog", "exiter"):
        assert by_name[name]["forfeits"] >= 8
    assert by_name["exiter"]["points"] == 0


def test_a_late_fix_replays_only_that_agents_games(tmp_path: Path) -> None:
    from pyrat_rl.agents.tournament.config import Limits, TournamentConfig, describe_agents, game_config

    alice = tmp_path / "alice.py"
    shutil.copy(ROOT / "agents" / "templates" / "agent_template.py", alice)
    db = tmp_path / "late.sqlite"

    def config() -> TournamentConfig:
        return TournamentConfig(agents=describe_agents(["greedy", str(alice), "random"]), game=game_config("tiny"),
                                seed=8, limits=Limits(turn_time=1.0, memory_mb=1024))

    first = run_tournament(config(), db, progress=False, sandbox="none")
    assert first.games == first.played == 6
    before = _results(db)
    with sqlite3.connect(db) as conn:
        digests = dict(conn.execute("SELECT key, IFNULL(digest0, '-') || '/' || IFNULL(digest1, '-') FROM games"))
    # the student hands in a fix: the same tournament, and only alice's 4 games are played again
    alice.write_text(alice.read_text() + "\n# fixed a bug\n")
    logs: list[str] = []
    second = run_tournament(config(), db, progress=False, sandbox="none", log=logs.append)
    assert second.tournament_id == first.tournament_id
    assert second.games == 6 and second.played == 4
    assert any("alice changed" in m and "4 game(s)" in m for m in logs), logs
    after = _results(db)
    untouched = [k for k in before if "1" not in k.split("-")[1:3]]   # keys r{round}-{a}-{b}-{f|s}; alice is 1
    assert len(untouched) == 2 and all(after[k] == before[k] for k in untouched)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM superseded_games").fetchone()[0] == 4
        new = dict(conn.execute("SELECT key, IFNULL(digest0, '-') || '/' || IFNULL(digest1, '-') FROM games"))
    changed = {k for k in new if new[k] != digests[k]}
    assert len(changed) == 4 and changed == set(before) - set(untouched)
    # a third run has nothing left to play
    assert run_tournament(config(), db, progress=False, sandbox="none").played == 0


@pytest.mark.slow
def test_tournament_benchmark_measures_both_sides() -> None:
    from pyrat_env.bench import run_benchmarks

    res = run_benchmarks(quick=True, envs=False, tournament=True)
    assert res["tournament_games"] == 10
    for name in res["play_games_per_s"]:
        assert res["play_games_per_s"][name] > 0 and res["tournament_games_per_s"][name] > 0
        ratio = res["ratios"][f"tournament_vs_play_{name}"]
        assert ratio == pytest.approx(res["tournament_games_per_s"][name] / res["play_games_per_s"][name])
