"""Compiled (numba) kernels, one module per job; loaded on demand through `pyrat_env._accel`."""
