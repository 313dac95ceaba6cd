"""The Agent interface: one way for scripted experts, neural policies and students' code to play.

An agent is told the game at its start (the maze, its seat, a seeded random generator and the
time it may spend), then asked for an action each turn it is not in mud, given the full game
state, and told the result at the end::

    class MyAgent(Agent):
        name = "mine"
        def start(self, ctx: GameContext) -> None: ...    # preprocessing, turn 0 (optional)
        def act(self, game: Game, seat: int) -> int: ...  # 0 nothing, 1 north, 2 east, 3 south, 4 west
        def end(self, game: Game, seat: int, result: dict) -> None: ...  # optional

``act`` may also return an action name (``"north"``...). The ``Game`` handed to ``act`` is a copy:
changing it changes nothing. Agents that can play many games at once (the environments' opponents,
dataset building) also implement ``act_batch``; the default loops over ``act``.

An agent that cannot play a game at all (a network built for another maze size) raises `AgentRefusal`
from ``start`` with one message naming itself and the reason; the match runners then end the game as
that agent's forfeit instead of asking it every turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import ACTION_INDEX, Game, GameBatch, Maze


class AgentRefusal(ValueError):
    """Raised by an agent's ``start`` when it cannot play this game at all (e.g. a maze size it was not built for).

    The message names the agent and says why, e.g. ``cnn_planner plays 15x13 mazes only; this maze is 21x15``.
    The match runners record it once (error kind ``refused``) and end the game as the agent's forfeit.
    """


@dataclass
class GameContext:
    """What an agent is told at the start of a game."""

    maze: Maze
    seat: int                      # index of the agent's player (0 first)
    n_players: int
    cheese: tuple[int, ...]        # initial cheese, official order
    starts: tuple[int, ...]        # start cell of every player
    rng: np.random.Generator       # the agent's own seeded generator
    preprocessing_time: float | None = None   # seconds allowed in ``start`` (None: no limit)
    turn_time: float | None = None            # seconds allowed per ``act`` (None: no limit)
    teams: tuple | None = None
    game: Game | None = None       # the game at turn 0 (a copy)
    names: tuple[str, ...] | None = None      # every player's name, in seat order (the replay's names)


class Agent:
    """Base class of every agent. Subclasses override ``act`` and optionally ``start``, ``end``."""

    name: str = "agent"
    kind: str = "scripted"         # "scripted" or "neural"
    description: str = ""
    # True declares that ``act`` never changes the `Game` it is handed: callers (the environments) may then
    # hand it the live game instead of a per-turn copy. Leave it False unless that is certain.
    reads_game_only: bool = False

    def __init__(self) -> None:
        self.ctx: GameContext | None = None
        self.rng = np.random.default_rng(0)

    def start(self, ctx: GameContext) -> None:
        """Called once at turn 0 (preprocessing). The default keeps the context and generator."""
        self.ctx = ctx
        self.rng = ctx.rng

    def act(self, game: Game, seat: int) -> int:
        """The action for this turn (an int 0..4 or an action name)."""
        raise NotImplementedError

    def end(self, game: Game, seat: int, result: dict) -> None:
        """Called once when the game is over, with the result (scores, winner, reason)."""

    # -- batched play (opponents in vector environments, dataset building) --------------------
    def act_batch(self, batch: GameBatch, seat: int) -> np.ndarray:
        """Actions ``[B]`` for every game of a batch at once (rows that are over or in mud are ignored).

        The default builds each game with ``batch.to_game(i)`` and asks ``act``; scripted experts
        override it with array code. ``start`` is not called per row: batched agents read the
        maze from ``batch.mazes[i]``.
        """
        out = np.zeros(batch.batch_size, dtype=np.int64)
        live = ~batch.over
        for i in np.flatnonzero(live):
            out[i] = to_action_index(self.act(batch.to_game(int(i)), seat))
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def to_action_index(action) -> int:
    """An action given as int, numpy integer or name, as an int 0..4; ValueError otherwise."""
    if isinstance(action, str):
        try:
            return ACTION_INDEX[action.lower()]
        except KeyError:
            raise ValueError(f"unknown action name {action!r}") from None
    if isinstance(action, (bool, np.bool_)):
        raise ValueError(f"invalid action {action!r}")
    if isinstance(action, (int, np.integer)) and 0 <= int(action) <= 4:
        return int(action)
    value = getattr(action, "value", None)  # pyrat-game's Action enum
    if isinstance(value, str) and value in ACTION_INDEX:
        return ACTION_INDEX[value]
    raise ValueError(f"invalid action {action!r}: expected 0..4 or an action name")
