"""Students' pyrat-game players, unchanged, in this project's matches.

`PyratPlayerAgent` wraps a subclass of pyrat-game's ``pyrat.Player`` (with ``turn`` and optionally
``preprocessing`` and ``postprocessing``) as an `Agent`, and calls it as pyrat-game does:

* at turn 0 it builds one real ``pyrat.Maze`` for the game (`pyrat_env.interop.to_pyrat_maze`, with
  the width and height given explicitly) and calls ``preprocessing(maze, game_state)``;
* each turn the player is not in mud (the match does not ask it then) it calls
  ``turn(maze, game_state)`` with a fresh ``pyrat.GameState`` and maps the returned ``pyrat.Action``
  to our action; anything that is not a ``pyrat.Action`` raises `InvalidPlayerAction`, which the
  match records as an ``invalid_action`` error (pyrat-game refuses it too);
* at the end it calls ``postprocessing(maze, game_state, stats)`` with a stats dict shaped like
  pyrat-game's (``{"players": {name: {"score", "preprocessing_duration", "turn_durations", "team",
  "actions"}}, "turns"}``).

The game state is pyrat-game's own class, filled as pyrat-game fills it: ``player_locations``,
``score_per_player`` (an int 0 until the first point, then floats, as pyrat-game adds ``1 / k``),
``muds`` (``{"target", "count"}``), ``teams`` (``{team: [names]}``), ``cheese`` (remaining, in
order) and ``turn``. The wrapped player sees itself under its own ``get_name()`` (students look
themselves up with ``game_state.player_locations[self.get_name()]``); the other players keep the
match's names (made distinct from it if needed). So on a maze, cheese and starts taken from a
pyrat-game game, a deterministic player makes exactly the moves it made in pyrat-game.

`record_pyrat_game` runs players in pyrat-game itself and returns the game as a trace dict
(``pyrat-game-trace/1``), the reference for checking that the adapter reproduces it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
from collections.abc import Sequence

from pyrat_env.agent import Agent, GameContext
from pyrat_env.engine import ACTION_INDEX, Game, Maze


class InvalidPlayerAction(ValueError):
    """A pyrat-game player's ``turn`` returned something that is not a ``pyrat.Action``."""

    error_kind = "invalid_action"  # how the match records it


def import_pyrat():
    """pyrat-game's package, imported quietly (pygame greets on import)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import pyrat
    except ImportError as exc:  # pragma: no cover - pyrat-game is a dev dependency
        raise ImportError("students' players need pyrat-game: pip install 'pyrat-game>=6.2,<7'") from exc
    return pyrat


class PyratPlayerAgent(Agent):
    """An `Agent` that plays a ``pyrat.Player`` (class or instance) the way pyrat-game calls it."""

    kind = "scripted"
    description = "a pyrat-game Player, called as pyrat-game calls it"

    def __init__(self, player) -> None:
        super().__init__()
        pyrat = import_pyrat()
        if isinstance(player, type):
            player = player()
        if not isinstance(player, pyrat.Player):
            raise TypeError(f"{type(player).__name__} is not a pyrat.Player")
        self.player = player
        self.name = player.get_name()
        self._pyrat = pyrat
        self.maze = None
        self._names: list[str] = []
        self._teams: dict[str, list[str]] = {}

    # -- building pyrat-game's objects ----------------------------------------------------------------------
    def _state_names(self, ctx: GameContext) -> list[str]:
        own = self.player.get_name()
        given = list(ctx.names) if ctx.names is not None else [f"player_{p}" for p in range(ctx.n_players)]
        names = []
        for p, name in enumerate(given):
            if p == ctx.seat:
                names.append(own)
            else:
                name = str(name)
                while name == own or name in names:
                    name += "_"
                names.append(name)
        return names

    def game_state(self, game: Game):
        """A fresh ``pyrat.GameState`` for our game (players named as this player sees them)."""
        gs = self._pyrat.GameState()
        names = self._names
        gs.player_locations = {n: int(game.pos[p]) for p, n in enumerate(names)}
        gs.score_per_player = {n: (0 if game.scores[p] == 0 else float(game.scores[p])) for p, n in enumerate(names)}
        gs.muds = {n: {"target": game.mud_target[p], "count": int(game.mud_count[p])} for p, n in enumerate(names)}
        gs.teams = copy.deepcopy(self._teams)
        gs.cheese = [int(c) for c in game.cheese]
        gs.turn = int(game.turn)
        return gs

    # -- the Agent interface -----------------------------------------------------------------------------
    def start(self, ctx: GameContext) -> None:
        super().start(ctx)
        from pyrat_env.interop import to_pyrat_maze

        self.maze = to_pyrat_maze(ctx.maze)  # one maze per game: what the player does to it stays in this game
        self._names = self._state_names(ctx)
        labels = [str(t) for t in ctx.teams] if ctx.teams is not None else list(self._names)
        self._teams = {}
        for label, name in zip(labels, self._names):
            self._teams.setdefault(label, []).append(name)
        game = ctx.game if ctx.game is not None else Game(ctx.maze, ctx.cheese, ctx.starts, None)
        self.player.preprocessing(self.maze, self.game_state(game))

    def act(self, game: Game, seat: int) -> int:
        action = self.player.turn(self.maze, self.game_state(game))
        if not isinstance(action, self._pyrat.Action):
            raise InvalidPlayerAction(f"{self.player.get_name()}.turn returned {action!r} "
                                      f"({type(action).__name__}), not a pyrat.Action")
        return ACTION_INDEX[action.value]

    def end(self, game: Game, seat: int, result: dict) -> None:
        stats = result.get("stats") or {"players": {}, "turns": game.moves_played}
        match_names = list(result.get("names") or [])
        players = {}
        for p, name in enumerate(self._names):
            src = stats["players"].get(match_names[p]) if p < len(match_names) else None
            if src is None:
                src = {"score": game.scores[p], "preprocessing_duration": None, "turn_durations": [],
                       "team": None, "actions": {}}
            entry = copy.deepcopy(src)
            entry["team"] = next((t for t, members in self._teams.items() if name in members), entry.get("team"))
            players[name] = entry
        self.player.postprocessing(self.maze, self.game_state(game), {"players": players, "turns": stats["turns"]})


# -- the reference: playing in pyrat-game itself ---------------------------------------------------------
def record_pyrat_game(players: Sequence, maze: Maze, cheese: Sequence[int], starts: Sequence[int],
                      teams: Sequence[str] | None = None) -> dict:
    """Play ``players`` (``pyrat.Player`` instances) in pyrat-game and return the game as a trace dict.

    The game runs in ``GameMode.SIMULATION`` on the given maze (explicit width and height), cheese
    and start cells, one team per player unless ``teams`` is given. The result has the keys of
    ``pyrat-game-trace/1``: ``width``, ``height``, ``maze``, ``cheese``, ``players`` (name, team,
    agent, start, actions: what each ``turn`` call returned), ``states`` (every state, turn 0 to
    the end), ``stats`` (turns, scores). Raises RuntimeError if pyrat-game stops the game.
    """
    pyrat = import_pyrat()
    from pyrat_env.interop import pyrat_state_to_snapshot, to_pyrat_maze

    names = [p.get_name() for p in players]
    teams = list(names) if teams is None else [str(t) for t in teams]
    actions: dict[str, list[str]] = {n: [] for n in names}
    states: list[dict] = []

    for player in players:  # record what every call to turn() returns, without changing the player
        inner = player.turn

        def turn(maze, game_state, _inner=inner, _name=player.get_name()):
            action = _inner(maze, game_state)
            actions[_name].append(action.value if isinstance(action, pyrat.Action) else repr(action))
            return action

        player.turn = turn

    class RecordingEngine(pyrat.RenderingEngine):
        """pyrat-game renders the first state and every new one: record them."""

        def render(self, players_, maze_, game_state) -> None:
            states.append(pyrat_state_to_snapshot(game_state, names))

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        game = pyrat.Game(random_seed=0, fixed_maze=to_pyrat_maze(maze), fixed_cheese=[int(c) for c in cheese],
                          game_mode=pyrat.GameMode.SIMULATION)
        for player, team, start in zip(players, teams, starts):
            game.add_player(player, team, int(start))
        game._Game__rendering_engine = RecordingEngine()  # made by reset(); start() only calls it
        stats = game.start()
    for player in players:
        del player.turn
    if not stats:
        raise RuntimeError("pyrat-game stopped the game: " + (sink.getvalue().strip().splitlines() or ["?"])[-1])
    return {
        "format": "pyrat-game-trace/1", "width": maze.width, "height": maze.height, "maze": maze.to_dict(),
        "cheese": [int(c) for c in cheese],
        "players": [{"name": n, "team": t, "agent": type(p).__name__, "start": int(s), "actions": actions[n]}
                    for n, t, p, s in zip(names, teams, players, starts)],
        "states": states,
        "stats": {"turns": stats["turns"], "scores": {n: stats["players"][n]["score"] for n in names}},
    }
