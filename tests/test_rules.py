"""Table-driven tests of the PyRat rules (``docs/rules.md``), run on both `Game` and `GameBatch`.

Each case is a small hand-written maze, start cells, teams, and a list of turns: the actions played
(one letter per player: ``N``, ``E``, ``S``, ``W`` or ``.`` for nothing) and the state expected right
after that turn. The preprocessing step (turn 0) is played first by the runner, with ``Case.pre`` as
actions (nothing by default), and must leave the start state untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from pyrat_env import _accel
from pyrat_env.engine import (
    ACTION_INDEX,
    ACTION_NAMES,
    EAST,
    NORTH,
    NOTHING,
    ROTATED_ACTION,
    ROTATED_ACTION_TUPLE,
    SOUTH,
    WEST,
    Game,
    GameBatch,
    Maze,
    MazeError,
    compare_scores,
    compare_scores_array,
    ranking_decided,
    round_score,
    round_scores,
)
from pyrat_env.mazes import GameConfig

LETTERS = {".": NOTHING, "N": NORTH, "E": EAST, "S": SOUTH, "W": WEST}
THIRD = 1 / 3


def grid(width: int, height: int, walls=(), mud=None, holes=()) -> Maze:
    """An open ``width x height`` grid minus ``holes`` and ``walls`` (cell pairs), with ``mud`` {(a, b): weight}."""
    mud = {tuple(sorted(k)): w for k, w in (mud or {}).items()}
    walls = {tuple(sorted(p)) for p in walls}
    holes = set(holes)
    edges = []
    for a, b, _ in Maze.open_grid(width, height).edges():
        if a in holes or b in holes or (a, b) in walls:
            continue
        edges.append((a, b, mud.pop((a, b), 1)))
    assert not mud, f"mud on pairs that are not edges: {mud}"
    return Maze.from_edges(width, height, [c for c in range(width * height) if c not in holes], edges)


@dataclass(frozen=True)
class Turn:
    """One move turn: the actions played and the state right after it.

    ``mud``: per player None (not in mud) or ``(target, count)``; None for the whole field means nobody
    is in mud. ``scores``/``cheese``/``gains``: None means not checked. ``end``: "", "terminated" or
    "truncated" (always checked).
    """

    moves: str
    pos: tuple
    mud: tuple | None = None
    scores: tuple | None = None
    cheese: tuple | None = None
    end: str = ""
    gains: tuple | None = None


@dataclass(frozen=True)
class Case:
    id: str
    maze: Maze
    starts: tuple
    cheese: tuple
    turns: tuple
    teams: tuple | None = None
    max_turns: int | None = None
    pre: str | None = None  # actions sent at the preprocessing step (ignored by the rules)


# 3x3 grid:  0 1 2 / 3 4 5 / 6 7 8          corridors Wx1:  0 1 2 ... W-1
CASES = [
    # -- moves ---------------------------------------------------------------------------------------
    Case("moves_in_each_direction", Maze.open_grid(3, 3), (4,), (8,), (
        Turn("N", (1,)), Turn("S", (4,)), Turn("E", (5,)), Turn("W", (4,)), Turn("W", (3,)),
        Turn(".", (3,), scores=(0.0,), cheese=(8,)),
        Turn("S", (6,)), Turn("E", (7,)),
        Turn("E", (8,), scores=(1.0,), cheese=(), end="terminated", gains=(1.0,)),
    )),
    Case("simultaneous_swaps_and_shared_cells", Maze.open_grid(4, 1), (0, 1), (3,), (
        Turn("EW", (1, 0)),  # swap: players never block each other
        Turn("EE", (2, 1)),  # follow into the cell being left
        Turn("WE", (1, 2)),  # swap again
        Turn(".W", (1, 1), scores=(0.0, 0.0)),  # share a cell
        Turn("EE", (2, 2)),
        Turn("EE", (3, 3), scores=(0.5, 0.5), cheese=(), end="terminated", gains=(0.5, 0.5)),
    )),
    Case("same_start_cell_split_up", Maze.open_grid(3, 3), (4, 4), (0, 8), (
        Turn("NS", (1, 7)),
        Turn("WE", (0, 8), scores=(1.0, 1.0), cheese=(), end="terminated", gains=(1.0, 1.0)),
    )),
    Case("two_cheese_eaten_in_one_turn_in_order", Maze.open_grid(3, 1), (1, 1), (2, 0), (
        Turn("WE", (0, 2), scores=(1.0, 1.0), cheese=(), end="terminated"),
    )),
    # -- illegal moves: the turn is spent, nothing else happens --------------------------------------
    Case("off_grid_moves_are_spent_turns", Maze.open_grid(2, 2), (0,), (3,), (
        Turn("N", (0,)), Turn("W", (0,)), Turn("E", (1,)), Turn("N", (1,)), Turn("E", (1,)),
        Turn("S", (3,), scores=(1.0,), cheese=(), end="terminated"),
    )),
    Case("illegal_move_does_not_disturb_other_player", Maze.open_grid(3, 1), (0, 2), (1,), (
        Turn("NS", (0, 2)), Turn("WE", (0, 2)),
        Turn("SW", (0, 1), scores=(0.0, 1.0), cheese=(), end="terminated"),
    )),
    Case("hole_cannot_be_entered", grid(3, 3, holes=(4,)), (1,), (8,), (
        Turn("S", (1,)), Turn("E", (2,)), Turn("S", (5,)), Turn("W", (5,)),
        Turn("S", (8,), scores=(1.0,), cheese=(), end="terminated"),
    )),
    Case("wall_cannot_be_crossed", grid(3, 2, walls=((1, 2), (1, 4))), (1,), (5,), (
        Turn("E", (1,)), Turn("S", (1,)), Turn("W", (0,)), Turn("S", (3,)), Turn("E", (4,)),
        Turn("E", (5,), scores=(1.0,), cheese=(), end="terminated"),
    )),
    Case("wall_next_to_mud_starts_no_mud", grid(2, 2, walls=((0, 1),), mud={(0, 2): 2}), (0,), (3,), (
        Turn("E", (0,)),
        Turn("S", (0,), mud=((2, 1),)),
        Turn("E", (2,), mud=(None,)),  # arrival turn: the action is ignored
        Turn("E", (3,), scores=(1.0,), cheese=(), end="terminated"),
    )),
    # -- mud -----------------------------------------------------------------------------------------
    Case("mud_weight_3_takes_3_turns", grid(3, 1, mud={(0, 1): 3}), (0,), (2,), (
        Turn("E", (0,), mud=((1, 2),)),
        Turn("W", (0,), mud=((1, 1),)),  # ignored: in mud
        Turn("E", (1,), mud=(None,)),  # ignored too: arrival at the target, not a step beyond
        Turn("E", (2,), scores=(1.0,), cheese=(), end="terminated"),
    )),
    Case("mud_weight_4_onto_cheese", grid(2, 1, mud={(0, 1): 4}), (0,), (1,), (
        Turn("E", (0,), mud=((1, 3),), scores=(0.0,), cheese=(1,)),
        Turn(".", (0,), mud=((1, 2),)),
        Turn("N", (0,), mud=((1, 1),)),
        Turn(".", (1,), scores=(1.0,), cheese=(), end="terminated", gains=(1.0,)),
    )),
    Case("mud_weight_2_both_ways", grid(3, 1, mud={(0, 1): 2}), (1,), (2,), (
        Turn("W", (1,), mud=((0, 1),)),
        Turn("E", (0,)),
        Turn("E", (0,), mud=((1, 1),)),
        Turn(".", (1,)),
        Turn("E", (2,), scores=(1.0,), cheese=(), end="terminated"),
    )),
    Case("mud_entered_while_other_player_moves", grid(4, 1, mud={(0, 1): 2}), (0, 2), (1, 3), (
        Turn("EW", (0, 1), mud=((1, 1), None), scores=(0.0, 1.0), cheese=(3,)),  # mud source keeps its cell
        Turn("EE", (1, 2), scores=(0.0, 1.0), cheese=(3,)),
        Turn("EE", (2, 3), scores=(0.0, 2.0), cheese=(), end="terminated"),
    )),
    Case("two_players_in_the_same_mud_out_of_step", grid(3, 1, mud={(0, 1): 3}), (0, 0), (2,), (
        Turn("E.", (0, 0), mud=((1, 2), None)),
        Turn(".E", (0, 0), mud=((1, 1), (1, 2))),
        Turn("..", (1, 0), mud=(None, (1, 1))),
        Turn("E.", (2, 1), scores=(1.0, 0.0), cheese=(), end="terminated"),
    )),
    Case("player_in_mud_swaps_with_walker", grid(3, 1, mud={(0, 1): 2}), (0, 1), (2,), (
        Turn("EW", (0, 1), mud=((1, 1), (0, 1))),  # both enter the same mud from both ends
        Turn("..", (1, 0)),
        Turn("E.", (2, 0), scores=(1.0, 0.0), cheese=(), end="terminated"),
    )),
    # -- the preprocessing step ----------------------------------------------------------------------
    Case("preprocessing_ignores_actions", grid(4, 1, mud={(0, 1): 3}), (0, 3), (2, 1), pre="EW", turns=(
        Turn("EW", (0, 2), mud=((1, 2), None), scores=(0.0, 1.0), cheese=(1,)),
        Turn("..", (0, 2), mud=((1, 1), None)),
        Turn("..", (1, 2), scores=(1.0, 1.0), cheese=(), end="terminated"),
    )),
    # -- shared cheese: 1/k each, accumulated with += as the official game does ----------------------
    Case("cheese_shared_by_three_accumulates_thirds", Maze.open_grid(6, 1), (0, 0, 0), (1, 2, 3, 4, 5), (
        Turn("EEE", (1, 1, 1), scores=(THIRD,) * 3, cheese=(2, 3, 4, 5), gains=(THIRD,) * 3),
        Turn("EEE", (2, 2, 2), scores=(0.6666666666666666,) * 3),
        Turn("EEE", (3, 3, 3), scores=(1.0,) * 3),
        Turn("EEE", (4, 4, 4), scores=(1.3333333333333333,) * 3),
        # 5 * (1/3) accumulated is 1.6666666666666665, not 5/3 = 1.6666666666666667
        Turn("EEE", (5, 5, 5), scores=(1.6666666666666665,) * 3, cheese=(), end="terminated"),
    )),
    Case("cheese_shared_by_two_of_three", Maze.open_grid(3, 3), (3, 5, 1), (4, 8), (
        Turn("EW.", (4, 4, 1), scores=(0.5, 0.5, 0.0), cheese=(8,), gains=(0.5, 0.5, 0.0)),
        Turn("..E", (4, 4, 2)),
        Turn("..S", (4, 4, 5)),
        Turn("..S", (4, 4, 8), scores=(0.5, 0.5, 1.0), cheese=(), end="terminated"),
    )),
    Case("cheese_shared_by_four_in_two_teams", Maze.open_grid(3, 3), (1, 3, 5, 7), (4, 0), teams=("a", "a", "b", "b"),
         turns=(
        Turn("SEWN", (4, 4, 4, 4), scores=(0.25,) * 4, cheese=(0,), gains=(0.25,) * 4),  # teams 0.5 - 0.5: tied
        Turn("WNWN", (3, 1, 3, 1)),
        Turn("NWNW", (0, 0, 0, 0), scores=(0.5,) * 4, cheese=(), end="terminated"),
    )),
    # -- end of game: ranking rule with two teams or more --------------------------------------------
    Case("ranking_decided_with_cheese_left", Maze.open_grid(5, 1), (1, 4), (0, 2, 3), (
        Turn("W.", (0, 4), scores=(1.0, 0.0), cheese=(2, 3)),  # 0 + 2 >= 1: goes on
        Turn("E.", (1, 4)),
        Turn("E.", (2, 4), scores=(2.0, 0.0), cheese=(3,), end="terminated"),  # 0 + 1 < 2
    )),
    Case("trailing_team_reaches_leader_exactly", Maze.open_grid(4, 1), (1, 3), (0, 2), (
        Turn("W.", (0, 3), scores=(1.0, 0.0), cheese=(2,)),  # 0 + 1 >= 1: goes on
        Turn(".W", (0, 2), scores=(1.0, 1.0), cheese=(), end="terminated"),
    )),
    Case("tied_teams_go_on", Maze.open_grid(5, 1), (2, 2), (1, 3, 0, 4), (
        Turn("WE", (1, 3), scores=(1.0, 1.0), cheese=(0, 4)),
        Turn("WE", (0, 4), scores=(2.0, 2.0), cheese=(), end="terminated"),
    )),
    Case("half_points_decide_the_ranking", Maze.open_grid(5, 1), (2, 2), (1, 0, 3, 4), (
        Turn("WW", (1, 1), scores=(0.5, 0.5), cheese=(0, 3, 4)),
        Turn("W.", (0, 1), scores=(1.5, 0.5), cheese=(3, 4)),  # 0.5 + 2 >= 1.5
        Turn("E.", (1, 1)),
        Turn("EE", (2, 2)),
        Turn("EE", (3, 3), scores=(2.0, 1.0), cheese=(4,)),  # 1 + 1 >= 2
        Turn("E.", (4, 3), scores=(3.0, 1.0), cheese=(), end="terminated"),
    )),
    Case("three_teams_two_trailing_tied_go_on", Maze.open_grid(5, 1), (1, 4, 4), (0, 2, 3), (
        Turn("W..", (0, 4, 4), scores=(1.0, 0.0, 0.0)),
        Turn("E..", (1, 4, 4)),
        Turn("E..", (2, 4, 4), scores=(2.0, 0.0, 0.0), cheese=(3,)),  # nobody reaches 2, but 0 - 0 tied
        Turn(".W.", (2, 3, 4), scores=(2.0, 1.0, 0.0), cheese=(), end="terminated"),
    )),
    Case("two_teams_same_moves_end_earlier", Maze.open_grid(5, 1), (1, 4, 4), (0, 2, 3), teams=("a", "b", "b"),
         turns=(
        Turn("W..", (0, 4, 4), scores=(1.0, 0.0, 0.0)),
        Turn("E..", (1, 4, 4)),
        Turn("E..", (2, 4, 4), scores=(2.0, 0.0, 0.0), cheese=(3,), end="terminated"),
    )),
    Case("three_teams_trailing_team_reaches_second", Maze.open_grid(7, 1), (3, 3, 6), (2, 4, 1, 0, 5), (
        Turn("WE.", (2, 4, 6), scores=(1.0, 1.0, 0.0), cheese=(1, 0, 5)),
        Turn("W..", (1, 4, 6), scores=(2.0, 1.0, 0.0)),
        # 1 + 1 < 3 and 0 + 1 < 3: the leader is safe, but the third can still reach the second
        Turn("W..", (0, 4, 6), scores=(3.0, 1.0, 0.0), cheese=(5,)),
        Turn("..W", (0, 4, 5), scores=(3.0, 1.0, 1.0), cheese=(), end="terminated"),
    )),
    Case("team_scores_are_sums", Maze.open_grid(5, 1), (2, 2, 4), (1, 3, 0), teams=("a", "a", "b"), turns=(
        Turn("WE.", (1, 3, 4), scores=(1.0, 1.0, 0.0), cheese=(0,), end="terminated"),  # 2 vs 0, 1 left
    )),
    Case("same_moves_three_teams_go_on", Maze.open_grid(5, 1), (2, 2, 4), (1, 3, 0), (
        Turn("WE.", (1, 3, 4), scores=(1.0, 1.0, 0.0), cheese=(0,)),  # 1 - 1 tied
        Turn("W..", (0, 3, 4), scores=(2.0, 1.0, 0.0), cheese=(), end="terminated"),
    )),
    Case("team_scores_are_rounded_to_5_decimals", Maze.open_grid(8, 1), (3, 3, 0), (1, 2, 4, 5, 6, 7),
         teams=("a", "a", "b"), turns=(
        Turn("..E", (3, 3, 1), scores=(0.0, 0.0, 1.0)),
        Turn("..E", (3, 3, 2), scores=(0.0, 0.0, 2.0)),
        Turn("..E", (3, 3, 3)),
        Turn("EEE", (4, 4, 4), scores=(THIRD, THIRD, 2.3333333333333335)),
        Turn("EEE", (5, 5, 5), scores=(0.6666666666666666, 0.6666666666666666, 2.666666666666667)),
        # b has 3.0000000000000004, rounded to 3.0: a can still tie with the last cheese (2 + 1 >= 3)
        Turn("EEE", (6, 6, 6), scores=(1.0, 1.0, 3.0000000000000004), cheese=(7,)),
        Turn("E..", (7, 6, 6), scores=(2.0, 1.0, 3.0000000000000004), cheese=(), end="terminated"),
    )),
    Case("one_team_ends_only_when_cheese_is_gone", Maze.open_grid(5, 1), (2, 2), (1, 3, 0), teams=("a", "a"),
         turns=(
        Turn("WE", (1, 3), scores=(1.0, 1.0), cheese=(0,)),
        Turn(".E", (1, 4)),
        Turn("W.", (0, 4), scores=(2.0, 1.0), cheese=(), end="terminated"),
    )),
    # -- turn limit (an extension: truncation, counted in move turns) --------------------------------
    Case("max_turns_truncates", Maze.open_grid(3, 3), (0,), (8,), max_turns=3, turns=(
        Turn("E", (1,)), Turn("E", (2,)),
        Turn("S", (5,), scores=(0.0,), cheese=(8,), end="truncated"),
    )),
    Case("max_turns_one", Maze.open_grid(3, 3), (0, 8), (4,), max_turns=1, turns=(
        Turn("EW", (1, 7), end="truncated"),
    )),
    Case("last_cheese_on_last_turn_terminates", Maze.open_grid(3, 1), (0,), (2,), max_turns=2, turns=(
        Turn("E", (1,)),
        Turn("E", (2,), scores=(1.0,), cheese=(), end="terminated"),
    )),
    Case("ranking_decided_on_last_turn_terminates", Maze.open_grid(5, 1), (1, 4), (0, 2, 3), max_turns=3, turns=(
        Turn("W.", (0, 4)), Turn("E.", (1, 4)),
        Turn("E.", (2, 4), scores=(2.0, 0.0), cheese=(3,), end="terminated"),
    )),
    Case("truncated_in_mud", grid(3, 1, mud={(0, 1): 5}), (0,), (2,), max_turns=3, turns=(
        Turn("E", (0,), mud=((1, 4),)),
        Turn(".", (0,), mud=((1, 3),)),
        Turn(".", (0,), mud=((1, 2),), end="truncated"),
    )),
    Case("no_turn_limit_by_default", grid(3, 1, walls=((1, 2),)), (0,), (2,), turns=tuple(
        Turn("EW"[t % 2], (1 - t % 2,), scores=(0.0,), cheese=(2,)) for t in range(300)
    )),
]


# -- runners: one interface over Game and GameBatch -----------------------------------------------------
class GameRunner:
    def __init__(self, case: Case) -> None:
        self.game = Game(case.maze, case.cheese, case.starts, case.teams, case.max_turns)

    def step(self, actions: list[int]) -> list[float]:
        return list(self.game.step(actions))

    def state(self) -> dict:
        g = self.game
        return {"turn": g.turn, "pos": tuple(g.pos), "scores": tuple(g.scores), "cheese": tuple(g.cheese),
                "mud": tuple(None if t is None else (t, c) for t, c in zip(g.mud_target, g.mud_count)),
                "mud_count": tuple(g.mud_count), "terminated": g.terminated, "truncated": g.truncated}

    def step_after_end(self, actions: list[int]) -> None:
        before = self.state()
        with pytest.raises(RuntimeError):
            self.game.step(actions)
        assert self.state() == before


class BatchRunner:
    """The case in every slot of a batch of 3; the slots must agree with each other."""

    B = 3

    def __init__(self, case: Case) -> None:
        self.batch = GameBatch([case.maze] * self.B, [case.cheese] * self.B, [case.starts] * self.B,
                               case.teams, case.max_turns)

    def step(self, actions: list[int]) -> list[float]:
        gains = self.batch.step(np.array([actions] * self.B))
        assert gains.shape == (self.B, len(actions))
        assert (gains == gains[0]).all()
        return gains[0].tolist()

    def slot_state(self, i: int) -> dict:
        b = self.batch
        return {"turn": int(b.turn[i]), "pos": tuple(b.pos[i].tolist()), "scores": tuple(b.scores[i].tolist()),
                "cheese": tuple(b.remaining_cheese(i)),
                "mud": tuple(None if t < 0 else (int(t), int(c)) for t, c in zip(b.mud_target[i], b.mud_count[i])),
                "mud_count": tuple(b.mud_count[i].tolist()),
                "terminated": bool(b.terminated[i]), "truncated": bool(b.truncated[i])}

    def state(self) -> dict:
        states = [self.slot_state(i) for i in range(self.B)]
        assert all(s == states[0] for s in states)
        assert int(self.batch.n_cheese[0]) == len(states[0]["cheese"])
        return states[0]

    def step_after_end(self, actions: list[int]) -> None:
        # A batch never raises on finished games (envs step them alongside live ones): they are left as they are.
        before = self.state()
        gains = self.batch.step(np.array([actions] * self.B))
        assert not gains.any()
        assert self.state() == before
        assert self.batch.over.all()


class PlainBatchRunner(BatchRunner):
    """`BatchRunner` with the compiled kernels off: `GameBatch` plays each game by `Game`'s rules."""

    def __init__(self, case: Case) -> None:
        before = _accel.set_enabled(False)
        try:
            super().__init__(case)
        finally:
            _accel.set_enabled(before)
        step = self.batch.step

        def plain_step(actions):
            before = _accel.set_enabled(False)
            try:
                return step(actions)
            finally:
                _accel.set_enabled(before)

        self.batch.step = plain_step


RUNNERS = {"Game": GameRunner, "GameBatch": BatchRunner, "GameBatch-plain": PlainBatchRunner}


def actions_of(moves: str, n_players: int) -> list[int]:
    assert len(moves) == n_players, f"{moves!r} is not one letter per player"
    return [LETTERS[m] for m in moves]


@pytest.mark.parametrize("engine", RUNNERS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_case(case: Case, engine: str) -> None:
    n = len(case.starts)
    runner = RUNNERS[engine](case)
    start = runner.state()
    assert start == {"turn": 0, "pos": case.starts, "scores": (0.0,) * n, "cheese": case.cheese,
                     "mud": (None,) * n, "mud_count": (0,) * n, "terminated": False, "truncated": False}

    # Turn 0: preprocessing. Nobody moves, whatever the actions; the next turn is turn 1.
    gains = runner.step(actions_of(case.pre or "." * n, n))
    assert gains == [0.0] * n
    assert runner.state() == dict(start, turn=1)

    for t, turn in enumerate(case.turns, start=1):
        before = runner.state()
        assert not (before["terminated"] or before["truncated"]), f"game over before turn {t}"
        gains = runner.step(actions_of(turn.moves, n))
        s = runner.state()
        where = f"after turn {t} ({turn.moves!r})"
        assert s["turn"] == t + 1, where
        assert s["pos"] == turn.pos, where
        assert s["mud"] == (turn.mud or (None,) * n), where
        for p in range(n):  # a player out of mud has count 0; in mud, 1 <= count < weight
            if s["mud"][p] is None:
                assert s["mud_count"][p] == 0, where
            else:
                target, count = s["mud"][p]
                assert 1 <= count < case.maze.weight(s["pos"][p], target), where
        if turn.scores is not None:
            assert s["scores"] == turn.scores, where  # exact float equality, as the official game
        if turn.cheese is not None:
            assert s["cheese"] == turn.cheese, where
        if turn.gains is not None:
            assert tuple(gains) == turn.gains, where
        assert (s["terminated"], s["truncated"]) == (turn.end == "terminated", turn.end == "truncated"), where
        if s["terminated"]:
            n_teams = len(set(case.teams if case.teams is not None else range(n)))
            assert not s["cheese"] or n_teams >= 2, where

    if case.turns[-1].end:
        runner.step_after_end(actions_of("." * n, n))


def test_rule_case_ids_and_letters() -> None:
    # The letters of the tables are the engine's action indices.
    assert [ACTION_NAMES[LETTERS[c]] for c in ".NESW"] == ["nothing", "north", "east", "south", "west"]
    assert all(ACTION_INDEX[ACTION_NAMES[i]] == i for i in range(5))
    assert len({c.id for c in CASES}) == len(CASES)


# -- games that cannot start, and bad input -------------------------------------------------------------
def test_no_turn_limit_by_default() -> None:
    maze = Maze.open_grid(2, 1)
    assert Game(maze, [1], [0]).max_turns is None and GameBatch([maze], [[1]], [[0]]).max_turns is None
    assert GameConfig().max_turns is None


def test_game_without_cheese_is_over_at_once() -> None:
    maze = Maze.open_grid(3, 1)
    game = Game(maze, [], [0, 2])
    assert game.terminated and not game.truncated
    with pytest.raises(RuntimeError):
        game.step([0, 0])
    batch = GameBatch([maze, maze], [[], [1]], [[0, 2], [0, 2]])
    assert batch.terminated.tolist() == [True, False]
    batch.step(np.array([[2, 4], [2, 4]]))  # turn 0
    batch.step(np.array([[2, 4], [2, 4]]))
    assert batch.turn.tolist() == [0, 2]
    assert batch.pos.tolist() == [[0, 2], [1, 1]]
    assert batch.terminated.tolist() == [True, True]


@pytest.mark.parametrize("engine", RUNNERS)
def test_wrong_actions_raise(engine: str) -> None:
    case = Case("bad", Maze.open_grid(3, 1), (0, 2), (1,), ())
    runner = RUNNERS[engine](case)
    step = runner.game.step if engine == "Game" else (lambda a: runner.batch.step(np.array([a] * BatchRunner.B)))
    step([0, 0])
    with pytest.raises(ValueError):
        step([EAST])  # one action for two players
    with pytest.raises(ValueError):
        step([EAST, 5])
    with pytest.raises(ValueError):
        step([-1, WEST])
    assert runner.state()["turn"] == 1 and runner.state()["pos"] == (0, 2)


@pytest.mark.parametrize("make", [
    lambda m: Game(m, [1], [4]),  # start on a hole
    lambda m: Game(m, [4], [0]),  # cheese on a hole
    lambda m: Game(m, [1, 1], [0]),  # duplicate cheese
    lambda m: Game(m, [1], [0, 2], teams=["a"]),  # teams do not match players
    lambda m: Game(m, [1], []),  # no player
    lambda m: Game(m, [1], [0], max_turns=0),
    lambda m: GameBatch([m], [[1]], [[4]]),
    lambda m: GameBatch([m, Maze.open_grid(2, 2)], [[1], [1]], [[0], [0]]),  # different sizes
], ids=["start_hole", "cheese_hole", "dup_cheese", "teams", "no_player", "max_turns", "batch_hole", "batch_size"])
def test_bad_game_setup_raises(make) -> None:
    with pytest.raises(ValueError):
        make(grid(3, 3, holes=(4,)))


@pytest.mark.parametrize("width, height, cells, edges, message", [
    (3, 1, [0, 1, 2], [(0, 2, 1)], "not grid neighbours"),
    (3, 1, [0, 1, 2], [(0, 1, 0)], "weights must be >= 1"),
    (3, 1, [0, 1], [(1, 2, 1)], "missing cell"),
    (3, 1, [0, 5], [], "outside"),
    (1, 1, [0], [], "too small"),
], ids=["not_neighbours", "zero_weight", "edge_to_hole", "cell_outside", "one_cell"])
def test_bad_maze_raises(width, height, cells, edges, message) -> None:
    with pytest.raises(MazeError, match=message):
        Maze.from_edges(width, height, cells, edges)


def test_maze_from_dict_rejects_asymmetric_edges() -> None:
    with pytest.raises(MazeError):
        Maze.from_dict({"0": {"1": 2}, "1": {"0": 3}}, 2, 1)
    maze = grid(3, 2, walls=((0, 1),), mud={(1, 4): 5}, holes=(2,))
    assert Maze.from_dict(maze.to_dict(), 3, 2) == maze
    assert maze.walls() == [(0, 1)]
    assert maze.neighbours(1) == [4] and maze.weight(4, 1) == 5 and maze.weight(1, 2) == 0


# -- the ranking rule as a pure function ------------------------------------------------------------------
@pytest.mark.parametrize("scores, remaining, decided", [
    ((0.0, 0.0), 5, False),  # tied
    ((1.0, 0.0), 1, False),  # 0 + 1 >= 1
    ((2.0, 0.0), 1, True),
    ((1.5, 0.5), 1, False),  # 0.5 + 1 >= 1.5
    ((2.5, 0.5), 1, True),
    ((3.0, 3.0), 0, False),  # tied (the engine ends the game anyway: no cheese left)
    ((2.0, 0.0, 0.0), 1, False),  # two trailing teams tied
    ((3.0, 1.0, 0.0), 1, False),  # the third can still reach the second
    ((3.0, 1.0, 0.0), 0, True),
    ((4.0, 2.0, 0.0), 1, True),
    ((1.0, 1.0, 1.0, 1.0), 0, False),
    ((0.33333, 0.33333, 0.33333), 0, False),  # 1/3 each, rounded to 5 decimals: tied
], ids=str)
def test_ranking_decided(scores, remaining, decided) -> None:
    assert ranking_decided(list(scores), remaining) is decided


# -- the score rule and the rotation table, defined once in the engine ------------------------------------
def test_round_score_is_numpys_and_the_official_rounding_of_every_reachable_score() -> None:
    x = np.concatenate([np.random.default_rng(0).random(20000) * 40, [0.5e-5, 2.5e-5, 1 / 3, 2 / 3]])
    assert np.array_equal([round_score(v) for v in x.tolist()], np.round(x, 5))
    assert np.array_equal(round_scores(x), np.round(x, 5))
    # Python's round(x, 5) (the official game's) rounds the exact binary value: it differs on constructed halves...
    assert round_score(2.5e-5) == 2e-5 != round(2.5e-5, 5)
    # ...but never on a score the rules produce: sums in player order of cheese shares 1 / k (k <= 8 players)
    rng = np.random.default_rng(1)
    for _ in range(3000):
        total = 0.0
        for k in rng.integers(1, 9, size=int(rng.integers(1, 60))).tolist():
            total += 1.0 / k
            assert round_score(total) == round(total, 5)


def test_compare_scores() -> None:
    near = 1.0 + THIRD + THIRD + THIRD  # a cheese, then three shared by three: 1.9999999999999998
    assert near != 2.0 and compare_scores(near, 2.0) == 0 == compare_scores(2.0, near)
    assert compare_scores(1.5, 1.0) == 1 and compare_scores(1.0, 1.5) == -1 and compare_scores(0.0, 0.0) == 0
    assert compare_scores(1.000004, 1.0) == 0 and compare_scores(1.000006, 1.0) == 1  # the fifth decimal counts
    a = np.array([near, 1.5, 1.0, 1.000006, 0.0])
    b = np.array([2.0, 1.0, 1.5, 1.0, 0.0])
    out = compare_scores_array(a, b)
    assert out.dtype == np.int64 and out.tolist() == [compare_scores(x, y) for x, y in zip(a, b)] == [0, 1, -1, 1, 0]


def test_rotated_action_is_the_move_in_the_maze_turned_by_180_degrees() -> None:
    assert ROTATED_ACTION.tolist() == list(ROTATED_ACTION_TUPLE) and not ROTATED_ACTION.flags.writeable
    assert [ROTATED_ACTION_TUPLE[ROTATED_ACTION_TUPLE[a]] for a in range(5)] == list(range(5))  # its own inverse
    maze = Maze.open_grid(5, 3)
    n = maze.n_cells
    for c in range(n):  # a move from the turned cell, turned: where the real move leads, turned
        for a in range(5):
            assert maze.neighbors[n - 1 - c, ROTATED_ACTION_TUPLE[a]] == n - 1 - maze.neighbors[c, a]
