"""A misbehaving agent for the tournament tests: returns values that are not actions."""

from pyrat_env.agent import Agent


class InvalidAgent(Agent):
    name = "invalid"
    values = ("jump", 42, None, 2.5, object())

    def act(self, game, seat):
        return self.values[game.turn % len(self.values)]
