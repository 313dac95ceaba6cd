"""Agents that break the rules of a match, for the time-limit and error tests."""

import time

from pyrat_rl.agents.scripted import GreedyAgent


class SlowAgent(GreedyAgent):
    """Plays greedily but thinks for ``delay`` seconds on turn 3 (and 4, if it is asked then)."""

    name = "slow"
    delay = 0.3

    def act(self, game, seat):
        if game.turn in (3, 4):
            time.sleep(self.delay)
        return super().act(game, seat)


class SlowStartAgent(GreedyAgent):
    """Takes too long to preprocess."""

    name = "slow_start"

    def start(self, ctx):
        super().start(ctx)
        time.sleep(0.3)


class RaisingAgent(GreedyAgent):
    """Raises on turn 2, plays greedily otherwise."""

    name = "raising"

    def act(self, game, seat):
        if game.turn == 2:
            raise RuntimeError("boom on turn 2")
        return super().act(game, seat)


class WrongReturnAgent(GreedyAgent):
    """Returns values that are not actions on turns 2 and 3."""

    name = "wrong_return"

    def act(self, game, seat):
        if game.turn == 2:
            return "jump"
        if game.turn == 3:
            return None
        return super().act(game, seat)


class EndRaisingAgent(GreedyAgent):
    """Raises in ``end``."""

    name = "end_raising"

    def end(self, game, seat, result):
        raise ValueError("cannot take the result")


class NotAnAgent:
    """Neither an Agent nor a pyrat.Player."""


class ChattyAgent(GreedyAgent):
    """Prints every turn, as students' players often do."""

    name = "chatty"

    def act(self, game, seat):
        print("thinking hard about turn", game.turn)
        return super().act(game, seat)
