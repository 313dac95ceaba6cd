"""pyrat-game players that break the rules, for the adapter tests."""

from pyrat import Action, Player


class StringPlayer(Player):
    """A pyrat-game player whose turn returns a string instead of an Action."""

    def turn(self, maze, game_state):
        return "north"


class MutatingPlayer(Player):
    """A pyrat-game player that scribbles on the objects it gets, and checks it gets fresh ones."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.saw_scribble = False
        self.calls = 0

    def turn(self, maze, game_state):
        self.saw_scribble |= game_state.cheese == [-1]
        self.calls += 1
        game_state.cheese.clear()
        game_state.cheese.append(-1)
        game_state.player_locations[self.get_name()] = -5
        return Action.NOTHING
