"""The match runner: play games between agents with the official time limits, and record replays.

`play_game` plays one game on a `GameSetup`: every agent is told the game at turn 0 (``start``,
the preprocessing step, limited to ``preprocessing_time`` seconds), then asked for an action each
turn it is not in mud (``act``, limited to ``turn_time`` seconds), and told the result at the end
(``end``). Agents only ever get copies of the game, so they cannot change the real state.

Time limits work in one process, as pyrat-game's match mode does across processes: each agent's
calls run in its own worker thread, and the runner waits for the answer until the deadline. A late
answer counts as ``nothing`` for that turn and is thrown away; while the agent is still busy with a
late call its next turns are timeouts too (it is not asked again until it is free). Agents are asked
one after the other, each with its own full deadline, so that one agent's thinking never eats into
the other's time (Python threads share one interpreter lock). An exception, or a return value that
is not an action, counts as ``nothing`` and is recorded as an error ``{"turn", "kind", "message"}``;
the game goes on. The one exception: an agent whose ``start`` raises `pyrat_env.agent.AgentRefusal` (it
cannot play this game at all: a network built for another maze size) forfeits the game before turn 1,
with that message as its one error (kind ``refused``): reason ``forfeit``, the other player wins (a draw
when every player refused), the result's ``forfeits`` names it, and it is asked nothing more.
With ``turn_time=None`` (and ``preprocessing_time=None``) agents are called directly, with no
threads: the fast way to simulate many games. A thread stuck in an agent that
never returns cannot be killed: it is left behind as a daemon thread.

`play_series` plays N games between the same agents. With two agents and N even the games are
paired: N/2 set-ups are each played twice, the second time with the seats swapped (and each agent
keeping its own random generator), so that the luck of the maze cancels out.

Randomness flows from one seed: the series seed gives each game's seed
(``SeedSequence([seed, k]).generate_state``), the game seed gives the maze, cheese and starts, and
each agent's generator is ``default_rng([game_seed, agent_index])``.

Every game can produce a replay in the ``pyrat-replay/1`` format (see `pyrat_env.replay`).
"""

from __future__ import annotations

import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyrat_env.agent import Agent, AgentRefusal, GameContext, to_action_index
from pyrat_env.cli_options import unique_names  # the one rule for names (``greedy#1``), as on the command line
from pyrat_env.engine import ACTION_NAMES
from pyrat_env.mazes import GameConfig, GameSetup, new_game, preset
from pyrat_env.replay import (
    ACTION_STAT_KEYS,
    finish_replay,
    forfeit_result,
    game_result,
    load_game_file,
    maze_from_game,
    save_replay,
    start_replay,
)

DEFAULT_PREPROCESSING_TIME = 3.0
DEFAULT_TURN_TIME = 0.1
# the turn limit of ``pyrat play`` and of tournaments (a game between agents that never eat could go on forever);
# the functions here default to the set-up's own limit (none for the presets), as the official game
DEFAULT_MAX_TURNS = 1000
# postprocessing (``end``) is not timed by pyrat-game; here it gets this much, so a hung agent cannot hang a series
END_TIME = 10.0

Observer = Callable[[dict], None]


# -- calling agents with a deadline ----------------------------------------------------------------------
class _Call:
    """One call handed to a worker thread; ``done`` is set when it has returned or raised."""

    __slots__ = ("fn", "args", "done", "value", "error", "elapsed")

    def __init__(self, fn: Callable, args: tuple) -> None:
        self.fn, self.args = fn, args
        self.done = threading.Event()
        self.value = None
        self.error: BaseException | None = None
        self.elapsed = 0.0


class AgentRunner:
    """Calls one agent's methods, with a deadline (worker thread) or directly (``timeout=None``).

    ``call(fn, *args, timeout=...)`` returns ``(status, value, seconds)`` with status ``"ok"``,
    ``"error"`` (value: the exception), ``"timeout"`` (the call is still running) or ``"busy"`` (a
    previous late call is still running, so this one was not made).
    """

    def __init__(self, name: str = "agent") -> None:
        self.name = name
        self._queue: queue.SimpleQueue | None = None
        self._thread: threading.Thread | None = None
        self._pending: _Call | None = None

    def _worker(self) -> None:
        q = self._queue
        while True:
            call = q.get()
            if call is None:
                return
            t0 = time.perf_counter()
            try:
                call.value = call.fn(*call.args)
            except BaseException as exc:  # noqa: BLE001 - an agent's failure must never stop the match
                call.error = exc
            call.elapsed = time.perf_counter() - t0
            call.done.set()

    @property
    def busy(self) -> bool:
        return self._pending is not None and not self._pending.done.is_set()

    def call(self, fn: Callable, *args, timeout: float | None) -> tuple[str, object, float]:
        if timeout is None:
            if self.busy:
                return "busy", None, 0.0
            t0 = time.perf_counter()
            try:
                value = fn(*args)
            except Exception as exc:  # noqa: BLE001
                return "error", exc, time.perf_counter() - t0
            return "ok", value, time.perf_counter() - t0
        if self.busy:
            return "busy", None, 0.0
        if self._thread is None:
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._worker, name=f"agent-{self.name}", daemon=True)
            self._thread.start()
        call = _Call(fn, args)
        t0 = time.perf_counter()
        self._queue.put(call)
        self._pending = call
        if not call.done.wait(timeout):
            return "timeout", None, time.perf_counter() - t0
        self._pending = None
        if call.error is not None:
            return "error", call.error, call.elapsed
        return "ok", call.value, call.elapsed

    def close(self) -> None:
        """Stop the worker thread once it is free and wait for it to end (a stuck one is left behind as a daemon).

        Waiting matters: a daemon thread that is still unwinding native code (torch's thread pool, say) while
        the interpreter shuts down aborts the whole process ("terminate called without an active exception").
        """
        thread, stuck = self._thread, self.busy
        if self._queue is not None:
            self._queue.put(None)
        self._queue = self._thread = None
        self._pending = None
        if thread is not None and not stuck:
            thread.join(timeout=5.0)


def _describe(exc: BaseException) -> str:
    msg = f"{type(exc).__name__}: {exc}"
    tb = traceback.extract_tb(exc.__traceback__)
    if tb:
        last = tb[-1]
        msg += f" (at {os.path.basename(last.filename)}:{last.lineno})"
    return msg


# -- results ---------------------------------------------------------------------------------------------
@dataclass
class MatchResult:
    """The outcome of one game. Lists are indexed by seat (the order players were added)."""

    names: list[str]
    specs: list[str]
    teams: list[str]
    scores: list[float]
    team_scores: dict[str, float]
    winner: str | None             # team label, None on a draw
    reason: str                    # all_cheese_eaten, ranking_decided, max_turns, forfeit (an agent refused the game)
    turns: int                     # move turns played
    timeouts: list[int]
    errors: list[list[dict]]
    think_times: list[list[float]]
    preprocessing_times: list[float | None]
    seed: int | None
    replay: dict | None = None
    agent_order: list[int] | None = None   # agent_order[seat] = index of the agent in the series

    @property
    def draw(self) -> bool:
        return self.winner is None

    @property
    def winner_seat(self) -> int | None:
        """The winning seat when every player is its own team (None on a draw or with shared teams)."""
        if self.winner is None or self.teams.count(self.winner) != 1:
            return None
        return self.teams.index(self.winner)

    def to_dict(self) -> dict:
        return {"names": self.names, "specs": self.specs, "teams": self.teams, "scores": self.scores,
                "team_scores": self.team_scores, "winner": self.winner, "draw": self.draw, "reason": self.reason,
                "turns": self.turns, "timeouts": self.timeouts, "errors": self.errors, "seed": self.seed}


def _agent_label(agent: Agent) -> str:
    return str(getattr(agent, "name", None) or type(agent).__name__)


_ACTION_KEYS = ACTION_STAT_KEYS


# -- one game --------------------------------------------------------------------------------------------
def play_game(setup: GameSetup, agents: Sequence[Agent], names: Sequence[str] | None = None,
              specs: Sequence[str] | None = None, preprocessing_time: float | None = DEFAULT_PREPROCESSING_TIME,
              turn_time: float | None = DEFAULT_TURN_TIME, record: bool = True, observer: Observer | None = None,
              seed: int | None = None, agent_seeds: Sequence | None = None, max_turns: int | None = None,
              config_in_replay: bool = True) -> MatchResult:
    """Play one game between ``agents`` (one per player, in seat order) and return its result.

    ``names`` label the players (default: the agents' names, made unique); ``specs`` say what
    played (recorded as ``agent`` in the replay). ``preprocessing_time`` / ``turn_time`` are the
    limits in seconds (None: no limit and direct calls). ``seed`` is recorded and gives the
    agents' generators unless ``agent_seeds`` (one entry per seat, anything ``default_rng``
    accepts) is given; it defaults to the set-up's seed. ``max_turns`` overrides the set-up's
    limit. ``observer(replay)`` is called after every turn with the replay under construction
    (states so far; ``result`` is filled in at the last call). ``record=False`` skips the replay.
    ``config_in_replay=False`` writes ``config: null`` (a maze taken from a file).
    """
    n = len(setup.starts)
    if len(agents) != n:
        raise ValueError(f"this game has {n} players but {len(agents)} agents were given")
    names = unique_names([_agent_label(a) for a in agents]) if names is None else [str(x) for x in names]
    if len(set(names)) != n:
        raise ValueError(f"player names must be unique, got {names}")
    specs = list(names) if specs is None else [str(s) for s in specs]
    if preprocessing_time is not None and preprocessing_time <= 0:
        preprocessing_time = None
    if turn_time is not None and turn_time <= 0:
        turn_time = None
    seed = setup.seed if seed is None else seed
    if agent_seeds is None:
        base = 0 if seed is None else int(seed)
        agent_seeds = [[base, p] for p in range(n)]
    game = setup.game(max_turns)
    team_labels = names if setup.config.teams is None else [str(t) for t in setup.config.teams]
    building = record or observer is not None

    runners = [AgentRunner(names[p]) for p in range(n)]
    actions_log: list[list[str]] = [[] for _ in range(n)]
    think: list[list[float]] = [[] for _ in range(n)]
    timeouts = [0] * n
    errors: list[list[dict]] = [[] for _ in range(n)]
    prep_times: list[float | None] = [None] * n
    refused: dict[int, dict] = {}   # seat -> its forfeit, when its ``start`` raised `AgentRefusal`
    counts = [dict.fromkeys(_ACTION_KEYS, 0) for _ in range(n)]
    durations: list[list[float]] = [[] for _ in range(n)]

    replay: dict | None = None
    if building:
        config = setup.config.to_dict() if config_in_replay else None
        if config is not None and max_turns is not None:
            config["max_turns"] = max_turns
        replay = start_replay(setup.maze, setup.cheese, setup.starts, names, team_labels, specs,
                              game.snapshot(names), config, seed)
        for p in range(n):  # the replay shares the logs this loop appends to
            pl = replay["players"][p]
            pl["actions"], pl["think_times"], pl["errors"] = actions_log[p], think[p], errors[p]

    try:
        # turn 0: preprocessing
        for p, agent in enumerate(agents):
            ctx = GameContext(maze=setup.maze, seat=p, n_players=n, cheese=tuple(setup.cheese),
                              starts=tuple(setup.starts), rng=np.random.default_rng(agent_seeds[p]),
                              preprocessing_time=preprocessing_time, turn_time=turn_time,
                              teams=tuple(team_labels), game=game.copy(), names=tuple(names))
            status, value, dt = runners[p].call(agent.start, ctx, timeout=preprocessing_time)
            if status == "ok" or status == "error":
                prep_times[p] = dt
            if status == "timeout":
                timeouts[p] += 1
            elif status == "error" and isinstance(value, AgentRefusal):
                # the agent cannot play this game at all: one error, and the game is its forfeit
                refused[p] = {"turn": 0, "kind": "refused", "message": str(value)}
                errors[p].append(dict(refused[p]))
            elif status == "error":
                errors[p].append({"turn": 0, "kind": "exception", "message": _describe(value)})
        if not refused:
            game.step([0] * n)
            if building:
                replay["states"].append(game.snapshot(names))
                if observer is not None and not game.over:
                    observer(replay)

        while not game.over and not refused:
            turn = game.turn
            actions = [0] * n
            asked = [False] * n
            for p, agent in enumerate(agents):
                if game.in_mud(p):
                    counts[p]["mud"] += 1
                    continue
                asked[p] = True
                status, value, dt = runners[p].call(agent.act, game.copy(), p, timeout=turn_time)
                a = 0
                if status == "ok":
                    try:
                        a = to_action_index(value)
                    except ValueError:
                        errors[p].append({"turn": turn, "kind": "invalid_action",
                                          "message": f"returned {value!r} ({type(value).__name__}), not an action"})
                        counts[p]["error"] += 1
                        asked[p] = False
                    else:
                        durations[p].append(dt)
                elif status == "error":
                    # an adapter may flag a wrong return value that it found itself (error_kind)
                    kind = getattr(value, "error_kind", "exception")
                    errors[p].append({"turn": turn, "kind": kind, "message": _describe(value)})
                    counts[p]["error"] += 1
                    asked[p] = False
                else:  # timeout or still busy with a late call
                    timeouts[p] += 1
                    counts[p]["miss"] += 1
                    asked[p] = False
                    if status == "busy":
                        dt = turn_time or 0.0
                actions[p] = a
                actions_log[p].append(ACTION_NAMES[a])
                think[p].append(round(dt, 6))
            before = list(game.pos)
            game.step(actions)
            for p in range(n):
                if asked[p]:
                    a = actions[p]
                    if a and game.pos[p] == before[p] and not game.in_mud(p):
                        counts[p]["wall"] += 1
                    else:
                        counts[p][ACTION_NAMES[a]] += 1
            if building:
                replay["states"].append(game.snapshot(names))
                if observer is not None and not game.over:
                    for p in range(n):
                        replay["players"][p]["timeouts"] = timeouts[p]
                    observer(replay)

        # the result
        result_dict = game_result(game, names, team_labels)
        if refused:   # a forfeit: the team of the players left wins, if they are one team; else a draw
            forfeit_result(result_dict, {names[p]: f for p, f in refused.items()},
                           {team_labels[p] for p in range(n) if p not in refused})
        reason, winner = result_dict["reason"], result_dict["winner"]
        scores = [float(s) for s in game.scores]
        team_scores = result_dict["team_scores"]
        pyrat_stats = {"players": {names[p]: {"score": scores[p], "preprocessing_duration": prep_times[p],
                                              "turn_durations": list(durations[p]), "team": team_labels[p],
                                              "actions": dict(counts[p])} for p in range(n)},
                       "turns": game.moves_played}

        # postprocessing: not part of the game, but errors are recorded
        for p, agent in enumerate(agents):
            if p in refused:   # it never started: nothing to tell it
                continue
            info = dict(result_dict, names=list(names), seat=p, stats=pyrat_stats)
            limit = None if turn_time is None and preprocessing_time is None else END_TIME
            if runners[p].busy and limit is not None:
                runners[p]._pending.done.wait(preprocessing_time or 0.0)
            status, value, _ = runners[p].call(agent.end, game.copy(), p, info, timeout=limit)
            if status == "error":
                errors[p].append({"turn": game.turn, "kind": "exception", "message": "in end(): " + _describe(value)})
    finally:
        for r in runners:
            r.close()

    if building:
        finish_replay(replay, result_dict, prep_times, timeouts)
        if observer is not None:
            observer(replay)
    return MatchResult(names=list(names), specs=list(specs), teams=list(team_labels), scores=scores,
                       team_scores=team_scores, winner=winner, reason=reason, turns=game.moves_played,
                       timeouts=timeouts, errors=errors, think_times=think, preprocessing_times=prep_times,
                       seed=None if seed is None else int(seed), replay=replay if record else None)


# -- series ----------------------------------------------------------------------------------------------
@dataclass
class SeriesResult:
    """N games between the same agents; per-agent lists follow the order the agents were given."""

    specs: list[str]
    names: list[str]
    games: int = 0
    wins: list[int] = field(default_factory=list)
    draws: int = 0
    total_scores: list[float] = field(default_factory=list)
    timeouts: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    error_samples: list[list[dict]] = field(default_factory=list)
    paired: bool = False
    seed: int | None = None
    results: list[MatchResult] = field(default_factory=list)
    replays: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def mean_scores(self) -> list[float]:
        return [s / self.games if self.games else 0.0 for s in self.total_scores]

    @property
    def points(self) -> list[float]:
        """Wins plus half the draws, per agent, as a share of the games (the score of a match)."""
        return [(w + 0.5 * self.draws) / self.games if self.games else 0.0 for w in self.wins]

    def to_dict(self) -> dict:
        return {"games": self.games, "agents": self.specs, "names": self.names, "wins": self.wins,
                "draws": self.draws, "mean_scores": [round(s, 4) for s in self.mean_scores],
                "points": [round(p, 4) for p in self.points], "paired": self.paired, "seed": self.seed,
                "timeouts": self.timeouts, "errors": self.errors, "error_samples": self.error_samples,
                "reasons": self.reasons, "replays": self.replays, "seconds": round(self.seconds, 3)}

    def summary(self) -> str:
        lines = []
        k = self.games // 2
        pairing = (f"{k} maze{'s' * (k != 1)} played twice with the seats swapped (paired games)" if self.paired
                   else "not paired" + (" (odd number of games)" if self.games % 2 and len(self.specs) == 2 else ""))
        lines.append(f"{self.games} game{'s' * (self.games != 1)}, {pairing}; seed {self.seed}; {self.seconds:.1f} s")
        width = max(len(n) for n in self.names)
        for i, name in enumerate(self.names):
            lines.append(f"  {name:<{width}}  wins {self.wins[i]:>4}  mean score {self.mean_scores[i]:6.2f}  "
                         f"points {100 * self.points[i]:5.1f}%  timeouts {self.timeouts[i]}  errors {self.errors[i]}")
        endings = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items()))
        lines.append(f"  draws {self.draws}; endings: {endings}")
        for i, name in enumerate(self.names):
            for e in self.error_samples[i][:3]:
                lines.append(f"  {name} error at turn {e['turn']} ({e['kind']}): {e['message']}")
        if self.replays:
            lines.append(f"  replays written to {os.path.dirname(self.replays[0]) or '.'}")
        return "\n".join(lines)


def game_seed(series_seed: int, k: int) -> int:
    """The seed of the k-th set-up of a series (a 63-bit int, stable across processes)."""
    state = np.random.SeedSequence([int(series_seed), int(k)]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


def setups_from_file(path: str | os.PathLike, index: int | None = None,
                     max_turns: int | None = None) -> list[GameSetup]:
    """Game set-ups (maze, cheese, start cells) taken from a trace or replay file (one per game in it)."""
    games = load_game_file(path)
    if index is not None:
        if not -len(games) <= index < len(games):
            raise ValueError(f"{path}: holds {len(games)} game(s); there is no game {index}")
        games = [games[index]]
    out = []
    for g in games:
        maze = maze_from_game(g)
        starts = tuple(int(p["start"]) for p in g["players"])
        cheese = tuple(int(c) for c in g["cheese"])
        config = GameConfig(width=maze.width, height=maze.height, nb_cheese=max(len(cheese), 1), starts=starts,
                            max_turns=max_turns)
        out.append(GameSetup(config, None, maze, cheese, starts, extra={"source": str(path)}))
    return out


AgentFactory = Callable[[], Agent]


def play_series(agents: Sequence[str | Agent | AgentFactory], games: int = 2, seed: int | None = 0,
                config: GameConfig | str = "official", setups: Sequence[GameSetup] | None = None,
                paired: bool | None = None, preprocessing_time: float | None = DEFAULT_PREPROCESSING_TIME,
                turn_time: float | None = DEFAULT_TURN_TIME, max_turns: int | None = None,
                replay_dir: str | os.PathLike | None = None, keep_results: bool = True, record: bool = False,
                observer: Observer | None = None,
                progress: Callable[[int, MatchResult], None] | None = None,
                names: Sequence[str] | None = None) -> SeriesResult:
    """Play ``games`` games between ``agents`` (specs, agents or zero-argument factories).

    Set-ups come from ``config`` (a `GameConfig` or preset name) and the series ``seed``, or from
    ``setups`` (used in turn, e.g. `setups_from_file`). With two agents, ``paired`` (default: when
    ``games`` is even) plays each set-up twice with the seats swapped. Agents are made afresh for
    every game (a spec or factory; an `Agent` instance is reused). Replays are written to
    ``replay_dir`` as ``game_0000.json.gz``... when it is given; with ``record`` (and no
    ``replay_dir``) each result keeps its replay in memory instead. ``names`` label the agents (default:
    their own labels, made unique).
    """
    from .spec import agent_factory

    if games < 1:
        raise ValueError(f"games must be >= 1, got {games}")
    factories, labels, spec_strings = [], [], []
    for a in agents:
        fac, label, spec_str = agent_factory(a)
        factories.append(fac)
        labels.append(label)
        spec_strings.append(spec_str)
    if names is None:
        names = unique_names(labels)
    else:
        names = [str(n) for n in names]
        if len(names) != len(factories) or len(set(names)) != len(names):
            raise ValueError(f"give one unique name per agent, got {names} for {len(factories)} agents")
    n_agents = len(factories)
    if paired is None:
        paired = n_agents == 2 and games % 2 == 0
    if paired and (n_agents != 2 or games % 2):
        raise ValueError("paired games need two agents and an even number of games")
    if isinstance(config, str):
        config = preset(config)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint32)[0])
    from_file = setups is not None
    if from_file and not setups:
        raise ValueError("no game set-up given")
    res = SeriesResult(specs=spec_strings, names=names, wins=[0] * n_agents, total_scores=[0.0] * n_agents,
                       timeouts=[0] * n_agents, errors=[0] * n_agents, error_samples=[[] for _ in range(n_agents)],
                       paired=paired, seed=seed)
    t0 = time.perf_counter()
    out_dir = Path(replay_dir) if replay_dir is not None else None
    for i in range(games):
        k = i // 2 if paired else i
        swap = paired and i % 2 == 1
        gseed = game_seed(seed, k)
        if from_file:
            setup = setups[k % len(setups)]
        else:
            setup = new_game(config, gseed)
        if len(setup.starts) != n_agents:
            raise ValueError(f"the game has {len(setup.starts)} players but {n_agents} agents were given")
        order = list(range(n_agents))
        if swap:   # the agents exchange seats, and so start cells: each plays the maze from both sides
            order = [1, 0]
        seat_agents = [factories[j]() for j in order]
        result = play_game(setup, seat_agents, names=[names[j] for j in order],
                           specs=[spec_strings[j] for j in order], preprocessing_time=preprocessing_time,
                           turn_time=turn_time, record=record or out_dir is not None or observer is not None,
                           observer=observer, seed=gseed, agent_seeds=[[gseed, j] for j in order],
                           max_turns=max_turns, config_in_replay=not from_file or max_turns is not None)
        result.agent_order = order
        res.games += 1
        res.reasons[result.reason] = res.reasons.get(result.reason, 0) + 1
        seat = result.winner_seat
        if result.winner is None:
            res.draws += 1
        elif seat is not None:
            res.wins[order[seat]] += 1
        for s, j in enumerate(order):
            res.total_scores[j] += result.scores[s]
            res.timeouts[j] += result.timeouts[s]
            res.errors[j] += len(result.errors[s])
            room = 10 - len(res.error_samples[j])
            if room > 0:
                res.error_samples[j].extend(dict(e, game=i) for e in result.errors[s][:room])
        if out_dir is not None and result.replay is not None:
            path = save_replay(result.replay, out_dir / f"game_{i:04d}.json.gz")
            res.replays.append(str(path))
        if out_dir is not None or not keep_results or not record:
            result.replay = None  # written to disk (or not wanted): do not keep every replay in memory
        res.results.append(result)
        if progress is not None:
            progress(i, result)
    res.seconds = time.perf_counter() - t0
    if not keep_results:
        res.results = []
    return res
