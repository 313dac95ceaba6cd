"""The single-agent Gymnasium environment (`PyRatEnv`), and the pieces every PyRat env shares.

Shared here: how env options become a `GameConfig` (`game_config`), the default turn limit, the
rotation rule, opponents (`as_opponent`, `PolicyOpponent`), rewards, and the text drawing used by
the ``ansi`` render mode (`render_text`). `PyRatEnv` plays one game with the scalar engine (`Game`)
and encodes it incrementally, which keeps a step at a few tens of microseconds.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .. import registry
from ..agent import Agent, GameContext, to_action_index
from ..encoders import Encoder, GameEncoding, action_mask_table, make_encoder
from ..engine import ROTATED_ACTION_TUPLE, Game, Maze, compare_scores
from ..mazes import GameConfig, GameSetup, new_game, preset

PLAYER_NAMES: tuple[str, str] = ("player_0", "player_1")
REWARDS = ("score_diff", "sparse", "score")
_MASK_MUD = np.array([True, False, False, False, False])
_ROT = ROTATED_ACTION_TUPLE  # the real action of a rotated view's action


# -- options shared by the environments ---------------------------------------------------------------
def game_config(preset_name: str | None = "official", config: GameConfig | dict | None = None,
                **settings) -> GameConfig:
    """The game settings of an env: ``config`` (a `GameConfig` or a dict) or the preset, then ``settings``.

    ``settings`` are `GameConfig` fields (``width``, ``height``, ``nb_cheese``, ``symmetric``,
    ``starts``, ...), applied on top. The envs are two-player: ``starts`` must name two players.
    """
    if config is None:
        base = preset(preset_name or "official")
    elif isinstance(config, GameConfig):
        base = config
    elif isinstance(config, dict):
        base = GameConfig.from_dict(config)
    else:
        raise TypeError(f"config must be a GameConfig or a dict, not {type(config).__name__}")
    unknown = set(settings) - set(GameConfig.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown env option(s): {', '.join(sorted(unknown))}")
    cfg = base.with_(**settings) if settings else base
    if cfg.n_players != 2:
        raise ValueError(f"the PyRat envs are two-player games; config has {cfg.n_players} start(s)")
    if cfg.teams is not None and len(set(cfg.teams)) != 2:
        raise ValueError("the PyRat envs need the two players in different teams")
    return cfg


def default_max_turns(config: GameConfig) -> int:
    """The env's turn limit when none is given: the config's, else ``4 * width * height``."""
    return config.max_turns if config.max_turns is not None else 4 * config.width * config.height


def resolve_max_turns(max_turns: int | str | None, config: GameConfig) -> int | None:
    """``"auto"``: `default_max_turns`; ``None``: no limit; an int >= 1: that limit."""
    if max_turns == "auto":
        return default_max_turns(config)
    if max_turns is None:
        return None
    if not isinstance(max_turns, (int, np.integer)) or max_turns < 1:
        raise ValueError(f"max_turns must be 'auto', None or an int >= 1, got {max_turns!r}")
    return int(max_turns)


def resolve_rotate(rotate: bool | str, config: GameConfig) -> bool:
    """Whether seat 1's view is rotated: ``"auto"`` on symmetric mazes, or forced on / off."""
    if rotate == "auto":
        return bool(config.symmetric)
    if isinstance(rotate, (bool, np.bool_)):
        return bool(rotate)
    raise ValueError(f"rotate must be 'auto', True or False, got {rotate!r}")


RENDER_MODES = ("ansi", "rgb_array")


def set_game_options(env: Any, preset: str | None, config: GameConfig | dict | None, seat: int | str | None,
                     encoder: str | Encoder, reward: str, max_turns: int | str | None, rotate: bool | str,
                     render_mode: str | None, **settings) -> None:
    """Check the options every PyRat env shares and store them on ``env``: ``config``, ``seat_option`` (not for
    ``seat=None``: an env where every seat learns), ``reward_kind``, ``max_turns``, ``rotate_seat1``, ``encoder``,
    ``render_mode``."""
    env.config = game_config(preset, config, **settings)
    if seat is not None and seat not in (0, 1, "random"):
        raise ValueError(f"seat must be 0, 1 or 'random', got {seat!r}")
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be one of {list(RENDER_MODES)} or None")
    if seat is not None:
        env.seat_option = seat
    env.reward_kind = check_reward(reward)
    env.max_turns = resolve_max_turns(max_turns, env.config)
    env.rotate_seat1 = resolve_rotate(rotate, env.config)
    env.encoder = make_encoder(encoder)
    env.render_mode = render_mode


def check_reward(reward: str) -> str:
    if reward not in REWARDS:
        raise ValueError(f"unknown reward {reward!r}; choose one of {', '.join(REWARDS)}")
    return reward


def outcome(my_score: float, other_score: float) -> float:
    """+1 win, 0 draw, -1 loss, on scores rounded to 5 decimals as the official game compares them."""
    return float(compare_scores(my_score, other_score))


def _action_index(action) -> int:
    return to_action_index(action)


def new_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63 - 1))


# -- opponents -------------------------------------------------------------------------------------------
class PolicyOpponent:
    """An opponent that plays from observations, as the learner does (self-play).

    ``policy`` is a stable-baselines3 model or policy (anything with ``predict(obs, deterministic=...)``;
    ``action_masks=`` is passed when ``predict`` accepts it, as MaskablePPO's does) or a callable
    ``fn(obs [B, ...], masks [B, 5]) -> actions [B]``. It sees observations made by the env's encoder
    from its own seat (rotated like the learner's would be in that seat) and answers in its own frame;
    the env maps the actions back. In the vector env it is evaluated once per step over all games.
    """

    def __init__(self, policy: Any, deterministic: bool = False) -> None:
        self.policy = policy
        self.deterministic = bool(deterministic)
        predict = getattr(policy, "predict", None)
        if predict is None and not callable(policy):
            raise TypeError(f"{policy!r} has no predict method and is not callable")
        self._predict = predict
        self._masks_kw = False
        if predict is not None:
            try:
                self._masks_kw = "action_masks" in inspect.signature(predict).parameters
            except (TypeError, ValueError):
                self._masks_kw = False

    def __call__(self, obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
        if self._predict is not None:
            kw = {"action_masks": masks} if self._masks_kw else {}
            actions, _ = self._predict(obs, deterministic=self.deterministic, **kw)
        else:
            actions = self.policy(obs, masks)
        return np.asarray(actions, dtype=np.int64).reshape(-1)

    def __repr__(self) -> str:
        return f"PolicyOpponent({type(self.policy).__name__})"


def as_opponent(spec: Any):
    """An opponent from a spec: an agent name or spec string (resolved through `pyrat_env.registry`, which the
    installed agents fill), an `Agent`, a `PolicyOpponent`, or a policy / model / callable (a `PolicyOpponent`)."""
    if isinstance(spec, (Agent, PolicyOpponent)):
        return spec
    if isinstance(spec, str):
        return registry.resolve_agent(spec)
    if hasattr(spec, "predict") or callable(spec):
        return PolicyOpponent(spec)
    raise TypeError(f"cannot use {spec!r} as an opponent: give an agent name, an Agent or a policy")


def shares_game_safely(agent: Any) -> bool:
    """True for agents that declare (``reads_game_only``) that they never change the `Game` they are given
    (the env then skips the per-turn copy)."""
    return bool(getattr(agent, "reads_game_only", False))


# -- drawing ---------------------------------------------------------------------------------------------
def render_text(maze: Maze, pos: Sequence[int], cheese: Sequence[int], scores: Sequence[float] = (),
                turn: int | None = None, marks: str = "RP", mud: Sequence[tuple[int | None, int]] = ()) -> str:
    """A text drawing of a game: ``R``/``P`` the players (seat 0/1), ``*`` cheese, ``###`` holes.

    Between cells: ``|`` and ``---`` are walls, blanks passages, a digit the weight of mud (``~`` above 9).
    """
    w, h = maze.width, maze.height
    cheese_set = set(int(c) for c in cheese)

    def mud_mark(weight: int) -> str:
        return str(weight) if weight <= 9 else "~"

    lines = []
    if turn is not None:
        head = f"turn {turn}"
        if scores:
            head += "  scores " + " - ".join(f"{marks[p]} {s:g}" for p, s in enumerate(scores))
        head += f"  cheese left {len(cheese_set)}"
        for p, (target, count) in enumerate(mud):
            if target is not None:
                head += f"  {marks[p]} in mud to {target} ({count})"
        lines.append(head)
    lines.append("+" + "---+" * w)
    for r in range(h):
        row, below = ["|"], ["+"]
        for c in range(w):
            cell = r * w + c
            if not maze.cells[cell]:
                body = "###"
            else:
                left = marks[0] if len(pos) > 0 and pos[0] == cell else " "
                right = marks[1] if len(pos) > 1 and pos[1] == cell else " "
                body = left + ("*" if cell in cheese_set else " ") + right
            row.append(body)
            we = int(maze.weights[cell, 2])
            row.append("|" if we == 0 else (" " if we == 1 else mud_mark(we)))
            ws = int(maze.weights[cell, 3])
            below.append("---" if ws == 0 else ("   " if ws == 1 else f" {mud_mark(ws)} "))
            below.append("+")
        lines.append("".join(row))
        lines.append("".join(below))
    return "\n".join(lines)


def render_game_text(game: Game) -> str:
    return render_text(game.maze, game.pos, game.cheese, game.scores, game.turn,
                       mud=list(zip(game.mud_target, game.mud_count)))


def render_game_rgb(game: Game, names: Sequence[str] = PLAYER_NAMES) -> np.ndarray:
    """An RGB frame of the game from the viewer (``pyrat_env.viewer.render.render_rgb``, loads pygame)."""
    from ..viewer.render import render_rgb

    return render_rgb(game.maze, game.snapshot(list(names)), list(names))


# -- the environment ---------------------------------------------------------------------------------------
class PyRatEnv(gym.Env):
    """PyRat for one learner against a fixed opponent (Gymnasium ``PyRat-v0`` and friends).

    **Game.** A two-player PyRat game (rules in ``docs/rules.md``) drawn from ``preset`` (default
    ``official``: 15 x 13, 21 cheese, both players on the centre) or ``config`` (a `GameConfig` or dict),
    with `GameConfig` fields as extra keyword options (``width=``, ``nb_cheese=``, ``symmetric=``...). A
    new maze, cheese and start set-up is drawn from the env's seeded generator at every reset.

    **Opponent.** ``opponent`` (default ``"greedy"``): any agent the project can name (resolved by
    ``pyrat_rl.agents.spec.resolve_agent``), an ``Agent`` instance, or a policy / model (``PolicyOpponent``). It is
    asked only on the turns it is not in mud, with its own seeded generator given at reset.

    **Seat.** ``seat``: 0, 1 or ``"random"`` (drawn at each reset). ``reset(options={"seat": s})`` forces it
    for one episode; ``options={"game_seed": n}`` or ``{"setup": GameSetup}`` plays a given game.

    **Observation.** ``encoder``: ``"flat"`` (vector ``[14N + 4]``), ``"planes"`` (``[18, H, W]``) or
    ``"tokens"`` (``[N, 20]``), float32 in [0, 1], egocentric (layouts in ``pyrat_env.encoders``). With
    ``rotate`` (default ``"auto"``: on for symmetric mazes, e.g. the ``classic`` and ``tiny`` presets)
    seat 1 sees the maze turned by 180 degrees, so that one network plays both seats; its actions are
    mapped back (north <-> south, east <-> west): the policy always acts in its own frame.

    **Actions.** ``Discrete(5)``: 0 nothing, 1 north, 2 east, 3 south, 4 west, in the view frame. Moves
    into walls, holes or off the grid are allowed and waste the turn. ``action_masks()`` gives the legal
    moves (``nothing`` always legal; only ``nothing`` while the learner is in mud, where actions are
    ignored) for sb3-contrib's MaskablePPO; ``mask_in_info=True`` also puts it in ``info["action_mask"]``.

    **Steps.** One step is one game turn. ``reset`` plays the preprocessing turn (turn 0) so the first
    observation is at turn 1. While the learner is in mud, steps still pass one turn each.

    **Reward** (``reward``): ``"score_diff"`` (default) the learner's points this turn minus the
    opponent's (a cheese is worth 1, split when shared), summing to the final score difference;
    ``"score"`` the learner's points only; ``"sparse"`` 0 until the last step, then +1 win, 0 draw, -1 loss
    (scores compared at termination, or at truncation by the current scores).

    **Termination**: the game is over by the rules (no cheese left, or the ranking can no longer change).
    **Truncation**: the turn limit ``max_turns`` (default ``"auto"``: the config's ``max_turns``, else
    ``4 * width * height``; ``None`` for no limit) is reached; the game is cut, not over.

    **Info**: at reset ``seat`` and ``game_seed``; on the last step ``result`` (``scores`` by seat,
    ``outcome`` for the learner, ``turns``, ``reason``: ``terminated`` or ``max_turns``).

    **Render**: ``render_mode="ansi"`` (text drawing: ``R`` seat 0, ``P`` seat 1, ``*`` cheese, digits mud)
    or ``"rgb_array"`` (frame from ``pyrat_env.viewer``).

    **Versions.** v0: first version (observation layouts as in ``pyrat_env.encoders``, 18 planes).
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 10}

    def __init__(self, preset: str | None = "official", config: GameConfig | dict | None = None,
                 opponent: Any = "greedy", seat: int | str = 0, encoder: str | Encoder = "planes",
                 reward: str = "score_diff", max_turns: int | str | None = "auto", rotate: bool | str = "auto",
                 render_mode: str | None = None, mask_in_info: bool = False, **settings) -> None:
        set_game_options(self, preset, config, seat, encoder, reward, max_turns, rotate, render_mode, **settings)
        self.mask_in_info = bool(mask_in_info)
        self.opponent = as_opponent(opponent)
        self.observation_space = self.encoder.space(self.config.width, self.config.height)
        self.action_space = spaces.Discrete(5)
        self.game: Game | None = None
        self.setup: GameSetup | None = None
        self.seat = 0
        self._rotate = False
        self._encoding: GameEncoding | None = None
        self._opp_encoding: GameEncoding | None = None
        self._mask_table: np.ndarray | None = None

    # -- opponents ---------------------------------------------------------------------------------
    def set_opponent(self, opponent: Any) -> None:
        """Replace the opponent (takes effect at the next reset)."""
        self.opponent = as_opponent(opponent)

    def _new_setup(self, game_seed: int) -> GameSetup:
        return new_game(self.config, game_seed)

    # -- gymnasium API ------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        rng = self.np_random
        setup = options.pop("setup", None)
        game_seed = options.pop("game_seed", None)
        seat = options.pop("seat", self.seat_option)
        if options:
            raise ValueError(f"unknown reset option(s): {', '.join(sorted(options))}")
        if setup is None:
            game_seed = new_seed(rng) if game_seed is None else int(game_seed)
            setup = self._new_setup(game_seed)
        else:
            game_seed = setup.seed
        if seat == "random":
            seat = int(rng.integers(2))
        if seat not in (0, 1):
            raise ValueError(f"seat must be 0, 1 or 'random', got {seat!r}")
        self.setup, self.seat = setup, int(seat)
        self._opp = 1 - self.seat
        self._rotate = self.rotate_seat1 and self.seat == 1
        game = Game(setup.maze, setup.cheese, setup.starts, setup.config.teams, self.max_turns)
        self.game = game
        self._start_opponent(game, new_seed(rng))
        game.step([0, 0])                      # turn 0: preprocessing, nobody moves
        self._mask_table = action_mask_table(game.maze, self._rotate)
        self._encoding = self.encoder.incremental(self.seat, self._rotate)
        obs = self._encoding.reset(game)
        if self._opp_policy:
            self._opp_encoding.reset(game)
        self._actions = [0, 0]
        info = {"seat": self.seat, "game_seed": game_seed}
        if self.mask_in_info:
            info["action_mask"] = self.action_masks()
        return obs, info

    def _start_opponent(self, game: Game, seed: int) -> None:
        opp = self._active_opp = self.opponent   # a replacement waits for the next reset
        self._opp_policy = isinstance(opp, PolicyOpponent)
        if self._opp_policy:
            rot = self.rotate_seat1 and self._opp == 1
            self._opp_rotate = rot
            self._opp_encoding = self.encoder.incremental(self._opp, rot)
            self._opp_mask_table = action_mask_table(game.maze, rot)
            return
        opp.start(GameContext(maze=game.maze, seat=self._opp, n_players=2, cheese=tuple(game.initial_cheese),
                              starts=tuple(game.starts), rng=np.random.default_rng(seed),
                              teams=self.config.teams, game=game.copy()))
        self._opp_copy = not shares_game_safely(opp)
        self._opp_act = opp.act

    def _policy_action(self, game: Game) -> int:
        obs = self._opp_encoding.update(game)
        mask = self._opp_mask_table[game.pos[self._opp]][None]
        a = int(self._active_opp(obs[None], mask)[0])
        return _ROT[a] if self._opp_rotate else a

    def step(self, action):
        game = self.game
        if game is None:
            raise RuntimeError("call reset() before step()")
        if game.terminated or game.truncated:
            raise RuntimeError("the episode is over; call reset()")
        a = int(action)
        if not 0 <= a <= 4:
            raise ValueError(f"action {action!r} is not in 0..4")
        me, opp = self.seat, self._opp
        acts = self._actions
        acts[me] = _ROT[a] if self._rotate else a
        if game.mud_target[opp] is not None:      # an opponent in mud is not asked
            acts[opp] = 0
        elif self._opp_policy:
            acts[opp] = self._policy_action(game)
        else:
            oa = self._opp_act(game.copy() if self._opp_copy else game, opp)
            acts[opp] = oa if type(oa) is int else _action_index(oa)
        gains = game.step(acts)
        kind = self.reward_kind
        terminated, truncated = game.terminated, game.truncated
        if kind == "score_diff":
            reward = gains[me] - gains[opp]
        elif kind == "score":
            reward = gains[me]
        else:
            reward = outcome(game.scores[me], game.scores[opp]) if (terminated or truncated) else 0.0
        obs = self._encoding.update(game)
        info: dict = {}
        if terminated or truncated:
            info["result"] = self._result(game)
            self._end_opponent(game, info["result"])
        if self.mask_in_info:
            info["action_mask"] = self.action_masks()
        return obs, float(reward), terminated, truncated, info

    def _result(self, game: Game) -> dict:
        me, opp = self.seat, self._opp
        return {"scores": list(game.scores), "outcome": outcome(game.scores[me], game.scores[opp]),
                "turns": game.moves_played, "reason": "terminated" if game.terminated else "max_turns"}

    def _end_opponent(self, game: Game, result: dict) -> None:
        if not self._opp_policy:
            self._active_opp.end(game.copy(), self._opp, result)

    def action_masks(self) -> np.ndarray:
        """Legal actions ``[5]`` bool in the learner's frame (``nothing`` always; only it while in mud)."""
        game = self.game
        if game is None:
            return np.ones(5, dtype=bool)
        if game.mud_target[self.seat] is not None:
            return _MASK_MUD.copy()
        return self._mask_table[game.pos[self.seat]].copy()

    def render(self):
        if self.render_mode is None or self.game is None:
            return None
        if self.render_mode == "ansi":
            return render_game_text(self.game) + f"\nlearner: {'RP'[self.seat]} (seat {self.seat})"
        return render_game_rgb(self.game)

    def close(self) -> None:
        self.game = None


def make_env(**kwargs) -> PyRatEnv:
    """A `PyRatEnv` (same options); for factories such as ``lambda: make_env(preset="tiny")``."""
    return PyRatEnv(**kwargs)

