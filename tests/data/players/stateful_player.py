"""A student-style pyrat-game player that keeps state between turns (no preprocessing).

It remembers how often it visited each cell and moves to the least visited neighbour (lowest cell
on ties), counting its turns; deterministic, so pyrat-game and the adapter must agree on every move.
"""

from pyrat import Action, GameState, Maze, Player


class Wanderer(Player):
    """Explores the maze by preferring the cells it has seen least."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.visits: dict[int, int] = {}
        self.turns_played = 0
        self.turns_seen: list[int] = []

    def turn(self, maze: Maze, game_state: GameState) -> Action:
        self.turns_played += 1
        self.turns_seen.append(game_state.turn)
        assert not game_state.is_in_mud(self.get_name())
        here = game_state.player_locations[self.get_name()]
        self.visits[here] = self.visits.get(here, 0) + 1
        # a cheese next door is taken at once
        options = sorted(maze.get_neighbors(here), key=lambda c: (c not in game_state.cheese,
                                                                   self.visits.get(c, 0), c))
        return maze.locations_to_action(here, options[0])
