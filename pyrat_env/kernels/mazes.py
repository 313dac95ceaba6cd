"""Compiled maze generation (numba): `pyrat_env.mazes` decision for decision, and a whole game set-up in one call.

`carve_holes`, `present_edges`, `kruskal`, `drop_walls`, `pick_mud`, `maze_tables` make the same decisions as
the Python generator from the same random draws (taken by the caller with numpy), so a seed gives the same maze
whichever runs; `new_setup` makes maze, starts and cheese in one call with numpy's draws replayed
(`kernels.rng`). Loaded on demand by `pyrat_env._accel`; ``tests/test_kernels.py`` compares every path.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rng import integers_fill, next_double, seed_state, shuffle


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
