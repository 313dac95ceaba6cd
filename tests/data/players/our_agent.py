"""An agent written against this project's `Agent` class (not pyrat-game's): it heads east, then south."""

from pyrat_env.agent import Agent
from pyrat_env.engine import EAST, NOTHING, SOUTH, Game


class EastThenSouth(Agent):
    """Moves east while it can, then south, then stays."""

    name = "east_then_south"

    def act(self, game: Game, seat: int) -> int:
        legal = game.legal_actions(seat)
        if EAST in legal:
            return EAST
        return SOUTH if SOUTH in legal else NOTHING
