"""A misbehaving agent for the tournament tests: preprocessing that never ends (an infinite loop in start)."""

from pyrat_env.agent import Agent


class SlowStartAgent(Agent):
    name = "slow_start"

    def start(self, ctx):
        super().start(ctx)
        while True:
            pass

    def act(self, game, seat):
        return "north"
