"""Golden digests of full games: a change of maze generation or of the rules cannot pass unnoticed.

For a few (preset, seed) pairs this hashes (sha256 of a canonical JSON) the generated set-up (maze,
cheese, starts) and two whole games played on it with the engine's `Game`: both players moving by a
generator seeded from the game seed, and the greedy expert against such a player, every state from
turn 0 to the end. ``tests/data/golden_digests.json`` holds the digests computed when they were
recorded; ``tests/test_golden.py`` recomputes them. Regenerate (only for a deliberate change of the
games, and say so in the commit) with ``python tests/golden_digests.py --write``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from pyrat_env.mazes import new_game

PAIRS = [(preset, seed) for preset in ("tiny", "official", "classic", "tournament") for seed in (0, 1, 2026, 123456789)]
PATH = Path(__file__).resolve().parent / "data" / "golden_digests.json"
MAX_TURNS = 400


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _greedy():
    try:
        from pyrat_rl.agents.scripted import GreedyAgent
    except ImportError:  # before the packages were renamed
        from agents.scripted import GreedyAgent
    return GreedyAgent()


def _play(setup, seat0) -> list[dict]:
    game = setup.game(max_turns=MAX_TURNS)
    rng = np.random.default_rng([int(setup.seed), 7])
    if seat0 is not None:
        try:
            from pyrat_env.agent import GameContext
        except ImportError:
            from agents.base import GameContext
        seat0.start(GameContext(maze=setup.maze, seat=0, n_players=2, cheese=setup.cheese, starts=setup.starts,
                                rng=np.random.default_rng(0), game=game.copy()))
    states = [game.snapshot(["a", "b"])]
    while not game.over:
        a0 = int(rng.integers(5)) if seat0 is None else int(seat0.act(game.copy(), 0))
        a1 = int(rng.integers(5))
        game.step([a0, a1])
        states.append(game.snapshot(["a", "b"]))
    return states


def digests() -> dict[str, dict[str, str]]:
    out = {}
    for preset, seed in PAIRS:
        setup = new_game(preset, seed)
        out[f"{preset}/{seed}"] = {
            "setup": _sha({"maze": setup.maze.to_dict(), "cheese": list(setup.cheese), "starts": list(setup.starts)}),
            "random_vs_random": _sha(_play(setup, None)),
            "greedy_vs_random": _sha(_play(setup, _greedy())),
        }
    return out


if __name__ == "__main__":
    result = digests()
    if "--write" in sys.argv:
        PATH.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"wrote {PATH}")
    else:
        print(json.dumps(result, indent=1, sort_keys=True))
