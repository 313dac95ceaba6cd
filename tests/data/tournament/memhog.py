"""A misbehaving agent for the tournament tests: on turn 2, takes memory (really used) until there is none left."""

from pyrat_env.agent import Agent


class MemoryHogAgent(Agent):
    name = "memhog"

    def act(self, game, seat):
        if game.turn >= 2:
            blocks, size = [], 1 << 20
            while True:
                blocks.append(bytearray(size))  # zero-filled: the pages are touched, not just reserved
                size *= 2
        return "south"
