"""Conversion between this project's game objects and pyrat-game's, and playing a game in pyrat-game itself.

pyrat-game (``import pyrat``) is the official software and an optional dependency: it is imported
inside the functions that need it, never at module import time.

* `to_pyrat_maze` / `from_pyrat_maze`: our `Maze` <-> a real ``pyrat.Maze``. The size is always given
  explicitly: pyrat's ``MazeFromDict`` infers the width from the largest index gap between neighbours,
  which is wrong for a maze without vertical edges, so `to_pyrat_maze` builds a small ``pyrat.Maze``
  subclass (`FixedSizeMaze`, picklable) that takes width and height as arguments.
* `pyrat_state_to_snapshot`: a ``pyrat.GameState`` in the trace state form used by ``Game.snapshot``.
* `play_in_pyrat_game`: run a whole game in ``pyrat.Game`` (``GameMode.SIMULATION``) with scripted
  players, and record every state it produces, from turn 0 to game over. This is the reference side of
  the differential tests: the same maze, cheese, starts and actions must give the same states as
  our engine.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import io
import os
from collections.abc import Sequence

from .engine import ACTION_INDEX, ACTION_NAMES, Maze, MazeError


class InteropError(RuntimeError):
    """pyrat-game is missing, refused the set-up, or stopped a game before its end."""


class _NoZeroSleep:
    """Stands for the ``time`` module inside pyrat-game's Game module while a simulation runs.

    In ``GameMode.SIMULATION`` pyrat-game still calls ``time.sleep(0.0)`` every turn, which costs about a
    millisecond on some systems (most of a simulated game's time); a zero sleep is skipped, all else is
    the real ``time`` module.
    """

    def __init__(self, real) -> None:
        self._real = real

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._real.sleep(seconds)

    def __getattr__(self, name: str):
        return getattr(self._real, name)


@contextlib.contextmanager
def _fast_simulation():
    import pyrat.src.Game as game_module

    real = getattr(game_module, "time", None)
    if real is None:  # another layout of pyrat-game: leave it alone
        yield
        return
    game_module.time = _NoZeroSleep(real)
    try:
        yield
    finally:
        game_module.time = real


def _import_pyrat():
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # pyrat imports pygame, which greets on import
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import pyrat
    except ImportError as exc:
        raise InteropError("pyrat-game is not installed (pip install 'pyrat-game>=6.2,<7')") from exc
    return pyrat


@functools.lru_cache(maxsize=1)
def _fixed_size_maze_class() -> type:
    """The ``pyrat.Maze`` subclass with an explicit size, made once pyrat is importable."""
    pyrat = _import_pyrat()

    class FixedSizeMaze(pyrat.Maze):
        """A ``pyrat.Maze`` built from cells and weighted edges, with its width and height given explicitly."""

        def __init__(self, width: int, height: int, cells: Sequence[int],
                     edges: Sequence[tuple[int, int, int]]) -> None:
            super().__init__(int(width), int(height))
            self._cells = [int(c) for c in cells]
            self._edge_list = [(int(a), int(b), int(w)) for a, b, w in edges]
            self._create_maze()

        def _create_maze(self) -> None:
            for c in self._cells:
                self.add_vertex(c)
            for a, b, w in self._edge_list:
                self.add_edge(a, b, w)

        def __reduce__(self):
            return (_rebuild_fixed_size_maze, (self.get_width(), self.get_height(), self._cells, self._edge_list))

    FixedSizeMaze.__module__ = __name__
    FixedSizeMaze.__qualname__ = "FixedSizeMaze"
    return FixedSizeMaze


def _rebuild_fixed_size_maze(width, height, cells, edges):
    return _fixed_size_maze_class()(width, height, cells, edges)


def __getattr__(name: str):
    # ``pyrat_env.interop.FixedSizeMaze`` exists once asked for (PEP 562): pickle finds the class by name.
    if name == "FixedSizeMaze":
        return _fixed_size_maze_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_pyrat_maze(maze: Maze):
    """A ``pyrat.Maze`` with the same size, cells and weighted edges as ``maze``."""
    pm = _fixed_size_maze_class()(maze.width, maze.height, maze.existing_cells().tolist(), maze.edges())
    if (pm.get_width(), pm.get_height()) != (maze.width, maze.height):  # pragma: no cover - defensive
        raise InteropError(f"pyrat maze has size {pm.get_width()}x{pm.get_height()}, "
                           f"expected {maze.width}x{maze.height}")
    return pm


def from_pyrat_maze(pm) -> Maze:
    """Our `Maze` from any ``pyrat.Maze`` (random, from a dict, ...), using its own width and height."""
    width, height = pm.get_width(), pm.get_height()
    if width is None or height is None:
        raise MazeError("the pyrat maze has no width or height set")
    cells = [int(v) for v in pm.get_vertices()]
    edges = []
    for a in cells:
        for b in pm.get_neighbors(a):
            w = pm.get_weight(a, b)
            if not pm.has_edge(b, a) or pm.get_weight(b, a) != w:
                raise MazeError(f"pyrat maze edge {a}-{b} is not symmetric")
            if a < int(b):
                edges.append((a, int(b), int(w)))
    return Maze.from_edges(int(width), int(height), cells, edges)


def pyrat_state_to_snapshot(game_state, names: Sequence[str] | None = None) -> dict:
    """A ``pyrat.GameState`` as ``{"turn", "locations", "scores", "muds", "cheese"}`` (the trace state form).

    ``names`` orders the players (default: pyrat's own order, the order they were added).
    """
    names = list(game_state.player_locations) if names is None else [str(n) for n in names]
    return {
        "turn": int(game_state.turn),
        "locations": {n: int(game_state.player_locations[n]) for n in names},
        "scores": {n: float(game_state.score_per_player[n]) for n in names},
        "muds": {n: {"target": None if game_state.muds[n]["target"] is None else int(game_state.muds[n]["target"]),
                     "count": int(game_state.muds[n]["count"])} for n in names},
        "cheese": [int(c) for c in game_state.cheese],
    }


def _pyrat_location(pyrat, start):
    if isinstance(start, str):
        try:
            return pyrat.StartingLocation[start.upper()]
        except KeyError:
            raise ValueError(f"unknown start {start!r}; use a cell or a pyrat StartingLocation name") from None
    return int(start)


def play_in_pyrat_game(maze: Maze, cheese: Sequence[int], starts: Sequence[int | str], teams: Sequence | None,
                       names: Sequence[str], actions_per_player: Sequence[Sequence[str | int]],
                       require_all_actions: bool = True) -> list[dict]:
    """Play a game in pyrat-game itself and return every state, turn 0 to game over, in the trace form.

    ``starts`` are existing cells, or pyrat-game's named locations (``"center"``, ``"top_left"``, ...,
    ``"same"``), which pyrat-game resolves itself (a hole moves to the nearest cell): the recorded turn-0
    state then shows where it put the player. ``actions_per_player[p]`` lists the actions of player p
    (names or our action indices) for the turns in which it is asked: never at turn 0 (preprocessing),
    never while it is in mud. ``teams`` gives one label per player (``None``: one team per player, as
    our engine's default). The game runs in ``GameMode.SIMULATION`` with the width and height given
    explicitly; pyrat-game's printing is swallowed. Raises `InteropError` if pyrat-game stops the game
    (a crash, or a player asked for more actions than it was given) or, with ``require_all_actions``, if
    some actions were never asked for.
    """
    pyrat = _import_pyrat()
    n = len(starts)
    names = [str(x) for x in names]
    if len(names) != n or len(actions_per_player) != n:
        raise ValueError(f"{n} start cells, {len(names)} names and {len(actions_per_player)} action lists")
    teams = names if teams is None else [str(t) for t in teams]
    if len(teams) != n:
        raise ValueError(f"{n} start cells but {len(teams)} team labels")
    scripts = []
    for p, acts in enumerate(actions_per_player):
        script = []
        for a in acts:
            name = ACTION_NAMES[a] if isinstance(a, int) else a
            if name not in ACTION_INDEX:
                raise ValueError(f"player {names[p]!r}: {a!r} is not an action")
            script.append(pyrat.Action(name))
        scripts.append(script)

    class ScriptedPlayer(pyrat.Player):
        """Plays its script; asked once too often, it records the turn and crashes, which stops the game."""

        def __init__(self, name: str, script: list) -> None:
            super().__init__(name)
            self.script = collections.deque(script)
            self.overrun_turn: int | None = None

        def turn(self, maze, game_state):
            if not self.script:
                self.overrun_turn = int(game_state.turn)
                raise RuntimeError(f"player {self.get_name()!r} has no action left")
            return self.script.popleft()

    states: list[dict] = []

    class RecordingEngine(pyrat.RenderingEngine):
        """pyrat-game renders the initial state and every new one: record them instead of drawing."""

        def render(self, players, maze, game_state) -> None:
            states.append(pyrat_state_to_snapshot(game_state, names))

    players = [ScriptedPlayer(names[p], scripts[p]) for p in range(n)]
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            game = pyrat.Game(random_seed=0, fixed_maze=to_pyrat_maze(maze), fixed_cheese=[int(c) for c in cheese],
                              game_mode=pyrat.GameMode.SIMULATION)
            for player, team, start in zip(players, teams, starts):
                game.add_player(player, team, _pyrat_location(pyrat, start))
        except AssertionError as exc:
            raise InteropError(f"pyrat-game refused the game set-up: {exc}") from None
        # The rendering engine is made by Game.reset(); start() only calls it, so it can be swapped here.
        game._Game__rendering_engine = RecordingEngine()
        with _fast_simulation():
            stats = game.start()
    for player in players:
        if player.overrun_turn is not None:
            raise InteropError(f"player {player.get_name()!r} ran out of actions at turn {player.overrun_turn}")
    if not stats:
        tail = sink.getvalue().strip().splitlines()[-1:] or ["(no message)"]
        raise InteropError(f"pyrat-game stopped the game: {tail[0]}")
    for player in players:
        if require_all_actions and player.script:
            raise InteropError(f"player {player.get_name()!r} has {len(player.script)} actions left "
                               f"when pyrat-game ended the game at turn {states[-1]['turn']}")
    return states

