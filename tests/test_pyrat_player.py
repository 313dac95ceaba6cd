"""Students' pyrat-game players in our matches: the same moves and states as in pyrat-game itself.

The players in ``tests/data/players`` are written against pyrat-game's API only: ``Wanderer`` keeps
state between turns, ``Planner`` plans in ``preprocessing`` and keeps its ``postprocessing`` stats.
Games are recorded in pyrat-game (``GameMode.SIMULATION``) and played again through the adapter on
the recorded maze, cheese and starts (``--maze FILE``): every action and every state must match.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pyrat = pytest.importorskip("pyrat")

from pyrat_rl.agents.match import play_game, play_series, setups_from_file  # noqa: E402
from pyrat_rl.agents.pyrat_player import PyratPlayerAgent, record_pyrat_game  # noqa: E402
from pyrat_rl.agents.scripted import GreedyAgent  # noqa: E402
from pyrat_rl.agents.spec import resolve_agent  # noqa: E402

from pyrat_env.cli import main as pyrat_main  # noqa: E402
from pyrat_env.mazes import GameConfig, new_game  # noqa: E402
from pyrat_env.replay import load_replay, save_replay  # noqa: E402

PLAYERS = Path(__file__).parent / "data" / "players"
WANDERER = f"{PLAYERS / 'stateful_player.py'}:Wanderer"
PLANNER = f"{PLAYERS / 'planner_player.py'}:Planner"


def _player_classes():
    wanderer = resolve_agent(WANDERER).player
    planner = resolve_agent(PLANNER).player
    return type(wanderer), type(planner)


def _record(setup, tmp_path: Path, order=(0, 1)) -> Path:
    wanderer_cls, planner_cls = _player_classes()
    players = [wanderer_cls(), planner_cls()]
    players = [players[i] for i in order]
    trace = record_pyrat_game(players, setup.maze, setup.cheese, setup.starts)
    path = tmp_path / "recorded.json"
    save_replay(trace, path)
    return path


def _same_game(ours: dict, trace: dict) -> None:
    assert [p["actions"] for p in ours["players"]] == [p["actions"] for p in trace["players"]]
    assert len(ours["states"]) == len(trace["states"])
    for mine, ref in zip(ours["states"], trace["states"]):
        assert mine == ref, f"turn {ref['turn']} differs"


@pytest.mark.parametrize("seed,preset,order", [(0, "official", (0, 1)), (4, "official", (1, 0)),
                                                (1, "classic", (0, 1))])
def test_adapter_replays_the_pyrat_game_game_exactly(tmp_path, seed, preset, order):
    setup = new_game(preset, seed)
    path = _record(setup, tmp_path, order)
    trace = load_replay(path)
    assert any(s["muds"][n]["target"] is not None for s in trace["states"] for n in s["muds"]), "want some mud"
    specs = [WANDERER, PLANNER]
    specs = [specs[i] for i in order]
    series = play_series(specs, games=1, setups=setups_from_file(path), turn_time=None, preprocessing_time=None,
                         record=True)
    ours = series.results[0].replay
    assert [p["name"] for p in ours["players"]] == [p["name"] for p in trace["players"]]
    _same_game(ours, trace)
    assert ours["stats"] == trace["stats"]


def test_cli_play_on_a_recorded_maze_reproduces_it(tmp_path, capsys):
    path = _record(new_game("official", 2), tmp_path)
    out = tmp_path / "replays"
    # the recorded players' names (files are named by their stem otherwise); no turn limit, as the official game
    code = pyrat_main(["play", f"Wanderer={WANDERER}", f"Planner={PLANNER}", "--maze", str(path), "--games", "1",
                       "--replay-dir", str(out), "--json", "--max-turns", "0"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["games"] == 1 and summary["errors"] == [0, 0] and summary["timeouts"] == [0, 0]
    ours = load_replay(summary["replays"][0])
    _same_game(ours, load_replay(path))
    assert ours["config"] is None and ours["players"][0]["agent"] == WANDERER


def test_preprocessing_turn_and_postprocessing_are_called_as_in_pyrat_game():
    wanderer_cls, planner_cls = _player_classes()
    setup = new_game(GameConfig(mud_percentage=60.0), 3)
    wanderer, planner = PyratPlayerAgent(wanderer_cls), PyratPlayerAgent(planner_cls())
    res = play_game(setup, [wanderer, planner], turn_time=1.0, preprocessing_time=3.0)
    assert res.errors == [[], []]
    assert isinstance(wanderer.maze, pyrat.Maze)
    assert (wanderer.maze.get_width(), wanderer.maze.get_height()) == (15, 13)
    assert wanderer.maze is not planner.maze  # one maze per player and game
    assert planner.player.preprocessed_at == 0
    # turn() is asked exactly on the turns the player is not in mud (Wanderer asserts it is not in mud)
    w = wanderer.player
    assert w.turns_played == len(res.replay["players"][0]["actions"])
    states = res.replay["states"]
    free_turns = [s["turn"] for s in states[1:-1] if s["muds"]["Wanderer"]["target"] is None]
    assert w.turns_seen == free_turns
    assert any(s["muds"]["Wanderer"]["target"] is not None for s in states)
    # postprocessing got the final state and stats shaped like pyrat-game's
    stats = planner.player.final_stats
    assert planner.player.final_turn == states[-1]["turn"]
    assert stats["turns"] == res.turns
    assert set(stats["players"]) == {"Wanderer", "Planner"}
    mine = stats["players"]["Planner"]
    assert set(mine) == {"score", "preprocessing_duration", "turn_durations", "team", "actions"}
    assert mine["score"] == res.scores[1] and mine["team"] == "Planner"
    assert set(mine["actions"]) == {"nothing", "north", "east", "south", "west", "mud", "error", "miss", "wall"}
    assert sum(mine["actions"][k] for k in ("nothing", "north", "east", "south", "west", "wall")) \
        == len(mine["turn_durations"]) == len(res.replay["players"][1]["actions"])
    assert mine["actions"]["mud"] == res.turns - len(res.replay["players"][1]["actions"])
    assert mine["preprocessing_duration"] is not None


def test_fresh_state_each_call_and_invalid_returns(tmp_path):
    spec = f"{PLAYERS / 'misbehaving_players.py'}"
    mutating = resolve_agent(spec + ":MutatingPlayer")
    stringy = resolve_agent(spec + ":StringPlayer")
    setup = new_game("tiny", 1)
    res = play_game(setup, [mutating, GreedyAgent()], turn_time=None, preprocessing_time=None)
    assert mutating.player.calls > 2 and not mutating.player.saw_scribble
    assert res.errors[0] == []
    res = play_game(setup, [stringy, GreedyAgent()], turn_time=None, preprocessing_time=None)
    errs = res.errors[0]
    assert errs and all(e["kind"] == "invalid_action" for e in errs)
    assert "not a pyrat.Action" in errs[0]["message"]
    assert set(res.replay["players"][0]["actions"]) == {"nothing"}


def test_names_do_not_clash_in_self_play():
    wanderer_cls, _ = _player_classes()
    a, b = PyratPlayerAgent(wanderer_cls), PyratPlayerAgent(wanderer_cls)
    res = play_game(new_game("tiny", 2), [a, b], turn_time=None, preprocessing_time=None, max_turns=30)
    assert res.names == ["Wanderer#1", "Wanderer#2"]
    assert a._names == ["Wanderer", "Wanderer#2"] and b._names == ["Wanderer#1", "Wanderer"]
