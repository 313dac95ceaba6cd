"""PPO training on the batched VecEnv: MaskablePPO (sb3-contrib) with action masks, plain PPO without.

``pyrat train ppo --policy cnn --opponent greedy --timesteps 1000000 --out runs/cnn`` runs `train_ppo`:

* **Env**: `pyrat_env.envs.make_vec_env` with ``n_envs`` games stepped together, the network's encoder
  (``mlp`` -> ``flat``, ``cnn`` -> ``planes``, ``transformer`` -> ``tokens``), the learner in a random seat.
  ``opponent`` is an agent spec (``greedy``, a checkpoint path...) or a weighted pool such as
  ``greedy:1,opportunist:1,self:2`` where ``self`` means past checkpoints of the learner (`pyrat_rl.train.selfplay`),
  drawn per game.
* **Logs** (TensorBoard, ``DIR/tb``): SB3's episode reward and length (``rollout/ep_rew_mean``,
  ``ep_len_mean``), losses, entropy, KL, clip fraction; ``rollout/win_rate`` and ``rollout/points`` of the
  training games; every ``eval_every`` steps ``eval/points_OPP``, ``eval/win_rate_OPP`` and
  ``eval/score_diff_OPP`` from ``eval_games`` paired games (deterministic policy) against each evaluation
  opponent (greedy first: it picks the best checkpoint); ``time/steps_per_s`` (steps over wall time).
* **Files** in ``DIR``: ``config.json`` (the run's full `PPOConfig`, the checkpoint metadata and the
  machine), ``best.zip`` (best evaluation so far, with ``best.json``), ``last.zip``, ``checkpoints/step_N.zip``
  every ``checkpoint_every`` steps, ``pool/`` (self-play snapshots), ``state.json`` (what ``--resume`` needs)
  and ``summary.json``. Every ``.zip`` is a full SB3 model with the metadata inside, so it is an agent:
  ``pyrat play DIR/best.zip greedy``; ``pyrat train export DIR/best.zip agent.pt`` makes the portable file.
* **Several maze sizes** (``--presets official,classic,tournament``, a network that plays every size: ``fcn``):
  each preset gets its share of the ``n_envs`` games in its own batched env, and `MixedSizeVecEnv` pads every
  observation to the largest grid with hole cells (which the network treats as the outside of the maze, so
  padding changes nothing it computes); the turn feature has one horizon on all sizes (the largest turn
  limit); evaluations play ``eval_games`` on every preset, and the best checkpoint is chosen on the means.
* ``init``: start from a checkpoint's policy weights (an imitation ``best.pt`` or a PPO ``.zip``); its
  network settings are used. ``resume``: continue a run in ``DIR`` from ``last.zip`` up to ``timesteps``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from pyrat_rl.agents.networks import NETWORKS, describe, encoder_for, history_planes, net_kwargs_for, policy_kwargs
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import VecEnv

from pyrat_env.encoders import DEFAULT_HORIZON
from pyrat_env.runtime import machine_info, resolve_device, set_threads

from .selfplay import SELF, OpponentPool, parse_mix


@dataclass(frozen=True)
class PPOConfig:
    """Settings of a PPO run (saved as ``config.json`` in the run folder)."""

    policy: str = "cnn"
    preset: str = "official"
    opponent: str = "greedy"
    timesteps: int = 1_000_000
    n_envs: int = 128
    n_steps: int = 64
    batch_size: int = 2048
    n_epochs: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None
    reward: str = "score_diff"
    seat: str = "random"
    masks: bool = True
    max_turns: int | None = None          # None: the envs' default (4 * width * height)
    net_kwargs: dict | None = None
    net_arch: dict | None = None
    init: str | None = None
    device: str = "cpu"
    threads: int | None = None
    seed: int = 0
    eval_every: int = 100_000
    eval_games: int = 100
    eval_opponents: tuple[str, ...] = ("greedy",)
    checkpoint_every: int = 250_000
    snapshot_every: int = 100_000
    pool_size: int = 10
    out: str = "runs/ppo"
    progress: bool = True
    verbose: int = 0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> PPOConfig:
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "eval_opponents" in d:
            d["eval_opponents"] = tuple(d["eval_opponents"])
        return cls(**d)


def _seat(seat: str | int) -> str | int:
    return int(seat) if str(seat) in ("0", "1") else seat


class MixedSizeVecEnv(VecEnv):
    """Several `PyRatVecEnv` s of different maze sizes as one SB3 ``VecEnv`` (``pyrat train ppo --presets``).

    SB3 stores rollouts in arrays of one observation shape, and a `GameBatch` steps games of one size. So each
    preset keeps its own batched env (its share of the games), and every observation (terminal ones included)
    is padded to the largest grid with hole cells (`pyrat_rl.agents.networks.pad_planes`): a network that plays
    every size (`FcnNet`) computes the same thing on a padded observation as on the game's own, so it learns
    from all sizes at once and then plays each at its own size. Actions, rewards, masks and infos are the
    sub-envs' in order (games of the first preset first). ``configs``, ``limits`` and ``names``: the presets'
    game configs, turn limits and names; ``config`` and ``max_turns`` are the first preset's.
    """

    def __init__(self, envs: list, names: list[str]) -> None:
        from gymnasium import spaces

        from pyrat_env.encoders import PlanesEncoder

        if any(not isinstance(e.encoder, PlanesEncoder) for e in envs):
            raise ValueError("several maze sizes in one run need the planes encoder (the fcn network)")
        self.envs, self.names = list(envs), list(names)
        self.configs = [e.config for e in self.envs]
        self.limits = [e.max_turns for e in self.envs]
        self.config, self.max_turns = self.configs[0], self.limits[0]
        self.height = max(c.height for c in self.configs)
        self.width = max(c.width for c in self.configs)
        self.bounds = np.cumsum([0] + [e.num_envs for e in self.envs])
        space = self.envs[0].encoder.space(self.width, self.height)
        self.render_mode = None
        super().__init__(int(self.bounds[-1]), space, spaces.Discrete(5))
        self._actions: np.ndarray | None = None

    def _pad(self, obs: np.ndarray) -> np.ndarray:
        from pyrat_rl.agents.networks import pad_planes

        return pad_planes(obs, self.height, self.width)

    def reset(self) -> np.ndarray:
        obs = [self._pad(e.reset()) for e in self.envs]
        self.reset_infos = [info for e in self.envs for info in e.reset_infos]
        return np.concatenate(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        actions, self._actions = self._actions, None
        obs, rewards, dones, infos = [], [], [], []
        for k, e in enumerate(self.envs):
            e.step_async(actions[self.bounds[k]:self.bounds[k + 1]])
            o, r, d, i = e.step_wait()
            for info in i:
                if "terminal_observation" in info:
                    info["terminal_observation"] = self._pad(info["terminal_observation"])
            obs.append(self._pad(o))
            rewards.append(r)
            dones.append(d)
            infos += i
        return np.concatenate(obs), np.concatenate(rewards), np.concatenate(dones), infos

    def action_masks(self) -> np.ndarray:
        return np.concatenate([e.action_masks() for e in self.envs])

    def close(self) -> None:
        for e in self.envs:
            e.close()

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)

    def get_attr(self, attr_name: str, indices=None) -> list:
        value = getattr(self, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        idx = self._indices(indices)
        if method_name == "action_masks":
            masks = self.action_masks()
            return [masks[i] for i in idx]
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def seed(self, seed: int | None = None) -> list:
        return [e.seed(None if seed is None else _sub_seed(seed, k)) for k, e in enumerate(self.envs)]

    def get_images(self):
        return [img for e in self.envs for img in e.get_images()]


def _sub_seed(seed: int, k: int) -> int:
    """The seed of preset k's env in a run on several presets."""
    return int(np.random.SeedSequence([int(seed), int(k)]).generate_state(1, dtype=np.uint32)[0])


def _opponent_env_spec(cfg: PPOConfig) -> str:
    """The fixed opponent of the env: the first agent of the mix that is not ``self``."""
    for spec, _ in parse_mix(cfg.opponent):
        if spec != SELF:
            return spec
    return "greedy"


def make_env(cfg: PPOConfig, pool: OpponentPool | None = None):
    """The batched training env for a config (with the pool as opponent sampler when there is one).

    Several presets (``cfg.preset`` = ``"official,classic,tournament"``): a `MixedSizeVecEnv` sharing the
    ``n_envs`` games evenly, whose encoders give the turn feature one horizon (the largest turn limit).
    """
    from pyrat_env.envs import make_vec_env

    from .imitation import check_sizes, preset_names, split_count

    first = _opponent_env_spec(cfg)
    max_turns = cfg.max_turns if cfg.max_turns is not None else "auto"
    names = preset_names(cfg.preset)
    if len(names) == 1:
        return make_vec_env(cfg.n_envs, seed=cfg.seed, preset=cfg.preset, opponent=first, seat=_seat(cfg.seat),
                            encoder=encoder_for(cfg.policy), reward=cfg.reward, max_turns=max_turns,
                            opponent_sampler=pool)
    from pyrat_env.encoders import make_encoder
    from pyrat_env.envs.gym_env import resolve_max_turns
    from pyrat_env.mazes import preset

    configs = [preset(n) for n in names]
    check_sizes(cfg.policy, configs, names)
    if cfg.n_envs < len(names):
        raise ValueError(f"n_envs {cfg.n_envs} is fewer than the {len(names)} presets")
    horizon = max(resolve_max_turns(max_turns, c) or DEFAULT_HORIZON for c in configs)
    envs = [make_vec_env(n, seed=_sub_seed(cfg.seed, k), preset=name, opponent=first, seat=_seat(cfg.seat),
                         encoder=make_encoder(encoder_for(cfg.policy), horizon=horizon, horizon_from_game=False),
                         reward=cfg.reward, max_turns=max_turns, opponent_sampler=pool)
            for k, (name, n) in enumerate(zip(names, split_count(cfg.n_envs, len(names))))]
    return MixedSizeVecEnv(envs, names)


def eval_settings(env) -> list[tuple[str | None, object, int | None]]:
    """``(preset name or None, game config, turn limit)`` of each size the env trains on (None: its only one)."""
    if isinstance(env, MixedSizeVecEnv):
        return list(zip(env.names, env.configs, env.limits))
    return [(None, env.config, env.max_turns)]


def run_meta(cfg: PPOConfig, env) -> dict:
    """Checkpoint metadata of a run (network, encoder, game config, rotation, masks; the presets of a mixed run)."""
    from pyrat_rl.agents.policy_agent import make_meta

    net_arch = dict(cfg.net_arch or NETWORKS[cfg.policy][3])
    extra, horizon = {}, env.max_turns or DEFAULT_HORIZON
    if isinstance(env, MixedSizeVecEnv):
        horizon = env.envs[0].encoder.horizon
        extra = {"presets": env.names, "preset_max_turns": dict(zip(env.names, env.limits))}
    return make_meta(cfg.policy, net_kwargs_for(cfg.policy, cfg.net_kwargs), net_arch, encoder_for(cfg.policy),
                     {"horizon": horizon}, env.config, rotate="auto", masks=cfg.masks,
                     algorithm="MaskablePPO" if cfg.masks else "PPO",
                     max_turns=horizon if extra else env.max_turns, **extra)


def _algo(masks: bool):
    if masks:
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    from stable_baselines3 import PPO

    return PPO


def build_model(cfg: PPOConfig, env, device: torch.device):
    """A fresh MaskablePPO / PPO model for the config."""
    if cfg.masks:
        from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy as policy_cls
    else:
        from stable_baselines3.common.policies import ActorCriticPolicy as policy_cls
    return _algo(cfg.masks)(
        policy_cls, env, learning_rate=cfg.learning_rate, n_steps=cfg.n_steps, batch_size=cfg.batch_size,
        n_epochs=cfg.n_epochs, gamma=cfg.gamma, gae_lambda=cfg.gae_lambda, clip_range=cfg.clip_range,
        ent_coef=cfg.ent_coef, vf_coef=cfg.vf_coef, max_grad_norm=cfg.max_grad_norm, target_kl=cfg.target_kl,
        policy_kwargs=policy_kwargs(cfg.policy, cfg.net_kwargs, cfg.net_arch), seed=cfg.seed, device=device,
        verbose=cfg.verbose)


def refuse_history(policy: str, net_kwargs: dict | None, where: str) -> None:
    """PPO's envs give no history planes: a network that reads them (`pyrat_rl.agents.networks.FcnNet`'s
    ``history``) raises ValueError naming ``where`` it came from (``--net``, ``--init FILE``)."""
    if history_planes(policy, net_kwargs):
        raise ValueError(f"{where}: the network reads history planes (net option 'history'), which PPO's envs do "
                         "not give; such a network trains by imitation only ('pyrat train imitate')")


def config_from_init(cfg: PPOConfig) -> tuple[PPOConfig, dict, dict]:
    """The config with the network settings of ``cfg.init``'s checkpoint, its metadata and its weights."""
    from pyrat_rl.agents.policy_agent import ACTOR_CRITIC, head_of, load_checkpoint

    meta, state = load_checkpoint(cfg.init)
    if isinstance(state, bytes):
        raise ValueError(f"--init needs a .pt or .zip checkpoint, not {cfg.init}")
    if head_of(meta) != ACTOR_CRITIC:
        raise ValueError(f"--init needs an actor-critic checkpoint (PPO, imitation), not a {head_of(meta)}: {cfg.init}")
    if cfg.policy != meta["policy"]:
        print(f"--init: using the checkpoint's network {meta['policy']!r} (not {cfg.policy!r})", flush=True)
    cfg = replace(cfg, policy=meta["policy"], net_kwargs=meta.get("net_kwargs"), net_arch=meta.get("net_arch"))
    return cfg, meta, state


def save_model(model, path: Path, meta: dict) -> Path:
    """An SB3 model file with the PyRat metadata inside (an agent for ``pyrat play``)."""
    from pyrat_rl.agents.policy_agent import add_meta_to_zip

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.zip")
    model.save(tmp)
    add_meta_to_zip(tmp, dict(meta, timesteps=int(model.num_timesteps)))
    tmp.replace(path)
    return path


class RolloutThreadsCallback(BaseCallback):
    """One torch thread while collecting rollouts, ``train_threads`` for the updates.

    A rollout step evaluates the policy on ``n_envs`` observations: small kernels, where a second thread
    mostly waits (and on a busy machine stalls every kernel until it is scheduled); the updates' large
    minibatches do use every core.
    """

    def __init__(self, train_threads: int, rollout_threads: int = 1) -> None:
        super().__init__()
        self.train_threads, self.rollout_threads = int(train_threads), int(rollout_threads)

    def _on_rollout_start(self) -> None:
        torch.set_num_threads(self.rollout_threads)

    def _on_rollout_end(self) -> None:
        torch.set_num_threads(self.train_threads)

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        torch.set_num_threads(self.train_threads)


class TrainingCallback(BaseCallback):
    """Progress bar, training win rate, periodic evaluation (best checkpoint), checkpoints and self-play snapshots."""

    def __init__(self, cfg: PPOConfig, run: Path, meta: dict, pool: OpponentPool | None, state: dict) -> None:
        super().__init__()
        self.cfg, self.run, self.meta, self.pool, self.state = cfg, run, meta, pool, state
        self.bar = None
        self.outcomes: list[float] = []
        self.t_start = time.perf_counter()
        self.steps_start = 0
        self.last_eval: dict = {}
        self.state["wall_before"] = float(self.state.get("wall_s", 0.0))   # a resumed run's earlier wall time

    # -- helpers -------------------------------------------------------------------------------------------------
    def _evaluate(self) -> None:
        from pyrat_rl.agents.policy_agent import agent_from_policy

        from .evaluate import evaluate

        cfg = self.cfg
        agent = agent_from_policy(self.model.policy, self.meta, name="learner")
        settings = eval_settings(self.training_env)
        results = {}
        for i, opp in enumerate(cfg.eval_opponents):
            key = opp.replace("/", "_").replace(":", "_")
            runs = []
            for name, config, limit in settings:   # one size, or each preset of a run on several
                res = evaluate(agent, opp, games=cfg.eval_games, seed=10_000 + cfg.seed, config=config,
                               max_turns=limit)
                runs.append(res)
                if name is not None:
                    self.logger.record(f"eval/points_{key}_{name}", res.points)
                    results[f"{opp}@{name}"] = res.to_dict()
            # several presets: the means over them (each preset's games count the same)
            points = float(np.mean([r.points for r in runs]))
            diff = float(np.mean([r.mean_score - r.mean_opponent_score for r in runs]))
            self.logger.record(f"eval/points_{key}", points)
            self.logger.record(f"eval/win_rate_{key}", float(np.mean([r.win_rate for r in runs])))
            self.logger.record(f"eval/score_diff_{key}", diff)
            mine = runs[0].to_dict() if len(runs) == 1 else {"points": points, "score_diff": diff}
            results[opp] = mine
            if i == 0:
                score = (points, diff)
                best = tuple(self.state.get("best_score") or (-math.inf, -math.inf))
                if score > best:
                    self.state["best_score"] = list(score)
                    self.state["best_step"] = int(self.num_timesteps)
                    save_model(self.model, self.run / "best.zip", dict(self.meta, eval=results))
                    (self.run / "best.json").write_text(json.dumps(
                        {"timesteps": int(self.num_timesteps), "eval": {opp: mine}}, indent=1) + "\n")
        self.last_eval = results
        # wall time of the whole run (earlier runs of a resumed one included): the learning curve against time
        wall = float(self.state.get("wall_before", 0.0)) + time.perf_counter() - self.t_start
        self.logger.record("eval/wall_minutes", wall / 60)
        self.state.setdefault("evals", []).append({"timesteps": int(self.num_timesteps), "wall_s": round(wall, 3),
                                                   "results": results})
        if self.bar is not None and cfg.eval_opponents:
            first = results[cfg.eval_opponents[0]]
            self.bar.set_postfix({f"vs {cfg.eval_opponents[0]}": f"{100 * first['points']:.0f}%"}, refresh=False)

    def save_state(self) -> None:
        self.state["num_timesteps"] = int(self.num_timesteps)
        self.state["wall_s"] = round(self.state["wall_before"] + time.perf_counter() - self.t_start, 3)
        (self.run / "state.json").write_text(json.dumps(self.state, indent=1) + "\n")

    def checkpoint(self, final: bool = False) -> None:
        if not final:
            save_model(self.model, self.run / "checkpoints" / f"step_{self.num_timesteps}.zip", self.meta)
        save_model(self.model, self.run / "last.zip", self.meta)
        self.save_state()

    # -- SB3 hooks -----------------------------------------------------------------------------------------------
    def _on_training_start(self) -> None:
        from tqdm import tqdm

        self.t_start = time.perf_counter()
        self.steps_start = int(self.num_timesteps)
        if self.cfg.progress:
            self.bar = tqdm(total=self.cfg.timesteps, initial=int(self.num_timesteps), unit="step", desc="ppo",
                            smoothing=0.05, mininterval=1.0, dynamic_ncols=True)
        st = self.state
        st.setdefault("next_eval", self.cfg.eval_every)
        st.setdefault("next_checkpoint", self.cfg.checkpoint_every)
        st.setdefault("next_snapshot", self.cfg.snapshot_every)
        if self.pool is not None and self.pool.uses_self and not self.pool.snapshots:
            self.pool.add_snapshot(self.model.policy, f"step_{self.num_timesteps}", self.meta)

    def _on_step(self) -> bool:
        n = self.training_env.num_envs
        if self.bar is not None:
            self.bar.update(n)
        for info in self.locals.get("infos", ()):
            res = info.get("result")
            if res is not None:
                self.outcomes.append(res["outcome"])
        cfg, st, t = self.cfg, self.state, self.num_timesteps
        if cfg.eval_every and cfg.eval_games and t >= st["next_eval"]:
            st["next_eval"] = (t // cfg.eval_every + 1) * cfg.eval_every
            self._evaluate()
        if cfg.checkpoint_every and t >= st["next_checkpoint"]:
            st["next_checkpoint"] = (t // cfg.checkpoint_every + 1) * cfg.checkpoint_every
            self.checkpoint()
        if self.pool is not None and self.pool.uses_self and cfg.snapshot_every and t >= st["next_snapshot"]:
            st["next_snapshot"] = (t // cfg.snapshot_every + 1) * cfg.snapshot_every
            self.pool.add_snapshot(self.model.policy, f"step_{t}", self.meta)
        return True

    def _on_rollout_end(self) -> None:
        if self.outcomes:
            o = np.asarray(self.outcomes)
            self.logger.record("rollout/win_rate", float((o > 0).mean()))
            self.logger.record("rollout/points", float(((o > 0) + 0.5 * (o == 0)).mean()))
            self.outcomes = []
        dt = time.perf_counter() - self.t_start
        if dt > 0:
            self.logger.record("time/steps_per_s", (self.num_timesteps - self.steps_start) / dt)

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train_ppo(cfg: PPOConfig, resume: bool = False) -> dict:
    """Train (or resume) a PPO run; returns the summary also written to ``DIR/summary.json``."""
    from stable_baselines3.common.logger import configure

    run = Path(cfg.out)
    state: dict = {}
    if resume:
        saved = json.loads((run / "config.json").read_text())["config"]
        cfg = replace(PPOConfig.from_dict(saved), timesteps=cfg.timesteps, progress=cfg.progress,
                      device=cfg.device, threads=cfg.threads)
        if (run / "state.json").is_file():
            state = json.loads((run / "state.json").read_text())
    threads = set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    init_state = None
    if cfg.init and not resume:
        cfg, _, init_state = config_from_init(cfg)
    refuse_history(cfg.policy, cfg.net_kwargs, f"--init {cfg.init}" if cfg.init else "--net")
    mix = parse_mix(cfg.opponent)
    pool = None
    if len(mix) > 1 or mix[0][0] == SELF:
        pool = OpponentPool(mix, max_snapshots=cfg.pool_size, folder=run / "pool")
    env = make_env(cfg, pool)
    meta = run_meta(cfg, env)
    run.mkdir(parents=True, exist_ok=True)
    if resume:
        if not (run / "last.zip").is_file():
            raise FileNotFoundError(f"--resume: {run / 'last.zip'} not found")
        model = _algo(cfg.masks).load(run / "last.zip", env=env, device=device)
        if pool is not None:
            pool.load_folder()
        print(f"resuming {run} at step {model.num_timesteps:,} of {cfg.timesteps:,}", flush=True)
    else:
        model = build_model(cfg, env, device)
        if init_state is not None:
            model.policy.load_state_dict(init_state)
            print(f"initial weights from {cfg.init}", flush=True)
        (run / "config.json").write_text(json.dumps({"config": cfg.to_dict(), "meta": meta,
                                                     "machine": machine_info()}, indent=1) + "\n")
    print(describe(model.policy, cfg.policy), flush=True)
    formats = ["tensorboard", "csv"] + (["stdout"] if cfg.verbose else [])
    model.set_logger(configure(str(run / "tb"), formats))
    callback = TrainingCallback(cfg, run, meta, pool, state)
    callbacks = CallbackList([RolloutThreadsCallback(threads), callback])
    remaining = cfg.timesteps - int(model.num_timesteps)
    t0 = time.perf_counter()
    steps0 = int(model.num_timesteps)
    if remaining > 0:
        model.learn(total_timesteps=remaining, callback=callbacks, reset_num_timesteps=not resume)
    seconds = time.perf_counter() - t0
    steps = int(model.num_timesteps) - steps0
    if cfg.eval_games and cfg.eval_opponents and remaining > 0:
        callback._evaluate()
        model.logger.dump(int(model.num_timesteps))
    callback.checkpoint(final=True)
    summary = {"timesteps": int(model.num_timesteps), "steps_this_run": steps, "seconds": round(seconds, 1),
               "steps_per_s": round(steps / seconds, 1) if seconds > 0 else None, "threads": threads,
               "device": str(device), "best_score": state.get("best_score"), "best_step": state.get("best_step"),
               "last_eval": callback.last_eval, "pool_draws": pool.draws if pool is not None else None,
               "best": str(run / "best.zip") if (run / "best.zip").is_file() else None,
               "last": str(run / "last.zip")}
    (run / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    env.close()
    return summary
