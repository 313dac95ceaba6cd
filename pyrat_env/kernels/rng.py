"""numpy's random numbers replayed in compiled code (numba), for the one-call game set-up (`kernels.mazes.new_setup`).

``np.random.default_rng(seed)`` (SeedSequence -> PCG64) and the Generator methods the maze generator uses
(``random``, ``shuffle``/``permutation``, ``integers``), draw for draw as numpy computes them, so that
`new_setup` makes a whole game in one call and still gives the game numpy's draws give. A PCG64 state is
a uint64 array ``[state_hi, state_lo, inc_hi, inc_lo, has_uint32, uinteger]``. numpy does not promise
that these algorithms never change: ``pyrat_env.mazes`` checks them against numpy once per process
(`mazes._fused_matches_numpy`) and uses `new_setup` only when they agree; ``tests/test_kernels.py`` checks
them draw for draw.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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
