"""Tournament bookkeeping without playing: schedule, ids, ratings, standings tables."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pyrat_rl.agents.tournament.config import (
    Limits,
    TournamentConfig,
    describe_agent,
    describe_agents,
    game_config,
    load_toml,
)
from pyrat_rl.agents.tournament.ratings import bradley_terry, pair_tables, ratings_with_intervals
from pyrat_rl.agents.tournament.schedule import circle_rounds, make_schedule
from pyrat_rl.agents.tournament.standings import pair_matrix, render, standings

DATA = Path(__file__).parent / "data" / "tournament"


# -- schedule -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4, 9])
def test_circle_rounds_meet_every_pair_once(n: int) -> None:
    rounds = circle_rounds(n)
    pairs = [p for r in rounds for p in r]
    assert sorted(pairs) == [(a, b) for a in range(n) for b in range(a + 1, n)]
    for r in rounds:  # nobody plays twice in a block
        seen = [x for p in r for x in p]
        assert len(seen) == len(set(seen))


def test_schedule_pairs_swapped_games_on_shared_mazes() -> None:
    sched = make_schedule(5, 4, seed=7)
    assert len(sched) == 10 * 4
    assert len({g.key for g in sched}) == len(sched)
    assert [g.index for g in sched] == list(range(len(sched)))
    per_pair = Counter((g.a, g.b) for g in sched)
    assert set(per_pair.values()) == {4}
    # each round: one maze for every game, each pair once in each seat order
    for r in (0, 1):
        games = [g for g in sched if g.round == r]
        assert len({g.seed for g in games}) == 1
        for a, b in per_pair:
            orders = sorted(g.seats for g in games if (g.a, g.b) == (a, b))
            assert orders == sorted([(a, b), (b, a)])
    assert sched[0].seed != [g for g in sched if g.round == 1][0].seed
    # the same inputs give the same schedule; another seed other mazes only
    again = make_schedule(5, 4, seed=7)
    assert [(g.key, g.seed) for g in again] == [(g.key, g.seed) for g in sched]
    other = make_schedule(5, 4, seed=8)
    assert [g.key for g in other] == [g.key for g in sched]
    assert other[0].seed != sched[0].seed


def test_schedule_rejects_odd_games_per_pair() -> None:
    with pytest.raises(ValueError, match="even"):
        make_schedule(3, 3, 0)


# -- settings and ids ---------------------------------------------------------------------------------------
def test_agent_names_come_from_specs_without_importing_them(tmp_path: Path) -> None:
    broken = DATA / "broken_import.py"   # importing it would raise
    e = describe_agent(str(broken))
    assert e.name == "broken_import" and e.run_spec == str(broken.resolve()) and e.digest
    assert describe_agent("greedy").name == "greedy"
    assert describe_agent("pkg.mod:MyAgent").name == "MyAgent"
    assert describe_agent(f"alice={broken}:BrokenAgent").name == "alice"
    assert describe_agent("model.zip").name == "model"
    rel = describe_agent("broken_import.py", base_dir=DATA)
    assert rel.run_spec == str(broken.resolve()) and rel.spec == "broken_import.py"
    entries = describe_agents(["greedy", "greedy", "random"])
    assert [x.name for x in entries] == ["greedy#1", "greedy#2", "random"]
    with pytest.raises(ValueError, match="twice"):
        describe_agents(["a=greedy", "a=random"])


def test_tournament_id_depends_on_what_decides_the_games(tmp_path: Path) -> None:
    agents = describe_agents(["greedy", "random"])
    base = TournamentConfig(agents=agents, game=game_config("tiny"), seed=1)
    assert base.tournament_id == TournamentConfig(agents=agents, game=game_config("tiny"), seed=1).tournament_id
    changed = [TournamentConfig(agents=agents, game=game_config("tiny"), seed=2),
               TournamentConfig(agents=describe_agents(["greedy", "opportunist"]), game=game_config("tiny"), seed=1),
               TournamentConfig(agents=agents, game=game_config("official"), seed=1),
               TournamentConfig(agents=agents, game=game_config("tiny"), seed=1, games_per_pair=4),
               TournamentConfig(agents=agents, game=game_config("tiny"), seed=1, limits=Limits(turn_time=0.2))]
    assert len({c.tournament_id for c in changed} | {base.tournament_id}) == len(changed) + 1
    # how the games are run is not part of it
    loose = TournamentConfig(agents=agents, game=game_config("tiny"), seed=1, limits=Limits(load_time=5.0))
    assert loose.tournament_id == base.tournament_id
    # a student's file that changes keeps the tournament (a late fix replays that agent's games: test_tournament_run)
    f = tmp_path / "alice.py"
    f.write_text("x = 1\n")
    one = describe_agents([str(f), "greedy"])
    f.write_text("x = 2\n")
    two = describe_agents([str(f), "greedy"])
    assert one[0].digest != two[0].digest
    assert TournamentConfig(agents=one, seed=1).tournament_id == TournamentConfig(agents=two, seed=1).tournament_id


def test_toml_settings(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text(
        'agents = ["greedy", "me=bots/me.py"]\ngames_per_pair = 4\npreset = "tiny"\nseed = 3\ndb = "out/t.sqlite"\n'
        "[limits]\nturn_time = 0.05\n[game]\nnb_cheese = 7\n")
    data = load_toml(tmp_path / "t.toml")
    assert data["db"] == str(tmp_path / "out" / "t.sqlite")
    assert data["limits"] == {"turn_time": 0.05}
    entries = describe_agents(data["agents"], data["base_dir"])
    assert entries[1].name == "me" and entries[1].run_spec == str((tmp_path / "bots" / "me.py").resolve())
    assert game_config(data["preset"], data["game"]).nb_cheese == 7
    (tmp_path / "bad.toml").write_text('agents = ["greedy"]\nturn_time = 1\n')
    with pytest.raises(ValueError, match="unknown key"):
        load_toml(tmp_path / "bad.toml")


# -- ratings ------------------------------------------------------------------------------------------------
def _results(spec: dict[tuple[int, int], tuple[int, int, int]]) -> list[tuple[int, int, float]]:
    """{(a, b): (wins of a, draws, wins of b)} -> result list."""
    out = []
    for (a, b), (w, d, l) in spec.items():
        out += [(a, b, 1.0)] * w + [(a, b, 0.5)] * d + [(a, b, 0.0)] * l
    return out


def test_ratings_order_a_known_case() -> None:
    res = _results({(0, 1): (8, 0, 2), (1, 2): (8, 0, 2), (0, 2): (9, 0, 1)})
    rating, low, high = ratings_with_intervals(3, res, samples=300, seed=0)
    assert rating[0] > rating[1] > rating[2]
    assert abs(rating.mean() - 1500) < 1e-6
    assert np.all(low <= rating + 1e-6) and np.all(rating <= high + 1e-6)
    # a clear winner: its interval lies above the loser's
    assert low[0] > high[2]
    # seeded: the same intervals again
    again = ratings_with_intervals(3, res, samples=300, seed=0)
    assert np.array_equal(again[1], low) and np.array_equal(again[2], high)


def test_ratings_match_bradley_terry_odds_without_prior() -> None:
    # A beats B 3 times in 4: p_A / p_B = 3, i.e. 400 * log10(3) Elo points apart
    points, games = pair_tables(2, [(0, 1, 1.0)] * 3 + [(0, 1, 0.0)])
    r = bradley_terry(points, games, prior=0.0)
    assert r[0] - r[1] == pytest.approx(400 * np.log10(3), abs=1e-6)


@pytest.mark.parametrize("spec", [
    {(0, 1): (1, 0, 1), (1, 2): (1, 0, 1), (0, 2): (0, 2, 0)},   # even results
    {(0, 1): (2, 0, 0), (1, 2): (2, 0, 0), (0, 2): (0, 0, 2)},   # rock, paper, scissors
])
def test_symmetric_results_give_equal_ratings(spec) -> None:
    rating, _, _ = ratings_with_intervals(3, _results(spec), samples=50)
    assert np.allclose(rating, 1500.0, atol=1e-6)


def test_everyone_gets_a_finite_rating() -> None:
    res = [(i, j, 1.0) for i in range(4) for j in range(i + 1, 4)]  # 0 beats all, 3 loses all
    rating, low, high = ratings_with_intervals(4, res, samples=100)
    assert np.all(np.isfinite(rating)) and np.all(np.diff(rating) < 0)


# -- standings ----------------------------------------------------------------------------------------------
def _game(s0: int, s1: int, winner: int | None, **extra) -> dict:
    g = {"seat0": s0, "seat1": s1, "winner": winner, "score0": 3.0, "score1": 2.0, "timeouts0": 0, "timeouts1": 0,
         "errors0": 0, "errors1": 0, "forfeit0": None, "forfeit1": None}
    g.update(extra)
    return g


def test_standings_and_matrix() -> None:
    agents = [{"name": "a", "spec": "a"}, {"name": "b<script>", "spec": "b"}, {"name": "c", "spec": "c"}]
    games = [_game(0, 1, 0), _game(1, 0, 0), _game(0, 2, None), _game(2, 0, 0),
             _game(1, 2, 2, timeouts0=4, forfeit0="timeouts"), _game(2, 1, 1, errors1=3)]
    rows = standings(agents, games, bootstrap=50)
    assert [r["agent"] for r in rows] == ["a", "c", "b<script>"]
    a, c, b = rows
    assert (a["points"], a["wins"], a["draws"], a["losses"], a["games"]) == (3.5, 3, 1, 0, 4)
    assert (b["points"], b["timeouts"], b["errors"], b["forfeits"]) == (1.0, 4, 3, 1)
    assert a["rating"] > c["rating"] > b["rating"]
    for r in rows:
        assert r["rating_low"] <= r["rating"] <= r["rating_high"]
    m = pair_matrix(agents, games)
    assert m["points"][0][1] == 2.0 and m["points"][1][0] == 0.0 and m["points"][0][2] == 1.5
    assert m["games"][0][1] == 2 and m["games"][1][1] == 0

    table = render(rows, m, "table")
    assert "rating" in table and "1.5/2" in table
    md = render(rows, m, "md")
    assert "| 1 | a | 3.5 | 4 |" in md and "| a | x | 2/2 | 1.5/2 |" in md and "---:" in md
    page = render(rows, m, "html", title="t1")
    assert page.startswith("<!DOCTYPE html>") and "b&lt;script&gt;" in page and "<script>" not in page
    parsed = list(csv.DictReader(io.StringIO(render(rows, m, "csv"))))
    assert [r["agent"] for r in parsed] == ["a", "c", "b<script>"] and parsed[0]["points"] == "3.5"
    matrix_csv = list(csv.reader(io.StringIO(render(rows, m, "csv", matrix_only=True))))
    assert matrix_csv[0] == ["", "a", "b<script>", "c"] and matrix_csv[1][2] == "2/2"


def test_standings_without_games() -> None:
    rows = standings([{"name": "a"}, {"name": "b"}], [])
    assert [r["rating"] for r in rows] == [None, None]
    assert "-" in render(rows, None, "table")
