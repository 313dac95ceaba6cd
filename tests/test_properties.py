"""Property tests of the engine on random mazes and random play (hypothesis).

Random games (sizes, holes, walls, mud, 1 to 4 players, teams, turn limits) are played by a mix of a
greedy policy (so that games end) and random actions (illegal ones included). Every turn the state
must keep the invariants of the rules, and `GameBatch` must give exactly the states of `Game`.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyrat_env.engine import Game, GameBatch, Maze, ranking_decided
from pyrat_env.mazes import MAZE_ALGORITHMS, GameConfig, new_game

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MORE = settings(SETTINGS, max_examples=100)
MAX_TURNS_PLAYED = 200
SEEDS = st.integers(0, 2**32 - 1)


@st.composite
def game_configs(draw, width: int | None = None, height: int | None = None, n_players: int | None = None,
                 teams: tuple | None | str = "draw", max_turns: int | None | str = "draw") -> GameConfig:
    """A small random GameConfig; fixed arguments are kept (so that a batch can share size and players)."""
    width = width if width is not None else draw(st.integers(3, 8))
    height = height if height is not None else draw(st.integers(2, 7))
    n_players = n_players if n_players is not None else draw(st.integers(1, 4))
    cell_pct = draw(st.sampled_from([40.0, 70.0, 90.0, 100.0]))
    if max(int(width * height * cell_pct / 100), 2) <= n_players:  # room for one cheese besides the starts
        cell_pct = 100.0
    n_cells = max(int(width * height * cell_pct / 100), 2)
    first = ["center", "top_left", "top_right", "bottom_left", "bottom_right", "random",
             draw(st.integers(0, width * height - 1))]
    starts = [draw(st.sampled_from(first))] + [draw(st.sampled_from(first + ["same"])) for _ in range(n_players - 1)]
    if teams == "draw":
        teams = draw(st.one_of(st.none(), st.lists(st.sampled_from("abc"), min_size=n_players,
                                                   max_size=n_players).map(tuple)))
    if max_turns == "draw":
        max_turns = draw(st.one_of(st.none(), st.integers(1, 60)))
    low = draw(st.integers(2, 6))
    return GameConfig(
        width=width, height=height, cell_percentage=cell_pct,
        wall_percentage=draw(st.sampled_from([0.0, 30.0, 60.0, 100.0])),
        mud_percentage=draw(st.sampled_from([0.0, 20.0, 50.0, 100.0])),
        mud_range=(low, low + draw(st.integers(0, 4))),
        maze_algorithm=draw(st.sampled_from(MAZE_ALGORITHMS)),
        nb_cheese=draw(st.integers(1, max(1, min(8, n_cells - n_players)))),
        starts=tuple(starts), teams=teams, max_turns=max_turns)


def distances(maze: Maze) -> np.ndarray:
    """All-pairs number of moves (ignoring mud weights); unreachable pairs get a large number."""
    n = maze.n_cells
    out = np.full((n, n), 10**6, dtype=np.int64)
    for s in maze.existing_cells().tolist():
        out[s, s] = 0
        queue = deque([s])
        while queue:
            c = queue.popleft()
            for nb in maze.neighbours(c):
                if out[s, nb] > out[s, c] + 1:
                    out[s, nb] = out[s, c] + 1
                    queue.append(nb)
    return out


class MixedPolicy:
    """Greedy towards the nearest cheese with probability ``greed``, else any action 0..4 (illegal ones too)."""

    def __init__(self, maze: Maze, seed: int, greed: float) -> None:
        self.maze, self.dist, self.greed = maze, distances(maze), greed
        self.rng = np.random.default_rng(seed)

    def actions(self, game: Game) -> list[int]:
        out = []
        for p in range(game.n_players):
            if self.rng.random() >= self.greed or not game.cheese:
                out.append(int(self.rng.integers(0, 5)))
                continue
            cheese = np.asarray(game.cheese)
            best, best_d = 0, 10**9
            for a in range(1, 5):
                if self.maze.weights[game.pos[p], a] > 0:
                    d = int(self.dist[self.maze.neighbors[game.pos[p], a], cheese].min())
                    if d < best_d:
                        best, best_d = a, d
            out.append(best)
        return out


def team_scores(scores: list[float], teams: list) -> list[float]:
    labels = list(dict.fromkeys(teams))
    return [round(sum(s for s, t in zip(scores, teams) if t == label), 5) for label in labels]


def check_turn(game: Game, before: dict, actions: list[int], gains: list[float]) -> None:
    """Every invariant of one turn, from the state ``before`` (a snapshot) to ``game`` now."""
    maze, n = game.maze, game.n_players
    assert game.turn == before["turn"] + 1
    prev_pos = [before["locations"][str(p)] for p in range(n)]
    prev_mud = [before["muds"][str(p)] for p in range(n)]
    for p in range(n):
        cell = game.pos[p]
        assert maze.exists(cell)
        target, count = game.mud_target[p], game.mud_count[p]
        if target is None:
            assert count == 0
        else:
            assert target in maze.neighbours(cell)
            assert 1 <= count <= maze.weight(cell, target) - 1
        # Where the player may be now, given where it was and what it chose.
        if before["turn"] == 0:
            assert (cell, target, count) == (prev_pos[p], None, 0)
        elif prev_mud[p]["target"] is not None:  # in mud: the action is ignored
            t, c = prev_mud[p]["target"], prev_mud[p]["count"]
            assert (cell, target, count) == ((t, None, 0) if c == 1 else (prev_pos[p], t, c - 1))
        else:
            w = int(maze.weights[prev_pos[p], actions[p]])
            nb = int(maze.neighbors[prev_pos[p], actions[p]])
            expected = {0: (prev_pos[p], None, 0), 1: (nb, None, 0)}.get(w, (prev_pos[p], nb, w - 1))
            assert (cell, target, count) == expected

    # Cheese: removed in order, only under players, and every cheese under a player is eaten.
    initial, remaining, prev_remaining = game.initial_cheese, game.cheese, before["cheese"]
    assert remaining == [c for c in initial if c in set(remaining)]
    eaten = set(prev_remaining) - set(remaining)
    assert eaten <= set(game.pos)
    assert not set(remaining) & set(game.pos)
    assert len(remaining) + len(eaten) == len(prev_remaining)
    n_eaten = len(initial) - len(remaining)
    assert abs(sum(game.scores) - n_eaten) < 1e-9
    for p in range(n):
        k = game.pos.count(game.pos[p])
        assert gains[p] == (1.0 / k if game.pos[p] in eaten else 0.0)
        assert game.scores[p] == before["scores"][str(p)] + gains[p]

    # End of the game.
    n_teams = len(set(game.teams))
    decided = not remaining or (n_teams >= 2 and ranking_decided(team_scores(game.scores, game.teams), len(remaining)))
    assert game.terminated == decided
    limit = game.max_turns is not None and game.turn - 1 >= game.max_turns
    assert game.truncated == (limit and not decided)


@MORE
@given(config=game_configs(), seed=SEEDS, policy_seed=SEEDS, greed=st.sampled_from([0.0, 0.5, 0.9]))
def test_game_invariants(config: GameConfig, seed: int, policy_seed: int, greed: float) -> None:
    setup = new_game(config, seed)
    game = setup.game()
    assert len(set(setup.cheese)) == config.nb_cheese and not set(setup.cheese) & set(setup.starts)
    policy = MixedPolicy(setup.maze, policy_seed, greed)
    for _ in range(MAX_TURNS_PLAYED):
        if game.over:
            break
        before = game.snapshot()
        actions = policy.actions(game)
        gains = game.step(actions)
        check_turn(game, before, actions, gains)
    if game.over:
        try:
            game.step([0] * game.n_players)
        except RuntimeError:
            pass
        else:
            raise AssertionError("stepping a finished game must raise")


@st.composite
def batches(draw) -> tuple[list[GameConfig], tuple | None, int | None]:
    width, height = draw(st.integers(3, 7)), draw(st.integers(2, 6))
    n_players = draw(st.integers(1, 4))
    teams = draw(st.one_of(st.none(), st.lists(st.sampled_from("ab"), min_size=n_players,
                                               max_size=n_players).map(tuple)))
    max_turns = draw(st.one_of(st.none(), st.integers(1, 80)))
    b = draw(st.integers(2, 5))
    configs = [draw(game_configs(width, height, n_players, teams, max_turns)) for _ in range(b)]
    return configs, teams, max_turns


@SETTINGS
@given(spec=batches(), seeds=st.lists(SEEDS, min_size=5, max_size=5), policy_seed=SEEDS,
       resets=st.integers(0, 3))
def test_batch_matches_single_games(spec, seeds, policy_seed: int, resets: int) -> None:
    configs, teams, max_turns = spec
    b = len(configs)
    setups = [new_game(c, s) for c, s in zip(configs, seeds)]
    games = [s.game() for s in setups]
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups],
                      teams, max_turns)
    policies = [MixedPolicy(s.maze, policy_seed + i, 0.7) for i, s in enumerate(setups)]
    rng = np.random.default_rng(policy_seed)
    n_players = len(setups[0].starts)
    for i in range(b):
        assert batch.game_view(i) == games[i].snapshot()
        assert bool(batch.terminated[i]) == games[i].terminated
    for turn in range(MAX_TURNS_PLAYED):
        if batch.over.all():
            break
        actions = np.array([policies[i].actions(games[i]) if not games[i].over
                            else rng.integers(0, 5, n_players).tolist() for i in range(b)])
        gains = batch.step(actions)
        for i in range(b):
            if games[i].over:  # a finished game stays as it was, whatever its actions
                assert not gains[i].any()
            else:
                assert gains[i].tolist() == games[i].step(actions[i].tolist())
            assert batch.game_view(i) == games[i].snapshot(), f"game {i} differs at step {turn}"
            assert (bool(batch.terminated[i]), bool(batch.truncated[i])) == (games[i].terminated, games[i].truncated)
            # A slot whose game ended may get a new game (same config, so its cheese fits), as vectorised envs do.
            if games[i].over and resets > 0:
                resets -= 1
                new = new_game(configs[i], seeds[i] + 1000 + resets)
                batch.reset_game(i, new.maze, new.cheese, new.starts)
                games[i] = new.game(max_turns)
                policies[i] = MixedPolicy(new.maze, policy_seed + 100 + resets, 0.7)
                assert batch.game_view(i) == games[i].snapshot()
                assert not batch.over[i]
    for i in range(b):
        copy = batch.to_game(i)
        assert copy.snapshot() == games[i].snapshot()
        assert (copy.terminated, copy.truncated) == (games[i].terminated, games[i].truncated)


def test_batch_games_end_at_different_turns() -> None:
    """A fixed mixed batch, checked to really contain games that end before others (not left to chance)."""
    base = dict(width=6, height=5, starts=("top_left", "bottom_right"))
    configs = [GameConfig(nb_cheese=1, **base), GameConfig(nb_cheese=9, mud_percentage=60.0, **base),
               GameConfig(nb_cheese=3, maze_algorithm="holes_on_side", wall_percentage=0.0, **base),
               GameConfig(nb_cheese=5, maze_algorithm="uniform_holes", cell_percentage=60.0, **base)]
    setups = [new_game(c, 7 + i) for i, c in enumerate(configs)]
    games = [s.game() for s in setups]
    batch = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups])
    policies = [MixedPolicy(s.maze, i, 0.8) for i, s in enumerate(setups)]
    end_turns = [None] * len(games)
    for _ in range(400):
        if batch.over.all():
            break
        actions = np.array([policies[i].actions(g) if not g.over else [1, 3] for i, g in enumerate(games)])
        batch.step(actions)
        for i, g in enumerate(games):
            if not g.over:
                g.step(actions[i].tolist())
                if g.over:
                    end_turns[i] = g.turn
            assert batch.game_view(i) == g.snapshot()
    assert None not in end_turns
    assert len(set(end_turns)) >= 3, end_turns
    assert batch.turn.tolist() == end_turns
