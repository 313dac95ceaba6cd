"""Compiled (numba) kernels, one module per job; loaded on demand through `pyrat_env._accel`, never at import time.

* ``rules``: `GameBatch`'s turn (`batch_step`) and new game in a slot (`reset_slot`).
* ``paths``: travel times by Dial's bucket queue (`distances_from`, `all_pairs`, and `dial_until`, the early
  stopping search the greedy expert's kernel, ``pyrat_rl.agents.greedy_kernel``, uses).
* ``mazes``: maze generation decision for decision as `pyrat_env.mazes`, and a whole game set-up in one call
  (`new_setup`), with numpy's random numbers replayed by ``rng``.
* ``encoders``: `BatchEncoding`'s observations of many games in one pass.

Each kernel has a plain numpy / Python twin that gives exactly the same results (``tests/test_kernels.py``).
All use ``cache=True``: compiled once per machine (a few seconds in all, cached in ``__pycache__``), then loaded.
This package imports nothing itself, so importing one job's module does not load the others.
"""
