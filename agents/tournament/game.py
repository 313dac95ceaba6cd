"""One tournament game with every agent in its own process: deadlines, forfeits, and the replay.

`play_isolated_game` takes a `GameTask` (plain, picklable data: it is what a Ray task receives)
and returns a JSON-able record with the result and the replay. The rules are the engine's; the
agents' processes step their own copies of the game with the same engine (`pyrat_rl.agents.tournament.worker`).

Time limits follow the match runner (`pyrat_rl.agents.match`): ``preprocessing_time`` for ``start`` (turn 0),
``turn_time`` for each ``act``, counted from the moment the request is sent. Both agents are asked
at once and think side by side, each in its own process. A late answer, an exception or a value
that is not an action counts as ``nothing`` for that turn and is recorded (timeouts as a count,
the others as errors ``{"turn", "kind", "message"}``); while an agent is still busy with a late
answer it is not asked again, and each such turn is a timeout too. An agent forfeits the game
(the other wins; reason ``forfeit``) when

* its process could not start or load the agent within ``load_time`` (``load``),
* its process dies, exits, or sends garbage (``crash``, ``exit``, ``protocol``),
* it runs out of memory (``memory``) or of CPU time (``cpu``),
* it misses ``max_consecutive_timeouts`` turns in a row (``timeouts``; preprocessing counts),
* it refuses the game in ``start`` (``refused``: `pyrat_env.agent.AgentRefusal`, e.g. a network built for
  another maze size).

Both forfeiting in the same turn is a draw. A forfeiting agent's process is killed at once; the
others are told the result (``end``, at most ``end_time`` seconds) and then killed too, with
everything they started (their process group). Each game starts fresh processes, so nothing
carries over from one game to the next, and a game replayed after a crash of the runner is the
game that would have been played.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from pyrat_env.engine import ACTION_NAMES
from pyrat_env.mazes import GameConfig, new_game
from pyrat_env.replay import ACTION_STAT_KEYS, finish_replay, forfeit_result, game_result, start_replay

from .config import Limits
from .process import AgentGone, AgentProcess, ServerPool, bounded
from .sandbox import DEFAULT_SANDBOX

# errors proper (the game went on); forfeits are recorded apart
_ERROR_KINDS = ("exception", "invalid_action")
_ACTION_KEYS = ACTION_STAT_KEYS


class GameInterrupted(RuntimeError):
    """The runner asked the game to stop (Ctrl-C); its processes have been killed."""


@dataclass(frozen=True)
class GameTask:
    """Everything needed to play one game, in seat order (plain data, so it can travel to a Ray worker)."""

    index: int
    key: str
    seed: int
    swap: bool
    game: dict                      # GameConfig.to_dict()
    max_turns: int | None
    run_specs: tuple[str, ...]      # what each seat's process loads
    specs: tuple[str, ...]          # what is recorded as the seat's ``agent``
    names: tuple[str, ...]
    agent_seeds: tuple[tuple[int, ...], ...]
    limits: Limits = field(default_factory=Limits)
    sandbox: str = DEFAULT_SANDBOX  # bwrap or none (pyrat_rl.agents.tournament.sandbox)
    digests: tuple[str | None, ...] = ()  # each seat's file digest: a file that changed is not played


MAX_ERRORS_KEPT = 100   # errors kept per seat and game (each message bounded too): an agent cannot bloat the records


class _Seat:
    """Book-keeping for one player of the game."""

    def __init__(self, proc: AgentProcess) -> None:
        self.proc = proc
        self.timeouts = 0
        self.consecutive = 0
        self.errors: list[dict] = []   # the replay's list: the first MAX_ERRORS_KEPT, then one "truncated" entry
        self.error_count = 0           # exceptions and invalid actions, all of them
        self.dropped = 0
        self.forfeit: dict | None = None
        self.actions: list[str] = []
        self.think: list[float] = []
        self.durations: list[float] = []
        self.prep_time: float | None = None
        self.counts = dict.fromkeys(_ACTION_KEYS, 0)
        self.synced = 0          # how many entries of the game's history the process has seen
        self.started = False     # told the game (``start`` sent)

    def error(self, turn: int, kind: str, message: str, force: bool = False) -> None:
        self.error_count += kind in _ERROR_KINDS
        if len(self.errors) < MAX_ERRORS_KEPT or force:
            self.errors.append({"turn": turn, "kind": kind, "message": message})
        else:
            self.dropped += 1


def _reply(proc: AgentProcess, deadline: float, stop: threading.Event | None) -> dict | None:
    """`AgentProcess.reply` for the long waits (loading, preprocessing, end), in slices that watch ``stop``."""
    while True:
        if stop is not None and stop.is_set():
            raise GameInterrupted("stopped")
        now = time.monotonic()
        r = proc.reply(min(deadline, now + 0.25))
        if r is not None or not proc.busy or time.monotonic() >= deadline:
            return r


def _valid_action(r: dict) -> bool:
    a = r.get("action")
    return type(a) is int and 0 <= a < len(ACTION_NAMES)


def play_isolated_game(task: GameTask, stop: threading.Event | None = None, pool: ServerPool | None = None) -> dict:
    """Play one game between agents in their own processes; returns the record (with ``replay``).

    ``pool``: the fork servers of the run (`ServerPool`); by default, servers started for this game alone.
    """
    if pool is None:
        with ServerPool(task.sandbox, max_idle=0) as own:
            return play_isolated_game(task, stop, own)
    t_start = time.monotonic()
    lim = task.limits
    # the swapped game of a pair puts the agents in each other's seats, so on each other's start cells
    setup = new_game(GameConfig.from_dict(task.game), task.seed)
    game = setup.game(task.max_turns)
    n = len(setup.starts)
    names = list(task.names)
    digests = tuple(task.digests) + (None,) * (len(task.run_specs) - len(task.digests))
    seats = [_Seat(AgentProcess(spec, lim, pool, digest)) for spec, digest in zip(task.run_specs, digests)]
    history: list[list[int]] = []
    replay = start_replay(setup.maze, setup.cheese, setup.starts, names, names, task.specs, game.snapshot(names),
                          dict(setup.config.to_dict(), max_turns=task.max_turns), task.seed)
    for p in range(n):  # the replay shares the logs the seats append to
        pl = replay["players"][p]
        pl["actions"], pl["think_times"], pl["errors"] = seats[p].actions, seats[p].think, seats[p].errors

    def forfeit(p: int, kind: str, message: str) -> None:
        s = seats[p]
        message = bounded(message)
        if s.forfeit is None:
            s.forfeit = {"kind": kind, "message": message, "turn": game.turn}
            s.error(game.turn, kind, f"forfeit: {message}", force=True)
        s.proc.kill()

    def live() -> list[int]:
        return [p for p in range(n) if seats[p].forfeit is None]

    def timed_out(p: int) -> None:
        s = seats[p]
        s.timeouts += 1
        s.consecutive += 1
        if lim.max_consecutive_timeouts and s.consecutive >= lim.max_consecutive_timeouts:
            forfeit(p, "timeouts", f"{s.consecutive} timeouts in a row")

    try:
        # -- start the processes and load the agents ------------------------------------------------------
        deadline = time.monotonic() + lim.load_time
        posted = []
        for p, s in enumerate(seats):   # both forks asked for, then both answers: the agents start side by side
            try:
                s.proc.spawn_post(deadline)
                posted.append(p)
            except OSError as exc:
                forfeit(p, "load", f"cannot start the agent's process: {exc}")
            except AgentGone as exc:
                forfeit(p, "load", exc.message)
        for p in posted:
            try:
                seats[p].proc.spawn_answer()
            except AgentGone as exc:
                forfeit(p, "load", exc.message)
        for p in live():
            try:
                seats[p].proc.request("load", deadline, spec=task.run_specs[p], memory_mb=lim.memory_mb,
                                      cpu_seconds=lim.cpu_seconds)
            except AgentGone as exc:
                forfeit(p, "load", exc.message)
        for p in live():
            try:
                r = _reply(seats[p].proc, deadline, stop)
            except AgentGone as exc:
                forfeit(p, exc.kind if exc.kind == "memory" else "load", exc.message)
                continue
            if r is None:
                forfeit(p, "load", f"the agent was not loaded within {lim.load_time:g} s")
            elif r.get("ok") is not True:
                forfeit(p, "load", bounded(r.get("message", "cannot load the agent")))

        # -- turn 0: preprocessing --------------------------------------------------------------------------
        if len(live()) == n:
            maze_dict = replay["maze"]
            for p in live():
                try:
                    seats[p].proc.request(
                        "start", time.monotonic() + lim.preprocessing_time, width=setup.maze.width,
                        height=setup.maze.height, maze=maze_dict, cheese=list(setup.cheese), starts=list(setup.starts),
                        seat=p, names=names, team_labels=names, rng_seed=list(task.agent_seeds[p]),
                        preprocessing_time=lim.preprocessing_time, turn_time=lim.turn_time, max_turns=task.max_turns)
                    seats[p].started = True
                except AgentGone as exc:
                    forfeit(p, exc.kind, exc.message)
            for p in live():
                s = seats[p]
                try:
                    r = _reply(s.proc, s.proc.sent_at + lim.preprocessing_time, stop)
                except AgentGone as exc:
                    forfeit(p, exc.kind, exc.message)
                    continue
                if r is None:
                    timed_out(p)
                else:
                    s.prep_time = round(s.proc.think, 6)
                    if r.get("ok") is True:
                        pass
                    elif r.get("kind") == "refused":    # AgentRefusal: it cannot play this game at all
                        forfeit(p, "refused", bounded(r.get("message", "")))
                    elif r.get("ok") is False and r.get("kind") == "exception":
                        s.error(0, "exception", bounded(r.get("message", "")))
                    else:
                        forfeit(p, "protocol", f"malformed reply to start: {bounded(r, 200)}")
        if len(live()) == n:
            game.step([0] * n)
            history.append([0] * n)
            replay["states"].append(game.snapshot(names))

        # -- the turns -------------------------------------------------------------------------------------
        while not game.over and len(live()) == n:
            if stop is not None and stop.is_set():
                raise GameInterrupted("stopped")
            turn = game.turn
            actions = [0] * n
            turn_start = time.monotonic()
            waiting: list[tuple[int, bool]] = []
            for p in range(n):
                if game.in_mud(p):
                    continue
                s = seats[p]
                try:
                    s.proc.settle()
                    if s.proc.busy:
                        waiting.append((p, True))
                    else:
                        s.proc.request("act", time.monotonic() + lim.turn_time, turn=turn,
                                       moves=history[s.synced:])
                        s.synced = len(history)
                        waiting.append((p, False))
                except AgentGone as exc:
                    forfeit(p, exc.kind, exc.message)
            entries: dict[int, tuple[int, float, str]] = {}   # seat -> (action, think time, outcome)
            for p, stale in waiting:
                s = seats[p]
                if s.forfeit is not None:
                    continue
                deadline = (turn_start if stale else s.proc.sent_at) + lim.turn_time
                try:
                    r = s.proc.reply(deadline)
                except AgentGone as exc:
                    forfeit(p, exc.kind, exc.message)
                    continue
                if stale or r is None:
                    entries[p] = (0, lim.turn_time, "miss")
                    timed_out(p)
                elif r.get("ok") is True and _valid_action(r):
                    s.consecutive = 0
                    entries[p] = (r["action"], s.proc.think, "ok")
                elif r.get("ok") is False and r.get("kind") in _ERROR_KINDS:
                    s.consecutive = 0
                    s.error(turn, r["kind"], bounded(r.get("message", "")))
                    entries[p] = (0, s.proc.think, "error")
                elif r.get("ok") is False and r.get("kind") == "refused":
                    forfeit(p, "refused", bounded(r.get("message", "")))
                else:   # the runner validates every reply: a bad one is the sender's forfeit, never our exception
                    forfeit(p, "protocol", f"malformed reply at turn {turn}: {bounded(r, 200)}")
            if len(live()) < n:
                break
            for p in range(n):
                if game.in_mud(p):
                    seats[p].counts["mud"] += 1
                elif p in entries:
                    a, dt, outcome = entries[p]
                    actions[p] = a
                    seats[p].actions.append(ACTION_NAMES[a])
                    seats[p].think.append(round(dt, 6))
                    if outcome == "ok":
                        seats[p].durations.append(dt)
                    else:
                        seats[p].counts[outcome] += 1
            before = list(game.pos)
            game.step(actions)
            history.append(actions)
            for p, (a, _, outcome) in entries.items():
                if outcome == "ok":
                    key = "wall" if a and game.pos[p] == before[p] and not game.in_mud(p) else ACTION_NAMES[a]
                    seats[p].counts[key] += 1
            replay["states"].append(game.snapshot(names))

        # -- the result ----------------------------------------------------------------------------------------
        forfeits = {names[p]: seats[p].forfeit for p in range(n) if seats[p].forfeit is not None}
        scores = [float(x) for x in game.scores]
        result = game_result(game, names, names)
        if forfeits:
            forfeit_result(result, forfeits, {names[p] for p in live()})
        reason, winner = result["reason"], result["winner"]

        # -- postprocessing: told the result, errors recorded, never waited on for long --------------------
        stats = {"players": {names[p]: {"score": scores[p], "preprocessing_duration": seats[p].prep_time,
                                        "turn_durations": list(seats[p].durations), "team": names[p],
                                        "actions": dict(seats[p].counts)} for p in range(n)},
                 "turns": game.moves_played}
        end_deadline = time.monotonic() + lim.end_time
        told = []
        for p in live():
            s = seats[p]
            try:
                if s.proc.busy:
                    s.proc.reply(end_deadline)
                if s.started and not s.proc.busy and s.proc.alive:
                    info = dict(result, names=names, seat=p, stats=stats)
                    s.proc.request("end", end_deadline, turn=game.turn, moves=history[s.synced:], result=info)
                    s.synced = len(history)
                    told.append(p)
            except AgentGone:
                pass
        for p in told:
            s = seats[p]
            try:
                r = s.proc.reply(end_deadline)
            except AgentGone:
                continue
            if r is not None and r.get("ok") is not True:
                s.error(game.turn, "exception", "in end(): " + bounded(r.get("message", "")))
    finally:
        for s in seats:
            s.proc.kill_post()
        for s in seats:
            s.proc.kill_answer()

    for s in seats:
        if s.dropped:
            s.errors.append({"turn": game.turn, "kind": "truncated", "message": f"{s.dropped} more errors not kept"})
    finish_replay(replay, result, [s.prep_time for s in seats], [s.timeouts for s in seats])
    return {
        "index": task.index, "key": task.key, "seed": int(task.seed), "names": names,
        "scores": scores, "winner": winner, "reason": reason, "turns": game.moves_played,
        "timeouts": [s.timeouts for s in seats],
        "errors": [s.error_count for s in seats],
        "error_samples": [s.errors[:10] for s in seats],
        "forfeits": [s.forfeit for s in seats], "outputs": [s.proc.output() for s in seats],
        "peak_memory_mb": [s.proc.peak_mb for s in seats],
        "seconds": round(time.monotonic() - t_start, 3), "replay": replay,
    }

