"""The schedule of a round robin: which games, in which order, with which seeds.

Every pair of agents plays ``games_per_pair`` games in seat-swapped pairs: for each round ``r``
(``games_per_pair / 2`` of them) one maze, made from ``game_seed(tournament_seed, r)``, is played
twice by every pair, once in each seat order. All pairs meet on the same mazes, so no pair is
luckier with its mazes than another.

Order: round by round, and within a round the pairs come in the rounds of the circle method
(every agent plays at most once in each block of ``n / 2`` games), first in one seat order, then
in the other. Games that run side by side thus involve different agents, so a slow or broken agent
never holds several workers at once, and the swapped game of a pair is played well after the
first. The schedule depends only on the number of agents, ``games_per_pair`` and the seed: a
resumed tournament plays exactly the games it still lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..match import game_seed


@dataclass(frozen=True)
class ScheduledGame:
    """One game of the schedule; ``seats`` are agent indices in seat order (seat 0 first)."""

    index: int
    round: int
    a: int          # the pair, a < b
    b: int
    swap: bool      # False: a in seat 0; True: b in seat 0, on the swapped set-up
    seed: int       # the game seed (maze, cheese, starts), shared by every game of the round

    @property
    def key(self) -> str:
        """Unique within a tournament (the database key)."""
        return f"r{self.round}-{self.a}-{self.b}-{'s' if self.swap else 'f'}"

    @property
    def seats(self) -> tuple[int, int]:
        return (self.b, self.a) if self.swap else (self.a, self.b)

    def agent_seed(self, agent: int) -> list[int]:
        """The seed of an agent's generator in this game: the game seed and its place in the pair."""
        return [self.seed, 0 if agent == self.a else 1]


def circle_rounds(n: int) -> list[list[tuple[int, int]]]:
    """The circle method: n - 1 rounds (n rounded up to even) in which every agent plays once."""
    players: list[int | None] = list(range(n)) + ([None] if n % 2 else [])
    m = len(players)
    rounds = []
    for _ in range(m - 1):
        pairs = []
        for i in range(m // 2):
            x, y = players[i], players[m - 1 - i]
            if x is not None and y is not None:
                pairs.append((min(x, y), max(x, y)))
        rounds.append(pairs)
        players = [players[0], players[-1]] + players[1:-1]
    return rounds


def make_schedule(n_agents: int, games_per_pair: int, seed: int) -> list[ScheduledGame]:
    """Every game of the tournament, in the order they are started."""
    if n_agents < 2:
        raise ValueError("a tournament needs at least two agents")
    if games_per_pair < 2 or games_per_pair % 2:
        raise ValueError(f"games_per_pair must be even and >= 2, got {games_per_pair}")
    blocks = circle_rounds(n_agents)
    out: list[ScheduledGame] = []
    for r in range(games_per_pair // 2):
        gseed = game_seed(seed, r)
        for swap in (False, True):
            for block in blocks:
                for a, b in block:
                    out.append(ScheduledGame(len(out), r, a, b, swap, gseed))
    return out
