"""An agent on this project's `Agent` interface, to copy and fill in.

Try it::

    pyrat play agents/templates/agent_template.py:MyAgent greedy --games 10

``start`` is called at turn 0 (preprocessing) with a `GameContext` (maze, seat, seeded ``rng``,
time limits); ``act`` each turn the player is not in mud, with a copy of the full `Game`; it
returns 0 nothing, 1 north, 2 east, 3 south, 4 west (or the action's name).

Write your own in any folder: ``from pyrat_env import Agent, GameContext`` is all the import it needs
(the engine's helpers, ``pyrat_env.engine`` and ``pyrat_env.paths``, are there too). pyrat-game's ``Player``
API works as well: see ``student_player.py`` beside this file (it needs ``pip install "pyrat-rl[players]"``,
which the student install ``pyrat-rl[all]`` includes).
"""

from pyrat_env import Agent, GameContext
from pyrat_env.engine import NOTHING, Game
from pyrat_env.paths import distance_matrix, first_moves_towards


class MyAgent(Agent):
    """Goes to the nearest cheese by travel time (the greedy expert, written out)."""

    name = "my_agent"
    description = "nearest cheese by travel time"

    def start(self, ctx: GameContext) -> None:
        super().start(ctx)  # keeps ctx and the seeded generator self.rng
        self.dist = distance_matrix(ctx.maze)  # travel times between all cells, mud counted

    def act(self, game: Game, seat: int) -> int:
        here = game.pos[seat]
        if not game.cheese:
            return NOTHING
        target = min(game.cheese, key=lambda c: (self.dist[here, c], c))
        moves = first_moves_towards(game.maze, here, target)
        return moves[0] if moves else NOTHING
