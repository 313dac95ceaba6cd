"""A batched stable-baselines3 `VecEnv`: B PyRat games advanced by one `GameBatch` call per step.

Not a list of single envs: the engine steps every game at once, the opponent plays every game at once
(a scripted agent's ``act_batch``, or a `PolicyOpponent` evaluated once over the whole batch), and the
encoder writes all observations in a few array operations. Finished games are replaced in the same
step, with ``terminal_observation`` and ``TimeLimit.truncated`` in their infos, as SB3 expects.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

from .. import _accel
from ..encoders import ROTATED_ACTION, Encoder, action_mask_batch, make_encoder
from ..engine import Game, GameBatch
from ..mazes import GameConfig, new_game
from .gym_env import (
    PolicyOpponent,
    as_opponent,
    check_reward,
    game_config,
    new_seed,
    render_text,
    resolve_max_turns,
    resolve_rotate,
)


class PyRatVecEnv(VecEnv):
    """``num_envs`` PyRat games for one learner, stepped together (stable-baselines3 ``VecEnv``).

    Options are those of `PyRatEnv` (``preset``, ``config``, game settings, ``opponent``, ``seat``,
    ``encoder``, ``reward``, ``max_turns``, ``rotate``, ``render_mode``) with the same meaning, plus:

    * ``seed``: seeds the generator that draws every game, seat and the opponents' generators
      (``VecEnv.seed(s)`` re-seeds it at the next ``reset``).
    * ``opponent_sampler``: optional ``fn(rng) -> opponent`` called when a game starts, choosing that
      game's opponent (an agent name, ``Agent`` or policy; names are resolved once and reused). Games
      with the same opponent object are played in one batched call, so draw from a small pool.
      ``set_opponent_sampler(fn)`` installs or removes one later.
    * ``set_opponent(opponent)`` replaces the opponent of every game from the next step on (self-play:
      pass a frozen copy of the learner's policy, wrapped in a ``PolicyOpponent`` or as a model).

    Internally the learner is always player 0 of the batch: a learner in seat 1 gets seat 1's start cell
    (two-player PyRat is symmetric in player order: moves are simultaneous and nobody blocks anyone),
    and infos report scores by real seat. Observations, rewards, masks, termination and truncation
    follow `PyRatEnv`. ``action_masks()`` returns ``[num_envs, 5]`` for MaskablePPO. Infos of a finished
    game: ``terminal_observation``, ``TimeLimit.truncated``, ``episode`` (``r``, ``l``, ``t`` as SB3's
    Monitor writes them) and ``result``; ``reset_infos`` and new games' infos hold ``seat`` and ``game_seed``.
    """

    def __init__(self, num_envs: int, seed: int | None = None, preset: str | None = "official",
                 config: GameConfig | dict | None = None, opponent: Any = "greedy", seat: int | str = 0,
                 encoder: str | Encoder = "planes", reward: str = "score_diff", max_turns: int | str | None = "auto",
                 rotate: bool | str = "auto", render_mode: str | None = None,
                 opponent_sampler: Callable[[np.random.Generator], Any] | None = None, **settings) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        _accel.kernels()  # load the compiled kernels now: every path of this env is batched (and new mazes too)
        if seat not in (0, 1, "random"):
            raise ValueError(f"seat must be 0, 1 or 'random', got {seat!r}")
        if render_mode not in (None, "ansi", "rgb_array"):
            raise ValueError(f"render_mode must be 'ansi', 'rgb_array' or None, got {render_mode!r}")
        self.config = game_config(preset, config, **settings)
        self.seat_option = seat
        self.reward_kind = check_reward(reward)
        self.max_turns = resolve_max_turns(max_turns, self.config)
        self.rotate_seat1 = resolve_rotate(rotate, self.config)
        self.encoder = make_encoder(encoder)
        self.render_mode = render_mode
        self.opponent_sampler = opponent_sampler
        self._named_opponents: dict[str, Any] = {}
        self.opponent = self._opponent(opponent)
        self._rng = np.random.default_rng(seed)
        w, h = self.config.width, self.config.height
        super().__init__(num_envs, self.encoder.space(w, h), spaces.Discrete(5))
        self.render_mode = render_mode
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
        self._actions: np.ndarray | None = None
        self._both = np.zeros((num_envs, 2), dtype=np.int64)  # both players' actions, rebuilt at each step
        self._t0 = time.time()

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
        self._row_opps = [self.opponent] * self.num_envs
        self._mixed_opponents = False
        self._prepare_policy_encoding()

    def set_opponent_sampler(self, sampler: Callable[[np.random.Generator], Any] | None) -> None:
        """Choose each new game's opponent with ``sampler(rng)`` (None: the fixed opponent)."""
        self.opponent_sampler = sampler

    def _prepare_policy_encoding(self) -> None:
        if self.batch is not None and self._opp_enc is None and any(
                isinstance(o, PolicyOpponent) for o in self._row_opps):
            self._opp_enc = self.encoder.batch(self.num_envs, self.config.width, self.config.height, player=1)
            self._opp_enc.reset_rows(self.batch, np.arange(self.num_envs), self.opp_rot)

    # -- games ---------------------------------------------------------------------------------------
    def _new_setup(self, game_seed: int):
        return new_game(self.config, game_seed)

    def _draw_game(self, i: int):
        rng = self._rng
        game_seed = new_seed(rng)
        setup = self._new_setup(game_seed)
        seat = int(rng.integers(2)) if self.seat_option == "random" else int(self.seat_option)
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

    # -- VecEnv API ------------------------------------------------------------------------------------
    def reset(self) -> np.ndarray:
        if self._seeds[0] is not None:
            self._rng = np.random.default_rng(self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        n = self.num_envs
        if self.opponent_sampler is None:
            self._seed_opponent(self.opponent)
        s = new_game(self.config, 0)  # any set-up of the right size: every slot gets its own game below
        self.batch = GameBatch([s.maze] * n, [s.cheese] * n, [s.starts] * n, None, self.max_turns)
        self._start_rows(np.arange(n))
        self._prepare_policy_encoding()
        self.reset_infos = [self._new_info(i) for i in range(n)]
        self._t0 = time.time()
        return self._learner_enc.encode(self.batch)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        b = self.batch
        if b is None or self._actions is None:
            raise RuntimeError("call reset() and step_async() before step_wait()")
        acts = np.asarray(self._actions).astype(np.int64).reshape(-1)
        self._actions = None
        if acts.shape != (self.num_envs,):
            raise ValueError(f"expected {self.num_envs} actions, got shape {np.shape(acts)}")
        if ((acts < 0) | (acts > 4)).any():
            raise ValueError("actions must be integers in 0..4")
        both = self._both
        both[:, 0] = np.where(self.rot, ROTATED_ACTION[acts], acts) if self.rotate_seat1 else acts
        both[:, 1] = self._opponent_actions()
        gains = b.step(both)
        terminated, truncated = b.terminated, b.truncated
        over = terminated | truncated
        if self.reward_kind == "score_diff":
            rewards = gains[:, 0] - gains[:, 1]
        elif self.reward_kind == "score":
            rewards = gains[:, 0].copy()
        else:
            s = np.round(b.scores, 5)
            rewards = np.where(over, np.sign(s[:, 0] - s[:, 1]), 0.0)
        self._ep_ret += rewards
        self._ep_len += 1
        obs = self._learner_enc.encode(b)
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        done = np.flatnonzero(over)
        if len(done):
            now = round(time.time() - self._t0, 6)
            for i in done.tolist():
                learner, other = float(b.scores[i, 0]), float(b.scores[i, 1])
                seat = int(self.seats[i])
                info = infos[i]
                info["terminal_observation"] = obs[i].copy()
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                info["episode"] = {"r": float(self._ep_ret[i]), "l": int(self._ep_len[i]), "t": now}
                info["result"] = {
                    "scores": [learner, other] if seat == 0 else [other, learner],
                    "outcome": float(np.sign(round(learner, 5) - round(other, 5))),
                    "turns": int(b.turn[i]) - 1,
                    "reason": "terminated" if terminated[i] else "max_turns",
                    "seat": seat, "game_seed": int(self.game_seeds[i]),
                }
            self._start_rows(done)
            obs[done] = self._learner_enc.encode(b, done)
            for i in done.tolist():
                infos[i]["new_game"] = self._new_info(i)
        return obs, rewards.astype(np.float32), over.copy(), infos

    def _opponent_actions(self) -> np.ndarray:
        opps = self._row_opps
        if not self._mixed_opponents:
            return self._play(opps[0], None)
        out = np.zeros(self.num_envs, dtype=np.int64)
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
            return np.ones((self.num_envs, 5), dtype=bool)
        return action_mask_batch(self.batch, 0, self.rot)

    def close(self) -> None:
        self.batch = None

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        value = getattr(self, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        idx = self._indices(indices)
        if method_name == "action_masks":
            masks = self.action_masks()
            return [masks[i] for i in idx]
        if method_name == "render":
            return [self.render_game(i) for i in idx]
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    # -- rendering -------------------------------------------------------------------------------------
    def game(self, i: int) -> Game:
        """Game i as a `Game` (a copy; the learner is player 0, see the class docstring)."""
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

    def get_images(self):
        return [self.render_game(i) for i in range(self.num_envs)]

    def render(self, mode: str | None = None):
        if (mode or self.render_mode) == "ansi":
            return self.render_game(0)
        return super().render(mode)


def make_vec_env(num_envs: int, seed: int | None = None, **kwargs) -> PyRatVecEnv:
    """A `PyRatVecEnv` of ``num_envs`` games (options as `PyRatEnv`, plus ``opponent_sampler``)."""
    return PyRatVecEnv(num_envs, seed=seed, **kwargs)
