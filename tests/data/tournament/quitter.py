"""A misbehaving agent for the tournament tests: calls sys.exit() during preprocessing."""

import sys

from pyrat_env.agent import Agent


class QuitterAgent(Agent):
    name = "quitter"

    def start(self, ctx):
        super().start(ctx)
        sys.exit(3)

    def act(self, game, seat):
        return "north"
