"""Swiss-system tournaments: the pairing (pure), the games of a round, storage and resuming, a small run, the
synthetic field.

The pairing tests replay whole tournaments with simulated results (agents of known strength, a seeded
generator) and check each round against a brute-force search: no rematch while a pairing without one
exists, every agent once per round, byes to the lowest-ranked agents that had none. The runs play real
games (agents in their own processes) on the ``tiny`` preset with a generous turn time.
"""

from __future__ import annotations

import argparse
import ast
import json
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pyrat_rl.agents.match import game_seed, play_series
from pyrat_rl.agents.spec import agent_factory
from pyrat_rl.agents.tournament.config import Limits, TournamentConfig, describe_agents, game_config
from pyrat_rl.agents.tournament.store import TournamentStore
from pyrat_rl.agents.tournament.swiss import (
    BYE_POINTS,
    add_swiss_arguments,
    check_rounds,
    default_rounds,
    record_pairings,
    recorded_pairings,
    round_games,
    run_swiss,
    swiss_id,
    swiss_options,
    swiss_pairing,
    swiss_schedule_size,
    swiss_standings,
    swiss_tournament_standings,
)
from pyrat_rl.agents.tournament.synthetic import field_eps, make_field
from pyrat_rl.agents.tournament.synthetic import main as synthetic_main

STEADY = Limits(turn_time=1.0, preprocessing_time=3.0, memory_mb=1024)


# -- a simulated tournament ---------------------------------------------------------------------------------------
def _perfect_matching_exists(nodes: list[int], forbidden: set[tuple[int, int]]) -> bool:
    if not nodes:
        return True
    first, rest = nodes[0], nodes[1:]
    for k, other in enumerate(rest):
        if (min(first, other), max(first, other)) not in forbidden and \
                _perfect_matching_exists(rest[:k] + rest[k + 1:], forbidden):
            return True
    return False


def _rematch_free_possible(n: int, met: set[tuple[int, int]], byes: Counter) -> bool:
    everyone = list(range(n))
    if n % 2 == 0:
        return _perfect_matching_exists(everyone, met)
    fewest = min(byes.get(i, 0) for i in everyone)
    return any(_perfect_matching_exists([x for x in everyone if x != c], met)
               for c in everyone if byes.get(c, 0) == fewest)


def _simulate(n: int, rounds: int, seed: int, check=None):
    """Rounds of pairings with results drawn from strengths (agent 0 strongest); ``check`` sees each round."""
    rng = np.random.default_rng([seed, 99])
    strength = np.linspace(2.0, -2.0, n)
    results, met, byes = [], [], []
    history = []
    for r in range(rounds):
        pairs, bye = swiss_pairing(n, results, met, r, np.random.default_rng([seed, r]), byes=byes)
        if check is not None:
            check(r, pairs, bye, list(results), list(met), list(byes))
        history.append((pairs, bye))
        for a, b in pairs:
            for first, second in ((a, b), (b, a)):
                p = 1.0 / (1.0 + np.exp(strength[second] - strength[first]))
                results.append((first, second, float(rng.random() < p)))
        met += pairs
        if bye is not None:
            byes.append(bye)
    return history


def _scores(n: int, results, byes) -> np.ndarray:
    score = np.zeros(n)
    for a, b, s in results:
        score[a] += s
        score[b] += 1.0 - s
    for x in byes:
        score[x] += BYE_POINTS
    return score


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
def test_every_agent_once_a_round_and_no_rematch_when_avoidable(n: int) -> None:
    rematches_forced = 0

    def check(r, pairs, bye, results, met, byes):
        nonlocal rematches_forced
        seen = [x for p in pairs for x in p] + ([] if bye is None else [bye])
        assert sorted(seen) == list(range(n)), f"round {r}: {pairs}, bye {bye}"
        assert all(a < b for a, b in pairs)
        assert (bye is None) == (n % 2 == 0)
        met_set = set(met)
        rematch = [p for p in pairs if p in met_set]
        if _rematch_free_possible(n, met_set, Counter(byes)):
            assert not rematch, f"n={n} round {r}: rematch {rematch} although a pairing without one exists"
        else:
            rematches_forced += 1
        if bye is not None:
            assert Counter(byes).get(bye, 0) == min(Counter(byes).get(i, 0) for i in range(n))

    for seed in range(3):
        _simulate(n, n - 1, seed, check)   # as many rounds as a round robin: rematches may become unavoidable


@pytest.mark.parametrize("n", [3, 5, 7, 9])
def test_odd_field_byes_rotate_and_go_to_the_bottom(n: int) -> None:
    def check(r, pairs, bye, results, met, byes):
        if r == 1:   # one round played: a pairing without rematch exists for any bye; the bye goes to the bottom
            score = _scores(n, results, byes)
            eligible = [i for i in range(n) if i not in byes]
            assert score[bye] == min(score[i] for i in eligible)

    for seed in range(3):
        history = _simulate(n, n - 1, seed, check)
        assert sorted(bye for _, bye in history) == sorted(set(bye for _, bye in history)), "a second bye"


def test_same_inputs_same_pairing() -> None:
    results = [(0, 1, 1.0), (1, 0, 0.5), (2, 3, 0.0), (3, 2, 1.0), (4, 5, 1.0), (5, 4, 1.0)]
    met = [(0, 1), (2, 3), (4, 5)]
    a = swiss_pairing(7, results, met, 1, np.random.default_rng(5), byes=[6])
    b = swiss_pairing(7, list(results), list(met), 1, np.random.default_rng(5), byes=[6])
    assert a == b
    firsts = {tuple(swiss_pairing(8, [], [], 0, np.random.default_rng(s))[0]) for s in range(6)}
    assert len(firsts) > 1, "round 1 follows the seeded random order"


def test_score_groups_pair_the_top_together() -> None:
    # round 1: 0-4, 1-5, 2-6, 3-7, and 0..3 won both games: round 2 pairs the winners among themselves
    pairs1 = [(0, 4), (1, 5), (2, 6), (3, 7)]
    results = [(a, b, 1.0) for a, b in pairs1] + [(b, a, 0.0) for a, b in pairs1]
    pairs, bye = swiss_pairing(8, results, pairs1, 1, np.random.default_rng(0))
    assert bye is None
    assert all((a < 4) == (b < 4) for a, b in pairs), pairs
    # agent 0 also beat 2 (an extra game): 0 leads alone, has met 2, and meets 1 or 3 (2 is rated below them)
    results2 = results + [(0, 2, 1.0)]
    pairs, _ = swiss_pairing(8, results2, pairs1 + [(0, 2)], 1, np.random.default_rng(0))
    assert pairs[0][0] == 0 and pairs[0][1] in (1, 3)
    assert sorted(pairs[0] + pairs[1]) == [0, 1, 2, 3]


def test_strongest_agents_meet_in_the_last_rounds() -> None:
    n, rounds = 16, default_rounds(16)
    met_top = []
    for seed in range(5):
        history = _simulate(n, rounds, seed)
        met_top.append(any(tuple(sorted((0, 1))) in pairs for pairs, _ in history))
    assert sum(met_top) >= 4, met_top


def test_bad_inputs_are_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="bad result"):
        swiss_pairing(4, [(0, 7, 1.0)], [], 1, rng)
    with pytest.raises(ValueError, match="bad pairing"):
        swiss_pairing(4, [], [(1, 1)], 1, rng)
    with pytest.raises(ValueError, match="at least two"):
        swiss_pairing(1, [], [], 0, rng)


# -- sizes, options, games ------------------------------------------------------------------------------------------
def test_rounds_and_sizes() -> None:
    assert [default_rounds(n) for n in (2, 3, 4, 8, 9, 60, 64, 65)] == [1, 2, 3, 5, 6, 8, 8, 9]
    assert check_rounds(None, 60) == 8 and check_rounds(59, 60) == 59
    for bad in (0, 60, -1):
        with pytest.raises(ValueError, match="between 1 and 59"):
            check_rounds(bad, 60)
    assert swiss_schedule_size(60, 8) == 480 and swiss_schedule_size(7, 3) == 18


def test_command_line_options() -> None:
    parser = argparse.ArgumentParser()
    add_swiss_arguments(parser)
    assert swiss_options(parser.parse_args([]), 8) == ("roundrobin", None)
    assert swiss_options(parser.parse_args(["--format", "swiss"]), 8) == ("swiss", 5)
    assert swiss_options(parser.parse_args(["--format", "swiss", "--rounds", "3"]), 8) == ("swiss", 3)
    assert swiss_options(parser.parse_args([]), 8, {"format": "swiss", "rounds": 2}) == ("swiss", 2)
    with pytest.raises(ValueError, match="between 1 and 7"):
        swiss_options(parser.parse_args(["--format", "swiss", "--rounds", "8"]), 8)
    with pytest.raises(ValueError, match="--format swiss"):
        swiss_options(parser.parse_args(["--rounds", "3"]), 8)


def test_round_games_share_a_maze_and_swap_seats() -> None:
    games = round_games(6, 2, [(4, 1), (0, 5), (2, 3)], seed=11)
    assert [g.key for g in games] == ["r2-0-5-f", "r2-1-4-f", "r2-2-3-f", "r2-0-5-s", "r2-1-4-s", "r2-2-3-s"]
    assert {g.seed for g in games} == {game_seed(11, 2)}
    assert games[0].seats == (0, 5) and games[3].seats == (5, 0)
    indices = {g.index for r in range(5) for g in round_games(6, r, [(0, 1), (2, 3), (4, 5)], 11)}
    assert indices == set(range(swiss_schedule_size(6, 5)))


def test_pairings_storage_and_standings_with_byes(tmp_path: Path) -> None:
    with TournamentStore(tmp_path / "s.sqlite") as store:
        assert record_pairings(store, "t", 0, [(2, 0), (1, 3)], 4)
        assert not record_pairings(store, "t", 0, [(0, 1), (2, 3)], 4)   # paired already: kept as it was
        assert recorded_pairings(store, "t") == {0: ([(0, 2), (1, 3)], 4)}
    agents = [{"name": f"a{i}", "spec": f"a{i}"} for i in range(3)]
    game = dict(seat0=0, seat1=1, score0=3.0, score1=2.0, winner=0, timeouts0=0, timeouts1=0, errors0=0, errors1=0,
                forfeit0=None, forfeit1=None)
    rows = swiss_standings(agents, [game, dict(game, seat0=1, seat1=0, winner=None)], byes=[2], bootstrap=0)
    by = {r["agent"]: r for r in rows}
    assert by["a2"]["points"] == BYE_POINTS and by["a2"]["byes"] == 1 and by["a2"]["games"] == 0
    assert [r["agent"] for r in rows] == ["a0", "a2", "a1"] and [r["rank"] for r in rows] == [1, 2, 3]


# -- runs ---------------------------------------------------------------------------------------------------------
def _config(specs, seed=3) -> TournamentConfig:
    return TournamentConfig(agents=describe_agents(specs), game=game_config("tiny"), seed=seed, limits=STEADY)


def _keys(db: Path, tid: str) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT key FROM games WHERE tournament = ?", (tid,))}


def test_resume_reuses_pairings_and_replays_nothing(tmp_path: Path) -> None:
    db = tmp_path / "swiss.sqlite"
    config = _config(["greedy", "random", "opportunist", "other=random"])
    first = run_swiss(config, db, rounds=1, progress=False, bootstrap=50)
    tid = swiss_id(config)
    assert first.tournament_id == tid and first.played == first.games == first.scheduled == 4 and first.complete
    with TournamentStore(db) as store:
        round0 = recorded_pairings(store, tid)[0]
        # round 1 paired by hand as a rematch of round 0, which the pairing would never choose: it must be played
        assert record_pairings(store, tid, 1, round0[0], None)
    lost = sorted(_keys(db, tid))[0]
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM games WHERE tournament = ? AND key = ?", (tid, lost))
    second = run_swiss(config, db, rounds=2, progress=False, bootstrap=50)
    assert second.played == 1 + 4 and second.games == second.scheduled == 8 and second.complete
    expected = {g.key for r in range(2) for g in round_games(4, r, round0[0], config.seed)}
    assert _keys(db, tid) == expected
    third = run_swiss(config, db, rounds=2, progress=False, bootstrap=50)
    assert third.played == 0 and third.games == 8
    with TournamentStore(db) as store:
        pairings = recorded_pairings(store, tid)
        info = store.tournament(tid)
    assert pairings[0] == round0 and set(pairings) == {0, 1}
    assert info["settings"]["format"] == "swiss" and info["scheduled"] == 8


def test_small_swiss_run_ranks_greedy_above_random(tmp_path: Path) -> None:
    middle = make_field(tmp_path / "field", 3, seed=1)[1]     # greedy with random actions half the time
    db = tmp_path / "swiss.sqlite"
    config = _config(["greedy", "random", "opportunist", str(middle), "idle=random"], seed=5)
    out = run_swiss(config, db, rounds=2, replay_dir=tmp_path / "replays", progress=False, bootstrap=50)
    assert out.complete and out.games == swiss_schedule_size(5, 2) == 8 and not out.failed
    ranks = {r["agent"]: r["rank"] for r in out.standings}
    assert ranks["greedy"] < ranks["random"]
    assert sum(r["byes"] for r in out.standings) == 2
    assert sum(r["points"] for r in out.standings) == out.games + 2 * BYE_POINTS
    assert all(r["games"] + 2 * r["byes"] == 4 for r in out.standings)
    info, rows, matrix = swiss_tournament_standings(db, out.tournament_id, bootstrap=50)
    assert [r["agent"] for r in rows] == [r["agent"] for r in out.standings]
    assert len(list((tmp_path / "replays").glob("*.json.gz"))) == 8
    # the published site ranks the same way, byes included
    from pyrat_rl.agents.tournament.publish import publish

    publish(db, tmp_path / "site", bootstrap=50)
    index = (tmp_path / "site" / "index.html").read_text()
    positions = [index.index(f">{r['agent']}</a></td>") for r in out.standings]
    assert positions == sorted(positions)
    for r in out.standings:   # each row's points cell, a bye's point included
        cell = index[positions[out.standings.index(r)]:].split('<td class="num">', 2)[1].split("<", 1)[0]
        assert float(cell) == r["points"], (r["agent"], cell, r["points"])


# -- the synthetic field ------------------------------------------------------------------------------------------
def test_make_field_writes_loadable_agents(tmp_path: Path) -> None:
    paths = make_field(tmp_path, 4, seed=2)
    assert len(paths) == 4 and len({p.name for p in paths}) == 4
    assert field_eps(4) == [0.0, pytest.approx(1 / 3, abs=1e-6), pytest.approx(2 / 3, abs=1e-6), 1.0]
    assert make_field(tmp_path, 4, seed=2) == paths            # same files again
    for p in paths:
        imported = {node.module if isinstance(node, ast.ImportFrom) else alias.name
                    for node in ast.walk(ast.parse(p.read_text())) if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in node.names}
        assert {m.split(".")[0] for m in imported} <= {"pyrat_env", "pyrat_rl"}, imported
        make, label, _ = agent_factory(str(p))
        assert label == "noisy_greedy" and make() is not make()
    series = play_series([str(paths[0]), str(paths[-1])], games=2, seed=0, config="tiny", turn_time=None,
                         preprocessing_time=None)
    assert series.games == 2 and sum(series.errors) == 0


def test_synthetic_benchmark_command(tmp_path: Path, capsys) -> None:
    assert synthetic_main(["--agents", "3", "--rounds", "1", "--out", str(tmp_path), "--quiet", "--json",
                           "--bootstrap", "20"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["swiss"]["games"] == 2 and report["swiss"]["complete"]
    assert -1.0 <= report["spearman"]["swiss_vs_true"] <= 1.0
