"""Compiled kernels (numba) for the hot loops of the engine, the maze generator, distances and encoders.

Nothing imports this module eagerly: `pyrat_env._accel.kernels()` loads it on demand (importing numba
costs a few tenths of a second, and the first kernel call of a process about as much again), so that
importing the engine stays as light as numpy. Every kernel here has a plain numpy or Python twin
that gives exactly the same results (the readable reference, and the fallback where numba is
missing); ``tests/test_kernels.py`` checks each pair against each other.

* `batch_step`: `GameBatch.step` (the rules, game by game, in place).
* `carve_holes`, `present_edges`, `kruskal`, `drop_walls`, `pick_mud`, `maze_tables`:
  `pyrat_env.mazes.generate_maze`, decision for decision the same as the Python generator (the same
  random draws, taken by the caller with numpy, and the same dict orders), so a seed gives the same
  maze whichever runs.
* `distances_from`, `all_pairs`: travel times (mud counted) by Dial's bucket queue, exact integers.
* `greedy_lazy`: the greedy expert's move in every game of a batch (searching only for new targets).
* `encode_rows`, `static_rows`: `BatchEncoding` (observations of many games, static part of new mazes).

All kernels use ``cache=True``: compiled once per machine (a few seconds in all), then loaded.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

INF32 = np.float32(np.inf)
N_STATIC_CHANNELS = 9   # encoders: cell channels 0-8 depend on the maze only
N_CELL_CHANNELS = 14    # encoders: cell channels 9-13 change during a game


# -- the rules ---------------------------------------------------------------------------------------------
@njit(cache=True)
def _round5(x):
    # numpy's np.round(x, 5) for float64: rint(x * 10**5) / 10**5
    return np.rint(x * 100000.0) / 100000.0


@njit(cache=True)
def _ranking_over(b, scores, n_cheese, team, n_teams, ts):
    """The end rule for game b (see `engine.ranking_decided`); ``ts`` is scratch of n_teams floats."""
    if n_cheese[b] == 0:
        return True
    if n_teams < 2:
        return False
    for t in range(n_teams):
        ts[t] = 0.0
    for p in range(scores.shape[1]):
        ts[team[p]] = ts[team[p]] + scores[b, p]
    for t in range(n_teams):
        ts[t] = _round5(ts[t])
    rem = np.float64(n_cheese[b])
    for i in range(n_teams):
        for j in range(n_teams):
            if i != j:
                s1, s2 = ts[i], ts[j]
                if s1 == s2 or (s1 < s2 and s1 + rem >= s2):
                    return False
    return True


@njit(cache=True)
def batch_step(actions, pos, mud_target, mud_count, scores, cheese, n_cheese, turn, terminated, truncated,
               moves, team, n_teams, max_turns, gains):
    """One turn of every game that is not over, in place (`GameBatch.step`); ``max_turns < 0``: no limit.

    ``moves[b, cell, action]``: the maze tables packed as ``target * 256 + weight``. Returns -1 (and changes
    nothing) when an action is outside 0..4, else 0. ``gains`` must be zeros. Each player's move and mud
    depend on its own state only, so players are updated one after the other, with selects rather than
    branches (random actions make branches unpredictable).
    """
    nb, npl = pos.shape
    bad = False
    for b in range(nb):
        for p in range(npl):
            a = actions[b, p]
            bad |= (a < 0) | (a > 4)
    if bad:
        return -1
    ts = np.zeros(max(n_teams, 1))
    for b in range(nb):
        if terminated[b] or truncated[b]:
            continue
        started = turn[b] > 0  # turn 0 is the preprocessing step: nobody moves
        for p in range(npl):
            mt = mud_target[b, p]
            c = pos[b, p]
            # a player in mud is not asked; action 0 (and any impossible move) has weight 0
            m = moves[b, c, actions[b, p] if (started and mt < 0) else 0]
            w = m & 255
            target = m >> 8
            c = target if w == 1 else c
            into = w > 1
            mt = target if into else mt
            mc = w if into else mud_count[b, p]
            in_mud = mt >= 0  # mud advances, including for a player that just entered it
            mc = mc - 1 if in_mud else mc
            arrive = in_mud and mc == 0
            pos[b, p] = mt if arrive else c
            mud_target[b, p] = -1 if arrive else mt
            mud_count[b, p] = mc
        turn[b] += 1
        ate = False
        for p in range(npl):
            ate |= cheese[b, pos[b, p]]
        if ate:
            for p in range(npl):
                c = pos[b, p]
                if cheese[b, c]:
                    k = 0
                    for q in range(npl):
                        if pos[b, q] == c:
                            k += 1
                    share = 1.0 / k
                    gains[b, p] = share
                    scores[b, p] += share
            for p in range(npl):
                cheese[b, pos[b, p]] = False
            left = 0
            for c in range(cheese.shape[1]):
                if cheese[b, c]:
                    left += 1
            n_cheese[b] = left
            if _ranking_over(b, scores, n_cheese, team, n_teams, ts):
                terminated[b] = True
        if max_turns >= 0 and not terminated[b] and turn[b] - 1 >= max_turns:
            truncated[b] = True
    return 0


@njit(cache=True)
def reset_slot(i, maze_neighbors, maze_weights, cells, cheese, starts, neighbors, weights, moves, cheese_order,
               cheese_mask, n_cheese, pos, mud_target, mud_count, scores, turn, terminated, truncated):
    """`GameBatch.reset_game`'s array work for slot i. Returns the maze's largest weight, or -1 (and changes
    nothing) when a start or cheese cell does not exist or two cheese share a cell."""
    n = cells.shape[0]
    for p in range(starts.shape[0]):
        s = starts[p]
        if s < 0 or s >= n or not cells[s]:
            return -1
    seen = np.zeros(n, dtype=np.bool_)
    for k in range(cheese.shape[0]):
        c = cheese[k]
        if c < 0 or c >= n or not cells[c] or seen[c]:
            return -1
        seen[c] = True
    maxw = 0
    for c in range(n):
        for a in range(5):
            nb, w = maze_neighbors[c, a], maze_weights[c, a]
            neighbors[i, c, a] = nb
            weights[i, c, a] = w
            moves[i, c, a] = nb * 256 + w
            if w > maxw:
                maxw = w
    for k in range(cheese_order.shape[1]):
        cheese_order[i, k] = cheese[k] if k < cheese.shape[0] else -1
    for c in range(n):
        cheese_mask[i, c] = seen[c]
    n_cheese[i] = cheese.shape[0]
    for p in range(starts.shape[0]):
        pos[i, p] = starts[p]
        mud_target[i, p] = -1
        mud_count[i, p] = 0
        scores[i, p] = 0.0
    turn[i] = 0
    truncated[i] = False
    terminated[i] = cheese.shape[0] == 0  # at turn 0 every score is 0: only "no cheese" ends the game
    return maxw


# -- distances ------------------------------------------------------------------------------------------------
_BUCKETS = 16  # Dial's circular buckets: a power of two above the largest weight (see `_scratch`)


@njit(cache=True)
def _csr(neighbors, weights, adj, deg):
    """Each cell's edges packed as ``target * 256 + weight`` (weights < 256) in ``adj[cell]``; returns the
    largest weight, or -1 when a weight does not fit the packing."""
    maxw = 1
    for c in range(neighbors.shape[0]):
        k = 0
        for a in range(1, 5):
            w = weights[c, a]
            if w > 0:
                if w > 255:
                    return -1
                adj[c, k] = neighbors[c, a] * 256 + w
                k += 1
                if w > maxw:
                    maxw = w
        deg[c] = k
    return maxw


@njit(cache=True)
def _dial(source, adj, deg, nbk, dist, bucket, blen, out_row, cells):
    """Travel times from ``source`` (Dial's algorithm: buckets by distance, modulo ``nbk``, a power of two
    above the largest weight) written into ``out_row`` as float32 (inf where unreachable or ``cells`` False)."""
    n = deg.shape[0]
    big = np.int32(1 << 30)
    cap = bucket.shape[0] // nbk
    mask = nbk - 1
    for c in range(n):
        dist[c] = big
    for q in range(nbk):
        blen[q] = 0
    dist[source] = 0
    bucket[0] = source
    blen[0] = 1
    queued = 1
    d = 0
    while queued > 0:
        q = d & mask
        bq = q * cap
        while blen[q] > 0:
            blen[q] -= 1
            queued -= 1
            c = bucket[bq + blen[q]]
            if dist[c] != d:  # a stale entry: c was reached sooner since
                continue
            for j in range(deg[c]):
                e = adj[c, j]
                t = e >> 8
                nd = d + (e & 255)
                if nd < dist[t]:
                    dist[t] = nd
                    qq = nd & mask
                    bucket[qq * cap + blen[qq]] = t
                    blen[qq] += 1
                    queued += 1
        d += 1
    for c in range(n):
        out_row[c] = np.float32(dist[c]) if dist[c] < big and cells[c] else INF32


@njit(cache=True)
def _scratch(n, maxw):
    nbk = _BUCKETS
    while nbk <= maxw:
        nbk *= 2
    return nbk, np.empty(nbk * (4 * n + 1), dtype=np.int32), np.zeros(nbk, dtype=np.int32)


@njit(cache=True)
def _dijkstra(source, neighbors, weights, out_row, cells):
    """Travel times from ``source`` for mazes whose weights do not fit `_dial`'s packing (a plain heap)."""
    n = neighbors.shape[0]
    dist = np.full(n, np.inf)
    dist[source] = 0.0
    heap = [(0.0, np.int64(source))]
    while len(heap) > 0:
        d, c = heapq.heappop(heap)
        if d > dist[c]:
            continue
        for a in range(1, 5):
            w = weights[c, a]
            if w > 0:
                t = np.int64(neighbors[c, a])
                nd = d + np.float64(w)
                if nd < dist[t]:
                    dist[t] = nd
                    heapq.heappush(heap, (nd, t))
    for c in range(n):
        out_row[c] = np.float32(dist[c]) if cells[c] else INF32


@njit(cache=True)
def distances_from(neighbors, weights, cells, sources, out):
    """``out[k, c]``: travel time from cell ``sources[k]`` to c (float32; inf to or from holes, and for
    ``sources[k] < 0``). Maze tables ``[N, 5]``; ``cells`` bool ``[N]``."""
    n = neighbors.shape[0]
    adj = np.empty((n, 4), dtype=np.int32)
    deg = np.empty(n, dtype=np.int32)
    maxw = _csr(neighbors, weights, adj, deg)
    nbk, bucket, blen = _scratch(n, maxw)
    dist = np.empty(n, dtype=np.int32)
    for k in range(sources.shape[0]):
        s = sources[k]
        if s < 0 or not cells[s]:
            for c in range(n):
                out[k, c] = INF32
        elif maxw < 0:
            _dijkstra(s, neighbors, weights, out[k], cells)
        else:
            _dial(s, adj, deg, nbk, dist, bucket, blen, out[k], cells)


@njit(cache=True)
def all_pairs(neighbors, weights, cells):
    """``[N, N]`` float32 travel times between all cells (inf to or from holes)."""
    n = neighbors.shape[0]
    out = np.empty((n, n), dtype=np.float32)
    distances_from(neighbors, weights, cells, np.arange(n), out)
    return out


@njit(cache=True)
def _dial_until(source, adj, deg, nbk, dist, bucket, blen, limit, goals):
    """Dial's algorithm from ``source``, stopped early: settles into ``dist`` (int32; 1 << 30 elsewhere) every
    cell at most ``limit`` away, or, with ``goals`` (bool per cell, non-empty), every cell up to the distance of
    the nearest goal. Returns the lowest goal cell at that distance (-1: none reachable, or no goals)."""
    n = deg.shape[0]
    big = np.int32(1 << 30)
    cap = bucket.shape[0] // nbk
    mask = nbk - 1
    for c in range(n):
        dist[c] = big
    for q in range(nbk):
        blen[q] = 0
    use_goals = goals.shape[0] > 0
    found = -1
    dist[source] = 0
    bucket[0] = source
    blen[0] = 1
    queued = 1
    d = 0
    while queued > 0 and d <= limit:
        q = d & mask
        bq = q * cap
        while blen[q] > 0:
            blen[q] -= 1
            queued -= 1
            c = bucket[bq + blen[q]]
            if dist[c] != d:
                continue
            if use_goals and goals[c] and (found < 0 or c < found):
                found = c
                limit = d  # finish this level (other goals at the same distance), then stop
            for j in range(deg[c]):
                e = adj[c, j]
                t = e >> 8
                nd = d + (e & 255)
                if nd < dist[t]:
                    dist[t] = nd
                    qq = nd & mask
                    bucket[qq * cap + blen[qq]] = t
                    blen[qq] += 1
                    queued += 1
        d += 1
    # cells reached but not settled (beyond the limit) are not final: forget them
    for c in range(n):
        if dist[c] > limit:
            dist[c] = big
    return found


@njit(cache=True)
def greedy_lazy(game_ids, pos, seat, cheese, neighbors, weights, moves, state, to_target, out):
    """The greedy expert's action in every game: the nearest remaining cheese (lowest cell on ties), then the
    first move of a fastest path (lowest action on ties); ``nothing`` when no cheese can be reached.

    The greedy target t (nearest remaining cheese, lowest cell on ties) stays the greedy target as long as
    it remains and the player stands where it was or where the chosen move leads: one step along a fastest
    path lowers the time to t by the step's weight and every other time by at most that much, and a tie
    at the new cell was a tie before, which t won. So a target is searched (Dial from the player, stopped
    at the nearest cheese) only when that does not hold, with the times to it (Dial from the target, up to
    the player's time plus the largest weight: every move that can start a fastest path ends within).

    ``state[b]``: game id, target, cell of the last decision, cell its move leads to (int64 ``[B, 4]``);
    ``to_target[b]``: the times to the target (int32 ``[B, N]``, 1 << 30 where not searched).
    """
    n = neighbors.shape[1]
    big = np.int32(1 << 30)
    adj = np.empty((n, 4), dtype=np.int32)
    deg = np.empty(n, dtype=np.int32)
    dist = np.empty(n, dtype=np.int32)
    no_goals = np.zeros(0, dtype=np.bool_)
    nbk, bucket, blen = _scratch(n, 1)
    for b in range(pos.shape[0]):
        p = pos[b, seat]
        t = state[b, 1]
        if not (state[b, 0] == game_ids[b] and t >= 0 and cheese[b, t] and (p == state[b, 2] or p == state[b, 3])):
            maxw = _csr(neighbors[b], weights[b], adj, deg)
            if maxw >= nbk:
                nbk, bucket, blen = _scratch(n, maxw)
            state[b, 0] = game_ids[b]
            t = _dial_until(p, adj, deg, nbk, dist, bucket, blen, big, cheese[b])
            state[b, 1] = t
            if t >= 0:
                _dial_until(t, adj, deg, nbk, to_target[b], bucket, blen, dist[t] + maxw, no_goals)
        act = 0
        if t >= 0:
            best = big
            for a in range(1, 5):
                m = moves[b, p, a]
                w = m & 255
                if w > 0:
                    d = to_target[b, m >> 8]
                    if d < big and w + d < best:
                        best, act = w + d, a
        state[b, 2] = p
        state[b, 3] = moves[b, p, act] >> 8
        out[b] = act


# -- numpy's random numbers ----------------------------------------------------------------------------------
# ``np.random.default_rng(seed)`` (SeedSequence -> PCG64) and the Generator methods the maze generator uses
# (``random``, ``shuffle``/``permutation``, ``integers``), draw for draw as numpy computes them, so that
# `new_setup` makes a whole game in one call and still gives the game numpy's draws give. A PCG64 state is
# a uint64 array ``[state_hi, state_lo, inc_hi, inc_lo, has_uint32, uinteger]``. numpy does not promise
# that these algorithms never change: ``pyrat_env.mazes`` checks them against numpy once per process
# (`mazes._fused_matches_numpy`) and uses `new_setup` only when they agree.
U64 = np.uint64
M32 = U64(0xFFFFFFFF)
MULT_HI = U64(0x2360ED051FC65DA4)
MULT_LO = U64(0x4385DF649FCCF645)
INIT_A, MULT_A, INIT_B, MULT_B = 0x43b0d7e5, 0x931e8875, 0x8b51f9dd, 0x58f38ded
MIX_MULT_L, MIX_MULT_R = 0xca01f9dd, 0x4973f715

@njit(cache=True)
def _mulhi(a, b):
    a_lo, a_hi = a & M32, a >> U64(32)
    b_lo, b_hi = b & M32, b >> U64(32)
    p0 = a_lo * b_lo
    p1 = a_lo * b_hi
    p2 = a_hi * b_lo
    p3 = a_hi * b_hi
    mid = (p0 >> U64(32)) + (p1 & M32) + (p2 & M32)
    return p3 + (p1 >> U64(32)) + (p2 >> U64(32)) + (mid >> U64(32))

@njit(cache=True)
def _step(st):
    s_hi, s_lo = st[0], st[1]
    lo = s_lo * MULT_LO
    hi = _mulhi(s_lo, MULT_LO) + s_hi * MULT_LO + s_lo * MULT_HI
    lo2 = lo + st[3]
    carry = U64(1) if lo2 < lo else U64(0)
    st[0] = hi + st[2] + carry
    st[1] = lo2

@njit(cache=True)
def next_u64(st):
    """PCG64's next 64-bit output (XSL-RR of the stepped 128-bit state)."""
    _step(st)
    hi, lo = st[0], st[1]
    x = hi ^ lo
    rot = hi >> U64(58)
    return (x >> rot) | (x << ((U64(64) - rot) & U64(63)))

@njit(cache=True)
def next_u32(st):
    """PCG64's next 32-bit output: the low half of a 64-bit one, the high half kept for the next call."""
    if st[4] != U64(0):
        st[4] = U64(0)
        return st[5]
    nxt = next_u64(st)
    st[4] = U64(1)
    st[5] = nxt >> U64(32)
    return nxt & M32

@njit(cache=True)
def next_double(st):
    """``Generator.random()``: 53 random bits in [0, 1)."""
    return np.float64(next_u64(st) >> U64(11)) * (1.0 / 9007199254740992.0)

@njit(cache=True)
def _hashmix(value, hc):
    value = (value ^ hc[0]) & M32
    hc[0] = (hc[0] * U64(MULT_A)) & M32
    value = (value * hc[0]) & M32
    value ^= value >> U64(16)
    return value

@njit(cache=True)
def _mix(x, y):
    r = (U64(MIX_MULT_L) * x - U64(MIX_MULT_R) * y) & M32
    r ^= r >> U64(16)
    return r

@njit(cache=True)
def seed_state(words, n_words, st):
    """The PCG64 state of ``np.random.default_rng(seed)`` into ``st``, for a seed given as ``n_words`` (<= 4)
    little-endian 32-bit words: SeedSequence's entropy mixing and ``generate_state(4, uint64)``, then
    PCG64's seeding (state and increment from the four words)."""
    pool = np.zeros(4, dtype=np.uint64)
    hc = np.zeros(1, dtype=np.uint64)
    hc[0] = U64(INIT_A)
    for i in range(4):
        pool[i] = _hashmix(words[i] if i < n_words else U64(0), hc)
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = _mix(pool[i_dst], _hashmix(pool[i_src], hc))
    out = np.zeros(8, dtype=np.uint64)
    h = U64(INIT_B)
    for i in range(8):
        v = pool[i % 4]
        v = (v ^ h) & M32
        h = (h * U64(MULT_B)) & M32
        v = (v * h) & M32
        v ^= v >> U64(16)
        out[i] = v
    v0 = out[0] | (out[1] << U64(32))
    v1 = out[2] | (out[3] << U64(32))
    v2 = out[4] | (out[5] << U64(32))
    v3 = out[6] | (out[7] << U64(32))
    # pcg64_set_seed: state = v0:v1, initseq = v2:v3; srandom: state=0, inc=(initseq<<1)|1, step, state+=s, step
    st[2] = (v2 << U64(1)) | (v3 >> U64(63))
    st[3] = (v3 << U64(1)) | U64(1)
    st[0] = U64(0)
    st[1] = U64(0)
    _step(st)
    lo = st[1] + v1
    carry = U64(1) if lo < st[1] else U64(0)
    st[0] = st[0] + v0 + carry
    st[1] = lo
    _step(st)
    st[4] = U64(0)
    st[5] = U64(0)

@njit(cache=True)
def random_interval(st, mx):
    """numpy's ``random_interval``: uniform in [0, mx] by masked rejection (the draw of ``shuffle``)."""
    if mx == U64(0):
        return U64(0)
    mask = mx
    for k in (1, 2, 4, 8, 16, 32):
        mask |= mask >> U64(k)
    if mx <= M32:
        while True:
            v = next_u32(st) & mask
            if v <= mx:
                return v
    while True:
        v = next_u64(st) & mask
        if v <= mx:
            return v

@njit(cache=True)
def shuffle(st, arr):
    """``Generator.shuffle`` of a 1-d array (and so ``permutation``, which shuffles a copy)."""
    for i in range(arr.shape[0] - 1, 0, -1):
        j = np.int64(random_interval(st, U64(i)))
        arr[i], arr[j] = arr[j], arr[i]

@njit(cache=True)
def integers_fill(st, off, rng, out):
    """rng.integers(off, off + rng + 1, size=len(out)) for rng < 2**32 - 1."""
    if rng == 0:
        for i in range(out.shape[0]):
            out[i] = off
        return
    rng_excl = U64(rng) + U64(1)
    for i in range(out.shape[0]):
        m = next_u32(st) * rng_excl
        leftover = m & M32
        if leftover < rng_excl:
            threshold = (M32 - U64(rng)) % rng_excl
            while leftover < threshold:
                m = next_u32(st) * rng_excl
                leftover = m & M32
        out[i] = off + np.int64(m >> U64(32))


# -- maze generation ------------------------------------------------------------------------------------------
@njit(cache=True)
def _root(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True)
def _removable(kept, parent, ring, gap_count, gap_pos, p, q):
    """`mazes._Grid.removable` on padded indices (``q``: a cell also removed, or -1)."""
    code = 0
    for i in range(8):
        x = p + ring[i]
        if kept[x] and x != q:
            code |= 1 << i
    k = gap_count[code]
    if k < 0:
        return False
    if k == 0:
        return True
    roots = np.empty(4, dtype=np.int64)
    for g in range(k):
        roots[g] = _root(parent, p + ring[gap_pos[code, g]])
    if q >= 0:
        for g in range(k):
            r = roots[g]
            merged = r == q
            if not merged:
                for i in range(8):
                    if not kept[q + ring[i]] and _root(parent, q + ring[i]) == r:
                        merged = True
                        break
            if merged:
                roots[g] = -1
    for g in range(k):
        for h in range(g + 1, k):
            if roots[g] == roots[h]:
                return False
    return True


@njit(cache=True)
def _remove(kept, parent, ring, p):
    kept[p] = 0
    for i in range(8):
        x = p + ring[i]
        if not kept[x]:
            a, b = _root(parent, p), _root(parent, x)
            if a != b:
                parent[a] = b


@njit(cache=True)
def _take_out(v, cand, where, n_cand, f_in, f_val, f_prev, f_next, f_head, f_tail, f_sum):
    """Swap-remove candidate ``v`` and unlink it from the frontier; returns ``(n_cand, f_head, f_tail, f_sum)``."""
    i = where[v]
    where[v] = -1
    n_cand -= 1
    last = cand[n_cand]
    if last != v:
        cand[i] = last
        where[last] = i
    if f_in[v]:
        f_in[v] = False
        f_sum -= f_val[v]
        if f_prev[v] >= 0:
            f_next[f_prev[v]] = f_next[v]
        else:
            f_head = f_next[v]
        if f_next[v] >= 0:
            f_prev[f_next[v]] = f_prev[v]
        else:
            f_tail = f_prev[v]
    return n_cand, f_head, f_tail, f_sum


@njit(cache=True)
def _frontier_append(c, val, f_in, f_val, f_prev, f_next, f_head, f_tail, f_sum):
    """Append ``c`` (value ``val``) at the frontier's tail; returns ``(f_head, f_tail, f_sum)``."""
    f_in[c] = True
    f_val[c] = val
    f_sum += val
    f_prev[c] = f_tail
    f_next[c] = -1
    if f_tail >= 0:
        f_next[f_tail] = c
    else:
        f_head = c
    return f_head, c, f_sum


@njit(cache=True)
def carve_holes(width, height, target, big, symmetric, protected, uniforms, gap_count, gap_pos, out):
    """Remove cells until ``target`` remain: `mazes._carve_holes_py`, decision for decision.

    ``uniforms`` are the draws in ``[0, 1)`` the Python version would take in turn. Writes the kept
    mask into ``out`` (bool ``[N]``) and returns the number of uniforms used, or -1 when it needs
    more than were given (the caller then gives a longer sequence: the same prefix, more draws).
    """
    n = width * height
    pw = width + 2
    size = (width + 2) * (height + 2)
    kept = np.zeros(size, dtype=np.uint8)
    for r in range(height):
        for c in range(width):
            kept[(r + 1) * pw + c + 1] = 1
    parent = np.arange(size)
    for x in range(pw):
        parent[x] = 0
        parent[size - pw + x] = 0
    for r in range(height + 2):
        parent[r * pw] = 0
        parent[r * pw + pw - 1] = 0
    ring = np.array([-pw, -pw + 1, 1, pw + 1, pw, pw - 1, -1, -pw - 1])
    ring_dr = np.array([-1, -1, 0, 1, 1, 1, 0, -1])
    ring_dc = np.array([0, 1, 1, 1, 0, -1, -1, -1])
    # The candidates: a list with swap-remove (cand, where) as in Python.
    lost = np.zeros(n, dtype=np.int64)
    cand = np.empty(n, dtype=np.int64)
    where = np.full(n, -1, dtype=np.int64)
    n_cand = 0
    for c in range(n):
        if not protected[c]:
            cand[n_cand] = c
            where[c] = n_cand
            n_cand += 1
    # The frontier: an insertion-ordered dict (cell -> lost^2) as a doubly linked list.
    f_in = np.zeros(n, dtype=np.bool_)
    f_val = np.zeros(n, dtype=np.int64)
    f_next = np.full(n, -1, dtype=np.int64)
    f_prev = np.full(n, -1, dtype=np.int64)
    f_head, f_tail, f_sum = -1, -1, 0
    blocked = np.zeros(n, dtype=np.bool_)
    changed = np.empty(16, dtype=np.int64)
    pair = np.empty(2, dtype=np.int64)
    kept_count = n
    draw = 0
    centre = n // 2 if n % 2 == 1 else -1
    while kept_count > target:
        if symmetric and kept_count - target < 2:
            if centre >= 0 and where[centre] >= 0 and _removable(
                    kept, parent, ring, gap_count, gap_pos, (centre // width + 1) * pw + centre % width + 1, -1):
                pair[0] = centre
                n_pair = 1
            else:
                break
        elif n_cand == 0:
            break
        else:
            if draw == uniforms.shape[0]:
                return -1
            removed = n - kept_count
            fsum = removed * f_sum if big else 0
            u = uniforms[draw] * (n_cand + fsum)
            draw += 1
            if u < n_cand:
                v = cand[int(u)]
            else:
                u -= n_cand
                v = -1
                c = f_head
                while c >= 0:
                    u -= removed * f_val[c]
                    v = c
                    if u < 0:
                        break
                    c = f_next[c]
            m = n - 1 - v
            n_pair = 1 if (not symmetric or m == v) else 2
            pair[0], pair[1] = v, m
            pv = (v // width + 1) * pw + v % width + 1
            ok = _removable(kept, parent, ring, gap_count, gap_pos, pv, -1)
            if ok and n_pair == 2:
                ok = where[m] >= 0 and _removable(
                    kept, parent, ring, gap_count, gap_pos, (m // width + 1) * pw + m % width + 1, pv)
            if not ok:
                # take_out(v), then set it aside
                n_cand, f_head, f_tail, f_sum = _take_out(v, cand, where, n_cand, f_in, f_val, f_prev, f_next,
                                                          f_head, f_tail, f_sum)
                blocked[v] = True
                continue
        n_changed = 0
        for j in range(n_pair):
            c = pair[j]
            _remove(kept, parent, ring, (c // width + 1) * pw + c % width + 1)
            if where[c] >= 0:
                n_cand, f_head, f_tail, f_sum = _take_out(c, cand, where, n_cand, f_in, f_val, f_prev, f_next,
                                                          f_head, f_tail, f_sum)
            kept_count -= 1
            r, col = c // width, c % width
            for i in range(8):
                rr, cc = r + ring_dr[i], col + ring_dc[i]
                if 0 <= rr < height and 0 <= cc < width:
                    nbr = rr * width + cc
                    changed[n_changed] = nbr
                    n_changed += 1
                    if ring_dr[i] == 0 or ring_dc[i] == 0:
                        lost[nbr] += 1
                        if where[nbr] >= 0:  # frontier[nbr] = lost^2 (the frontier holds only candidates)
                            val = lost[nbr] * lost[nbr]
                            if f_in[nbr]:
                                f_sum += val - f_val[nbr]
                                f_val[nbr] = val
                            else:
                                f_head, f_tail, f_sum = _frontier_append(nbr, val, f_in, f_val, f_prev, f_next,
                                                                         f_head, f_tail, f_sum)
        for j in range(n_changed):
            nbr = changed[j]
            if blocked[nbr] and kept[(nbr // width + 1) * pw + nbr % width + 1]:
                blocked[nbr] = False
                # put_back(nbr)
                where[nbr] = n_cand
                cand[n_cand] = nbr
                n_cand += 1
                if lost[nbr]:
                    f_head, f_tail, f_sum = _frontier_append(nbr, lost[nbr] * lost[nbr], f_in, f_val, f_prev,
                                                             f_next, f_head, f_tail, f_sum)
    for r in range(height):
        for c in range(width):
            out[r * width + c] = kept[(r + 1) * pw + c + 1] != 0
    return draw


@njit(cache=True)
def present_edges(cells, ea, eb):
    """Indices of the grid edges ``(ea[e], eb[e])`` whose two cells exist, in increasing order."""
    out = np.empty(ea.shape[0], dtype=np.int64)
    k = 0
    for e in range(ea.shape[0]):
        if cells[ea[e]] and cells[eb[e]]:
            out[k] = e
            k += 1
    return out[:k]


@njit(cache=True)
def kruskal(order, ea, eb, mirror, n, present):
    """Random spanning tree: edges taken in ``order`` (Kruskal); with a ``mirror`` (non-empty) the rotated
    edge of each tree edge joins the tree too, as in `mazes.generate_maze`. Returns the ``present`` edges
    left out of the tree, in ``present``'s order."""
    parent = np.arange(n)
    in_tree = np.zeros(ea.shape[0], dtype=np.bool_)
    sym = mirror.shape[0] > 0
    for i in range(order.shape[0]):
        e = order[i]
        if in_tree[e]:
            continue
        ra, rb = _root(parent, ea[e]), _root(parent, eb[e])
        if ra != rb:
            parent[ra] = rb
            in_tree[e] = True
            if sym:
                m = mirror[e]
                in_tree[m] = True
                rma, rmb = _root(parent, ea[m]), _root(parent, eb[m])
                if rma != rmb:
                    parent[rma] = rmb
    out = np.empty(present.shape[0], dtype=np.int64)
    k = 0
    for i in range(present.shape[0]):
        if not in_tree[present[i]]:
            out[k] = present[i]
            k += 1
    return out[:k]


@njit(cache=True)
def _choose(order, count, mirror, flags, value):
    """`mazes._choose` after its shuffle: flag the first ``count`` edges of ``order`` (rotated pairs together
    when ``mirror`` is non-empty, until ``count`` edges are flagged)."""
    if mirror.shape[0] == 0:
        for i in range(min(count, order.shape[0])):
            flags[order[i]] = value
        return
    seen = np.zeros(flags.shape[0], dtype=np.bool_)
    done = 0
    for i in range(order.shape[0]):
        e = order[i]
        if done >= count or seen[e]:
            continue
        m = mirror[e]
        seen[e] = True
        seen[m] = True
        flags[e] = value
        flags[m] = value
        done += 1 if m == e else 2


@njit(cache=True)
def drop_walls(order, n_walls, mirror, present, n_edges):
    """The edges kept after walling the first ``n_walls`` of the shuffled non-tree edges ``order``
    (`mazes.generate_maze`), in increasing order."""
    keep = np.zeros(n_edges, dtype=np.bool_)
    for i in range(present.shape[0]):
        keep[present[i]] = True
    if n_walls > 0:
        _choose(order, n_walls, mirror, keep, False)
    return np.flatnonzero(keep)


@njit(cache=True)
def pick_mud(order, n_mud, mirror, n_edges):
    """The mud edges among the shuffled kept edges ``order`` (`mazes.generate_maze`), in increasing order."""
    mud = np.zeros(n_edges, dtype=np.bool_)
    _choose(order, n_mud, mirror, mud, True)
    return np.flatnonzero(mud)


@njit(cache=True)
def maze_tables(width, height, cells, ea, eb, edges, mud_edges, draws, mirror):
    """The `Maze` tables ``weights`` (int16 ``[N, 5]``) and ``neighbors`` (int32 ``[N, 5]``) of a generated
    maze: ``edges`` (indices into the grid edges ``ea``/``eb``), weight 1 but ``draws`` on ``mud_edges``
    (with a ``mirror``, each rotated pair takes the weight drawn for its lower index)."""
    n = width * height
    weight = np.ones(ea.shape[0], dtype=np.int16)
    for i in range(mud_edges.shape[0]):
        weight[mud_edges[i]] = draws[i]
    if mirror.shape[0] > 0:
        drawn = weight.copy()
        for i in range(mud_edges.shape[0]):
            e = mud_edges[i]
            weight[e] = drawn[min(e, mirror[e])]
    weights = np.zeros((n, 5), dtype=np.int16)
    neighbors = np.empty((n, 5), dtype=np.int32)
    for c in range(n):
        for a in range(5):
            neighbors[c, a] = c
    for i in range(edges.shape[0]):
        e = edges[i]
        a, b, w = ea[e], eb[e], weight[e]
        if b - a != width:  # horizontal (in a 1-wide grid vertical edges differ by 1 too)
            weights[a, 2], weights[b, 4] = w, w
            neighbors[a, 2], neighbors[b, 4] = b, a
        else:
            weights[a, 3], weights[b, 1] = w, w
            neighbors[a, 3], neighbors[b, 1] = b, a
    return weights, neighbors


@njit(cache=True)
def _nearest_existing(cells, width, cell):
    """`engine.nearest_existing_cell`: the cell if it exists, else the closest existing one (lowest on ties)."""
    if cells[cell]:
        return cell
    r0, c0 = cell // width, cell % width
    best, best_d = -1, 0
    for c in range(cells.shape[0]):
        if cells[c]:
            dr, dc = c // width - r0, c % width - c0
            d = dr * dr + dc * dc
            if best < 0 or d < best_d:
                best, best_d = c, d
    return best


@njit(cache=True)
def new_setup(words, n_words, width, height, target, big, symmetric, protected, wall_pct, mud_pct, lo, hi,
              ea, eb, mirror, gap_count, gap_pos, start_cells, starts_out, cheese_out):
    """`mazes.new_game` in one call, with the seed's own draws (the same as numpy's, in the same order).

    ``start_cells``: one cell per player, -2 for "the previous player's" (``same``). Writes the starts and the
    cheese; returns ``(status, cells, weights, neighbors)``, status -1 when the cheese do not fit (the
    caller then runs the Python code, which raises the error).
    """
    n = width * height
    st = np.zeros(6, dtype=np.uint64)
    seed_state(words, n_words, st)
    cells = np.ones(n, dtype=np.bool_)
    if target < n:  # as `_carve_holes`: uniforms drawn 4 * n at a time
        uniforms = np.empty(4 * n)
        for i in range(4 * n):
            uniforms[i] = next_double(st)
        while carve_holes(width, height, target, big, symmetric, protected, uniforms, gap_count, gap_pos,
                          cells) < 0:
            more = np.empty(uniforms.shape[0] + 4 * n)
            more[:uniforms.shape[0]] = uniforms
            for i in range(uniforms.shape[0], more.shape[0]):
                more[i] = next_double(st)
            uniforms = more
    present = present_edges(cells, ea, eb)
    order = present.copy()
    shuffle(st, order)
    non_tree = kruskal(order, ea, eb, mirror, n, present)
    n_walls = int(non_tree.shape[0] * wall_pct / 100)
    if n_walls > 0:
        shuffle(st, non_tree)
    edges = drop_walls(non_tree, n_walls, mirror, present, ea.shape[0])
    n_mud = int(edges.shape[0] * mud_pct / 100)
    mud_edges = np.zeros(0, dtype=np.int64)
    draws = np.zeros(0, dtype=np.int64)
    if n_mud > 0:
        order = edges.copy()
        shuffle(st, order)
        mud_edges = pick_mud(order, n_mud, mirror, ea.shape[0])
        draws = np.empty(mud_edges.shape[0], dtype=np.int64)
        integers_fill(st, lo, hi - lo, draws)
    weights, neighbors = maze_tables(width, height, cells, ea, eb, edges, mud_edges, draws, mirror)
    # starts (`resolve_starts` without "random"), then cheese (`place_cheese`)
    for p in range(start_cells.shape[0]):
        c = start_cells[p]
        starts_out[p] = starts_out[p - 1] if c == -2 else _nearest_existing(cells, width, c)
    taken = np.zeros(n, dtype=np.bool_)
    for p in range(starts_out.shape[0]):
        taken[starts_out[p]] = True
    available = np.empty(n, dtype=np.int64)
    k = 0
    for c in range(n):
        if cells[c] and not taken[c]:
            available[k] = c
            k += 1
    available = available[:k]
    n_cheese = cheese_out.shape[0]
    if k < n_cheese:
        return -1, cells, weights, neighbors
    if not symmetric:
        shuffle(st, available)
        cheese_out[:] = available[:n_cheese]
        return 0, cells, weights, neighbors
    last = n - 1
    pairs = np.empty(k, dtype=np.int64)
    n_pairs = 0
    centre = -1
    for i in range(k):
        c = available[i]
        if c < last - c and not taken[last - c]:
            pairs[n_pairs] = c
            n_pairs += 1
        elif c == last - c and centre < 0:
            centre = c
    pairs = pairs[:n_pairs]
    shuffle(st, pairs)
    chosen = 0
    if n_cheese % 2 == 1 and centre >= 0:
        cheese_out[0] = centre
        chosen = 1
    for i in range(n_pairs):
        if chosen + 2 > n_cheese:
            break
        cheese_out[chosen] = pairs[i]
        cheese_out[chosen + 1] = last - pairs[i]
        chosen += 2
    if chosen < n_cheese:
        return -1, cells, weights, neighbors
    return 0, cells, weights, neighbors


# -- encoders ------------------------------------------------------------------------------------------------
@njit(cache=True)
def encode_rows(static, rows, out, cheese, pos, mud_target, mud_count, scores, turn, n_cheese, rotate, n_initial,
                player, two, channel_base, step, gbase, gstep, gcount, horizon, mud_scale):
    """`BatchEncoding.encode`: ``out[i]`` = static part of row ``rows[i]`` plus its dynamic channels and globals.

    ``static``/``out`` are flattened observations ``[*, L]``; cell channel k of view cell j lies at
    ``channel_base[k] + j * step``, global g at ``gbase[g] + t * gstep`` for t < gcount. The static part
    must hold 0 in the dynamic channels (templates do): they may be written as zeros instead of copied.
    Computed positions are unsigned (``np.uintp``): indexing with them skips numba's negative-index
    check, which keeps the loops vectorised.
    """
    n = cheese.shape[1]
    n1 = n - 1
    un = np.uintp(n)
    length = np.uintp(out.shape[1])
    ustep = np.uintp(step)
    ucount = np.uintp(gcount)
    ugstep = np.uintp(gstep)
    # Channel-major layouts (planes, flat) hold channels 0-8 (static), 9-13 (dynamic) and the globals in
    # blocks: copy only the static block and zero the dynamic one (less memory read than a full copy).
    blocks = step == 1
    for k in range(N_CELL_CHANNELS):
        if channel_base[k] != k * n:
            blocks = False
    lo, hi = gbase.min(), gbase.max() + (gcount - 1) * gstep + 1
    if not (gstep == 1 and hi - lo == 4 * gcount and lo == N_CELL_CHANNELS * n):
        blocks = False
    ustatic = np.uintp(N_STATIC_CHANNELS * n)
    udyn_end = np.uintp(N_CELL_CHANNELS * n)
    ugend = np.uintp(hi)
    cbase = np.uintp(channel_base[9])
    un1 = np.uintp(n1)
    for i in range(rows.shape[0]):
        r = rows[i]
        o = out[i]
        s = static[r]
        if blocks:
            for x in range(ustatic):
                o[x] = s[x]
            for x in range(ustatic + un, udyn_end):  # the cheese channel is written in full below
                o[x] = 0.0
            for x in range(ugend, length):
                o[x] = s[x]
        else:
            for x in range(length):
                o[x] = s[x]
        rot = rotate[r]
        # the whole cheese channel, without branches (the static part is 0 there)
        if rot:
            for c in range(np.uintp(n)):
                o[cbase + (un1 - c) * ustep] = np.float32(cheese[r, c])
        else:
            for c in range(np.uintp(n)):
                o[cbase + c * ustep] = np.float32(cheese[r, c])
        for k in range(2 if two else 1):
            q = player if k == 0 else 1 - player
            c = pos[r, q]
            o[channel_base[10 + k] + (n1 - c if rot else c) * step] = 1.0
            t = mud_target[r, q]
            if t >= 0:
                o[channel_base[12 + k] + (n1 - t if rot else t) * step] = min(mud_count[r, q] / mud_scale, 1.0)
        nb = np.float64(n_initial[r])
        g0 = scores[r, player] / nb
        g1 = scores[r, 1 - player] / nb if two else 0.0
        g2 = np.float64(n_cheese[r]) / nb
        g3 = min(np.float64(max(turn[r] - 1, 0)) / horizon, 1.0)
        for g in range(4):
            v = np.float32(g0 if g == 0 else (g1 if g == 1 else (g2 if g == 2 else g3)))
            gb = np.uintp(gbase[g])
            for t in range(ucount):
                o[gb + t * ugstep] = v


@njit(cache=True)
def static_rows(static, row, weights, cells, rot, channel_base, step, mud_scale):
    """Channels 0-8 (walls, mud, hole) of one maze into the flattened observation ``static[row]``,
    as `encoders.static_cells` computes them (view frame rotated when ``rot``)."""
    n = cells.shape[0]
    n1 = n - 1
    o = static[row]
    for c in range(n):
        v = n1 - c if rot else c
        for d in range(4):
            w = weights[c, d + 1]
            vd = (d + 2) % 4 if rot else d   # a rotated view reverses every direction
            o[channel_base[vd] + v * step] = 1.0 if w == 0 else 0.0
            o[channel_base[4 + vd] + v * step] = np.float32(min(w / mud_scale, 1.0)) if w > 1 else 0.0
        o[channel_base[8] + v * step] = 0.0 if cells[c] else 1.0
