"""A misbehaving agent for the tournament tests: raises on every odd turn, plays greedy otherwise."""

from pyrat_rl.agents.scripted import GreedyAgent


class RaiserAgent(GreedyAgent):
    name = "raiser"

    def act(self, game, seat):
        if game.turn % 2 == 1:
            raise ValueError(f"no idea what to do at turn {game.turn}")
        return super().act(game, seat)
