"""A misbehaving agent for the tournament tests: sleeps 2 s every turn (far past the turn time)."""

import time

from pyrat_env.agent import Agent


class SleeperAgent(Agent):
    name = "sleeper"
    delay = 2.0

    def act(self, game, seat):
        time.sleep(self.delay)
        return "north"
