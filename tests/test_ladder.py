"""The strength ladder (``pyrat ladder``): schedule and seats, anchored ratings, stored games, resuming, output.

Games are small and quick: the ``tiny`` preset, two mazes, two workers, a 100-turn limit and a generous turn
time (a loaded machine must not turn an answer into a timeout: the resume test expects the same games again).
The candidates have a known order: ``twin`` is greedy under another name, ``idle`` never moves.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from pyrat_rl.agents.tournament.config import Limits, describe_agents
from pyrat_rl.agents.tournament.ladder import (
    REFERENCES,
    GameSet,
    game_sets,
    ladder_report,
    render_ladder,
    run_ladder,
    same_start,
    wilson,
)
from pyrat_rl.agents.tournament.ratings import ANCHOR_RATING, bradley_terry, pair_tables, pool_ratings

from pyrat_env.cli import main
from pyrat_env.mazes import preset

IDLE = str(Path(__file__).parent / "data" / "ladder" / "idle.py")
BROKEN = str(Path(__file__).parent / "data" / "tournament" / "broken_import.py")
CANDIDATES = ["twin=greedy", IDLE]
MAZES = 2
STEADY = Limits(turn_time=1.0, preprocessing_time=3.0, memory_mb=1024)
CLI_STEADY = ["--preset", "tiny", "--games", str(MAZES), "--max-turns", "100", "--turn-time", "1",
              "--preprocessing-time", "3", "--memory-mb", "1024", "--workers", "2", "--bootstrap", "200", "--quiet"]

TOP_KEYS = {"format", "settings", "scheduled", "played", "complete", "failed", "seconds", "db", "sets", "ratings",
            "pairings", "games", "distinct_games", "warnings"}
SETTING_KEYS = {"preset", "game", "mazes", "games_per_pairing", "seats", "seed", "max_turns", "limits", "references",
                "anchor", "anchor_rating", "bootstrap", "rating_interval", "score_interval"}
RATING_KEYS = {"rank", "agent", "spec", "role", "rating", "rating_low", "rating_high", "games", "wins", "draws",
               "losses", "points", "score", "timeouts", "errors", "forfeits", "think_ms", "replays_missing"}
THINK_KEYS = {"median", "p99", "max", "moves"}
PAIRING_KEYS = {"agent", "opponent", "games", "wins", "draws", "losses", "points", "score", "score_low",
                "score_high"}
SET_KEYS = {"id", "kind", "agents", "games", "scheduled"}


def _ladder(db: Path, specs=CANDIDATES, mazes: int = MAZES) -> dict:
    return run_ladder(describe_agents(specs), mazes=mazes, preset_name="tiny", seed=0, max_turns=100, limits=STEADY,
                      db=db, workers=2, progress=False, bootstrap=200, log=lambda msg: None)


@pytest.fixture(scope="module")
def played(tmp_path_factory) -> tuple[Path, dict]:
    db = tmp_path_factory.mktemp("ladder") / "ladder.sqlite"
    return db, _ladder(db)


def _without_think(ratings: list[dict]) -> list[dict]:
    """Ratings rows less the think times (a copied database without its replays has none to read)."""
    return [{k: v for k, v in r.items() if k not in ("think_ms", "replays_missing")} for r in ratings]


def _stored(db: Path) -> dict[str, tuple[list[str], list[sqlite3.Row]]]:
    """{tournament id: (agent names, game rows)}."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        out = {}
        for t in conn.execute("SELECT id, agents FROM tournaments"):
            rows = conn.execute("SELECT * FROM games WHERE tournament = ?", (t["id"],)).fetchall()
            out[t["id"]] = ([a["name"] for a in json.loads(t["agents"])], rows)
    return out


# -- schedule -------------------------------------------------------------------------------------------------------
def _sets(preset_name: str) -> list[GameSet]:
    return game_sets(describe_agents(["cand=greedy"]), preset(preset_name), 7, 100, Limits())


def test_official_plays_each_maze_once_with_alternating_seats() -> None:
    assert same_start(preset("official")) and not same_start(preset("tiny")) and not same_start(preset("classic"))
    refs, cand = _sets("official")
    games = cand.schedule(5)
    assert len(games) == 5 * 4 and cand.games_per_pair(5) == 5
    for j in range(1, 5):   # one game per maze against each reference, the candidate's seat alternating
        mine = [g for g in games if g.b == j]
        assert [g.round for g in mine] == list(range(5))
        assert [g.seats[0] for g in mine] == [0, j, 0, j, 0]
    assert len({g.seed for g in games}) == 5
    assert len(refs.schedule(5)) == 5 * 6 and len({(g.a, g.b) for g in refs.schedule(5)}) == 6
    # the same mazes in every set; more mazes extend the schedule without changing it
    assert {g.seed for g in refs.schedule(5)} == {g.seed for g in games}
    assert [g.key for g in cand.schedule(8)[:len(games)]] == [g.key for g in games]
    assert [(g.seed, g.swap) for g in cand.schedule(8)[:len(games)]] == [(g.seed, g.swap) for g in games]


def test_presets_with_corner_starts_play_each_maze_twice_seats_swapped() -> None:
    refs, cand = _sets("tiny")
    games = cand.schedule(3)
    assert len(games) == 3 * 2 * 4 and cand.games_per_pair(3) == 6
    for r in range(3):
        for j in range(1, 5):
            pair = [g for g in games if g.round == r and g.b == j]
            assert sorted(g.seats for g in pair) == [(0, j), (j, 0)] and len({g.seed for g in pair}) == 1


def test_set_ids_do_not_depend_on_the_number_of_mazes_or_on_other_candidates() -> None:
    a = game_sets(describe_agents(["x=greedy"]), preset("tiny"), 0, 100, Limits())
    b = game_sets(describe_agents(["y=random", "x=greedy"]), preset("tiny"), 0, 100, Limits())
    assert a[0].tournament_id == b[0].tournament_id and a[1].tournament_id == b[2].tournament_id
    assert a[1].tournament_id != b[1].tournament_id
    c = game_sets(describe_agents(["x=greedy"]), preset("tiny"), 1, 100, Limits())
    assert c[0].tournament_id != a[0].tournament_id   # another seed: other mazes


def test_ids_of_corner_start_sets_name_the_corner_exchange() -> None:
    # databases recorded while the swapped game kept each agent's corner are not resumed on corner presets; the
    # shared centre start of official played the same games before and after, and keeps its ids
    from pyrat_rl.agents.tournament.config import SWAP_IDENTITY, TournamentConfig

    for name in ("tiny", "classic", "tournament"):
        assert all(gs.identity().items() >= SWAP_IDENTITY.items() for gs in _sets(name))
    assert not any(set(SWAP_IDENTITY) & set(gs.identity()) for gs in _sets("official"))
    agents = describe_agents(["greedy", "random"])
    assert set(SWAP_IDENTITY) <= set(TournamentConfig(agents, game=preset("tiny")).identity())
    assert not set(SWAP_IDENTITY) & set(TournamentConfig(agents, game=preset("official")).identity())


def test_distinct_games_count_a_repeated_centre_start_game_once() -> None:
    refs, cand = _sets("official")

    def row(seat0: int, seat1: int, swap: bool, seed: int = 11) -> dict:
        return {"round": 0, "seed": seed, "swap": swap, "seat0": seat0, "seat1": seat1, "winner": seat0,
                "timeouts0": 0, "timeouts1": 0, "errors0": 0, "errors1": 0, "forfeit0": None, "forfeit1": None}

    # greedy against random on one maze in both seat orders (as a seat-swapped round robin would play it)
    ref_rows = [row(1, 0, False), row(0, 1, True), row(1, 0, False, seed=12)]
    report = ladder_report([refs, cand], [ref_rows, [row(0, 2, False)]], mazes=1, bootstrap=0)
    assert report["games"] == 4 and report["distinct_games"] == 3
    tiny_refs, tiny_cand = _sets("tiny")   # opposite corners: the swapped game is another game
    report = ladder_report([tiny_refs, tiny_cand], [ref_rows, []], mazes=1, bootstrap=0)
    assert report["games"] == report["distinct_games"] == 3


def test_name_clashes_with_the_references_are_refused() -> None:
    with pytest.raises(ValueError, match="reference"):
        game_sets(describe_agents(["greedy"]), preset("tiny"), 0, 100, Limits())


# -- ratings ------------------------------------------------------------------------------------------------------
def test_pool_ratings_pin_the_anchor_and_keep_a_candidate_independent_of_others() -> None:
    # references 0 (weak), 1 (anchor), 2 (strong); candidates 3 and 4 play the references only
    pool_res = [(1, 0, 1.0)] * 8 + [(1, 0, 0.0)] * 2 + [(2, 1, 1.0)] * 7 + [(2, 1, 0.5)] * 2 + [(2, 1, 0.0)] + \
        [(2, 0, 1.0)] * 10
    cand3 = [(3, 0, 1.0)] * 9 + [(3, 1, 1.0)] * 6 + [(3, 1, 0.0)] * 4 + [(3, 2, 0.0)] * 8 + [(3, 2, 1.0)] * 2
    cand4 = [(4, 0, 1.0)] * 5 + [(4, 0, 0.0)] * 5 + [(4, 1, 0.0)] * 10
    r, lo, hi = pool_ratings(5, [0, 1, 2], 1, pool_res, [(3, cand3), (4, cand4)], samples=300, seed=1)
    assert r[1] == ANCHOR_RATING and lo[1] == hi[1] == ANCHOR_RATING
    assert r[2] > r[3] > r[1] > r[0] > r[4]
    assert np.all(lo <= r + 1e-9) and np.all(r <= hi + 1e-9)
    # the references are fitted on their own games: the candidates change nothing there
    alone = bradley_terry(*pair_tables(3, pool_res), anchor=1)
    assert np.allclose(r[:3], alone)
    # a candidate's rating and interval do not depend on the other candidates rated with it
    r3, lo3, hi3 = pool_ratings(4, [0, 1, 2], 1, pool_res, [(3, cand3)], samples=300, seed=1)
    assert r3[3] == pytest.approx(r[3]) and lo3[3] == pytest.approx(lo[3]) and hi3[3] == pytest.approx(hi[3])


def test_fixed_ratings_give_the_bradley_terry_odds() -> None:
    # against a fixed opponent at 1000, 3 wins in 4 is 400 * log10(3) points above it (no prior)
    points, games = pair_tables(2, [(1, 0, 1.0)] * 3 + [(1, 0, 0.0)])
    r = bradley_terry(points, games, prior=0.0, fixed=np.array([1000.0, np.nan]))
    assert r[0] == 1000.0 and r[1] == pytest.approx(1000 + 400 * np.log10(3), abs=1e-6)


def test_wilson_interval() -> None:
    low, high = wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson(0, 4)[0] == 0.0 and wilson(4, 4)[1] == 1.0 and wilson(0, 0) == (None, None)
    low, high = wilson(5, 10)
    assert low == pytest.approx(1 - high)


# -- a small ladder, end to end -----------------------------------------------------------------------------------
def test_known_order_with_greedy_at_1000(played) -> None:
    _, report = played
    assert report["complete"] and report["failed"] == [] and report["warnings"] == []
    scheduled = MAZES * 2 * (6 + 4 * len(CANDIDATES))
    assert report["scheduled"] == report["games"] == report["played"] == report["distinct_games"] == scheduled
    rating = {r["agent"]: r["rating"] for r in report["ratings"]}
    assert rating["greedy"] == 1000.0
    assert rating["idle"] < rating["random"] < rating["greedy"] and rating["twin"] > rating["random"]
    assert min(rating, key=rating.get) == "idle"
    assert [r["rank"] for r in report["ratings"]] == list(range(1, 7))
    assert [r["rating"] for r in report["ratings"]] == sorted(rating.values(), reverse=True)
    for r in report["ratings"]:
        assert r["rating_low"] <= r["rating"] <= r["rating_high"]
        assert r["wins"] + r["draws"] + r["losses"] == r["games"]
        assert r["timeouts"] == 0 and r["errors"] == 0 and r["forfeits"] == 0
        assert r["role"] == ("reference" if r["agent"] in REFERENCES else "candidate")
    idle = next(r for r in report["ratings"] if r["agent"] == "idle")
    assert idle["games"] == 4 * 2 * MAZES and idle["wins"] == 0 and idle["points"] < 1


def test_pairing_scores_match_the_stored_games(played) -> None:
    db, report = played
    stored = _stored(db)
    assert {s["id"] for s in report["sets"]} == set(stored)
    pairings = {(p["agent"], p["opponent"]): p for p in report["pairings"]}
    assert len(pairings) == 6 + 4 * len(CANDIDATES)
    assert [p["agent"] for p in report["pairings"][:8]] == ["twin"] * 4 + ["idle"] * 4
    seen = {key: [0, 0, 0] for key in pairings}   # wins, draws, losses of the pairing's first agent
    for names, rows in stored.values():
        for g in rows:
            pair = (names[g["seat0"]], names[g["seat1"]])
            key = pair if pair in pairings else pair[::-1]
            winner = None if g["winner"] is None else names[g["winner"]]
            seen[key][0 if winner == key[0] else 1 if winner is None else 2] += 1
    assert sum(map(sum, seen.values())) == report["games"]
    for key, p in pairings.items():
        assert seen[key] == [p["wins"], p["draws"], p["losses"]]
        assert p["games"] == 2 * MAZES and p["points"] == p["wins"] + 0.5 * p["draws"]
        assert p["score_low"] <= p["score"] <= p["score_high"]


def test_the_two_games_of_a_maze_give_each_agent_both_corners(played) -> None:
    # tiny starts the players in opposite corners: the seat-swapped game puts each agent in the other corner
    db, report = played
    from pyrat_env.replay import load_replay

    starts: dict[tuple, set] = {}
    for names, rows in _stored(db).values():
        for g in rows:
            replay = load_replay(db.parent / g["replay"])
            for player in replay["players"]:
                pair = frozenset((names[g["seat0"]], names[g["seat1"]]))
                starts.setdefault((g["tournament"], g["seed"], pair, player["name"]), set()).add(player["start"])
    assert starts and all(len(cells) == 2 for cells in starts.values())
    assert report["distinct_games"] == report["games"]


def test_resume_plays_the_missing_games_only_and_the_same_games(played, tmp_path: Path) -> None:
    db, report = played
    copy = tmp_path / "ladder.sqlite"
    shutil.copy(db, copy)
    with sqlite3.connect(copy) as conn:   # a kill loses the games in progress: drop some, from several sets
        lost = conn.execute("SELECT tournament, key, winner, score0, score1, turns FROM games "
                            "ORDER BY idx DESC, tournament LIMIT 5").fetchall()
        conn.executemany("DELETE FROM games WHERE tournament = ? AND key = ?", [row[:2] for row in lost])
    again = _ladder(copy)
    assert again["played"] == len(lost) and again["complete"]
    with sqlite3.connect(copy) as conn:
        rows = conn.execute("SELECT tournament, key, winner, score0, score1, turns FROM games").fetchall()
    assert len(rows) == report["games"] and len({r[:2] for r in rows}) == len(rows)   # no game twice
    assert set(lost) <= set(rows)                       # the games that would have been played
    assert _without_think(again["ratings"]) == _without_think(report["ratings"])
    assert again["pairings"] == report["pairings"]


def test_more_mazes_and_a_new_candidate_reuse_the_recorded_games(played, tmp_path: Path) -> None:
    db, report = played
    copy = tmp_path / "ladder.sqlite"
    shutil.copy(db, copy)
    later = _ladder(copy, specs=[*CANDIDATES, "r2=random"])
    assert later["played"] == 4 * 2 * MAZES             # the new candidate's games only
    before = {r["agent"]: r for r in report["ratings"]}
    for r in later["ratings"]:                          # nobody else's rating moves
        if r["agent"] != "r2":
            assert r["rating"] == before[r["agent"]]["rating"]
    assert [p for p in later["pairings"] if p["agent"] != "r2"] == report["pairings"]
    more = _ladder(copy, specs=["twin=greedy"], mazes=MAZES + 1)
    assert more["played"] == 2 * (6 + 4)                 # one new maze, both seats: references and twin


def test_command_json_schema_and_text(played, capsys) -> None:
    db, report = played
    rc = main(["ladder", *CANDIDATES, "--db", str(db), *CLI_STEADY, "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    data = json.loads(out)
    assert set(data) == TOP_KEYS and data["format"] == "pyrat-ladder/1" and data["played"] == 0
    assert set(data["settings"]) == SETTING_KEYS and data["settings"]["seats"] == "swapped"
    assert data["settings"]["anchor"] == "greedy" and data["settings"]["anchor_rating"] == 1000.0
    for r in data["ratings"]:
        assert set(r) == RATING_KEYS and set(r["think_ms"]) == THINK_KEYS
    for p in data["pairings"]:
        assert set(p) == PAIRING_KEYS
    for s in data["sets"]:
        assert set(s) == SET_KEYS
    assert [s["kind"] for s in data["sets"]] == ["references", "candidate", "candidate"]
    assert data["ratings"] == report["ratings"] and data["pairings"] == report["pairings"]

    rc = main(["ladder", *CANDIDATES, "--db", str(db), *CLI_STEADY])
    text = capsys.readouterr().out
    assert rc == 0
    assert "greedy = 1000" in text and "(anchor)" in text and f"{report['games']} distinct" in text
    lines = text.splitlines()
    twin = next(r for r in report["ratings"] if r["agent"] == "twin")
    assert any(line.split()[:3] == [str(twin["rank"]), "twin", f"{twin['rating']:.0f}"] for line in lines)
    assert any(line.split()[:2] == ["idle", "random"] for line in lines)
    assert "think ms med/p99" in text
    row = next(line for line in lines if line.split()[:2] == [str(twin["rank"]), "twin"])
    med, p99 = row.split()[-1].split("/")
    assert float(med) <= float(p99)


def test_think_times_per_agent_from_the_replays(played, tmp_path: Path) -> None:
    db, report = played
    for r in report["ratings"]:
        t = r["think_ms"]
        assert set(t) == THINK_KEYS and r["replays_missing"] == 0
        assert t["moves"] > 0 and 0 <= t["median"] <= t["p99"] <= t["max"]
        assert t["max"] <= 1000 * STEADY.turn_time + 1e-6      # no timeouts: every move within the turn time
    # the moves counted: a candidate's games against the references, a reference's games in the round robin
    # (at most one move a turn, and the candidates' opponents' moves in those games are not theirs)
    turns: dict[str, int] = {}
    kinds = {s["id"]: s["kind"] for s in report["sets"]}
    for tid, (names, rows) in _stored(db).items():
        for g in rows:
            for local in ((g["seat0"], g["seat1"]) if kinds[tid] == "references" else (0,)):
                turns[names[local]] = turns.get(names[local], 0) + g["turns"] + 1
    assert set(turns) == {r["agent"] for r in report["ratings"]}
    for r in report["ratings"]:
        assert r["think_ms"]["moves"] <= turns[r["agent"]]
    # a deleted replay (and a corrupt one) is counted, not read, and the ladder still reports
    copy = tmp_path / "ladder.sqlite"
    shutil.copy(db, copy)
    shutil.copytree(db.parent / f"{db.stem}-replays", tmp_path / f"{copy.stem}-replays")
    ids = {s["kind"]: s["id"] for s in report["sets"]}
    with sqlite3.connect(copy) as conn:
        ref_game = conn.execute("SELECT replay, seat0, seat1 FROM games WHERE tournament = ? ORDER BY idx LIMIT 1",
                                (ids["references"],)).fetchone()
        twin_game = conn.execute("SELECT replay, seat0, seat1 FROM games WHERE tournament = ? ORDER BY idx LIMIT 1",
                                 (report["sets"][1]["id"],)).fetchone()
    (tmp_path / ref_game[0]).unlink()
    (tmp_path / twin_game[0]).write_bytes(b"\x1f\x8b not a gzip stream")
    again = _ladder(copy)
    assert again["played"] == 0 and again["complete"]
    missing = {r["agent"]: r["replays_missing"] for r in again["ratings"]}
    refs_hit = {REFERENCES[ref_game[1]], REFERENCES[ref_game[2]]}
    cand = report["sets"][1]["agents"][0]
    assert missing == {name: int(name in refs_hit) + int(name == cand) for name in missing}
    before = {r["agent"]: r["think_ms"] for r in report["ratings"]}
    for r in again["ratings"]:
        t = r["think_ms"]
        assert t["moves"] > 0 and t["median"] <= t["p99"] <= t["max"]
        assert (t["moves"] < before[r["agent"]]["moves"]) == bool(r["replays_missing"])
    assert _without_think(again["ratings"]) == _without_think(report["ratings"])
    text = render_ladder(again)
    assert "left out of the think times" in text and f"{cand} 1" in text


@pytest.mark.parametrize("args, message", [
    ([], "CANDIDATE"),
    (["greedy"], "name of a reference agent"),
    (["no_such_agent"], "unknown agent"),
    (["x=greedy", "--games", "0"], "--games"),
    (["x=greedy", "--preset", "huge"], "unknown preset"),
    (["x=greedy", "--turn-time", "0"], "turn_time"),
    (["a=greedy", "a=random"], "used twice"),
    ([BROKEN], "cannot be loaded"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path: Path, capsys) -> None:
    rc = main(["ladder", *args, "--db", str(tmp_path / "l.sqlite"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("pyrat ladder: error:") and message in err
    if (tmp_path / "l.sqlite").exists():   # refused before any game
        with sqlite3.connect(tmp_path / "l.sqlite") as conn:
            assert conn.execute("SELECT COUNT(*) FROM games").fetchone()[0] == 0


def test_a_shipped_network_is_digested_like_a_file() -> None:
    # a retrained shipped network is another agent: its games are not reused from an older file's
    from pyrat_rl.agents.spec import shipped_agents
    from pyrat_rl.agents.tournament.config import describe_agent, file_digest

    name, path = next(iter(shipped_agents().items()))
    assert describe_agent(name).digest == file_digest(path) is not None
    assert describe_agent("greedy").digest is None
