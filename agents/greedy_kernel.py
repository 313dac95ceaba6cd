"""The greedy expert's compiled move for every game of a `GameBatch` (numba): `GreedyAgent.act_batch`'s kernel.

Loaded on demand through ``pyrat_env._accel.kernels("pyrat_rl.agents.greedy_kernel")``, never at import time.
It searches with the engine's compiled Dial's algorithm (`pyrat_env.kernels.paths`); `GreedyAgent.act` (one
game, all-pairs times) is the twin, and ``tests/test_kernels.py`` checks they choose the same moves.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pyrat_env.kernels.paths import dial_scratch, dial_until, pack_edges


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
    nbk, bucket, blen = dial_scratch(n, 1)
    for b in range(pos.shape[0]):
        p = pos[b, seat]
        t = state[b, 1]
        if not (state[b, 0] == game_ids[b] and t >= 0 and cheese[b, t] and (p == state[b, 2] or p == state[b, 3])):
            maxw = pack_edges(neighbors[b], weights[b], adj, deg)
            if maxw >= nbk:
                nbk, bucket, blen = dial_scratch(n, maxw)
            state[b, 0] = game_ids[b]
            t = dial_until(p, adj, deg, nbk, dist, bucket, blen, big, cheese[b])
            state[b, 1] = t
            if t >= 0:
                dial_until(t, adj, deg, nbk, to_target[b], bucket, blen, dist[t] + maxw, no_goals)
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
