"""Template of a tournament submission: a pyrat-game ``Player`` that walks to the nearest cheese.

Copy this file, name the copy after yourself (``alice.py``: the file name becomes your name in
the standings), and improve ``turn``. Rules of a submission:

* one ``.py`` file that defines one ``Player`` subclass (or a ``pyrat_env.Agent`` subclass, see
  ``agent_template.py``);
  it may import the standard library, numpy, scipy, torch and pyrat; in a tournament it runs in a sandbox
  that sees this file only (not files placed beside it), with no network, writing only to its own ``/tmp``;
* ``preprocessing`` may think for 3 seconds, ``turn`` for 0.1 second: a late answer counts as
  ``nothing``, and 10 late answers in a row lose the game;
* an exception or a value that is not an ``Action`` counts as ``nothing``; exiting, crashing or
  going over the memory limit (4 GB) loses the game. What you print is kept (the first 8 kB) in
  the tournament database for your teacher, nowhere else.

It needs pyrat-game (``pip install "pyrat-rl[players]"``; the student install ``pyrat-rl[all]`` has it).
Try it before you submit (``pyrat tournament check alice.py`` plays one game under tournament conditions)::

    pyrat play path/to/alice.py greedy --games 2 --seed 1
    pyrat tournament run --agents path/to/alice.py greedy random --preset tiny --db try.sqlite
"""

from __future__ import annotations

import heapq

from pyrat import Action, GameState, Maze, Player


class StudentPlayer(Player):
    """Goes to the nearest piece of cheese (mud counted) by a shortest path, recomputed every turn."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.plan: list[int] = []

    def preprocessing(self, maze: Maze, game_state: GameState) -> None:
        """Turn 0, up to 3 s: precompute what depends only on the maze here."""
        self.plan = []

    def turn(self, maze: Maze, game_state: GameState) -> Action:
        """Each turn, up to 0.1 s: return one of Action.NORTH, SOUTH, EAST, WEST, NOTHING."""
        me = game_state.player_locations[self.get_name()]
        cheese = set(game_state.cheese)
        if not cheese:
            return Action.NOTHING
        path = self.shortest_path_to_any(maze, me, cheese)
        if len(path) < 2:
            return Action.NOTHING
        return maze.locations_to_action(path[0], path[1])

    @staticmethod
    def shortest_path_to_any(maze: Maze, source: int, targets: set[int]) -> list[int]:
        """Dijkstra from ``source`` (mud weights counted) to the nearest cell of ``targets``."""
        dist = {source: 0}
        parent: dict[int, int] = {}
        heap = [(0, source)]
        while heap:
            d, cell = heapq.heappop(heap)
            if d > dist[cell]:
                continue
            if cell in targets:
                path = [cell]
                while path[-1] != source:
                    path.append(parent[path[-1]])
                return path[::-1]
            for nb in maze.get_neighbors(cell):
                nd = d + maze.get_weight(cell, nb)
                if nd < dist.get(nb, float("inf")):
                    dist[nb] = nd
                    parent[nb] = cell
                    heapq.heappush(heap, (nd, nb))
        return [source]
