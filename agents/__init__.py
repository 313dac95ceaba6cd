"""Agents that play PyRat, and the machinery to pit them against each other.

* `pyrat_env.agent`: the `Agent` interface (``start`` at turn 0, ``act`` each turn out of mud, ``end``).
* `pyrat_rl.agents.scripted`: the experts ``random``, ``greedy``, ``opportunist`` and ``search``.
* `pyrat_rl.agents.net_search`: a policy network guiding the ``search`` expert at play time (opponent model,
  prior); checkpoints exported with ``--lookahead search`` load as it.
* `pyrat_rl.agents.spec`: naming agents (built-in names, ``file.py:Class``, ``module:Class``, checkpoints);
  ``pyrat agents``.
* `pyrat_rl.agents.pyrat_player`: students' pyrat-game ``Player`` classes, played unchanged.
* `pyrat_rl.agents.match`: one game or a series (paired seats), with the official time limits, and replays;
  `pyrat_rl.agents.play_cli` is ``pyrat play``.
* `pyrat_rl.agents.tournament`: tournaments (schedule, isolation, ratings).
* `agents/templates/`: starting points for students.

Nothing is imported here, so ``import pyrat_env.agent`` stays light.
"""
