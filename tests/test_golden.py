"""Golden digests: the same (preset, seed) gives the same set-up and the same whole games as when recorded.

``tests/golden_digests.py`` hashes, for 16 (preset, seed) pairs, the generated maze, cheese and starts,
and two full games played on it (random against random, greedy against random);
``tests/data/golden_digests.json`` holds the digests recorded before the redesign. A change of maze
generation, of the random streams or of the rules changes a digest and fails here. The digests are
recomputed with the compiled kernels on and off (maze generation, travel times and the greedy expert
take other code paths), and the random games are stepped again in a `GameBatch`, which must reach the
very states of `Game`. Never regenerate the file to make these tests pass: a deliberate change of the
games is a decision, said in the commit.
"""

from __future__ import annotations

import json

import golden_digests as golden
import numpy as np
import pytest

from pyrat_env import _accel
from pyrat_env.engine import GameBatch
from pyrat_env.mazes import new_game

RECORDED = json.loads(golden.PATH.read_text())
NAMES = ["a", "b"]


@pytest.fixture(params=[True, False], ids=["kernels_on", "kernels_off"])
def kernels(request):
    """Run the test with the compiled kernels loaded and used, then with the plain numpy / Python paths."""
    before = _accel.set_enabled(request.param)
    try:
        if request.param and _accel.kernels() is None:
            pytest.skip("numba is not available")
        yield request.param
    finally:
        _accel.set_enabled(before)


def test_the_table_covers_every_pair():
    assert sorted(RECORDED) == sorted(f"{preset}/{seed}" for preset, seed in golden.PAIRS)
    assert all(set(d) == {"setup", "random_vs_random", "greedy_vs_random"} for d in RECORDED.values())
    assert len({d["setup"] for d in RECORDED.values()}) == len(RECORDED)  # every pair is another game


def test_digests_are_the_recorded_ones(kernels):
    assert (_accel.loaded() is not None) == kernels  # the path the test claims to take
    computed = golden.digests()
    wrong = {key: sorted(k for k in d if d[k] != RECORDED[key][k]) for key, d in computed.items()
             if d != RECORDED[key]}
    assert wrong == {}, f"digests differ from tests/data/golden_digests.json: {wrong}"


def _batched_random_games(preset: str, seeds: list[int]) -> list[list[dict]]:
    """The random-against-random games of `golden_digests` for these seeds, stepped together in one `GameBatch`
    (same generator, same draws per step as `golden_digests._play`); every state of each game, players named
    as there."""
    setups = [new_game(preset, seed) for seed in seeds]
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups],
                      max_turns=golden.MAX_TURNS)
    rngs = [np.random.default_rng([int(s.seed), 7]) for s in setups]
    games: list[list[dict]] = [[] for _ in setups]

    def record(i: int) -> None:
        view = batch.game_view(i)
        games[i].append({**view, **{key: {NAMES[int(p)]: v for p, v in view[key].items()}
                                    for key in ("locations", "scores", "muds")}})

    for i in range(len(setups)):
        record(i)
    while not batch.over.all():
        actions = np.zeros((len(setups), 2), dtype=np.int64)
        live = [i for i in range(len(setups)) if not batch.over[i]]
        for i in live:
            actions[i] = [int(rngs[i].integers(5)), int(rngs[i].integers(5))]
        batch.step(actions)
        for i in live:
            record(i)
    return games


@pytest.mark.parametrize("preset", sorted({p for p, _ in golden.PAIRS}))
def test_batched_games_give_the_recorded_digests(preset, kernels):
    seeds = [seed for p, seed in golden.PAIRS if p == preset]
    games = _batched_random_games(preset, seeds)
    for seed, states in zip(seeds, games):
        assert golden._sha(states) == RECORDED[f"{preset}/{seed}"]["random_vs_random"], f"{preset}/{seed}"


def test_a_changed_game_changes_its_digest():
    states = golden._play(new_game("tiny", 0), None)
    assert golden._sha(states) == RECORDED["tiny/0"]["random_vs_random"]
    states[len(states) // 2]["scores"]["a"] += 1.0
    assert golden._sha(states) != RECORDED["tiny/0"]["random_vs_random"]
