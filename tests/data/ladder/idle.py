"""A deliberately weak agent for the ladder tests: it never moves, so it can only lose (or draw)."""

from pyrat_env import Agent
from pyrat_env.engine import NOTHING


class IdleAgent(Agent):
    name = "idle"
    description = "never moves"

    def act(self, game, seat: int) -> int:
        return NOTHING
