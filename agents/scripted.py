"""Scripted experts: ``random``, ``greedy``, ``opportunist`` and ``search``.

Each plays one game through ``act`` and many games at once through ``act_batch`` (used by the
vector environment's opponent and by dataset building): array code over a `GameBatch` for
``random`` and ``greedy`` (a compiled kernel, `pyrat_rl.agents.greedy_kernel`, that searches a new target
only when the old one is gone or the player strayed); for the planning experts, ``act`` per game with per-game state.

* ``random``: a uniform move among the open directions.
* ``greedy``: the nearest cheese by travel time (mud counted), by a fastest path.
* ``opportunist``: the cheese it reaches strictly before the opponent, whose course it predicts
  (its nearest cheese, then the nearest from there...), preferring long tours of such cheese.
* ``search``: simultaneous-move lookahead over both players' first targets, each pair evaluated by
  a fast cheese-to-cheese rollout, within its share of the turn time.

Measured strength (paired games, official preset, no time limit, ``pyrat play A B --games 100
--seed 1 --no-time-limit``): greedy beats random 100/100; opportunist scores 71 % against greedy;
search 99 % against greedy and 82 % against opportunist.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from pyrat_env import _accel
from pyrat_env.agent import Agent
from pyrat_env.engine import NOTHING, Game, GameBatch, Maze
from pyrat_env.paths import distance_matrix, distances_from


class RandomAgent(Agent):
    """Picks uniformly among the moves that are not blocked (never bumps into a wall)."""

    reads_game_only = True   # act() only reads the game: the envs skip the per-turn copy

    name = "random"
    description = "uniform random move among the open directions"

    def act(self, game: Game, seat: int) -> int:
        moves = game.legal_actions(seat)[1:] or [NOTHING]
        return int(moves[self.rng.integers(len(moves))])

    def act_batch(self, batch: GameBatch, seat: int) -> np.ndarray:
        rows = np.arange(batch.batch_size)
        open_ = batch.weights[rows, batch.pos[:, seat], 1:] > 0            # [B, 4]
        u = self.rng.random(open_.shape) * open_                           # random scores on open moves
        return np.where(open_.any(axis=1), u.argmax(axis=1) + 1, NOTHING).astype(np.int64)


class BatchDistances:
    """Per-slot distance matrices ``[B, N, N]`` kept in step with the mazes of a `GameBatch`."""

    def __init__(self) -> None:
        self.mazes: list[Maze | None] = []
        self.dist: np.ndarray | None = None

    def update(self, batch: GameBatch) -> np.ndarray:
        b, n = batch.batch_size, batch.n_cells
        if self.dist is None or self.dist.shape != (b, n, n):
            self.dist = np.empty((b, n, n), dtype=np.float32)
            self.mazes = [None] * b
        for i, maze in enumerate(batch.mazes):
            if self.mazes[i] is not maze:
                self.dist[i] = distance_matrix(maze)
                self.mazes[i] = maze
        return self.dist


def greedy_targets(dist_from: np.ndarray, cheese: np.ndarray) -> np.ndarray:
    """Index of the nearest cheese for each row (``dist_from`` and ``cheese`` are ``[B, N]``)."""
    d = np.where(cheese, dist_from, np.inf)
    return d.argmin(axis=1)


class GreedyAgent(Agent):
    """Goes to the cheese with the shortest travel time (mud counted), by a fastest path.

    Ties between cheese go to the lowest cell index; ties between first moves to the lowest action.
    """

    reads_game_only = True   # act() only reads the game: the envs skip the per-turn copy

    name = "greedy"
    description = "shortest travel time to the nearest cheese, mud weights counted"

    def __init__(self) -> None:
        super().__init__()
        self._batch_dist = BatchDistances()
        self._lazy: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._table_key: tuple[Maze | None, list[int]] = (None, [])
        self._table: tuple[np.ndarray, np.ndarray] | None = None
        self._checked: tuple[int, int] | None = None  # (id, length) of the last cheese list found all initial

    def start(self, ctx) -> None:
        super().start(ctx)
        self._cheese_table(ctx.maze, list(ctx.cheese))  # computed during preprocessing, not in a timed turn

    def _cheese_table(self, maze: Maze, cheese: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Travel times ``[N, K]`` between every cell and each initial cheese, and each cell's column (-1: none)."""
        key_maze, key_cheese = self._table_key
        if self._table is None or key_maze is not maze or key_cheese != cheese:
            dist = np.ascontiguousarray(distances_from(maze, cheese).T)  # from a cheese = to it: edges are symmetric
            col = np.full(maze.n_cells, -1, dtype=np.int64)
            col[np.asarray(cheese, dtype=np.int64)] = np.arange(len(cheese))
            self._table, self._table_key = (dist, col), (maze, list(cheese))
            self._checked = None
        return self._table

    def act(self, game: Game, seat: int) -> int:
        maze = game.maze
        pos = game.pos[seat]
        if not game.cheese:
            return NOTHING
        cheese = np.fromiter(game.cheese, dtype=np.int64)
        dist, col = self._cheese_table(maze, game.initial_cheese)
        cols = col[cheese]
        if self._checked != (id(game.cheese), len(cheese)):  # the rules only remove cheese: check new lists
            if cols.min() < 0:  # a cheese that was not there at the start (a hand-made state): all pairs
                full = distance_matrix(maze)
                dist, cols = full, cheese
            else:
                self._checked = (id(game.cheese), len(cheese))
        target = int(np.lexsort((cheese, dist[pos][cols]))[0])
        t = cols[target]
        best, best_a = np.inf, NOTHING
        for a in range(1, 5):
            w = int(maze.weights[pos, a])
            if w:
                total = w + dist[maze.neighbors[pos, a], t]
                if total < best:
                    best, best_a = total, a
        return best_a

    def act_batch(self, batch: GameBatch, seat: int) -> np.ndarray:
        kernels = _accel.kernels("pyrat_rl.agents.greedy_kernel")
        if kernels is not None and not batch._unpackable:
            # Per (batch, seat): each slot's target and the times to it (see `greedy_kernel.greedy_lazy`). Every slot
            # checks its game id, so a stale or shared entry can only cost a search, never change a move.
            key = (id(batch), seat)
            entry = self._lazy.get(key)
            if entry is None or entry[0] is not batch.game_ids or len(entry[1]) != batch.batch_size:
                if len(self._lazy) >= 8:
                    self._lazy.clear()
                entry = self._lazy[key] = (batch.game_ids, np.full((batch.batch_size, 4), -1, dtype=np.int64),
                                           np.empty((batch.batch_size, batch.n_cells), dtype=np.int32))
            out = np.empty(batch.batch_size, dtype=np.int64)
            kernels.greedy_lazy(batch.game_ids, batch.pos, seat, batch.cheese, batch.neighbors, batch.weights,
                                batch._moves, entry[1], entry[2], out)
            return out
        dist = self._batch_dist.update(batch)
        rows = np.arange(batch.batch_size)
        pos = batch.pos[:, seat]
        target = greedy_targets(dist[rows, pos], batch.cheese)            # [B]
        w = batch.weights[rows, pos, 1:].astype(np.float32)               # [B, 4]
        nxt = batch.neighbors[rows, pos, 1:]                              # [B, 4]
        cost = np.where(w > 0, w + dist[rows[:, None], nxt, target[:, None]], np.inf)
        best = cost.argmin(axis=1) + 1
        return np.where(np.isfinite(cost.min(axis=1)) & batch.cheese.any(axis=1), best, NOTHING).astype(np.int64)


# -- shared tables for the planning experts -------------------------------------------------------------
class MazeTables:
    """Per-maze tables in plain Python lists (fast to index one at a time), built once per maze.

    ``dist[a][b]``: travel time (mud counted; a large number when unreachable);
    ``next_action[a][b]``: the first move of a fastest path from a to b (lowest action on ties, as
    `GreedyAgent`; 0 when a == b or b is unreachable); ``neighbors[a][action]`` and
    ``weights[a][action]``: where a move leads and how many turns it takes (0: impossible).
    About 2 * N * N Python ints per maze (8 MB for a 25 x 20 maze), so only a few are cached.
    """

    UNREACHABLE = 10**6

    def __init__(self, maze: Maze) -> None:
        d = distance_matrix(maze)
        big = float(self.UNREACHABLE)
        dist = np.where(np.isfinite(d), d, big)
        n = maze.n_cells
        w = maze.weights[:, 1:].astype(np.float64)                      # [N, 4]
        nbr = maze.neighbors[:, 1:]                                     # [N, 4]
        cost = np.where(w[:, :, None] > 0, w[:, :, None] + dist[nbr], np.inf)   # [N, 4, N]
        best = cost.argmin(axis=1)                                      # first minimum: lowest action
        ok = np.isfinite(cost.min(axis=1)) & (np.arange(n)[:, None] != np.arange(n)[None, :])
        self.dist: list[list[int]] = dist.astype(np.int64).tolist()
        self.next_action: list[list[int]] = np.where(ok, best + 1, NOTHING).tolist()
        self.neighbors: list[list[int]] = maze.neighbors.tolist()
        self.weights: list[list[int]] = maze.weights.tolist()
        finite = dist[dist < big]
        self.diameter = int(finite.max()) if finite.size else 0


_TABLES: dict[bytes, MazeTables] = {}
_TABLES_LOCK = threading.Lock()  # agents run in worker threads during matches
TABLES_CACHED = 8


def maze_tables(maze: Maze) -> MazeTables:
    """The `MazeTables` of a maze, cached (the ``TABLES_CACHED`` most recent mazes)."""
    key = maze.key()
    tables = _TABLES.get(key)
    if tables is None:
        tables = MazeTables(maze)
        with _TABLES_LOCK:
            while len(_TABLES) >= TABLES_CACHED:
                _TABLES.pop(next(iter(_TABLES)))
            _TABLES[key] = tables
    return tables


def _ready(game: Game, p: int) -> tuple[int, int]:
    """Where player p can next decide, and in how many turns (a player in mud decides on arrival)."""
    if game.mud_target[p] is not None:
        return game.mud_target[p], game.mud_count[p]
    return game.pos[p], 0


def _nearest(dist_row: list[int], cheese) -> int:
    """The nearest cheese (lowest cell on ties), as `GreedyAgent` chooses."""
    return min(cheese, key=lambda c: (dist_row[c], c))


class PlanningAgent(Agent):
    """Base of the experts that pick a target cheese each turn and walk a fastest path to it.

    Subclasses implement ``plan(game, seat) -> target``. Two agents that react to each other can
    chase forever (each turn's move changes the other's plan back); a game has no turn limit, so
    this base guarantees progress: when no cheese has been eaten for ``stall_turns`` turns (the
    longest travel time in the maze, at least 20), it plays greedily until some cheese is eaten.
    A greedy player always reaches its nearest cheese unless someone eats it first, so every stall
    ends with a cheese eaten, and every game ends.
    """

    reads_game_only = True   # act() only reads the game: the envs skip the per-turn copy

    def __init__(self) -> None:
        super().__init__()
        self._target: int | None = None
        self._left = -1
        self._since = 0
        self._stall_turns = 20

    def start(self, ctx) -> None:
        super().start(ctx)
        self._target = None
        self._left, self._since = -1, 0
        tables = maze_tables(ctx.maze)  # built during preprocessing
        self._stall_turns = max(20, tables.diameter)

    def plan(self, game: Game, seat: int) -> int | None:
        raise NotImplementedError

    def act_batch(self, batch: GameBatch, seat: int) -> np.ndarray:
        """One action per game of the batch, each game with its own target and stall counter.

        The state of a row starts afresh when its game changes (another maze, or an earlier turn).
        """
        out = np.zeros(batch.batch_size, dtype=np.int64)
        rows = getattr(self, "_rows", None)
        if rows is None or len(rows) != batch.batch_size:
            rows = self._rows = [None] * batch.batch_size
        saved = (self._target, self._left, self._since, self._stall_turns)
        try:
            for i in np.flatnonzero(~batch.over & (batch.mud_target[:, seat] < 0)):
                i = int(i)
                maze, turn = batch.mazes[i], int(batch.turn[i])
                st = rows[i]
                if st is None or st[0] is not maze or turn < st[1]:
                    st = (maze, turn, None, -1, 0, max(20, maze_tables(maze).diameter))
                self._target, self._left, self._since, self._stall_turns = st[2:]
                out[i] = self.act(batch.to_game(i), seat)
                rows[i] = (maze, turn, self._target, self._left, self._since, self._stall_turns)
        finally:
            self._target, self._left, self._since, self._stall_turns = saved
        return out

    def act(self, game: Game, seat: int) -> int:
        if not game.cheese:
            return NOTHING
        tables = maze_tables(game.maze)
        if len(game.cheese) != self._left:
            self._left, self._since = len(game.cheese), game.turn
        me = game.pos[seat]
        if game.turn - self._since > self._stall_turns:
            target = _nearest(tables.dist[me], game.cheese)  # stalled: make sure something gets eaten
        else:
            target = self.plan(game, seat)
        self._target = target
        return NOTHING if target is None else tables.next_action[me][target]


class OpportunistAgent(PlanningAgent):
    """Goes for the cheese it reaches strictly before its opponents, planning around their targets.

    It predicts the opponent's course: the cheese it is heading to (its nearest, as a greedy
    player chooses), then the nearest from there, and so on, which gives the turn at which the
    opponent would eat each cheese. The cheese it reaches strictly before that are "mine"; among
    them it picks the one that starts the longest tour of its own cheese (each next piece the
    nearest one still reached before the opponent; ties to the soonest), so it leaves the
    opponent's target alone and prefers clusters on its own side. It keeps its target while it is
    still its own. With no cheese of its own it contests the one with the best margin.
    """

    name = "opportunist"
    description = "goes for the cheese it reaches strictly before the opponent (mud counted), around its target"
    predict_depth = 64   # how many of the opponent's next cheese to predict
    tour_length = 64     # how many of my own cheese a candidate tour may chain
    commit = True        # keep the current target while it stays mine

    def opponent_times(self, game: Game, seat: int, tables: MazeTables) -> dict[int, int]:
        """When each cheese would be eaten (turns from now) by the opponents playing greedily without us."""
        dist = tables.dist
        cheese = game.cheese
        best = dict.fromkeys(cheese, MazeTables.UNREACHABLE)
        for p in range(game.n_players):
            if p == seat:
                continue
            cell, t = _ready(game, p)
            left = list(cheese)
            for _ in range(self.predict_depth):
                if not left:
                    break
                row = dist[cell]
                target = _nearest(row, left)
                t += row[target]
                if t < best[target]:
                    best[target] = t
                left.remove(target)
                cell = target
            if left:  # beyond the predicted tour: as soon as it could come from its last cheese
                row = dist[cell]
                for c in left:
                    if t + row[c] < best[c]:
                        best[c] = t + row[c]
        return best

    @staticmethod
    def _direct_time(game: Game, seat: int, cell: int, dist) -> int:
        """The soonest any opponent can be on ``cell``, going straight there."""
        best = MazeTables.UNREACHABLE
        for p in range(game.n_players):
            if p != seat:
                c, delay = _ready(game, p)
                best = min(best, delay + dist[c][cell])
        return best

    def plan(self, game: Game, seat: int) -> int | None:
        cheese = game.cheese
        if not cheese:
            return None
        tables = maze_tables(game.maze)
        dist = tables.dist
        row = dist[game.pos[seat]]
        opp = self.opponent_times(game, seat, tables)
        mine = [c for c in cheese if row[c] < opp[c]]
        t = self._target
        if self.commit and t in opp and row[t] <= self._direct_time(game, seat, t, dist):
            return t  # no opponent can get there strictly first, even straight: keep going
        if not mine:
            # nothing safe: contest the cheese with the best margin (a tie still shares the point)
            return min(cheese, key=lambda c: (row[c] - opp[c], row[c], c))
        best_c, best_v = None, -1.0
        for c in mine:
            v = self._tour_value(c, row[c], mine, dist, opp)
            if v > best_v or (v == best_v and (row[c], c) < (row[best_c], best_c)):
                best_c, best_v = c, v
        return best_c

    # the choice of a fresh plan, also used by the search agent as its first candidate
    choose_target = plan

    def _tour_value(self, first: int, t_first: int, mine: list[int], dist, opp) -> float:
        """How many of my own cheese a greedy tour starting with ``first`` collects (less a little per turn)."""
        t, points, cur = t_first, 1.0, first
        left = [c for c in mine if c != first]
        for _ in range(self.tour_length - 1):
            row = dist[cur]
            nxt = None
            for c in left:
                if t + row[c] < opp[c] and (nxt is None or row[c] < row[nxt]):
                    nxt = c
            if nxt is None:
                break
            t += row[nxt]
            points += 1.0
            cur = nxt
            left.remove(nxt)
        return points - t * 1e-4  # the most cheese, then the soonest


def rollout(tables: MazeTables, cells: list[int], ready: list[int], scores: list[float], cheese, targets: list,
            horizon: int) -> list[float]:
    """Play the rest of a game fast, cheese by cheese, and return the final scores.

    Player p is on ``cells[p]`` and free to move at time ``ready[p]`` (later than now while it crosses
    mud); it first heads for ``targets[p]`` (None: its nearest cheese), then plays greedily (the
    nearest cheese, retargeting when its target is eaten). Time jumps from one arrival to the next,
    so a rollout costs a few operations per cell visited, not a full engine step per turn. Cheese is
    shared by the players arriving on it at the same time, as in the game. With two players the
    rollout stops when the ranking is decided; it stops at time ``horizon`` in any case.
    """
    dist, nact, nbr, wt = tables.dist, tables.next_action, tables.neighbors, tables.weights
    cells, ready, scores, targets = list(cells), list(ready), list(scores), list(targets)
    left = set(cheese)
    n = len(cells)
    never = MazeTables.UNREACHABLE
    t = min(ready)
    while left:
        for p in range(n):
            if ready[p] == t:
                c = cells[p]
                tg = targets[p]
                if tg is None or tg not in left:
                    row = dist[c]
                    tg = targets[p] = min(left, key=lambda x: (row[x], x))
                a = nact[c][tg]
                if a:
                    step = wt[c][a]
                    cells[p] = nbr[c][a]
                    ready[p] = t + step
                else:  # cannot reach any cheese: out of the game
                    ready[p] = never
        t = min(ready)
        if t > horizon:
            break
        eaten = [cells[p] for p in range(n) if ready[p] == t and cells[p] in left]
        if eaten:
            for c in set(eaten):
                on = [p for p in range(n) if ready[p] == t and cells[p] == c]
                for p in on:
                    scores[p] += 1.0 / len(on)
                left.discard(c)
            if n == 2 and scores[0] != scores[1] and abs(scores[0] - scores[1]) > len(left):
                break
    return scores


class SearchAgent(PlanningAgent):
    """Simultaneous-move lookahead over target cheese, with fast rollouts, within the turn time.

    Each turn it considers its nearest cheese (and the opportunist's choice) as first targets, and
    the opponent's nearest cheese as the opponent's possible first targets. For every pair it plays
    the rest of the game with `rollout` (both players greedy after their first target) and scores
    the final difference. Each of its targets is valued by a mix of the outcome against the
    opponent's most likely target (its nearest, what a greedy player does) and the worst outcome
    over the opponent's choices, plus a small bonus for keeping its current target; it goes for
    the best, by a fastest path. With a turn time it uses at most ``budget`` of it (checking the
    clock between rollouts, most promising candidates first); without a limit it evaluates a
    fixed number of candidates, so that games are reproducible.
    """

    name = "search"
    description = "simultaneous-move lookahead over target cheese, evaluated by fast greedy rollouts"
    my_candidates = 8
    opp_candidates = 3
    greedy_weight = 0.5     # weight of the opponent's most likely reply (the rest: its best reply)
    stick = 0.25            # bonus (in points) for keeping the current target
    budget = 0.5            # share of the turn time it may use
    commit = True           # keep the current target while no opponent can get there strictly first

    def __init__(self) -> None:
        super().__init__()
        self._opportunist = OpportunistAgent()

    def plan(self, game: Game, seat: int) -> int | None:
        cheese = game.cheese
        if not cheese:
            return None
        t0 = time.perf_counter()
        limit = self.ctx.turn_time if self.ctx is not None else None
        deadline = None if limit is None else t0 + self.budget * limit
        tables = maze_tables(game.maze)
        dist = tables.dist
        me = game.pos[seat]
        n = game.n_players
        if n < 2:
            return _nearest(dist[me], cheese)
        ready_cells, ready_times = [], []
        for p in range(n):
            cell, delay = _ready(game, p)
            ready_cells.append(cell)
            ready_times.append(game.turn + delay)
        row = dist[me]
        t = self._target
        if self.commit and t in cheese and row[t] <= OpportunistAgent._direct_time(game, seat, t, dist):
            return t  # chasing targets to and fro wastes turns: keep it while no one gets there strictly first
        mine = sorted(cheese, key=lambda c: (row[c], c))[: self.my_candidates]
        hint = self._opportunist.choose_target(game, seat)
        if hint is not None:
            if hint in mine:
                mine.remove(hint)
            mine.insert(0, hint)
        if self._target in mine:
            mine.remove(self._target)
            mine.insert(0, self._target)
        opps = [p for p in range(n) if p != seat]
        opp = min(opps, key=lambda p: (dist[ready_cells[p]][me], p))  # with several, the closest one
        orow = dist[ready_cells[opp]]
        theirs = sorted(cheese, key=lambda c: (orow[c], c))[: self.opp_candidates]
        mine, theirs = self.candidates(game, seat, opp, ready_cells, mine, theirs)
        horizon = game.turn + 10**6
        best_t, best_v = None, -np.inf
        for tg in mine:
            values = []
            for j, ot in enumerate(theirs):
                targets = [None] * n
                targets[seat], targets[opp] = tg, ot
                final = rollout(tables, ready_cells, ready_times, game.scores, cheese, targets, horizon)
                values.append(final[seat] - max(final[p] for p in opps))
                if j == 0 and deadline is not None and time.perf_counter() > deadline:
                    break
            v = self.greedy_weight * values[0] + (1 - self.greedy_weight) * min(values)
            if tg == self._target:
                v += self.stick
            v += self.bonus(tg)
            if v > best_v:
                best_t, best_v = tg, v
            if deadline is not None and time.perf_counter() > deadline:
                break
        return best_t

    # -- hooks for a search guided by other knowledge (`pyrat_rl.agents.net_search`); here they change nothing
    def candidates(self, game: Game, seat: int, opp: int, ready_cells: list[int], mine: list[int],
                   theirs: list[int]) -> tuple[list[int], list[int]]:
        """The targets to try, most promising first, and the opponent's (its most likely first: the value mixes
        the outcome against ``theirs[0]`` with the worst one)."""
        return mine, theirs

    def bonus(self, target: int) -> float:
        """Points added to a target's value (after the rollouts)."""
        return 0.0
