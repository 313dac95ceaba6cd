"""Swiss-system tournaments: a few rounds in which agents meet opponents with about the same score.

A round robin of N agents plays N (N - 1) games; a Swiss tournament plays ``R`` rounds of N / 2 pairings
(2 games each: one maze, seats swapped), about ``R N`` games, and still ranks the field well: after the
first rounds the strong agents play each other and the weak ones each other, which are the games that
tell neighbours in the ranking apart. The default ``R`` is ``ceil(log2(N)) + 2`` (at most N - 1).

Pairing a round (`swiss_pairing`, a pure function):

* **Order.** Agents are ranked by points (a win 1, a draw 0.5, a bye `BYE_POINTS`), then by a
  Bradley-Terry rating fitted on the games so far (`pyrat_rl.agents.tournament.ratings`: it accounts for the
  strength of the opponents met), then by a random order drawn from a seeded generator (all that
  decides round 1).
* **Bye.** With an odd field the bye goes to the lowest-ranked agent among those with the fewest
  byes (no agent gets a second bye while another has none; with ``R < N`` that never has to happen).
  It is worth `BYE_POINTS` (1: the two games of a round drawn) and no game.
* **Pairs.** Top-down: the best-ranked agent not yet paired meets the next best-ranked one it has not
  met, so that agents meet within their score group, and a group with an odd number floats its last
  agent down to the next group. A choice is kept only if the agents still unpaired can all be paired
  without a rematch (an exact test, the rank of a random Tutte matrix modulo a prime: no dead end, no
  backtracking). Only when no pairing of the whole round avoids rematches (many rounds in a small
  field) are rematches allowed, as few meetings per pair as possible, fresh opponents first.

Games: pairing ``(a, b)`` of round ``r`` (``a < b``) plays two games on one maze from ``game_seed(seed, r)``,
the maze of every pairing of the round, keys ``r{r}-{a}-{b}-f`` and ``r{r}-{a}-{b}-s`` (seats swapped), as
`ScheduledGame` objects: the runner (`pyrat_rl.agents.tournament.runner.play_jobs`) and the store take them
as they take a round robin's. The games of a round run in parallel; round ``r + 1`` is paired only once
round ``r`` is fully recorded.

Storage and resuming: the pairings of each round go into the same SQLite database, table
``swiss_pairings`` (``b = -1`` for the bye), in one transaction before the round's first game. A run
re-uses the recorded pairings of the rounds already paired (never re-pairs them) and plays only the
missing games. Byes are not games: they stay out of the ``games`` table and `swiss_standings` adds their
points.

The tournament id is ``config.tournament_id + "-swiss"``: the digest of the agents and settings, then
the format. The number of rounds is not in it, as the pairing of a round does not depend on how many
rounds follow: running again with a larger ``--rounds`` plays only the new rounds, a smaller one reports
on the first rounds. The ``tournaments`` row's settings say ``"format": "swiss"`` and the rounds.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from ..match import game_seed
from .config import TournamentConfig
from .ratings import bradley_terry, pair_tables
from .schedule import ScheduledGame
from .standings import pair_matrix, standings
from .store import TournamentStore

FORMATS = ("roundrobin", "swiss")
BYE = -1                  # ``b`` of a bye in ``swiss_pairings``
BYE_POINTS = 1.0          # a bye is worth the two games of a round drawn
GAMES_PER_PAIRING = 2     # one maze, seats swapped
SCHEMA = ("CREATE TABLE IF NOT EXISTS swiss_pairings (tournament TEXT, round INTEGER, a INTEGER, b INTEGER, "
          "PRIMARY KEY (tournament, round, a))")
_PRIME = 2_147_483_647    # 2^31 - 1: products of two residues fit in int64
_PAIRING_STREAM = 0x5715  # the pairing generator of round r: default_rng([seed, r, _PAIRING_STREAM])


# -- sizes and settings ----------------------------------------------------------------------------------------
def default_rounds(n: int) -> int:
    """``ceil(log2(n)) + 2`` rounds, at most ``n - 1`` (a round robin's number of rounds)."""
    if n < 2:
        raise ValueError(f"a tournament needs at least two agents, got {n}")
    return max(1, min(n - 1, math.ceil(math.log2(n)) + 2))


def check_rounds(rounds: int | None, n: int) -> int:
    """The number of rounds to play (``None``: `default_rounds`); ValueError unless ``1 <= rounds < n``."""
    if rounds is None:
        return default_rounds(n)
    if isinstance(rounds, bool) or int(rounds) != rounds or not 1 <= rounds < n:
        raise ValueError(f"rounds must be between 1 and {n - 1} (the number of agents minus one) for {n} agents, "
                         f"got {rounds}")
    return int(rounds)


def swiss_schedule_size(n: int, rounds: int) -> int:
    """Games of a Swiss tournament: ``rounds`` rounds of ``n // 2`` pairings, 2 games each."""
    if n < 2 or rounds < 0:
        raise ValueError(f"need n >= 2 agents and rounds >= 0, got n={n}, rounds={rounds}")
    return rounds * (n // 2) * GAMES_PER_PAIRING


def swiss_id(config: TournamentConfig) -> str:
    """The tournament id: the config's digest (agents, files, settings) and ``-swiss`` (not the rounds)."""
    return f"{config.tournament_id}-swiss"


def swiss_settings(config: TournamentConfig, rounds: int) -> dict:
    """What goes into the ``tournaments`` row: the config's settings, ``format`` and ``rounds``."""
    return dict(config.to_dict(), format="swiss", rounds=int(rounds))


# -- pairing -----------------------------------------------------------------------------------------------------
def _full_rank_mod_p(m: np.ndarray) -> bool:
    """Whether a square matrix of residues modulo `_PRIME` is invertible (Gaussian elimination)."""
    m = m.copy()
    k = len(m)
    for c in range(k):
        nz = np.flatnonzero(m[c:, c])
        if not len(nz):
            return False
        r = c + int(nz[0])
        if r != c:
            m[[c, r], c:] = m[[r, c], c:]
        inv = pow(int(m[c, c]), _PRIME - 2, _PRIME)
        m[c, c:] = (m[c, c:] * inv) % _PRIME
        factors = m[c + 1:, c].copy()
        if factors.any():
            m[c + 1:, c:] = (m[c + 1:, c:] - factors[:, None] * m[c, c:]) % _PRIME
    return True


class _Matcher:
    """Tests whether a set of agents can all be paired along allowed pairs (perfect matching).

    Exact when it says yes; a no is wrong with probability below ``n / 2^31`` (Lovasz: the Tutte
    matrix with random entries is invertible modulo a prime iff, almost surely, a perfect matching
    exists). The entries come from the seeded generator: the answers are deterministic.
    """

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        x = rng.integers(1, _PRIME, size=(n, n), dtype=np.int64)
        upper = np.triu(x, 1)
        self.tutte = (upper - upper.T) % _PRIME   # skew-symmetric

    def perfect(self, nodes: Sequence[int], allowed: np.ndarray) -> bool:
        k = len(nodes)
        if k == 0:
            return True
        if k % 2:
            return False
        idx = np.asarray(nodes, dtype=np.int64)
        sub = allowed[np.ix_(idx, idx)]
        degrees = sub.sum(axis=1)
        if degrees.min() == 0:
            return False
        if 2 * degrees.min() >= k:   # Dirac: a Hamiltonian cycle, so a perfect matching
            return True
        return _full_rank_mod_p(np.where(sub, self.tutte[np.ix_(idx, idx)], 0))


def _pair_top_down(order: list[int], counts: np.ndarray, matcher: _Matcher) -> list[tuple[int, int]] | None:
    """Pair ``order`` (best first) top-down with as few meetings per pair as possible; None if it cannot."""
    top = int(counts[np.ix_(order, order)].max()) if order else 0
    for level in range(top + 1):
        allowed = counts <= level
        np.fill_diagonal(allowed, False)
        if not matcher.perfect(order, allowed):
            continue
        pairs: list[tuple[int, int]] = []
        rest = list(order)
        while rest:
            i, others = rest[0], rest[1:]
            # fresh opponents first (when rematches are allowed at all), then the best ranked
            candidates = sorted(range(len(others)), key=lambda p: (counts[i, others[p]], p))
            for p in candidates:
                j = others[p]
                if not allowed[i, j]:
                    continue
                left = others[:p] + others[p + 1:]
                if matcher.perfect(left, allowed):
                    pairs.append((i, j))
                    rest = left
                    break
            else:
                break   # the (randomised) test said no to every choice: try the next level
        if not rest:
            return pairs
    return None


def swiss_pairing(n: int, results: Iterable[tuple[int, int, float]], played: Iterable[tuple[int, int]],
                  round_index: int, rng: np.random.Generator,
                  byes: Iterable[int] = ()) -> tuple[list[tuple[int, int]], int | None]:
    """The pairings of one round and its bye: ``([(a, b), ...], bye agent or None)``, best-ranked pairs first.

    ``results``: the games so far, ``(agent_a, agent_b, points of a)`` (1 win, 0.5 draw, 0 loss).
    ``played``: the pairings so far, one ``(a, b)`` per meeting (a pair listed twice has met twice; a set
    counts each pair once). ``byes``: the agents that had a bye, one entry per bye. ``rng``: a seeded
    generator (the random order of round 1, and the matching test). ``round_index`` (from 0) is only
    checked. Pairs come as ``(a, b)`` with ``a < b``. The same inputs give the same pairing.
    """
    if n < 2:
        raise ValueError(f"a Swiss round needs at least two agents, got {n}")
    if round_index < 0:
        raise ValueError(f"round_index must be >= 0, got {round_index}")
    results = [(int(a), int(b), float(s)) for a, b, s in results]
    for a, b, s in results:
        if not (0 <= a < n and 0 <= b < n and a != b and 0.0 <= s <= 1.0):
            raise ValueError(f"bad result ({a}, {b}, {s}) for {n} agents: expected two agents and points in [0, 1]")
    counts = np.zeros((n, n), dtype=np.int64)
    for a, b in played:
        a, b = int(a), int(b)
        if not (0 <= a < n and 0 <= b < n and a != b):
            raise ValueError(f"bad pairing ({a}, {b}) for {n} agents")
        counts[a, b] += 1
        counts[b, a] += 1
    bye_count = Counter(int(x) for x in byes)
    if any(not 0 <= x < n for x in bye_count):
        raise ValueError(f"bad bye agent in {sorted(bye_count)} for {n} agents")

    score = np.zeros(n)
    for a, b, s in results:
        score[a] += s
        score[b] += 1.0 - s
    for x, c in bye_count.items():
        score[x] += BYE_POINTS * c
    rating = np.round(bradley_terry(*pair_tables(n, results)), 6) if results else np.zeros(n)
    shuffle = rng.permutation(n)
    matcher = _Matcher(n, rng)
    order = sorted(range(n), key=lambda i: (-score[i], -rating[i], shuffle[i]))

    bye = None
    if n % 2:
        top = int(counts.max())
        position = {x: p for p, x in enumerate(order)}
        for fewest in sorted(set(bye_count.get(i, 0) for i in range(n))):
            group = sorted((i for i in range(n) if bye_count.get(i, 0) == fewest), key=lambda i: -position[i])
            for level in range(top + 1):
                allowed = counts <= level
                np.fill_diagonal(allowed, False)
                bye = next((c for c in group if matcher.perfect([x for x in order if x != c], allowed)), None)
                if bye is not None:
                    break
            if bye is not None:
                break
        if bye is None:   # only if the randomised test erred everywhere
            bye = min(range(n), key=lambda i: (bye_count.get(i, 0), -position[i]))
        order = [x for x in order if x != bye]
    pairs = _pair_top_down(order, counts, matcher)
    if pairs is None:   # as unlikely as above: plain top-down pairs
        pairs = list(zip(order[0::2], order[1::2]))
    return [(min(a, b), max(a, b)) for a, b in pairs], bye


# -- the games of a round ----------------------------------------------------------------------------------------
def round_games(n: int, round_index: int, pairs: Sequence[tuple[int, int]], seed: int) -> list[ScheduledGame]:
    """The games of a round's pairings (sorted by ``a``): every first game, then every swapped one.

    Index ``round * 2 (n // 2) + swap * (n // 2) + board``: unique in the tournament and the same on resume.
    """
    half = n // 2
    gseed = game_seed(seed, round_index)
    ordered = sorted((min(a, b), max(a, b)) for a, b in pairs)
    out = []
    for swap in (False, True):
        for board, (a, b) in enumerate(ordered):
            out.append(ScheduledGame(round_index * 2 * half + int(swap) * half + board, round_index, a, b, swap,
                                     gseed))
    return out


# -- storage -----------------------------------------------------------------------------------------------------
def ensure_schema(store: TournamentStore) -> None:
    store.conn.execute(SCHEMA)


def recorded_pairings(store: TournamentStore, tid: str) -> dict[int, tuple[list[tuple[int, int]], int | None]]:
    """``{round: (pairs sorted by a, bye or None)}`` of the rounds paired so far."""
    ensure_schema(store)
    out: dict[int, tuple[list[tuple[int, int]], int | None]] = {}
    rows = store.conn.execute("SELECT round, a, b FROM swiss_pairings WHERE tournament = ? ORDER BY round, a",
                              (tid,)).fetchall()
    for r, a, b in rows:
        pairs, bye = out.get(int(r), ([], None))
        if int(b) == BYE:
            bye = int(a)
        else:
            pairs.append((int(a), int(b)))
        out[int(r)] = (pairs, bye)
    return out


def record_pairings(store: TournamentStore, tid: str, round_index: int, pairs: Sequence[tuple[int, int]],
                    bye: int | None) -> bool:
    """Write a round's pairings in one transaction, unless the round is paired already (then False)."""
    ensure_schema(store)
    store.conn.execute("BEGIN IMMEDIATE")
    try:
        if store.conn.execute("SELECT 1 FROM swiss_pairings WHERE tournament = ? AND round = ? LIMIT 1",
                              (tid, int(round_index))).fetchone():
            store.conn.execute("ROLLBACK")
            return False
        rows = [(tid, int(round_index), min(a, b), max(a, b)) for a, b in pairs]
        if bye is not None:
            rows.append((tid, int(round_index), int(bye), BYE))
        store.conn.executemany("INSERT INTO swiss_pairings (tournament, round, a, b) VALUES (?, ?, ?, ?)", rows)
        store.conn.execute("COMMIT")
    except BaseException:
        store.conn.execute("ROLLBACK")
        raise
    return True


def game_results(games: Sequence[dict]) -> list[tuple[int, int, float]]:
    """``(seat 0 agent, seat 1 agent, points of seat 0)`` of recorded game rows."""
    out = []
    for g in games:
        w = g["winner"]
        out.append((int(g["seat0"]), int(g["seat1"]), 0.5 if w is None else (1.0 if w == g["seat0"] else 0.0)))
    return out


# -- standings ---------------------------------------------------------------------------------------------------
def swiss_standings(agents: Sequence[dict], games: Sequence[dict], byes: Iterable[int], bootstrap: int = 1000,
                    seed: int = 0, prior: float = 2.0) -> list[dict]:
    """`standings` of the games, plus `BYE_POINTS` per bye (column ``byes``), ranked again: points, then rating."""
    rows = standings(agents, games, bootstrap=bootstrap, seed=seed, prior=prior)
    by_name = {r["agent"]: r for r in rows}
    for r in rows:
        r["byes"] = 0
    for x in byes:
        r = by_name[agents[x]["name"]]
        r["byes"] += 1
        r["points"] += BYE_POINTS
    rows.sort(key=lambda r: (-r["points"], -(r["rating"] or 0.0), r["agent"]))
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
    return rows


def swiss_tournament_standings(db: str | os.PathLike, tournament: str | None = None, bootstrap: int = 1000,
                               rounds: int | None = None) -> tuple[dict, list[dict], dict]:
    """``(tournament info, standings, matrix)`` of a recorded Swiss tournament, byes counted (first ``rounds``)."""
    with TournamentStore(db) as store:
        tid = store.resolve_id(tournament)
        info = store.tournament(tid)
        agents = [{"name": a["name"], "spec": a["spec"]} for a in info["agents"]]
        limit = rounds if rounds is not None else int(info["settings"].get("rounds", 1 << 30))
        rows = [g for g in store.games(tid) if g["round"] < limit]
        byes = [bye for r, (_, bye) in recorded_pairings(store, tid).items() if r < limit and bye is not None]
    rows_out = swiss_standings(agents, rows, byes, bootstrap=bootstrap, seed=int(info["seed"]))
    return info, rows_out, pair_matrix(agents, rows)


def is_swiss(info: dict) -> bool:
    """Whether a recorded tournament (`TournamentStore.tournament`) is a Swiss one."""
    return (info.get("settings") or {}).get("format") == "swiss"


# -- running -----------------------------------------------------------------------------------------------------
def run_swiss(config: TournamentConfig, db: str | os.PathLike, rounds: int | None = None,
              replay_dir: str | os.PathLike | None = None, workers: int = 1, backend: str = "local",
              progress: bool = True, bootstrap: int = 1000, stop: threading.Event | None = None,
              log: Callable[[str], None] | None = None, check: bool = True, ray_address: str | None = None,
              sandbox: str | None = None, files_dir: str | os.PathLike | None = None, **play_kwargs):
    """Play what is left of a Swiss tournament of ``rounds`` rounds, record it, and return its `TournamentOutcome`.

    ``rounds`` defaults to ``ceil(log2(N)) + 2`` (at most N - 1). Round by round: the recorded pairing, or a new
    one once the previous rounds are complete; then the round's missing games (`play_jobs`, ``workers`` at a
    time, on one pool of agent servers for the whole run; other keyword arguments go to `play_jobs`). A round
    that could not be completed (a stop, a game the runner could not play) ends the run: running it again
    plays what is missing. ``sandbox``, ``files_dir``, ``ray_address``, ``check``: as for `run_tournament`.
    The games of an agent whose file changed since are played again in their recorded pairings.
    """
    from . import runner
    from .process import ServerPool
    from .sandbox import DEFAULT_SANDBOX, check_sandbox

    sandbox = DEFAULT_SANDBOX if sandbox is None else sandbox
    if backend not in runner.BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(runner.BACKENDS)}")
    if config.games_per_pair != GAMES_PER_PAIRING:
        raise ValueError(f"a Swiss pairing plays {GAMES_PER_PAIRING} games (one maze, seats swapped): "
                         f"leave games_per_pair at {GAMES_PER_PAIRING}, got {config.games_per_pair}")
    n = len(config.agents)
    rounds = check_rounds(rounds, n)
    check_sandbox(sandbox)
    log = log or (lambda msg: print(msg, file=sys.stderr))
    stop = stop or threading.Event()
    t0 = time.monotonic()
    tid = swiss_id(config)
    total = swiss_schedule_size(n, rounds)
    settings = swiss_settings(config, rounds)
    db = Path(db)
    out_dir = Path(replay_dir) if replay_dir is not None else runner.default_replay_dir(db, tid)
    outcome = runner.TournamentOutcome(tournament_id=tid, scheduled=total, games=0, played=0, db=str(db),
                                       replay_dir=str(out_dir))
    agents = [{"name": a.name, "spec": a.spec} for a in config.agents]
    with TournamentStore(db) as store, ServerPool(sandbox) as pool:
        ensure_schema(store)
        store.ensure_tournament(tid, settings, total)
        store.grow_tournament(tid, settings, total)
        runner.stale_games(store, tid, config, log)
        pairings = recorded_pairings(store, tid)
        done = store.done_keys(tid)
        recorded = sum(1 for r, (pairs, _) in pairings.items() if r < rounds
                       for g in round_games(n, r, pairs, config.seed) if g.key in done)
        todo = recorded < total
        played_config = runner.prepare_play(config, outcome, pool, Path(db), tid, files_dir, sandbox, check, log) \
            if todo else config
        bar = None
        if progress and todo:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=recorded, unit="game", file=sys.stderr, desc=f"swiss {tid[:8]}",
                       dynamic_ncols=True, smoothing=0.1)
        try:
            for r in range(rounds):
                if stop.is_set():
                    break
                if r not in pairings:
                    games = [g for g in store.games(tid) if g["round"] < r]
                    met = [p for q in range(r) for p in pairings[q][0]]
                    byes = [pairings[q][1] for q in range(r) if pairings[q][1] is not None]
                    rng = np.random.default_rng([int(config.seed), r, _PAIRING_STREAM])
                    pairs, bye = swiss_pairing(n, game_results(games), met, r, rng, byes=byes)
                    record_pairings(store, tid, r, pairs, bye)
                    pairings = recorded_pairings(store, tid)   # what is recorded (another runner may have been first)
                schedule = round_games(n, r, pairings[r][0], config.seed)
                missing = [g for g in schedule if g.key not in done]
                if missing:
                    if bar is not None:
                        bar.set_description_str(f"swiss {tid[:8]} round {r + 1}/{rounds}", refresh=False)
                    played, failed = runner.play_jobs([runner.Job(tid, played_config, g, out_dir) for g in missing],
                                                      store, db, workers=workers, backend=backend,
                                                      ray_address=ray_address, stop=stop, log=log, bar=bar,
                                                      sandbox=sandbox, pool=pool, **play_kwargs)
                    outcome.played += played
                    outcome.failed += [job.game.key for job in failed]
                    done = store.done_keys(tid)
                if any(g.key not in done for g in schedule):
                    if not stop.is_set():
                        log(f"round {r + 1} is not complete: the next rounds cannot be paired; "
                            "run the same command again to play what is missing")
                    break
        finally:
            if bar is not None:
                bar.close()
        rows = [g for g in store.games(tid) if g["round"] < rounds]
        byes = [bye for q, (_, bye) in recorded_pairings(store, tid).items() if q < rounds and bye is not None]
        outcome.games = len(rows)
        outcome.standings = swiss_standings(agents, rows, byes, bootstrap=bootstrap, seed=config.seed)
        outcome.matrix = pair_matrix(agents, rows)
    outcome.seconds = time.monotonic() - t0
    return outcome


# -- command-line glue -------------------------------------------------------------------------------------------
def add_swiss_arguments(run_parser: argparse.ArgumentParser) -> None:
    """``--format {roundrobin,swiss}`` and ``--rounds R`` on ``pyrat tournament run`` (resolve with `swiss_options`)."""
    run_parser.add_argument("--format", choices=FORMATS, default=None, dest="format",
                            help="roundrobin (default: every pair plays) or swiss (a few rounds, agents with "
                                 "about the same score meet; see docs/tournaments.md)")
    run_parser.add_argument("--rounds", type=int, default=None, metavar="R",
                            help="rounds of a Swiss tournament, 1 to N - 1 for N agents "
                                 "(default: ceil(log2(N)) + 2, at most N - 1)")


def swiss_options(args: argparse.Namespace, n: int, file: dict | None = None) -> tuple[str, int | None]:
    """``(format, rounds)`` from the arguments (over a TOML file's ``format`` / ``rounds``); ValueError if bad.

    ``rounds`` is None for a round robin; for a Swiss tournament it is checked against the ``n`` agents.
    """
    file = file or {}
    fmt = getattr(args, "format", None) or file.get("format") or "roundrobin"
    if fmt not in FORMATS:
        raise ValueError(f"unknown tournament format {fmt!r}; choose one of {', '.join(FORMATS)}")
    rounds = getattr(args, "rounds", None)
    if rounds is None:
        rounds = file.get("rounds")
    if fmt != "swiss":
        if rounds is not None:
            raise ValueError("--rounds applies to Swiss tournaments only: add --format swiss")
        return fmt, None
    return fmt, check_rounds(rounds, n)
