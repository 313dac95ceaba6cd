"""A batched stable-baselines3 `VecEnv`: B PyRat games advanced by one `GameBatch` call per step.

Not a list of single envs: the engine steps every game at once, the opponent plays every game at once
(a scripted agent's ``act_batch``, or a `PolicyOpponent` evaluated once over the whole batch), and the
encoder writes all observations in a few array operations (the core, shared with the Gymnasium
`PyRatVectorEnv`, is `pyrat_env.envs.batched.BatchedGames`). Finished games are replaced in the same
step, with ``terminal_observation`` and ``TimeLimit.truncated`` in their infos, as SB3 expects.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

from ..encoders import Encoder
from ..mazes import GameConfig
from .batched import BatchedGames


class PyRatVecEnv(BatchedGames, VecEnv):
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
        space = self._setup_batched(num_envs, preset, config, opponent, seat, encoder, reward, max_turns, rotate,
                                    render_mode, opponent_sampler, **settings)
        self._rng = np.random.default_rng(seed)  # draws the games and seeds the opponents
        super().__init__(num_envs, space, spaces.Discrete(5))
        self.render_mode = render_mode
        self._actions: np.ndarray | None = None
        self._t0 = time.time()

    # -- VecEnv API ------------------------------------------------------------------------------------
    def reset(self) -> np.ndarray:
        if self._seeds[0] is not None:
            self._rng = np.random.default_rng(self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        self._start_all()
        self.reset_infos = [self._new_info(i) for i in range(self.num_envs)]
        self._t0 = time.time()
        return self._learner_enc.encode(self.batch)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        if self.batch is None or self._actions is None:
            raise RuntimeError("call reset() and step_async() before step_wait()")
        actions, self._actions = self._actions, None
        obs, rewards, terminated, truncated = self._advance(actions)
        over = terminated | truncated
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        done = np.flatnonzero(over)
        if len(done):
            now = round(time.time() - self._t0, 6)
            for i in done.tolist():
                info = infos[i]
                info["terminal_observation"] = obs[i].copy()
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                info["episode"] = {"r": float(self._ep_ret[i]), "l": int(self._ep_len[i]), "t": now}
                info["result"] = dict(self._result(i), seat=int(self.seats[i]), game_seed=int(self.game_seeds[i]))
            self._start_rows(done)
            obs[done] = self._learner_enc.encode(self.batch, done)
            for i in done.tolist():
                infos[i]["new_game"] = self._new_info(i)
        return obs, rewards.astype(np.float32), over, infos

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

    def get_images(self):
        return [self.render_game(i) for i in range(self.num_envs)]

    def render(self, mode: str | None = None):
        if (mode or self.render_mode) == "ansi":
            return self.render_game(0)
        return super().render(mode)


def make_vec_env(num_envs: int, seed: int | None = None, **kwargs) -> PyRatVecEnv:
    """A `PyRatVecEnv` of ``num_envs`` games (options as `PyRatEnv`, plus ``opponent_sampler``)."""
    return PyRatVecEnv(num_envs, seed=seed, **kwargs)
