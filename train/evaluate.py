"""Batched evaluation: paired games between two agents, every game of a series stepped at once.

`evaluate` plays the same games as the match runner's ``play_series`` with the same seed (set-up k of the series is
``new_game(config, game_seed(seed, k))``, played once with agent A in seat 0 and once with the seats, and so the
start cells, exchanged), but it steps them all together in two `GameBatch` es (A in seat 0, A in seat 1) and asks
each agent once per turn for all games through ``act_batch``. With deterministic agents the results are those of
``play_series(..., turn_time=None)``; it is what training uses to measure win rates, and what ``pyrat train eval``
runs. Agents are not given a ``start`` call (batched agents read the maze from the batch), so stateful agents that
need one should be evaluated with the match runner instead.

Points are wins plus half the draws, as a share of the games (the score of a match).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from pyrat_rl.agents.match import game_seed

from pyrat_env.agent import Agent
from pyrat_env.engine import GameBatch, compare_scores_array
from pyrat_env.mazes import GameConfig, new_game, preset


@dataclass(frozen=True)
class EvalResult:
    """Outcome of a series for agent A against agent B (from A's side)."""

    games: int
    wins: int
    draws: int
    losses: int
    mean_score: float
    mean_opponent_score: float
    mean_turns: float
    truncated: int
    seconds: float

    @property
    def points(self) -> float:
        """Wins plus half the draws, as a share of the games."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else 0.0

    @property
    def win_rate(self) -> float:
        return self.wins / self.games if self.games else 0.0

    def to_dict(self) -> dict:
        return dict(asdict(self), points=self.points, win_rate=self.win_rate)

    def summary(self, a: str = "A", b: str = "B") -> str:
        return (f"{a} vs {b}: {self.games} paired games: {self.wins} wins, {self.draws} draws, {self.losses} losses; "
                f"points {100 * self.points:.1f}%; mean score {self.mean_score:.2f} - {self.mean_opponent_score:.2f}; "
                f"{self.seconds:.1f} s")


def _as_agent(spec) -> Agent:
    if isinstance(spec, Agent):
        return spec
    from pyrat_rl.agents.spec import resolve_agent

    return resolve_agent(spec)


def play_batch(agents: list[Agent], setups: list, max_turns: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Play every set-up to the end, ``agents[seat]`` in each seat: ``(scores [G, 2], turns [G], truncated [G])``."""
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups],
                      None, max_turns)
    batch.step(np.zeros((len(setups), 2), dtype=np.int64))   # turn 0: preprocessing, nobody moves
    actions = np.zeros((len(setups), 2), dtype=np.int64)
    while not batch.over.all():
        for seat, agent in enumerate(agents):
            actions[:, seat] = agent.act_batch(batch, seat)
        batch.step(actions)
    return batch.scores.copy(), batch.turn - 1, batch.truncated.copy()


def evaluate(agent, opponent, games: int = 100, seed: int = 0, config: GameConfig | str = "official",
             max_turns: int | None = None, chunk: int = 256) -> EvalResult:
    """Play ``games`` paired games (``games`` even) of ``agent`` against ``opponent``; A's side of the result.

    ``agent`` and ``opponent`` are `Agent` s or specs. ``max_turns`` limits each game (None: the config's,
    as the match runner). Games are stepped ``chunk`` set-ups at a time.
    """
    if games < 2 or games % 2:
        raise ValueError(f"paired evaluation needs an even number of games >= 2, got {games}")
    a, b = _as_agent(agent), _as_agent(opponent)
    cfg = preset(config) if isinstance(config, str) else config
    limit = max_turns if max_turns is not None else cfg.max_turns
    t0 = time.perf_counter()
    wins = draws = losses = truncated = 0
    my_total = their_total = turns_total = 0.0
    n_setups = games // 2
    for lo in range(0, n_setups, chunk):
        setups = [new_game(cfg, game_seed(seed, k)) for k in range(lo, min(lo + chunk, n_setups))]
        for seat, order in enumerate(([a, b], [b, a])):   # the second game: seats, so start cells, exchanged
            scores, turns, trunc = play_batch(order, setups, limit)
            outcome = compare_scores_array(scores[:, seat], scores[:, 1 - seat])
            wins += int((outcome > 0).sum())
            losses += int((outcome < 0).sum())
            draws += int((outcome == 0).sum())
            my_total += float(scores[:, seat].sum())
            their_total += float(scores[:, 1 - seat].sum())
            turns_total += float(turns.sum())
            truncated += int(trunc.sum())
    return EvalResult(games=games, wins=wins, draws=draws, losses=losses, mean_score=my_total / games,
                      mean_opponent_score=their_total / games, mean_turns=turns_total / games,
                      truncated=truncated, seconds=time.perf_counter() - t0)
