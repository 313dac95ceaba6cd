"""``pyrat play`` and ``pyrat agents``: the command line over `pyrat_rl.agents.match` and `.spec`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pyrat_env.cli import main
from pyrat_env.replay import load_replay

PLAYERS = Path(__file__).parent / "data" / "players"


def _play(capsys, *args) -> tuple[int, str, str]:
    code = main(["play", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_summary(capsys):
    code, out, _ = _play(capsys, "greedy", "random", "--games", "4", "--seed", "5", "--no-time-limit", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["games"] == 4 and data["wins"] == [4, 0] and data["draws"] == 0
    assert data["mean_scores"][0] > data["mean_scores"][1]
    assert data["paired"] is True and data["timeouts"] == [0, 0] and data["errors"] == [0, 0]
    assert data["agents"] == ["greedy", "random"] and data["seed"] == 5
    assert data["time_limits"] == {"preprocessing": None, "turn": None}


def test_text_summary_says_games_are_paired(capsys):
    code, out, _ = _play(capsys, "opportunist", "greedy", "-n", "2", "--turn-time", "0", "--preset", "tiny")
    assert code == 0
    assert "2 games, 1 maze played twice with the seats swapped (paired games)" in out
    assert "game 1/2" in out and "opportunist" in out
    code, out, _ = _play(capsys, "greedy", "random", "-n", "3", "--no-time-limit", "-q")
    assert "not paired (odd number of games)" in out and "game 1/3" not in out


def test_replays_and_max_turns(tmp_path, capsys):
    out_dir = tmp_path / "replays"
    code, out, _ = _play(capsys, "random", "random", "-n", "2", "--max-turns", "7", "--replay-dir", str(out_dir),
                         "--no-time-limit", "--json")
    assert code == 0
    files = sorted(out_dir.glob("*.json.gz"))
    assert [f.name for f in files] == ["game_0000.json.gz", "game_0001.json.gz"]
    rep = load_replay(files[0])
    assert rep["result"]["reason"] == "max_turns" and rep["stats"]["turns"] == 7
    assert [p["name"] for p in rep["players"]] == ["random#1", "random#2"]
    assert json.loads(out)["reasons"] == {"max_turns": 2}
    # a replay's maze, cheese and starts can be played again
    code, out, _ = _play(capsys, "greedy", "greedy", "--maze", str(files[0]), "-n", "1", "--no-time-limit", "--json")
    assert code == 0 and json.loads(out)["maze"] == str(files[0])


def test_json_stays_clean_when_agents_print(capsys):
    code, out, err = _play(capsys, f"{PLAYERS / 'misbehaving.py'}:ChattyAgent", "greedy", "-n", "1", "--json",
                           "--preset", "tiny")
    assert code == 0 and json.loads(out)["games"] == 1
    assert "thinking hard" in err


def test_errors_and_timeouts_per_agent(capsys):
    bad = PLAYERS / "misbehaving.py"
    code, out, _ = _play(capsys, f"{bad}:RaisingAgent", f"{bad}:SlowAgent", "-n", "1", "--turn-time", "0.05",
                         "--json")
    assert code == 0
    data = json.loads(out)
    assert data["errors"] == [1, 0] and data["timeouts"][0] == 0 and data["timeouts"][1] >= 1
    assert data["error_samples"][0][0]["kind"] == "exception" and "boom" in data["error_samples"][0][0]["message"]


@pytest.mark.parametrize("args,message", [
    (["nobody", "greedy"], "unknown agent 'nobody'"),
    (["greedy"], "has 2 players; give 2 agents"),
    (["greedy", "random", "--games", "0"], "--games/-n: must be at least 1"),
    (["greedy", "random", "--maze", "no/such/file.json"], "no such file"),
])
def test_bad_arguments_exit_2_with_a_message(capsys, args, message):
    code, _, err = _play(capsys, *args)
    assert code == 2 and message in err and err.count("\n") == 1   # more cases: tests/test_cli.py


def test_watch_without_a_viewer_says_so(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrat_env.viewer.live", None)
    code, _, err = _play(capsys, "greedy", "random", "--watch", "-n", "1")
    assert code == 2 and "live viewer (pyrat_env.viewer.live) is not available" in err


IDLE = """
from pyrat_env.agent import Agent


class Idle(Agent):
    \"\"\"Never moves: two of them never end a game by eating.\"\"\"

    def act(self, game, seat):
        return 0
"""


def test_a_game_that_cannot_end_stops_at_the_default_turn_limit(tmp_path, capsys):
    from pyrat_rl.agents.match import DEFAULT_MAX_TURNS
    from pyrat_rl.agents.tournament.config import TournamentConfig

    idle = tmp_path / "idle.py"
    idle.write_text(IDLE)
    code, out, _ = _play(capsys, str(idle), str(idle), "-n", "1", "--preset", "tiny", "--no-time-limit", "--json",
                         "--replay-dir", str(tmp_path / "replays"))
    assert code == 0
    data = json.loads(out)
    assert data["reasons"] == {"max_turns": 1} and data["draws"] == 1 and data["max_turns"] == DEFAULT_MAX_TURNS
    assert data["names"] == ["idle#1", "idle#2"]   # named by the file, as tournaments name them
    rep = load_replay(tmp_path / "replays" / "game_0000.json.gz")
    assert rep["stats"]["turns"] == DEFAULT_MAX_TURNS == TournamentConfig.max_turns
    assert rep["config"]["max_turns"] == DEFAULT_MAX_TURNS


def test_max_turns_zero_means_no_limit(capsys):
    code, out, _ = _play(capsys, "greedy", "greedy", "-n", "1", "--preset", "tiny", "--no-time-limit", "--json",
                         "--max-turns", "0")
    data = json.loads(out)
    assert code == 0 and data["max_turns"] is None and "max_turns" not in data["reasons"]


def test_agents_named_on_the_command_line(tmp_path, capsys):
    code, out, _ = _play(capsys, "alice=greedy", f"bob={PLAYERS / 'misbehaving.py'}:ChattyAgent", "-n", "2",
                         "--preset", "tiny", "--no-time-limit", "--json", "--replay-dir", str(tmp_path))
    data = json.loads(out)
    assert code == 0 and data["names"] == ["alice", "bob"]
    assert data["agents"] == ["greedy", f"{PLAYERS / 'misbehaving.py'}:ChattyAgent"]   # the specs, without NAME=
    rep = load_replay(tmp_path / "game_0001.json.gz")   # seats swapped
    assert [p["name"] for p in rep["players"]] == ["bob", "alice"]
    assert [p["agent"] for p in rep["players"]] == data["agents"][::-1]


def test_watch_calls_the_watcher(capsys, monkeypatch):
    import types

    seen, closed = [], []

    class LiveWatcher:
        def __init__(self, speed=1.0):
            self.speed = speed

        def __call__(self, replay):
            seen.append(len(replay["states"]))

        def close(self):
            closed.append(True)

    module = types.ModuleType("pyrat_env.viewer.live")
    module.LiveWatcher = LiveWatcher
    monkeypatch.setitem(sys.modules, "pyrat_env.viewer.live", module)
    code, _, _ = _play(capsys, "greedy", "random", "--watch", "--watch-speed", "5", "-n", "1", "--preset", "tiny",
                       "--no-time-limit")
    assert code == 0 and closed == [True] and seen[0] == 2 and seen == sorted(seen)


def test_agents_listing(capsys):
    assert main(["agents", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = [a["name"] for a in data]
    assert {"random", "greedy", "opportunist", "search"} <= set(names)
    assert all(a["kind"] in ("scripted", "neural") and a["description"] for a in data)
    assert main(["agents"]) == 0
    assert "opportunist" in capsys.readouterr().out
