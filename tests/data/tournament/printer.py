"""A misbehaving agent for the tournament tests: prints 200 kB a turn (to stdout and stderr), plays greedy."""

import sys

from pyrat_rl.agents.scripted import GreedyAgent


class PrinterAgent(GreedyAgent):
    name = "printer"

    def start(self, ctx):
        super().start(ctx)
        print("PRINTER START " + "x" * 1000)

    def act(self, game, seat):
        print(("chatty " * 14 + "\n") * 1000)
        print("err " * 1000, file=sys.stderr)
        return super().act(game, seat)
