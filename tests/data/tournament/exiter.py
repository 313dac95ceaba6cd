"""A misbehaving agent for the tournament tests: its process exits on turn 2 (os._exit: nothing to catch)."""

import os

from pyrat_env.agent import Agent


class ExiterAgent(Agent):
    name = "exiter"

    def act(self, game, seat):
        if game.turn >= 2:
            os._exit(7)
        return "west"
