"""The batched Gymnasium `VectorEnv` (`PyRatVectorEnv`): what ``gym.make_vec("PyRat-v0", n)`` returns.

It is the ``vector_entry_point`` of every PyRat id, so Gymnasium-native code (CleanRL-style loops, TorchRL's
``GymEnv``, RLlib's gymnasium vector path) gets the batched engine instead of ``n`` single envs: one
`GameBatch` call per step over all games, the opponent evaluated once over the batch, observations encoded
in a few array operations. The stepping is `pyrat_env.envs.batched.BatchedGames`, shared with the
stable-baselines3 `PyRatVecEnv`; this module only adds Gymnasium's conventions (spaces, seeding,
autoreset, infos as a dict of arrays). It needs gymnasium and numpy only (the ``envs`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ..encoders import Encoder
from ..mazes import GameConfig
from .batched import BatchedGames
from .gym_env import RENDER_MODES


class PyRatVectorEnv(BatchedGames, VectorEnv):
    """``num_envs`` PyRat games for one learner, stepped together (Gymnasium ``VectorEnv``).

    Made by ``gym.make_vec("PyRat-v0", num_envs)`` (``vectorization_mode="vector_entry_point"``, the default
    for the PyRat ids) or directly. **Options** are those of `PyRatEnv` (``preset``, ``config``, game settings,
    ``opponent``, ``seat``, ``encoder``, ``reward``, ``max_turns``, ``rotate``, ``render_mode``) with the same
    meaning, plus ``opponent_sampler`` (``fn(rng) -> opponent`` for each new game, as in `PyRatVecEnv`) and
    ``autoreset_mode``. ``set_opponent(opponent)`` replaces the opponent of every game from the next step on.

    **Spaces.** ``single_observation_space`` and ``single_action_space`` (``Discrete(5)``) are `PyRatEnv`'s;
    ``observation_space`` is their batch ``[num_envs, ...]`` and ``action_space`` ``MultiDiscrete([5] * num_envs)``.
    Observations, rewards (float64), termination and truncation follow `PyRatEnv` game by game.

    **Seeding** through ``reset(seed=...)``, as Gymnasium's ``SyncVectorEnv``: an int ``s`` seeds game slot
    ``i`` with ``s + i``, a list gives one seed per slot (``None``: keep that slot's generator). Slot ``i``
    then draws the same games and seats as ``PyRatEnv.reset(seed=s + i)`` and its later resets, so with a
    deterministic opponent (``greedy`` and the other scripted experts, a deterministic policy) this env and
    a ``SyncVectorEnv`` of `PyRatEnv` give the same observations, rewards and ends for the same seed. A
    random opponent plays from one generator for the whole batch (seeded from the same seed), so its moves
    differ from those of ``num_envs`` separate opponents.

    **Autoreset** (``metadata["autoreset_mode"]``): ``AutoresetMode.NEXT_STEP`` by default, as Gymnasium's
    own vector envs: a game that ends at a step is returned with its last observation; at the next step its
    slot starts a new game and ignores that step's action, returning the new game's first observation, reward
    0, ``terminated = truncated = False`` and the new game's ``seat`` / ``game_seed`` infos. With
    ``autoreset_mode=AutoresetMode.SAME_STEP`` (or ``"SameStep"``) the new game starts in the step where the
    old one ended: that step returns the new first observation, the last one in ``infos["final_obs"]``
    (object array) and the ended game's infos in ``infos["final_info"]`` (the format of ``SyncVectorEnv``).

    **Infos** are a dict of arrays, each key ``k`` with a bool mask ``_k`` of the slots that have it:
    ``action_mask`` (``[num_envs, 5]`` bool, every reset and step: the legal actions of the observation
    returned, for masked policies; ``action_masks()`` gives the same); ``seat`` and ``game_seed`` for the slots
    that started a game; ``result`` for the slots whose game ended at this step: ``scores`` (``[num_envs, 2]``,
    by seat), ``outcome`` (+1 / 0 / -1 for the learner), ``turns`` and ``reason`` (``"terminated"`` or
    ``"max_turns"``). Episode returns and lengths: wrap with ``gymnasium.wrappers.vector.RecordEpisodeStatistics``.

    **Render**: ``render()`` returns one frame per game (text for ``ansi``, RGB arrays for ``rgb_array``).
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 10, "autoreset_mode": AutoresetMode.NEXT_STEP}
    _mirror_single_env_draws = True  # a slot draws what PyRatEnv.reset would: same seed, same games

    def __init__(self, num_envs: int, preset: str | None = "official", config: GameConfig | dict | None = None,
                 opponent: Any = "greedy", seat: int | str = 0, encoder: str | Encoder = "planes",
                 reward: str = "score_diff", max_turns: int | str | None = "auto", rotate: bool | str = "auto",
                 render_mode: str | None = None,
                 opponent_sampler: Callable[[np.random.Generator], Any] | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, **settings) -> None:
        single = self._setup_batched(num_envs, preset, config, opponent, seat, encoder, reward, max_turns, rotate,
                                     render_mode, opponent_sampler, **settings)
        mode = AutoresetMode(autoreset_mode)
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode must be NEXT_STEP or SAME_STEP, got {mode}")
        self.autoreset_mode = mode
        self.metadata = dict(type(self).metadata, autoreset_mode=mode)
        self.num_envs = int(num_envs)
        self.single_observation_space = single
        self.single_action_space = spaces.Discrete(5)
        self.observation_space = batch_space(single, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        # Slot i draws its games from its own generator (seeded like sub-env i of a SyncVectorEnv); `_rng`
        # seeds the opponents. Both get fresh entropy until reset(seed=...) is given a seed.
        self._row_rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._rng = np.random.default_rng()
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._all = np.ones(self.num_envs, dtype=bool)

    def _game_rng(self, i: int) -> np.random.Generator:
        return self._row_rngs[i]

    # -- Gymnasium VectorEnv API -----------------------------------------------------------------------
    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict | None = None):
        if options:
            raise ValueError(f"unknown reset option(s): {', '.join(sorted(options))}")
        n = self.num_envs
        if seed is None:
            seeds: list[int | None] = [None] * n
        elif isinstance(seed, (int, np.integer)):
            super().reset(seed=int(seed))  # also seeds `self.np_random`, as every Gymnasium env does
            seeds = [int(seed) + i for i in range(n)]
        else:
            seeds = [None if s is None else int(s) for s in seed]
            if len(seeds) != n:
                raise ValueError(f"a list of seeds must have num_envs={n} entries, got {len(seeds)}")
        for i, s in enumerate(seeds):
            if s is not None or self._row_rngs[i] is None:
                self._row_rngs[i] = np.random.default_rng(s)
        known = [s for s in seeds if s is not None]
        if known:  # the opponents' stream: a child of the seeds, independent of every slot's stream
            self._rng = np.random.default_rng(np.random.SeedSequence(known).spawn(1)[0])
        self._start_all()
        self._autoreset[:] = False
        infos = self._started_info(self._all)
        infos["action_mask"], infos["_action_mask"] = self.action_masks(), self._all.copy()
        return self._learner_enc.encode(self.batch), infos

    def step(self, actions):
        obs, rewards, terminated, truncated = self._advance(actions)
        terminated, truncated = terminated.copy(), truncated.copy()
        infos: dict[str, Any] = {}
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            restart = self._autoreset
            if restart.any():  # games that ended at the last step (left as they were by this one) start anew
                rows = np.flatnonzero(restart)
                self._start_rows(rows)
                obs[rows] = self._learner_enc.encode(self.batch, rows)
                rewards[rows] = 0.0
                terminated[rows] = truncated[rows] = False
                infos.update(self._started_info(restart))
            ended = terminated | truncated
            if ended.any():
                infos["result"], infos["_result"] = self._results(ended), ended.copy()
            self._autoreset = ended
        else:
            ended = terminated | truncated
            if ended.any():
                rows = np.flatnonzero(ended)
                final_obs = np.full(self.num_envs, None, dtype=object)
                for i in rows.tolist():
                    final_obs[i] = obs[i].copy()
                infos["final_obs"], infos["_final_obs"] = final_obs, ended.copy()
                infos["final_info"] = {"result": self._results(ended), "_result": ended.copy()}
                infos["_final_info"] = ended.copy()
                self._start_rows(rows)
                obs[rows] = self._learner_enc.encode(self.batch, rows)
                infos.update(self._started_info(ended))
        infos["action_mask"], infos["_action_mask"] = self.action_masks(), self._all.copy()
        return obs, rewards, terminated, truncated, infos

    def _started_info(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """``seat`` and ``game_seed`` of the slots in ``mask`` (0 elsewhere), with their masks."""
        return {"seat": np.where(mask, self.seats, 0), "_seat": mask.copy(),
                "game_seed": np.where(mask, self.game_seeds, 0), "_game_seed": mask.copy()}

    def _results(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """The ``result`` info of the slots in ``mask`` (their games are over), one array per field."""
        n = self.num_envs
        scores = np.zeros((n, 2), dtype=np.float64)
        outcome = np.zeros(n, dtype=np.float64)
        turns = np.zeros(n, dtype=np.int64)
        reason = np.full(n, None, dtype=object)
        for i in np.flatnonzero(mask).tolist():
            r = self._result(i)
            scores[i], outcome[i], turns[i], reason[i] = r["scores"], r["outcome"], r["turns"], r["reason"]
        out: dict[str, np.ndarray] = {}
        for key, value in (("scores", scores), ("outcome", outcome), ("turns", turns), ("reason", reason)):
            out[key], out["_" + key] = value, mask.copy()
        return out

    def render(self) -> tuple | None:
        if self.render_mode is None or self.batch is None:
            return None
        return tuple(self.render_game(i) for i in range(self.num_envs))

    def close_extras(self, **kwargs: Any) -> None:
        self.batch = None
