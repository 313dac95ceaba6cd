"""The match runner: replays in the documented format, time limits, errors, seeds and paired series."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pyrat_rl.agents.match import AgentRunner, play_game, play_series, setups_from_file, unique_names
from pyrat_rl.agents.scripted import GreedyAgent, RandomAgent

from pyrat_env.agent import Agent
from pyrat_env.compat import check_game
from pyrat_env.mazes import new_game
from pyrat_env.replay import load_replay, save_replay, validate_game

REPLAY_KEYS = {"format", "width", "height", "maze", "cheese", "players", "states", "stats", "config", "seed",
               "result", "created", "software"}
PLAYER_KEYS = {"name", "team", "agent", "start", "actions", "think_times", "preprocessing_time", "timeouts", "errors"}
RESULT_KEYS = {"scores", "team_scores", "winner", "draw", "reason", "turns"}


def _load_misbehaving():
    from pyrat_rl.agents.spec import resolve_agent

    return {name: (lambda n=name: resolve_agent(f"tests/data/players/misbehaving.py:{n}"))
            for name in ("SlowAgent", "SlowStartAgent", "RaisingAgent", "WrongReturnAgent", "EndRaisingAgent")}


@pytest.fixture(scope="module")
def bad():
    return _load_misbehaving()


# -- replays ------------------------------------------------------------------------------------------------
def test_replay_has_exactly_the_documented_keys_and_reproduces(tmp_path):
    setup = new_game("official", 7)
    res = play_game(setup, [GreedyAgent(), RandomAgent()], turn_time=None, preprocessing_time=None)
    rep = res.replay
    assert set(rep) == REPLAY_KEYS
    assert rep["format"] == "pyrat-replay/1" and rep["seed"] == 7 and rep["config"]["width"] == 15
    for p in rep["players"]:
        assert set(p) == PLAYER_KEYS
        assert len(p["think_times"]) == len(p["actions"])
    assert [p["name"] for p in rep["players"]] == ["greedy", "random"]
    assert [p["team"] for p in rep["players"]] == ["greedy", "random"]
    assert set(rep["result"]) == RESULT_KEYS
    assert rep["result"]["winner"] == "greedy" and not rep["result"]["draw"]
    assert rep["result"]["reason"] == "ranking_decided"
    assert rep["stats"]["turns"] == len(rep["states"]) - 2 == res.turns
    assert dict(rep["states"][0], turn=1) == rep["states"][1] and rep["states"][0]["turn"] == 0
    validate_game(rep)
    assert check_game(rep) is None  # the engine replays it state for state
    path = save_replay(rep, tmp_path / "g.json.gz")
    assert load_replay(path) == rep


def test_winner_draw_and_self_play_names():
    setup = new_game("official", 3)
    res = play_game(setup, [GreedyAgent(), GreedyAgent()], turn_time=None, preprocessing_time=None)
    # two greedy players on the same start cell move together and share every cheese
    assert res.names == ["greedy#1", "greedy#2"]
    assert res.draw and res.winner is None and res.replay["result"]["draw"]
    assert res.scores[0] == res.scores[1] == 10.5
    assert res.reason == "all_cheese_eaten"
    assert unique_names(["a", "b", "a"]) == ["a#1", "b", "a#2"]


def test_max_turns_truncates_and_replay_still_checks():
    setup = new_game("official", 5)
    res = play_game(setup, [RandomAgent(), RandomAgent()], turn_time=None, preprocessing_time=None, max_turns=12)
    assert res.reason == "max_turns" and res.turns == 12
    assert res.replay["config"]["max_turns"] == 12
    assert check_game(res.replay) is None


def test_agents_get_copies_and_their_own_generators():
    seen = []

    class Tamper(Agent):
        name = "tamper"

        def start(self, ctx):
            super().start(ctx)
            seen.append(float(ctx.rng.random()))
            ctx.game.pos[ctx.seat] = -1

        def act(self, game, seat):
            game.pos[seat] = 0
            game.cheese.clear()
            return 0

    setup = new_game("tiny", 1)
    res = play_game(setup, [Tamper(), GreedyAgent()], turn_time=None, preprocessing_time=None, seed=11)
    assert res.replay["states"][-1]["locations"]["tamper"] == setup.starts[0]  # never moved
    assert res.scores[1] > 0
    again = []
    seen_first = list(seen)
    seen.clear()
    play_game(setup, [Tamper(), GreedyAgent()], turn_time=None, preprocessing_time=None, seed=11)
    again = list(seen)
    assert again == seen_first  # same seed, same generator
    assert again[0] == np.random.default_rng([11, 0]).random()


def test_observer_sees_every_turn_and_the_result():
    calls = []
    setup = new_game("tiny", 2)
    res = play_game(setup, [GreedyAgent(), RandomAgent()], turn_time=None, preprocessing_time=None,
                    observer=lambda r: calls.append((len(r["states"]), r["result"] is not None)), record=False)
    assert res.replay is None
    assert [c[0] for c in calls[:-1]] == list(range(2, res.turns + 2))
    assert calls[-1] == (res.turns + 2, True) and not any(done for _, done in calls[:-1])


# -- time limits and errors ----------------------------------------------------------------------------------
def test_slow_agent_times_out_and_its_late_answer_is_dropped(bad):
    setup = new_game("official", 1)
    res = play_game(setup, [bad["SlowAgent"](), GreedyAgent()], turn_time=0.05, preprocessing_time=2.0)
    p = res.replay["players"][0]
    # turn 3 times out (0.3 s > 0.05 s); the agent is still busy at turn 4... and possibly 5, 6...
    assert res.timeouts[0] >= 2 and p["timeouts"] == res.timeouts[0]
    assert p["actions"][2] == "nothing" and p["think_times"][2] >= 0.05
    assert res.timeouts[1] == 0 and res.errors == [[], []]
    assert res.turns > 10  # the game went on
    assert check_game(res.replay) is None


def test_slow_preprocessing_counts_as_a_timeout(bad):
    setup = new_game("tiny", 1)
    res = play_game(setup, [bad["SlowStartAgent"](), GreedyAgent()], turn_time=0.5, preprocessing_time=0.05)
    assert res.timeouts[0] >= 1
    assert res.replay["players"][0]["preprocessing_time"] is None
    assert res.replay["players"][1]["preprocessing_time"] is not None


@pytest.mark.parametrize("limits", [(None, None), (1.0, 1.0)], ids=["no-limit", "threads"])
def test_exceptions_and_wrong_returns_are_recorded_and_play_goes_on(bad, limits):
    pre, turn = limits
    setup = new_game("official", 2)
    res = play_game(setup, [bad["RaisingAgent"](), bad["WrongReturnAgent"]()], preprocessing_time=pre, turn_time=turn)
    raising, wrong = res.replay["players"]
    assert [(e["turn"], e["kind"]) for e in raising["errors"]] == [(2, "exception")]
    assert "boom on turn 2" in raising["errors"][0]["message"]
    assert [(e["turn"], e["kind"]) for e in wrong["errors"]] == [(2, "invalid_action"), (3, "invalid_action")]
    assert "'jump'" in wrong["errors"][0]["message"] and "None" in wrong["errors"][1]["message"]
    assert raising["actions"][1] == "nothing" and wrong["actions"][1:3] == ["nothing", "nothing"]
    assert res.timeouts == [0, 0]
    assert res.turns > 5 and check_game(res.replay) is None


def test_error_in_end_is_recorded(bad):
    res = play_game(new_game("tiny", 3), [bad["EndRaisingAgent"](), RandomAgent()], turn_time=None,
                    preprocessing_time=None)
    errs = res.replay["players"][0]["errors"]
    assert len(errs) == 1 and errs[0]["kind"] == "exception" and "in end()" in errs[0]["message"]


def test_runner_statuses():
    r = AgentRunner("t")
    assert r.call(lambda: 3, timeout=0.5)[:2] == ("ok", 3)
    status, value, _ = r.call(lambda: 1 / 0, timeout=0.5)
    assert status == "error" and isinstance(value, ZeroDivisionError)
    t0 = time.perf_counter()
    assert r.call(time.sleep, 0.3, timeout=0.05)[0] == "timeout"
    assert time.perf_counter() - t0 < 0.25
    assert r.call(lambda: 3, timeout=0.05)[0] == "busy"
    time.sleep(0.3)
    assert r.call(lambda: 4, timeout=0.5)[:2] == ("ok", 4)
    r.close()
    assert r.call(lambda: 5, timeout=None)[:2] == ("ok", 5)


# -- series --------------------------------------------------------------------------------------------------
def test_paired_series_swaps_seats_on_the_same_mazes():
    res = play_series(["greedy", "random"], games=4, seed=9, turn_time=None, preprocessing_time=None, record=True)
    assert res.paired and res.games == 4
    r0, r1 = res.results[0], res.results[1]
    assert r0.names == ["greedy", "random"] and r1.names == ["random", "greedy"]
    assert r0.replay["maze"] == r1.replay["maze"] and r0.replay["cheese"] == r1.replay["cheese"]
    assert r0.seed == r1.seed != res.results[2].seed
    assert r1.replay["players"][0]["start"] == r0.replay["players"][1]["start"]
    assert res.wins == [4, 0] and res.draws == 0
    assert res.points == [1.0, 0.0]
    assert "paired" in res.summary()


def test_paired_games_give_each_agent_both_start_cells():
    # on corner starts the second game of a pair is not the first one again: the agents exchange corners
    res = play_series(["greedy", "opportunist"], games=6, seed=3, config="tiny", turn_time=None,
                      preprocessing_time=None, record=True)
    corners = {0, 34}                                       # tiny is 7 x 5: top left, bottom right
    for first, second in zip(res.results[::2], res.results[1::2]):
        starts = [{p["name"]: p["start"] for p in r.replay["players"]} for r in (first, second)]
        assert set(starts[0].values()) == set(starts[1].values()) == corners
        assert starts[0]["greedy"] != starts[1]["greedy"] and starts[0]["opportunist"] != starts[1]["opportunist"]


def test_series_is_reproducible_and_odd_counts_are_not_paired():
    a = play_series(["random", "greedy"], games=3, seed=4, turn_time=None, preprocessing_time=None)
    b = play_series(["random", "greedy"], games=3, seed=4, turn_time=None, preprocessing_time=None)
    assert not a.paired
    assert [r.scores for r in a.results] == [r.scores for r in b.results]
    assert [r.turns for r in a.results] == [r.turns for r in b.results]
    assert "not paired" in a.summary()
    with pytest.raises(ValueError):
        play_series(["random", "greedy"], games=3, paired=True)


def test_paired_agents_keep_their_generator_across_seats():
    draws = {}

    class Probe(Agent):
        def __init__(self, label):
            super().__init__()
            self.name = label

        def start(self, ctx):
            super().start(ctx)
            draws.setdefault(self.name, []).append(float(ctx.rng.random()))

        def act(self, game, seat):
            return 0

    play_series([lambda: Probe("a"), lambda: Probe("b")], games=2, seed=1, config="tiny", turn_time=None,
                preprocessing_time=None, max_turns=3)
    assert draws["a"][0] == draws["a"][1] and draws["b"][0] == draws["b"][1] and draws["a"][0] != draws["b"][0]


def test_series_writes_replays_and_plays_mazes_from_files(tmp_path):
    res = play_series(["greedy", "random"], games=2, seed=2, config="tiny", turn_time=None,
                      preprocessing_time=None, replay_dir=tmp_path / "r")
    assert [p.rsplit("/", 1)[-1] for p in res.replays] == ["game_0000.json.gz", "game_0001.json.gz"]
    first = load_replay(res.replays[0])
    setups = setups_from_file(res.replays[0])
    assert len(setups) == 1 and setups[0].starts == tuple(p["start"] for p in first["players"])
    again = play_series(["greedy", "random"], games=1, seed=2, setups=setups, turn_time=None,
                        preprocessing_time=None, record=True)
    rep = again.results[0].replay
    assert rep["config"] is None and rep["maze"] == first["maze"] and rep["cheese"] == first["cheese"]
    assert rep["states"] == first["states"]  # same set-up and the same seeds: the same game
    with pytest.raises(ValueError, match="no game 3"):
        setups_from_file(res.replays[0], index=3)


def test_closing_a_runner_waits_for_its_worker_thread():
    # A worker thread still unwinding at interpreter exit aborted `pyrat play cnn_planner ...` about one run
    # in two ("terminate called without an active exception"): close() now waits for a free worker to end.
    runner = AgentRunner("a")
    assert runner.call(lambda: 1, timeout=1.0)[:2] == ("ok", 1)
    thread = runner._thread
    assert thread is not None and thread.is_alive()
    runner.close()
    assert not thread.is_alive()


def test_closing_a_runner_leaves_a_stuck_worker_behind():
    import threading

    release = threading.Event()
    runner = AgentRunner("b")
    assert runner.call(release.wait, timeout=0.05)[0] == "timeout"
    thread = runner._thread
    t0 = time.perf_counter()
    runner.close()                       # does not wait for the stuck call
    assert time.perf_counter() - t0 < 1.0 and thread.is_alive()
    release.set()
    thread.join(timeout=5.0)
    assert not thread.is_alive()


# -- an agent that cannot play the game ------------------------------------------------------------------------
class _Refusing(Agent):
    """Refuses every maze wider than ``width`` at start; counts what it is asked afterwards."""

    name = "picky"

    def __init__(self, width: int = 15) -> None:
        super().__init__()
        self.width, self.acts, self.ends = width, 0, 0

    def start(self, ctx) -> None:
        from pyrat_env.agent import AgentRefusal

        if ctx.maze.width > self.width:
            raise AgentRefusal(f"{self.name} plays mazes up to {self.width} wide; this maze is {ctx.maze.width}")
        super().start(ctx)

    def act(self, game, seat) -> int:
        self.acts += 1
        return 0

    def end(self, game, seat, result) -> None:
        self.ends += 1


@pytest.mark.parametrize("limits", [(None, None), (1.0, 0.5)], ids=["no-limit", "threads"])
def test_an_agent_that_refuses_the_game_forfeits_it_at_once(limits):
    pre, turn = limits
    picky, greedy = _Refusing(), GreedyAgent()
    res = play_game(new_game("classic", 4), [greedy, picky], preprocessing_time=pre, turn_time=turn)
    assert res.reason == "forfeit" and res.winner == "greedy" and res.winner_seat == 0
    assert res.turns == 0 and picky.acts == 0 and picky.ends == 0      # never asked to play, nor told the end
    assert res.errors == [[], [{"turn": 0, "kind": "refused", "message": "picky plays mazes up to 15 wide; "
                                                                         "this maze is 21"}]]
    rep = res.replay
    assert rep["result"]["reason"] == "forfeit" and rep["result"]["forfeits"]["picky"]["kind"] == "refused"
    assert rep["players"][1]["errors"] == res.errors[1] and len(rep["states"]) == 1
    validate_game(rep)
    assert check_game(rep) is None
    fine = play_game(new_game("official", 4), [GreedyAgent(), _Refusing()], preprocessing_time=None, turn_time=None)
    assert fine.reason != "forfeit" and fine.errors == [[], []]         # a maze it plays: a normal game


def test_both_refusing_is_a_draw_and_a_series_counts_one_error_per_game():
    res = play_game(new_game("tournament", 1), [_Refusing(), _Refusing(5)], turn_time=None, preprocessing_time=None)
    assert res.reason == "forfeit" and res.draw and [len(e) for e in res.errors] == [1, 1]
    series = play_series([GreedyAgent, lambda: _Refusing(10)], games=4, seed=2, config="official",
                         turn_time=None, preprocessing_time=None)
    assert series.wins == [4, 0] and series.errors == [0, 4] and series.reasons == {"forfeit": 4}
    assert "(refused): picky plays mazes up to 10 wide; this maze is 15" in series.summary()


def test_shipped_fixed_size_agent_forfeits_other_sizes_and_plays_its_own():
    pytest.importorskip("torch")
    series = play_series(["cnn_planner", "greedy"], games=2, seed=1, config="classic", turn_time=None,
                         preprocessing_time=None, max_turns=50)
    assert series.reasons == {"forfeit": 2} and series.errors == [2, 0] and series.wins == [0, 2]
    sample = series.error_samples[0][0]
    assert sample["kind"] == "refused" and sample["message"] == "cnn_planner plays 15x13 mazes only; this maze is 21x15"
