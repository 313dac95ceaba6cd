"""Naming agents (every spec form, and the messages when one does not resolve) and the experts' strength."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
from pyrat_rl.agents.match import play_series
from pyrat_rl.agents.scripted import GreedyAgent, OpportunistAgent, RandomAgent, SearchAgent, maze_tables, rollout
from pyrat_rl.agents.spec import AgentSpecError, agent_factory, list_agents, resolve_agent

from pyrat_env.agent import Agent
from pyrat_env.engine import EAST, WEST, Game, Maze

PLAYERS = Path(__file__).parent / "data" / "players"


# -- spec forms ----------------------------------------------------------------------------------------------
def test_builtin_names_give_fresh_agents():
    for name, cls in [("random", RandomAgent), ("greedy", GreedyAgent), ("opportunist", OpportunistAgent),
                      ("search", SearchAgent)]:
        a, b = resolve_agent(name), resolve_agent(name)
        assert type(a) is cls and a is not b and a.name == name
    listed = list_agents()
    assert [a["name"] for a in listed][:4] == ["random", "greedy", "opportunist", "search"]
    assert all({"name", "kind", "description"} <= set(a) and a["kind"] in ("scripted", "neural") for a in listed)


def test_file_and_class():
    agent = resolve_agent(f"{PLAYERS / 'our_agent.py'}:EastThenSouth")
    assert isinstance(agent, Agent) and type(agent).__name__ == "EastThenSouth"
    # a file with a single agent class needs no class name
    alone = resolve_agent(str(PLAYERS / "our_agent.py"))
    assert type(alone).__name__ == "EastThenSouth"
    make, label, spec = agent_factory(f"{PLAYERS / 'our_agent.py'}:EastThenSouth")
    assert label == "east_then_south" and spec.endswith("our_agent.py:EastThenSouth") and make() is not make()


def test_module_and_class(monkeypatch):
    assert type(resolve_agent("pyrat_rl.agents.scripted:GreedyAgent")) is GreedyAgent
    monkeypatch.syspath_prepend(str(PLAYERS))
    assert type(resolve_agent("our_agent:EastThenSouth")).__name__ == "EastThenSouth"


@pytest.mark.parametrize("spec,expected", [
    ("nobody", ["unknown agent 'nobody'", "built-in names (random, greedy, opportunist, search)",
                "no ':ClassName' part"]),
    ("missing/player.py:Cls", ["as a file", "does not exist"]),
    (f"{PLAYERS / 'our_agent.py'}:Nope", ["has no class 'Nope'", "EastThenSouth"]),
    (f"{PLAYERS / 'misbehaving.py'}:NotAnAgent", ["neither an agents.Agent subclass nor a pyrat.Player"]),
    (f"{PLAYERS / 'misbehaving.py'}", ["name the class", "SlowAgent"]),
    ("no_such_package.mod:Cls", ["as a module", "importing 'no_such_package.mod' failed", "ModuleNotFoundError"]),
    ("pyrat_rl.agents.scripted:Missing", ["pyrat_rl.agents.scripted has no class 'Missing'", "GreedyAgent"]),
    ("nowhere/model.zip", ["as a checkpoint file", "does not exist"]),
])
def test_unresolved_specs_say_what_was_tried(spec, expected):
    with pytest.raises(AgentSpecError) as info:
        resolve_agent(spec)
    for text in expected:
        assert text in str(info.value)


def test_file_that_fails_to_import(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("import not_a_module_anywhere\n")
    with pytest.raises(AgentSpecError, match="importing .*broken.py failed: ModuleNotFoundError"):
        resolve_agent(f"{bad}:X")


def test_checkpoints_load_through_train_policy_agent(tmp_path, monkeypatch):
    ckpt = tmp_path / "policy.zip"
    ckpt.write_bytes(b"not really a model")
    monkeypatch.setitem(sys.modules, "pyrat_rl.agents.policy_agent", None)  # the module is missing
    with pytest.raises(AgentSpecError, match="playing one needs torch"):
        resolve_agent(str(ckpt))
    loaded = []

    def load_agent(path):
        loaded.append(Path(path))
        agent = GreedyAgent()
        agent.name = "policy"
        return agent

    fake = types.ModuleType("pyrat_rl.agents.policy_agent")
    fake.load_agent = load_agent
    monkeypatch.setitem(sys.modules, "pyrat_rl.agents.policy_agent", fake)
    for suffix in (".zip", ".pt", ".onnx"):
        path = ckpt.with_suffix(suffix)
        path.write_bytes(b"x")
        make, label, _ = agent_factory(str(path))
        assert isinstance(make(), GreedyAgent) and label == "policy"
    assert loaded == [ckpt, ckpt.with_suffix(".pt"), ckpt.with_suffix(".onnx")]
    fake.load_agent = lambda path: object()
    with pytest.raises(AgentSpecError, match="not an Agent"):
        resolve_agent(str(ckpt))


def test_agent_objects_classes_and_factories():
    g = GreedyAgent()
    assert resolve_agent(g) is g
    make, label, _ = agent_factory(g)
    assert make() is g and label == "greedy"
    make, label, spec = agent_factory(RandomAgent)
    assert isinstance(make(), RandomAgent) and label == "random" and spec == "pyrat_rl.agents.scripted:RandomAgent"
    make, label, _ = agent_factory(lambda: OpportunistAgent())
    assert label == "opportunist" and isinstance(make(), OpportunistAgent)
    with pytest.raises(AgentSpecError):
        agent_factory(lambda: 3)
    with pytest.raises(AgentSpecError):
        agent_factory("")


# -- the experts' behaviour ----------------------------------------------------------------------------------
def _corridor_game() -> Game:
    # 0 1 2 3 4 5 6 ; the opponent (seat 1) on 1 is heading for cheese 2, which it reaches first;
    # cheese 2 and 6 are both 2 turns away from seat 0 on cell 4
    return Game(Maze.open_grid(7, 1), cheese=[2, 6], starts=[4, 1])


def test_greedy_goes_for_the_nearest_but_opportunist_and_search_avoid_the_lost_cheese():
    game = _corridor_game()
    game.step([0, 0])
    assert GreedyAgent().act(game.copy(), 0) == WEST
    assert OpportunistAgent().act(game.copy(), 0) == EAST
    assert SearchAgent().act(game.copy(), 0) == EAST


def test_rollout_plays_greedy_races_with_sharing():
    maze = Maze.open_grid(7, 1)
    tables = maze_tables(maze)
    # both players 2 turns from cheese 3 (cells 1 and 5): they share it, then race for 0 and 6
    scores = rollout(tables, [1, 5], [0, 0], [0.0, 0.0], [3, 0, 6], [None, None], 10**6)
    assert scores == [1.5, 1.5]
    # with the first targets forced away, each takes its own side
    scores = rollout(tables, [1, 5], [0, 0], [0.0, 0.0], [3, 0], [0, None], 10**6)
    assert scores == [1.0, 1.0]


def test_planning_agents_never_stall_forever():
    # identical deterministic agents on the same cell may chase in circles; the stall guard ends every game
    res = play_series(["opportunist", "opportunist"], games=2, seed=3, turn_time=None, preprocessing_time=None,
                      max_turns=3000)
    assert res.reasons.get("max_turns", 0) == 0


@pytest.mark.parametrize("cls", [OpportunistAgent, SearchAgent])
def test_batched_planning_agents_play_each_game_as_alone(cls):
    from pyrat_rl.agents.match import play_game

    from pyrat_env.engine import GameBatch
    from pyrat_env.mazes import new_game

    setups = [new_game("official", s) for s in (1, 2)]
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups])
    agent, greedy = cls(), GreedyAgent()
    while not batch.over.all():
        batch.step(np.stack([agent.act_batch(batch, 0), greedy.act_batch(batch, 1)], axis=1))
    alone = [play_game(s, [cls(), GreedyAgent()], turn_time=None, preprocessing_time=None, record=False).scores
             for s in setups]
    assert batch.scores.tolist() == alone


# -- strength (small numbers of paired games; the full table is in the report) -------------------------------
def _points(a, b, games, seed=0, preset="official"):
    res = play_series([a, b], games=games, seed=seed, config=preset, turn_time=None, preprocessing_time=None)
    assert res.paired
    return res.points[0], res


def test_greedy_beats_random():
    points, res = _points("greedy", "random", 20)
    assert res.wins[0] / res.games >= 0.95


def test_opportunist_beats_greedy():
    points, _ = _points("opportunist", "greedy", 40)
    assert points >= 0.6


def test_search_beats_greedy():
    points, _ = _points("search", "greedy", 10)
    assert points >= 0.8


@pytest.mark.slow
@pytest.mark.parametrize("a,b,target", [("greedy", "random", 0.95), ("opportunist", "greedy", 0.6),
                                        ("search", "opportunist", 0.6)])
def test_strength_targets_on_100_paired_games(a, b, target):
    points, res = _points(a, b, 100, seed=1)
    if a == "greedy":
        assert res.wins[0] / res.games >= target
    else:
        assert points >= target
