"""The agent's side of an isolated game: one process per agent and per game, driven by the runner.

The agent's fork server (`pyrat_rl.agents.tournament.forkserver`) forks this process for one game, in a
session of its own, with its standard output and error on a pipe that the runner reads with a cap. The
process talks to the runner over two pipes (`pyrat_rl.agents.tournament.protocol`), one request at a time:

``load``   sets the memory (``RLIMIT_AS``) and CPU-time (``RLIMIT_CPU``) limits, then imports the
           agent from its spec; replies with its name, or ``load_error``.
``start``  the maze, cheese, starts and seat: builds its own `Game`, calls ``agent.start(ctx)``
           (an `AgentRefusal` is replied as kind ``refused``: the runner forfeits the agent).
``act``    the joint actions played since the last request (the process steps its own copy of the
           game with the same engine, so it always sees the exact state) and the turn number;
           calls ``agent.act`` and replies with the action, or ``invalid_action`` / ``exception``.
``end``    the last actions and the result: calls ``agent.end``.

Replies carry the request's ``id``. A `MemoryError` is fatal (``{"fatal": "memory"}``, then the
process exits), and so is an agent calling ``exit()``; any other exception is reported and the
game goes on. Deadlines, and think times, are the runner's business: it measures them itself, stops
waiting, and has the fork server kill the process and everything it started when the game is over. The
process dies with its server, and the server with the runner (``PR_SET_PDEATHSIG``), so even a
``kill -9`` of the runner leaves no agent behind.

This module imports only the standard library until the limits are set.
"""

from __future__ import annotations

import os
import resource
import time
import traceback

from pyrat_rl.agents.tournament.protocol import encode, read_message, write_all

MESSAGE_LIMIT = 2000  # characters of an error message sent back


def _set_limits(memory_mb: int | None, cpu_seconds: float | None) -> None:
    if memory_mb:
        limit = int(memory_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_seconds:
        soft = max(1, int(cpu_seconds))
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        # SIGXCPU at the soft limit, SIGKILL at the hard one
        new_hard = soft + 5 if hard == resource.RLIM_INFINITY else min(hard, soft + 5)
        resource.setrlimit(resource.RLIMIT_CPU, (min(soft, new_hard), new_hard))


def _describe(exc: BaseException) -> str:
    msg = f"{type(exc).__name__}: {exc}"
    tb = traceback.extract_tb(exc.__traceback__)
    if tb:
        last = tb[-1]
        msg += f" (at {os.path.basename(last.filename)}:{last.lineno})"
    return msg[:MESSAGE_LIMIT]


def _warm_up() -> None:
    """Import while loading (untimed) what the project's experts import on their first turn.

    A long-lived process would pay for these imports once; a fresh process per game would pay in
    every game's first turn, and time out.
    """
    try:
        import scipy.sparse.csgraph  # noqa: F401  (pyrat_env.paths.distance_matrix)

        import pyrat_env.paths  # noqa: F401
    except ImportError:
        pass


class Worker:
    """Holds the agent and its copy of the game; answers the runner's requests."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd
        self.agent = None
        self.game = None
        self.seat = 0
        self.elapsed = 0.0

    def send(self, obj: dict) -> None:
        write_all(self.out_fd, encode(obj))

    def fatal(self, rid, kind: str, message: str, code: int) -> None:
        try:
            self.send({"id": rid, "ok": False, "fatal": kind, "message": message[:MESSAGE_LIMIT]})
        finally:
            os._exit(code)

    # -- requests ------------------------------------------------------------------------------------
    def load(self, msg: dict) -> None:
        _set_limits(msg.get("memory_mb"), msg.get("cpu_seconds"))
        try:
            from pyrat_rl.agents.spec import agent_factory

            make, label, _ = agent_factory(msg["spec"])
            self.agent = make()
            _warm_up()
        except MemoryError:
            self.fatal(msg.get("id"), "memory", "out of memory while loading the agent", 3)
        except BaseException as exc:  # noqa: BLE001 - a student's file may even call exit() at import
            self.send({"id": msg.get("id"), "ok": False, "kind": "load_error", "message": _describe(exc)})
            os._exit(2)
        self.send({"id": msg.get("id"), "ok": True, "name": str(label)})

    def start(self, msg: dict) -> None:
        import numpy as np

        from pyrat_env.agent import GameContext
        from pyrat_env.engine import Game, Maze

        maze = Maze.from_dict(msg["maze"], msg["width"], msg["height"])
        teams = msg.get("teams")
        self.game = Game(maze, msg["cheese"], msg["starts"], teams, msg.get("max_turns"))
        self.seat = int(msg["seat"])
        names = tuple(msg.get("names") or [str(p) for p in range(len(msg["starts"]))])
        ctx = GameContext(maze=maze, seat=self.seat, n_players=len(msg["starts"]), cheese=tuple(msg["cheese"]),
                          starts=tuple(msg["starts"]), rng=np.random.default_rng(msg["rng_seed"]),
                          preprocessing_time=msg.get("preprocessing_time"), turn_time=msg.get("turn_time"),
                          teams=tuple(msg.get("team_labels") or names), game=self.game.copy(), names=names)
        self.call(msg, self.agent.start, ctx)

    def _catch_up(self, msg: dict) -> None:
        for actions in msg.get("moves", ()):
            self.game.step(actions)
        if self.game.turn != msg["turn"]:
            raise RuntimeError(f"out of step: at turn {self.game.turn}, the runner is at turn {msg['turn']}")

    def act(self, msg: dict) -> None:
        from pyrat_env.agent import to_action_index

        self._catch_up(msg)
        value = self.call(msg, self.agent.act, self.game.copy(), self.seat, reply=False)
        if value is _FAILED:
            return
        try:
            action = to_action_index(value)
        except ValueError:
            text = repr(value)
            if len(text) > 200:
                text = text[:200] + "..."
            self.send({"id": msg["id"], "ok": False, "kind": "invalid_action",
                       "message": f"returned {text} ({type(value).__name__}), not an action"})
            return
        self.send({"id": msg["id"], "ok": True, "action": action, "elapsed": self.elapsed})

    def end(self, msg: dict) -> None:
        self._catch_up(msg)
        self.call(msg, self.agent.end, self.game.copy(), self.seat, msg.get("result") or {})

    def call(self, msg: dict, fn, *args, reply: bool = True):
        """Call the agent; exceptions are replied, MemoryError and exit() end the process."""
        rid = msg["id"]
        t0 = time.perf_counter()
        try:
            value = fn(*args)
        except MemoryError:
            self.fatal(rid, "memory", "MemoryError: the agent ran out of memory (memory limit)", 3)
        except SystemExit as exc:
            self.fatal(rid, "exit", f"the agent called exit({exc.code!r})", 4)
        except Exception as exc:  # noqa: BLE001 - the agent's failure is reported, the game goes on
            from pyrat_env.agent import AgentRefusal

            self.elapsed = time.perf_counter() - t0
            if isinstance(exc, AgentRefusal):   # it cannot play this game (its message says why): a forfeit
                self.send({"id": rid, "ok": False, "kind": "refused", "message": str(exc)[:MESSAGE_LIMIT],
                           "elapsed": self.elapsed})
                return _FAILED
            self.send({"id": rid, "ok": False, "kind": "exception", "message": _describe(exc),
                       "elapsed": self.elapsed})
            return _FAILED
        self.elapsed = time.perf_counter() - t0
        if reply:
            self.send({"id": rid, "ok": True, "elapsed": self.elapsed})
        return value

    def serve(self) -> None:
        handlers = {"load": self.load, "start": self.start, "act": self.act, "end": self.end}
        while True:
            msg = read_message(self.in_fd)
            if msg is None or msg.get("cmd") == "quit":
                os._exit(0)
            handler = handlers.get(msg.get("cmd"))
            if handler is None:
                self.fatal(msg.get("id"), "protocol", f"unknown request {msg.get('cmd')!r}", 5)
            handler(msg)


_FAILED = object()
