"""A misbehaving agent for the tournament tests: loops forever on its third turn."""

from pyrat_env.agent import Agent


class LooperAgent(Agent):
    name = "looper"

    def act(self, game, seat):
        if game.turn >= 3:
            x = 0
            while True:
                x += 1
        return "east"
