"""Compiled batched encoders (numba): `encoders.BatchEncoding`'s observations of many games in one pass.

Loaded on demand by `pyrat_env._accel`; the numpy code of `BatchEncoding` is the twin (``tests/test_kernels.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..engine import ROTATED_ACTION

# The channel layout of `pyrat_env.encoders` (a higher layer, not imported here: ``tests/test_kernels.py`` checks
# these agree with its N_STATIC and N_CELL): cell channels 0-8 depend on the maze only, 9-13 change during a game
# (9 cheese, 10/11 the two players, 12/13 their mud).
N_STATIC_CHANNELS = 9
N_CELL_CHANNELS = 14


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
            vd = ROTATED_ACTION[d + 1] - 1 if rot else d   # a rotated view reverses every direction
            o[channel_base[vd] + v * step] = 1.0 if w == 0 else 0.0
            o[channel_base[4 + vd] + v * step] = np.float32(min(w / mud_scale, 1.0)) if w > 1 else 0.0
        o[channel_base[8] + v * step] = 0.0 if cells[c] else 1.0
