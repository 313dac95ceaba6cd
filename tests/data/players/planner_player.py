"""A student-style pyrat-game player that plans in ``preprocessing`` and reads its stats in ``postprocessing``.

In preprocessing it runs Dijkstra (on the maze's own methods) and plans a route to the nearest
cheese; each turn it follows the route, planning again when its target has been eaten. In
postprocessing it keeps the stats it was given.
"""

import heapq

from pyrat import Action, GameState, Maze, Player


def dijkstra(maze: Maze, source: int) -> tuple[dict[int, int], dict[int, int]]:
    """Travel times from ``source`` and the predecessor of every cell on a fastest route."""
    dist, parent = {source: 0}, {}
    queue = [(0, source)]
    while queue:
        d, cell = heapq.heappop(queue)
        if d > dist[cell]:
            continue
        for nb in sorted(maze.get_neighbors(cell)):
            nd = d + maze.get_weight(cell, nb)
            if nb not in dist or nd < dist[nb]:
                dist[nb], parent[nb] = nd, cell
                heapq.heappush(queue, (nd, nb))
    return dist, parent


class Planner(Player):
    """Plans a fastest route to the nearest cheese in preprocessing, and again when that cheese is gone."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.route: list[Action] = []
        self.target: int | None = None
        self.preprocessed_at: int | None = None
        self.final_stats: dict | None = None
        self.final_turn: int | None = None

    def _plan(self, maze: Maze, game_state: GameState) -> None:
        here = game_state.player_locations[self.get_name()]
        dist, parent = dijkstra(maze, here)
        self.target = min(game_state.cheese, key=lambda c: (dist.get(c, float("inf")), c))
        cells = [self.target]
        while cells[-1] != here:
            cells.append(parent[cells[-1]])
        cells.reverse()
        self.route = maze.locations_to_actions(cells)

    def preprocessing(self, maze: Maze, game_state: GameState) -> None:
        self.preprocessed_at = game_state.turn
        self._plan(maze, game_state)

    def turn(self, maze: Maze, game_state: GameState) -> Action:
        if self.target not in game_state.cheese or not self.route:
            self._plan(maze, game_state)
        return self.route.pop(0)

    def postprocessing(self, maze: Maze, game_state: GameState, stats: dict) -> None:
        self.final_stats = stats
        self.final_turn = game_state.turn
