"""The batched core of the vector environments: B PyRat games advanced by one `GameBatch` call per step.

`BatchedGames` is what the stable-baselines3 `PyRatVecEnv` (``vec_env``) and the Gymnasium `PyRatVectorEnv`
(``gym_vector_env``) share: the options, the games held in one `GameBatch`, how a slot gets a new game, the
opponents (a scripted agent's ``act_batch`` or a `PolicyOpponent` evaluated once over the whole batch),
the encoders (all observations in a few array operations), rewards, results, masks and drawing. Each of
the two classes adds its framework's API on top: how resets, autoresets and infos look. This module
needs no stable-baselines3, so the Gymnasium vector env works with the ``envs`` extra alone.

Internally the learner is always player 0 of the batch: a learner in seat 1 gets seat 1's start cell
(two-player PyRat is symmetric in player order: moves are simultaneous and nobody blocks anyone), and
results report scores by real seat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from .. import _accel
from ..encoders import ROTATED_ACTION, Encoder, action_mask_batch
from ..engine import Game, GameBatch, compare_scores, compare_scores_array
from ..mazes import GameConfig, new_game
from .gym_env import PolicyOpponent, as_opponent, new_seed, render_text, set_game_options


class BatchedGames:
    """``num_envs`` PyRat games for one learner, stepped together (a mix-in: no reset / step API of its own).

    A subclass calls `_setup_batched` in its constructor, sets ``self._rng`` (the generator that seeds the
    opponents, and draws the games unless `_game_rng` is overridden), builds the batch with `_start_all`
    and advances it with `_advance`. Attributes shared by both vector envs: ``config``, ``max_turns``,
    ``encoder``, ``opponent``, ``batch`` (the `GameBatch`), ``seats``, ``game_seeds`` (by slot).
    """

    # True: draw from a slot's generator exactly what `PyRatEnv.reset` draws from its own (game seed, seat,
    # then its opponent's seed), so that a slot seeded like a single env plays the same games.
    _mirror_single_env_draws = False

    def _setup_batched(self, num_envs: int, preset: str | None, config: GameConfig | dict | None, opponent: Any,
                       seat: int | str, encoder: str | Encoder, reward: str, max_turns: int | str | None,
                       rotate: bool | str, render_mode: str | None,
                       opponent_sampler: Callable[[np.random.Generator], Any] | None, **settings) -> spaces.Box:
        """Check and store the options; returns the observation space of one game."""
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        _accel.kernels()  # load the compiled kernels now: every path of this env is batched (and new mazes too)
        set_game_options(self, preset, config, seat, encoder, reward, max_turns, rotate, render_mode, **settings)
        self.opponent_sampler = opponent_sampler
        self._named_opponents: dict[str, Any] = {}
        self.opponent = self._opponent(opponent)
        w, h = self.config.width, self.config.height
        self.batch: GameBatch | None = None
        self._learner_enc = self.encoder.batch(num_envs, w, h, player=0)
        self._opp_enc = None
        self._row_opps: list[Any] = [self.opponent] * num_envs
        self._mixed_opponents = False   # True once games may have different opponents
        self.seats = np.zeros(num_envs, dtype=np.int64)
        self.rot = np.zeros(num_envs, dtype=bool)
        self.opp_rot = np.zeros(num_envs, dtype=bool)
        self.game_seeds = np.zeros(num_envs, dtype=np.int64)
        self._ep_ret = np.zeros(num_envs, dtype=np.float64)
        self._ep_len = np.zeros(num_envs, dtype=np.int64)
        self._both = np.zeros((num_envs, 2), dtype=np.int64)  # both players' actions, rebuilt at each step
        self._n_games = num_envs
        return self.encoder.space(w, h)

    # -- opponents ---------------------------------------------------------------------------------
    def _opponent(self, spec: Any) -> Any:
        if isinstance(spec, str):  # one agent object per name, so that games sharing it are batched
            if spec not in self._named_opponents:
                self._named_opponents[spec] = as_opponent(spec)
            return self._named_opponents[spec]
        return as_opponent(spec)

    def _seed_opponent(self, opp: Any) -> None:
        if not isinstance(opp, PolicyOpponent) and hasattr(opp, "rng"):
            opp.rng = np.random.default_rng(new_seed(self._rng))

    def set_opponent(self, opponent: Any) -> None:
        """Play ``opponent`` in every game from the next step on (and in new games, unless a sampler is set)."""
        self.opponent = self._opponent(opponent)
        self._seed_opponent(self.opponent)
        self._row_opps = [self.opponent] * self._n_games
        self._mixed_opponents = False
        self._prepare_policy_encoding()

    def set_opponent_sampler(self, sampler: Callable[[np.random.Generator], Any] | None) -> None:
        """Choose each new game's opponent with ``sampler(rng)`` (None: the fixed opponent)."""
        self.opponent_sampler = sampler

    def _prepare_policy_encoding(self) -> None:
        if self.batch is not None and self._opp_enc is None and any(
                isinstance(o, PolicyOpponent) for o in self._row_opps):
            self._opp_enc = self.encoder.batch(self._n_games, self.config.width, self.config.height, player=1)
            self._opp_enc.reset_rows(self.batch, np.arange(self._n_games), self.opp_rot)

    # -- games ---------------------------------------------------------------------------------------
    def _new_setup(self, game_seed: int):
        return new_game(self.config, game_seed)

    def _game_rng(self, i: int) -> np.random.Generator:
        """The generator that draws slot i's next game (one for all slots here; one per slot in the VectorEnv)."""
        return self._rng

    def _draw_game(self, i: int):
        rng = self._game_rng(i)
        game_seed = new_seed(rng)
        setup = self._new_setup(game_seed)
        seat = int(rng.integers(2)) if self.seat_option == "random" else int(self.seat_option)
        if self._mirror_single_env_draws:
            new_seed(rng)  # PyRatEnv seeds its opponent here; a batched opponent has one generator for all games
        if self.opponent_sampler is not None:
            opp = self._opponent(self.opponent_sampler(rng))
            self._seed_opponent(opp)
            self._row_opps[i] = opp
        else:
            self._row_opps[i] = self.opponent
        self._mixed_opponents = self.opponent_sampler is not None or self._mixed_opponents
        self.seats[i] = seat
        self.rot[i] = self.rotate_seat1 and seat == 1
        self.opp_rot[i] = self.rotate_seat1 and seat == 0
        self.game_seeds[i] = game_seed
        starts = setup.starts if seat == 0 else setup.starts[::-1]
        return setup, starts

    def _start_all(self) -> None:
        """A new `GameBatch` with a new game in every slot (the opponent re-seeded unless a sampler picks them)."""
        n = self._n_games
        if self.opponent_sampler is None:
            self._seed_opponent(self.opponent)
        s = new_game(self.config, 0)  # any set-up of the right size: every slot gets its own game below
        self.batch = GameBatch([s.maze] * n, [s.cheese] * n, [s.starts] * n, None, self.max_turns)
        self._start_rows(np.arange(n))
        self._prepare_policy_encoding()

    def _start_rows(self, rows: np.ndarray) -> None:
        """Put a new game in each of these slots, played past turn 0 (preprocessing)."""
        b = self.batch
        for i in rows.tolist():
            setup, starts = self._draw_game(i)
            b.reset_game(i, setup.maze, setup.cheese, starts)
            if not set(starts).isdisjoint(setup.cheese):
                # Cheese under a start is eaten at turn 0: play that turn by the rules (a scalar Game).
                g = Game(setup.maze, setup.cheese, starts, None, self.max_turns)
                g.step([0, 0])
                b.pos[i], b.scores[i], b.cheese[i] = g.pos, g.scores, False
                b.cheese[i, g.cheese] = True
                b.n_cheese[i] = len(g.cheese)
                b.terminated[i], b.truncated[i] = g.terminated, g.truncated
            b.turn[i] = 1  # turn 0 (preprocessing) is over: nobody moved
        self._ep_ret[rows] = 0.0
        self._ep_len[rows] = 0
        self._learner_enc.reset_rows(b, rows, self.rot[rows])
        if self._opp_enc is not None:
            self._opp_enc.reset_rows(b, rows, self.opp_rot[rows])

    def _new_info(self, i: int) -> dict:
        return {"seat": int(self.seats[i]), "game_seed": int(self.game_seeds[i])}

    # -- stepping --------------------------------------------------------------------------------------
    def _advance(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Play one turn of every game that is not over: ``(obs, rewards float64, terminated, truncated)``.

        Games already over stay as they are (the engine skips them; their reward is that of an over game:
        0, or the sparse outcome again). The flags are the batch's own arrays: copy them to keep them.
        """
        b = self.batch
        if b is None:
            raise RuntimeError("call reset() before step()")
        acts = np.asarray(actions).astype(np.int64).reshape(-1)
        if acts.shape != (self._n_games,):
            raise ValueError(f"expected {self._n_games} actions, got shape {np.shape(actions)}")
        if ((acts < 0) | (acts > 4)).any():
            raise ValueError("actions must be integers in 0..4")
        both = self._both
        both[:, 0] = np.where(self.rot, ROTATED_ACTION[acts], acts) if self.rotate_seat1 else acts
        both[:, 1] = self._opponent_actions()
        gains = b.step(both)
        terminated, truncated = b.terminated, b.truncated
        if self.reward_kind == "score_diff":
            rewards = gains[:, 0] - gains[:, 1]
        elif self.reward_kind == "score":
            rewards = gains[:, 0].copy()
        else:
            rewards = np.where(terminated | truncated, compare_scores_array(b.scores[:, 0], b.scores[:, 1]), 0.0)
        self._ep_ret += rewards
        self._ep_len += 1
        return self._learner_enc.encode(b), rewards, terminated, truncated

    def _result(self, i: int) -> dict:
        """The result of the finished game in slot i: scores by seat, the learner's outcome, turns, reason."""
        b = self.batch
        learner, other = float(b.scores[i, 0]), float(b.scores[i, 1])
        seat = int(self.seats[i])
        return {"scores": [learner, other] if seat == 0 else [other, learner],
                "outcome": float(compare_scores(learner, other)),
                "turns": int(b.turn[i]) - 1,
                "reason": "terminated" if b.terminated[i] else "max_turns"}

    def _opponent_actions(self) -> np.ndarray:
        opps = self._row_opps
        if not self._mixed_opponents:
            return self._play(opps[0], None)
        out = np.zeros(self._n_games, dtype=np.int64)
        groups: dict[int, tuple[Any, list[int]]] = {}
        for i, o in enumerate(opps):
            groups.setdefault(id(o), (o, []))[1].append(i)
        for o, rows in groups.values():
            idx = np.asarray(rows, dtype=np.int64)
            out[idx] = self._play(o, idx)
        return out

    def _play(self, opp: Any, rows: np.ndarray | None) -> np.ndarray:
        """The opponent's real-frame actions, for all rows (``rows=None``) or the given ones."""
        b = self.batch
        if isinstance(opp, PolicyOpponent):
            if self._opp_enc is None:
                self._prepare_policy_encoding()
            rot = self.opp_rot if rows is None else self.opp_rot[rows]
            obs = self._opp_enc.encode(b, rows)
            masks = action_mask_batch(b, 1, self.opp_rot)
            if rows is not None:
                masks = masks[rows]
            a = opp(obs, masks)
            return np.where(rot, ROTATED_ACTION[a], a)
        a = np.asarray(opp.act_batch(b, 1), dtype=np.int64)
        return a if rows is None else a[rows]

    def action_masks(self) -> np.ndarray:
        """Legal actions ``[num_envs, 5]`` bool in each learner's frame (only ``nothing`` while in mud)."""
        if self.batch is None:
            return np.ones((self._n_games, 5), dtype=bool)
        return action_mask_batch(self.batch, 0, self.rot)

    # -- drawing ---------------------------------------------------------------------------------------
    def game(self, i: int) -> Game:
        """Game i as a `Game` (a copy; the learner is player 0, see the module docstring)."""
        if self.batch is None:
            raise RuntimeError("call reset() first")
        return self.batch.to_game(i)

    def render_game(self, i: int = 0):
        """Game i drawn as text (``ansi``) or an RGB frame (``rgb_array``); R is seat 0, P seat 1."""
        if self.batch is None:
            return None
        g = self.game(i)
        seat = int(self.seats[i])
        order = [0, 1] if seat == 0 else [1, 0]   # batch players by real seat
        pos = [g.pos[p] for p in order]
        if self.render_mode == "rgb_array":
            from ..viewer.render import render_rgb

            names = ["player_0", "player_1"]
            snap = g.snapshot(["player_0", "player_1"] if seat == 0 else ["player_1", "player_0"])
            return render_rgb(g.maze, snap, names)
        return render_text(g.maze, pos, g.cheese, [g.scores[p] for p in order], g.turn,
                           mud=[(g.mud_target[p], g.mud_count[p]) for p in order]) + \
            f"\nlearner: {'RP'[seat]} (seat {seat})"
