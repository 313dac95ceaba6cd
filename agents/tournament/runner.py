"""Run a tournament: schedule, play (threads on this machine, or a Ray cluster), record, resume, rate.

`run_tournament` plays every scheduled game (`pyrat_rl.agents.tournament.schedule`) that the database does
not hold yet, ``workers`` at a time, each with its agents in their own processes
(`pyrat_rl.agents.tournament.game`). The runner's own thread writes each finished game: first its replay
(atomically), then its row (one transaction). Stopping it at any moment, even with ``kill -9``,
loses at most the games in progress; running the same command again plays exactly those (their
seeds come from the tournament seed) and then reports the complete standings. `play_jobs` is that
loop on its own (games of one or several tournaments): the strength ladder
(`pyrat_rl.agents.tournament.ladder`) plays its sets of games with it.

Backends: ``local`` runs games in threads of this process (the agents' processes do the work; a
thread only waits on pipes and steps the engine). ``ray`` sends each game to a Ray cluster as a
task (``pip install "pyrat-rl[ray]"``; ``ray_address`` as for ``ray.init``, or a local instance):
the package, and the agents' files at the same paths, must be on every node. Both give the same
games for the same seed.

Fair timing: each game runs two agent processes that think at the same time, so more than
``cores / 2`` workers make agents compete for the CPU and may cost them turns.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from pyrat_env.replay import save_replay

from .config import AgentEntry, TournamentConfig, file_digest
from .game import GameInterrupted, GameTask, play_isolated_game
from .process import AgentGone, AgentProcess, ServerPool, bounded
from .sandbox import DEFAULT_SANDBOX, cgroup_support, check_sandbox
from .schedule import ScheduledGame, make_schedule
from .standings import pair_matrix, standings
from .store import RecordExists, TournamentStore, sha256_file

BACKENDS = ("local", "ray")


@dataclass
class TournamentOutcome:
    """What a run leaves: the counts, the standings (best first) and the per-pair matrix."""

    tournament_id: str
    scheduled: int
    games: int                      # games recorded for this tournament, all runs included
    played: int                     # games played by this run
    failed: list[str] = field(default_factory=list)   # games that could not be played (runner errors)
    standings: list[dict] = field(default_factory=list)
    matrix: dict | None = None
    seconds: float = 0.0
    db: str = ""
    replay_dir: str = ""
    warnings: list[str] = field(default_factory=list)
    load_seconds: float | None = None               # the load check of every agent, all together
    load_times: dict[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.games == self.scheduled

    def to_dict(self) -> dict:
        return {"tournament": self.tournament_id, "games": self.games, "scheduled": self.scheduled,
                "played": self.played, "complete": self.complete, "failed": self.failed,
                "standings": self.standings, "matrix": self.matrix, "seconds": round(self.seconds, 2),
                "db": self.db, "replay_dir": self.replay_dir, "warnings": self.warnings,
                "load_seconds": self.load_seconds, "load_times": self.load_times}


def default_replay_dir(db: str | os.PathLike, tournament_id: str) -> Path:
    db = Path(db)
    return db.parent / f"{db.stem}-replays" / tournament_id


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "agent"


@dataclass(frozen=True)
class Job:
    """A game to play and where it goes: the tournament (id, and its config: a `TournamentConfig`, or any object
    with its ``agents``, ``game``, ``max_turns`` and ``limits``, as a ladder's sets of games), the game, the replays."""

    tid: str
    config: TournamentConfig
    game: ScheduledGame
    replay_dir: Path

    @property
    def index(self) -> int:
        return self.game.index


def make_task(config: TournamentConfig, game: ScheduledGame, sandbox: str = DEFAULT_SANDBOX) -> GameTask:
    """The `GameTask` of a scheduled game (agents in seat order)."""
    seats = game.seats
    agents = [config.agents[i] for i in seats]
    return GameTask(index=game.index, key=game.key, seed=game.seed, swap=game.swap, game=config.game.to_dict(),
                    max_turns=config.max_turns, run_specs=tuple(a.run_spec for a in agents),
                    specs=tuple(a.spec for a in agents), names=tuple(a.name for a in agents),
                    agent_seeds=tuple(tuple(game.agent_seed(i)) for i in seats), limits=config.limits,
                    sandbox=sandbox, digests=tuple(a.digest for a in agents))


def check_agents(entries: tuple[AgentEntry, ...], config: TournamentConfig, pool: ServerPool | None = None,
                 workers: int | None = None, times: dict[str, float] | None = None) -> dict[str, str]:
    """Load every agent once, each in its own process, ``workers`` at a time; ``{name: problem}`` for those that fail.

    Each load (starting the agent's server in its sandbox, forking, importing the agent) is timed against
    ``load_time``; ``times`` receives the seconds per agent. ``pool``: the run's servers (they stay warm).
    """
    from concurrent.futures import ThreadPoolExecutor

    from pyrat_env.runtime import cpu_count

    lim = config.limits
    own = pool is None
    pool = pool if pool is not None else ServerPool(DEFAULT_SANDBOX)
    problems: dict[str, str] = {}
    times = times if times is not None else {}

    def load(e: AgentEntry) -> None:
        t0 = time.monotonic()
        deadline = t0 + lim.load_time
        p = AgentProcess(e.run_spec, lim, pool, e.digest)
        try:
            p.spawn(deadline)
            p.request("load", deadline, spec=e.run_spec, memory_mb=lim.memory_mb, cpu_seconds=lim.cpu_seconds)
            r = p.reply(deadline)
            if r is None:
                problems[e.name] = f"not loaded within {lim.load_time:g} s"
            elif r.get("ok") is not True:
                problems[e.name] = bounded(r.get("message", "cannot load"))
        except (OSError, AgentGone) as exc:
            problems[e.name] = bounded(getattr(exc, "message", str(exc)))
        finally:
            p.kill()
            times[e.name] = round(time.monotonic() - t0, 3)

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers or cpu_count())) as ex:
            list(ex.map(load, entries))
    finally:
        if own:
            pool.close()
    return problems


def stage_files(config: TournamentConfig, files_dir: str | os.PathLike) -> TournamentConfig:
    """The config with every file agent played from its own read-only copy in ``files_dir/NAME-DIGEST/``.

    Agents then load the copy (their sandbox sees that folder only), so editing or deleting a submission
    during the tournament changes nothing; the copy's digest is checked again before each game.
    """
    import dataclasses
    import shutil

    from pyrat_env.cli_options import split_target

    files_dir = Path(files_dir).resolve()
    entries = []
    for e in config.agents:
        target, cls = split_target(e.run_spec)
        if e.digest is None or not Path(target).is_file():
            entries.append(e)
            continue
        folder = files_dir / f"{_safe(e.name)}-{e.digest}"
        copy = folder / Path(target).name
        if file_digest(copy) != e.digest:
            if folder.exists():
                for p in (folder, *folder.iterdir()):
                    p.chmod(0o700)
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            shutil.copyfile(target, copy)
            if file_digest(copy) != e.digest:
                raise ValueError(f"agent {e.name!r}: {target} changed while it was being copied; run again")
            copy.chmod(0o444)
            folder.chmod(0o555)
        entries.append(dataclasses.replace(e, run_spec=str(copy) + (f":{cls}" if cls else "")))
    return dataclasses.replace(config, agents=tuple(entries))


def stale_games(store: TournamentStore, tid: str, config: TournamentConfig,
                log: Callable[[str], None] | None = None) -> int:
    """Supersede the recorded games of agents whose file changed since (a late fix replays that agent's games only)."""
    digests = [a.digest for a in config.agents]
    stale = [key for key, (s0, s1, d0, d1) in store.game_digests(tid).items()
             if (d0 is not None and d0 != digests[s0]) or (d1 is not None and d1 != digests[s1])]
    if stale:
        changed = sorted({config.agents[i].name for key, (s0, s1, d0, d1) in store.game_digests(tid).items()
                          for i, d in ((s0, d0), (s1, d1)) if d is not None and d != digests[i]})
        if log is not None:
            log(f"note: {', '.join(changed)} changed since their games were played: {len(stale)} game(s) are "
                "played again (the old results are kept in the table superseded_games)")
        store.supersede(tid, stale, [a.to_dict() for a in config.agents])
    return len(stale)


# -- backends: each yields (job, record or exception) as games finish --------------------------------------------
def _local_games(tasks: list[tuple[Job, GameTask]], workers: int, stop: threading.Event,
                 pool: ServerPool) -> Iterator[tuple[Job, dict | BaseException]]:
    todo = list(tasks)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="game") as ex:
        running: dict = {}

        def submit_next() -> None:
            if todo:
                i = _next_local(todo, pool.idle_specs(), {s for t in running.values() for s in t[1]})
                game, task = todo.pop(i)
                running[ex.submit(play_isolated_game, task, stop, pool)] = (game, task.run_specs)

        for _ in range(max(1, workers)):
            submit_next()
        completed = False
        try:
            while running:
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in sorted(finished, key=lambda f: running[f][0].index):
                    game, _ = running.pop(fut)
                    exc = fut.exception()
                    if not stop.is_set():
                        submit_next()
                    yield game, (exc if exc is not None else fut.result())
            completed = True
        finally:
            if not completed:
                stop.set()   # an early exit (Ctrl-C, an error in the caller): the games in progress stop and clean up


LOCALITY_WINDOW = 256


def _next_local(todo: list[tuple[Job, GameTask]], idle: set[str], busy: set[str]) -> int:
    """Which of the next games to start: the first whose agents all have a warm server, else one of them.

    Starting an agent's server costs a Python start and its imports; a game whose agents are warm costs a fork.
    Games are looked for among the next `LOCALITY_WINDOW` only, so the order stays close to the schedule's
    (results do not depend on it: every game's maze and seeds come from its key). An agent already playing
    is avoided, so that a slow agent does not hold several workers at once.
    """
    best, best_score = 0, -1
    for i, (_, task) in enumerate(todo[:LOCALITY_WINDOW]):
        score = sum(2 if s in idle else 0 for s in task.run_specs) - sum(3 for s in task.run_specs if s in busy)
        if score > best_score:
            best, best_score = i, score
            if score == 2 * len(task.run_specs):
                break
    return best


def _ray_play(task: GameTask) -> dict:
    # a Ray task starts the agents' servers (in their sandboxes) for its game and ends them with it
    return play_isolated_game(task)


def _ray_games(tasks: list[tuple[Job, GameTask]], workers: int, address: str | None,
               stop: threading.Event) -> Iterator[tuple[Job, dict | BaseException]]:
    try:
        import ray
    except ImportError:
        raise RuntimeError("the ray backend needs Ray: pip install 'pyrat-rl[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_play)
    todo = iter(tasks)
    running: dict = {}

    def submit_next() -> None:
        for game, task in todo:
            running[remote.remote(task)] = game
            return

    limit = max(1, workers)
    for _ in range(limit):
        submit_next()
    try:
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            ref = ready[0]
            game = running.pop(ref)
            try:
                result: dict | BaseException = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a lost node or a runner bug: report the game, go on
                result = exc
            if not stop.is_set():
                submit_next()
            yield game, result
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


# -- the tournament --------------------------------------------------------------------------------------------
def default_files_dir(db: str | os.PathLike, tournament_id: str) -> Path:
    db = Path(db)
    return db.parent / f"{db.stem}-files" / tournament_id


def sandbox_warnings(sandbox: str) -> list[str]:
    """What the run should say loudly about its isolation (none asked for; no cgroups here)."""
    out = []
    if sandbox == "none":
        out.append("warning: --sandbox none: agents run as your user without a sandbox; they can read your files, "
                   "use the network and disturb the runner. Use it only for agents you trust.")
    problem = cgroup_support()
    if problem:
        out.append(f"note: {problem}")
    return out


def prepare_play(config: TournamentConfig, outcome: TournamentOutcome, pool: ServerPool, db: Path, tid: str,
                 files_dir: str | os.PathLike | None, sandbox: str, check: bool,
                 log: Callable[[str], None]) -> TournamentConfig:
    """Before a run plays games: the files staged (the config to play), the sandbox warnings, the timed load check."""
    played = stage_files(config, files_dir if files_dir is not None else default_files_dir(db, tid))
    for msg in sandbox_warnings(sandbox):
        outcome.warnings.append(msg)
        log(msg)
    if check:
        t_load = time.monotonic()
        problems = check_agents(played.agents, played, pool, workers=None, times=outcome.load_times)
        outcome.load_seconds = round(time.monotonic() - t_load, 3)
        for name, problem in problems.items():
            msg = f"warning: agent {name!r} cannot be loaded; it will forfeit its games: {problem}"
            outcome.warnings.append(msg)
            log(msg)
    return played


def run_tournament(config: TournamentConfig, db: str | os.PathLike, replay_dir: str | os.PathLike | None = None,
                   workers: int = 1, backend: str = "local", ray_address: str | None = None, progress: bool = True,
                   bootstrap: int = 1000, check: bool = True, stop: threading.Event | None = None,
                   log: Callable[[str], None] | None = None, sandbox: str = DEFAULT_SANDBOX,
                   files_dir: str | os.PathLike | None = None) -> TournamentOutcome:
    """Play what is left of the tournament, record it, and return the standings.

    ``sandbox``: ``bwrap`` (default) or ``none`` (`pyrat_rl.agents.tournament.sandbox`). File agents are played
    from read-only copies in ``files_dir`` (default: DB-files/ID/ beside the database).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    check_sandbox(sandbox)
    log = log or (lambda msg: print(msg, file=sys.stderr))
    stop = stop or threading.Event()
    t0 = time.monotonic()
    tid = config.tournament_id
    schedule = make_schedule(len(config.agents), config.games_per_pair, config.seed)
    db = Path(db)
    out_dir = Path(replay_dir) if replay_dir is not None else default_replay_dir(db, tid)
    outcome = TournamentOutcome(tournament_id=tid, scheduled=len(schedule), games=0, played=0, db=str(db),
                                replay_dir=str(out_dir))
    with TournamentStore(db) as store, ServerPool(sandbox) as pool:
        store.ensure_tournament(tid, config.to_dict(), len(schedule))
        stale_games(store, tid, config, log)
        done = store.done_keys(tid)
        todo = [g for g in schedule if g.key not in done]
        played_config = prepare_play(config, outcome, pool, db, tid, files_dir, sandbox, check, log) \
            if todo else config
        bar = None
        if progress and todo:
            from tqdm import tqdm

            bar = tqdm(total=len(schedule), initial=len(schedule) - len(todo), unit="game", file=sys.stderr,
                       desc=f"tournament {tid[:8]}", dynamic_ncols=True, smoothing=0.1)
        try:
            played, failed = play_jobs([Job(tid, played_config, g, out_dir) for g in todo], store, db,
                                       workers=workers, backend=backend, ray_address=ray_address, stop=stop, log=log,
                                       bar=bar, sandbox=sandbox, pool=pool)
        finally:
            if bar is not None:
                bar.close()
        outcome.played = played
        outcome.failed = [job.game.key for job in failed]
        agents = [{"name": a.name, "spec": a.spec} for a in config.agents]
        rows = store.games(tid)
        outcome.games = len(rows)
        outcome.standings = standings(agents, rows, bootstrap=bootstrap, seed=config.seed)
        outcome.matrix = pair_matrix(agents, rows)
    outcome.seconds = time.monotonic() - t0
    return outcome


def play_jobs(jobs: list[Job], store: TournamentStore, db: Path, workers: int = 1, backend: str = "local",
              ray_address: str | None = None, stop: threading.Event | None = None,
              log: Callable[[str], None] | None = None, bar=None, sandbox: str = DEFAULT_SANDBOX,
              pool: ServerPool | None = None) -> tuple[int, list[Job]]:
    """Play ``jobs``, ``workers`` at a time, and record each game as it ends: its replay, then its row.

    Returns the number of games recorded and the jobs that could not be played (runner errors, or a row
    that exists already). ``bar``: a tqdm bar moved on by one per game recorded. ``pool``: the fork servers
    to use (local backend; by default a pool for these jobs, closed at the end).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    check_sandbox(sandbox)
    log = log or (lambda msg: print(msg, file=sys.stderr))
    stop = stop or threading.Event()
    tasks = [(job, make_task(job.config, job.game, sandbox)) for job in jobs]
    own_pool = None
    if backend == "local" and pool is None:
        own_pool = pool = ServerPool(sandbox)
    games = _local_games(tasks, workers, stop, pool) if backend == "local" else \
        _ray_games(tasks, workers, ray_address, stop)
    played, failed = 0, []
    try:
        for job, result in games:
            game = job.game
            if isinstance(result, GameInterrupted):
                continue
            if isinstance(result, BaseException):
                failed.append(job)
                log(f"error: game {game.key} could not be played: {type(result).__name__}: {result}")
                continue
            seats = game.seats
            names = [job.config.agents[i].name for i in seats]
            path = job.replay_dir / f"game_{game.index:04d}_{_safe(names[0])}_vs_{_safe(names[1])}.json.gz"
            save_replay(result["replay"], path)          # the replay first, then the row
            try:
                store.record_game(job.tid, game, seats, result, _relative(path, db.parent), sha256_file(path),
                                  tuple(job.config.agents[i].digest for i in seats))
            except RecordExists as exc:
                failed.append(job)
                log(f"error: {exc}")
                continue
            played += 1
            if bar is not None:
                w = result["winner"]
                bar.set_postfix_str(f"{names[0]} v {names[1]}: {'draw' if w is None else w + ' won'}", refresh=False)
                bar.update(1)
    finally:
        close = getattr(games, "close", None)
        if close is not None:
            close()
        if own_pool is not None:
            own_pool.close()
    return played, failed


def _relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # another drive
        return str(path.resolve())


def tournament_standings(db: str | os.PathLike, tournament: str | None = None,
                         bootstrap: int = 1000) -> tuple[dict, list[dict], dict]:
    """``(tournament info, standings, matrix)`` of a recorded tournament (the latest one by default)."""
    with TournamentStore(db) as store:
        tid = store.resolve_id(tournament)
        info = store.tournament(tid)
        agents = [{"name": a["name"], "spec": a["spec"]} for a in info["agents"]]
        rows = store.games(tid)
    return info, standings(agents, rows, bootstrap=bootstrap, seed=int(info["seed"])), pair_matrix(agents, rows)
