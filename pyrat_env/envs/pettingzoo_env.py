"""The two-player PettingZoo environment (`PyRatParallelEnv`): both players act each turn, simultaneously.

The module follows PettingZoo's layout for an environment module (``from pyrat_env.envs import pettingzoo_env``
then ``pettingzoo_env.env()``, ``.raw_env()``, ``.parallel_env()``):

* `parallel_env`: the `PyRatParallelEnv` (the game is simultaneous, so this is its native form);
* `raw_env`: the same game as an AEC env (``parallel_to_aec``: players act in turn, moves still apply together);
* `env`: `raw_env` with PettingZoo's usual wrappers (``AssertOutOfBoundsWrapper``, ``OrderEnforcingWrapper``).

``aec_env`` is `raw_env` under its PyRat name. All take the options of `PyRatParallelEnv`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

from ..encoders import ROTATED_ACTION, Encoder, action_mask_table
from ..engine import Game
from ..mazes import GameConfig, GameSetup, new_game
from .gym_env import (
    PLAYER_NAMES,
    RENDER_MODES,
    new_seed,
    outcome,
    render_game_rgb,
    render_game_text,
    set_game_options,
)

_MUD_MASK = np.array([1, 0, 0, 0, 0], dtype=np.int8)


class PyRatParallelEnv(ParallelEnv):
    """PyRat for two learners (PettingZoo ``ParallelEnv``, agents ``player_0`` and ``player_1`` = seats 0 and 1).

    Options as `PyRatEnv` (``preset``, ``config``, game settings, ``encoder``, ``reward``, ``max_turns``,
    ``rotate``, ``render_mode``), without opponent or seat: both seats are agents.

    **Observation** of each agent: ``{"observation": <encoder output>, "action_mask": int8 [5]}``. The
    observation is egocentric (each agent is in its own ``self`` channel); with ``rotate`` (default: on
    symmetric mazes) ``player_1`` sees the maze turned by 180 degrees and its actions are mapped back,
    so one network plays both seats and the two seats of a symmetric position see the same thing.
    **Actions**: ``Discrete(5)`` per agent, in its own frame; a missing action counts as ``nothing``.
    Moves into walls are allowed and wasted; the mask marks moving actions (``nothing`` always legal, only
    ``nothing`` while in mud, where actions are ignored).

    **Reward** per agent: ``score_diff`` (default: own points this turn minus the other's), ``score``, or
    ``sparse`` (+1/0/-1 at the end). **Termination**: the game is over by the rules (both agents at once).
    **Truncation**: the turn limit (default ``4 * width * height``). Both agents leave ``agents`` together.
    **Info**: ``game_seed`` and ``seat`` at reset; ``result`` (scores, outcome for that agent, turns,
    reason) on the last step. ``reset(options=...)`` accepts ``game_seed`` or ``setup`` and ignores other keys.
    **State** (for centralised critics): ``state()`` is ``player_0``'s observation, unrotated (both players,
    the cheese, the maze, scores and turn: the whole game), in ``state_space`` (the encoder's ``Box``).

    **Versions.** v0 (``metadata["name"] = "pyrat_v0"``): first version.
    """

    metadata = {"render_modes": list(RENDER_MODES), "name": "pyrat_v0", "render_fps": 10,
                "is_parallelizable": True}

    def __init__(self, preset: str | None = "official", config: GameConfig | dict | None = None,
                 encoder: str | Encoder = "planes", reward: str = "score_diff",
                 max_turns: int | str | None = "auto", rotate: bool | str = "auto",
                 render_mode: str | None = None, **settings) -> None:
        set_game_options(self, preset, config, None, encoder, reward, max_turns, rotate, render_mode, **settings)
        self.possible_agents = list(PLAYER_NAMES)
        self.agents: list[str] = []
        w, h = self.config.width, self.config.height
        self._obs_spaces = {a: spaces.Dict({"observation": self.encoder.space(w, h),
                                            "action_mask": spaces.Box(0, 1, (5,), dtype=np.int8)})
                            for a in self.possible_agents}
        self._act_spaces = {a: spaces.Discrete(5) for a in self.possible_agents}
        self.state_space = self.encoder.space(w, h)
        self._rng: np.random.Generator | None = None
        self.game: Game | None = None
        self.setup: GameSetup | None = None

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        options = options or {}
        setup = options.get("setup")
        if setup is None:
            game_seed = options.get("game_seed")
            game_seed = new_seed(self._rng) if game_seed is None else int(game_seed)
            setup = new_game(self.config, game_seed)
        self.setup = setup
        game = Game(setup.maze, setup.cheese, setup.starts, setup.config.teams, self.max_turns)
        game.step([0, 0])                      # turn 0: preprocessing, nobody moves
        self.game = game
        self._rotate = (False, self.rotate_seat1)
        self._encodings = [self.encoder.incremental(s, self._rotate[s]) for s in (0, 1)]
        self._masks = [action_mask_table(game.maze, self._rotate[s]).astype(np.int8) for s in (0, 1)]
        self.agents = list(self.possible_agents)
        obs = {a: {"observation": self._encodings[s].reset(game), "action_mask": self._mask(s)}
               for s, a in enumerate(self.possible_agents)}
        infos = {a: {"seat": s, "game_seed": setup.seed} for s, a in enumerate(self.possible_agents)}
        return obs, infos

    def _mask(self, seat: int) -> np.ndarray:
        game = self.game
        if game.mud_target[seat] is not None:
            return _MUD_MASK.copy()
        return self._masks[seat][game.pos[seat]].copy()

    def step(self, actions: dict[str, Any]):
        game = self.game
        if game is None or not self.agents:
            raise RuntimeError("call reset() before step(); the game is over")
        acts = [0, 0]
        for s, a in enumerate(self.possible_agents):
            act = actions.get(a)
            if act is None:
                continue
            act = int(act)
            if not 0 <= act <= 4:
                raise ValueError(f"action {act!r} of {a} is not in 0..4")
            acts[s] = int(ROTATED_ACTION[act]) if self._rotate[s] else act
        gains = game.step(acts)
        over = game.terminated or game.truncated
        names = self.possible_agents
        rewards = {}
        for s, a in enumerate(names):
            if self.reward_kind == "score_diff":
                rewards[a] = float(gains[s] - gains[1 - s])
            elif self.reward_kind == "score":
                rewards[a] = float(gains[s])
            else:
                rewards[a] = outcome(game.scores[s], game.scores[1 - s]) if over else 0.0
        obs = {a: {"observation": self._encodings[s].update(game), "action_mask": self._mask(s)}
               for s, a in enumerate(names)}
        terminations = {a: bool(game.terminated) for a in names}
        truncations = {a: bool(game.truncated) for a in names}
        infos: dict[str, dict] = {a: {} for a in names}
        if over:
            for s, a in enumerate(names):
                infos[a]["result"] = {"scores": list(game.scores),
                                      "outcome": outcome(game.scores[s], game.scores[1 - s]),
                                      "turns": game.moves_played,
                                      "reason": "terminated" if game.terminated else "max_turns"}
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """The global state (in ``state_space``): seat 0's observation, unrotated (it holds the whole game)."""
        if self.game is None:
            raise RuntimeError("call reset() first")
        return self.encoder.encode(self.game, 0, False)

    def render(self):
        if self.render_mode is None or self.game is None:
            return None
        if self.render_mode == "ansi":
            return render_game_text(self.game)
        return render_game_rgb(self.game)

    def close(self) -> None:
        self.game = None


def parallel_env(**kwargs) -> PyRatParallelEnv:
    """A two-player `PyRatParallelEnv` (options as `PyRatEnv` minus ``opponent`` and ``seat``)."""
    return PyRatParallelEnv(**kwargs)


def raw_env(**kwargs) -> AECEnv:
    """The same game as a PettingZoo AEC env (players act in turn; moves still apply simultaneously)."""
    from pettingzoo.utils.conversions import parallel_to_aec

    return parallel_to_aec(parallel_env(**kwargs))


def env(**kwargs) -> AECEnv:
    """`raw_env` with PettingZoo's usual wrappers: actions outside the action space and calls out of order raise."""
    from pettingzoo.utils import wrappers

    return wrappers.OrderEnforcingWrapper(wrappers.AssertOutOfBoundsWrapper(raw_env(**kwargs)))


aec_env = raw_env  # the PyRat name of the AEC env (``pyrat_env.aec_env``)
