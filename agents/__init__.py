"""Agents that play PyRat, and the machinery to pit them against each other.

* `agents.base`: the `Agent` interface (``start`` at turn 0, ``act`` each turn out of mud, ``end``).
* `agents.scripted`: the experts ``random``, ``greedy``, ``opportunist`` and ``search``.
* `agents.spec`: naming agents (built-in names, ``file.py:Class``, ``module:Class``, checkpoints);
  ``pyrat agents``.
* `agents.pyrat_player`: students' pyrat-game ``Player`` classes, played unchanged.
* `agents.match`: one game or a series (paired seats), with the official time limits, and replays;
  `agents.play_cli` is ``pyrat play``.
* `agents.tournament`: tournaments (schedule, isolation, ratings).
* `agents/templates/`: starting points for students.

Nothing is imported here, so ``import agents.base`` stays light.
"""
