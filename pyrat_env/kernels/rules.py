"""Compiled rules of a turn for `GameBatch` (numba): `batch_step` plays one turn of every game, `reset_slot`
puts a new game in a slot.

Loaded on demand by `pyrat_env._accel` (never at import time). The plain Python rules are `engine.Game`'s,
which `GameBatch` also runs without the kernels; ``tests/test_kernels.py`` checks the three give the same games.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
