"""``pyrat train``: PPO, imitation, export of checkpoints and batched evaluation, from the command line.

* ``pyrat train ppo --policy mlp|cnn|transformer [--preset P] [--opponent SPEC] [--timesteps T] [--n-envs N]
  [--device auto|cpu|cuda] [--init CHECKPOINT] [--out DIR] [--resume]`` (`pyrat_rl.train.ppo`)
* ``pyrat train imitate --expert SPEC [--games N] [--policy ...] [--out DIR]`` (`pyrat_rl.train.imitation`)
* both trainings take ``--presets official,classic,tournament`` instead of ``--preset``: one network (``fcn``,
  which plays every maze size) trained on several sizes at once
* ``pyrat train export CHECKPOINT OUT.pt|OUT.onnx`` (portable policy file, no optimizer state)
* ``pyrat train eval AGENT OPPONENT [--games N]`` (paired games, batched: `pyrat_rl.train.evaluate`)

Options left out take the defaults of `PPOConfig` / `ImitationConfig` (the help shows them, read from the
dataclasses). Every option is checked before any training starts (presets, devices, agent specs, the run
folder of ``--resume``, the ``--init`` checkpoint, ``--net`` options): a mistake is one line and exit status 2.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
from pathlib import Path

from pyrat_env import cli_options as opt
from pyrat_env.cli_options import UsageError

SUMMARY = "train agents: PPO or imitation of an expert, export and evaluate checkpoints"


def _json_dict(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _preset_list(text: str) -> str:
    """``--presets``: preset names joined by commas, each known and listed once (returned joined again)."""
    names = [opt.preset_name(t.strip()) for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"no preset in {text!r}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a preset is listed twice in {text!r}")
    return ",".join(names)


def _common(p: argparse.ArgumentParser, config) -> None:
    """Options of both trainings; ``config`` (`PPOConfig` or `ImitationConfig`) gives the defaults shown."""
    from pyrat_rl.agents.networks import NETWORKS

    p.add_argument("--policy", choices=list(NETWORKS), default=config.policy,
                   help=opt.with_default("network", config.policy))
    p.add_argument("--net", type=_json_dict, default=None, metavar="JSON",
                   help='network options, e.g. \'{"channels": [32, 32, 64], "hidden": 256}\'')
    opt.add_preset(p, config.preset)
    p.add_argument("--presets", type=_preset_list, default=None, metavar="P1,P2,...",
                   help="train on several presets at once, e.g. official,classic,tournament: one network for every "
                        "maze size (a network that plays every size: fcn); replaces --preset")
    opt.add_device(p, config.device)
    p.add_argument("--threads", type=opt.positive, default=None,
                   help="torch threads for updates (default: every core; PPO rollouts use 1)")
    opt.add_seed(p, config.seed, "seed of the games and of the network's initial weights")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .evaluate import evaluate
    from .imitation import ImitationConfig
    from .ppo import PPOConfig

    d, pc, ic = opt.with_default, PPOConfig, ImitationConfig   # the help shows the dataclasses' defaults
    sub = parser.add_subparsers(dest="train_command", required=True)

    p = sub.add_parser("ppo", help="train with PPO (MaskablePPO with action masks) on the batched VecEnv")
    _common(p, pc)
    p.add_argument("--opponent", default=pc.opponent,
                   help=d("agent spec, or a weighted pool with 'self' for past checkpoints: greedy:1,self:2",
                          pc.opponent))
    p.add_argument("--timesteps", type=opt.positive, default=None, help=d("total env steps", pc.timesteps))
    p.add_argument("--n-envs", type=opt.positive, default=None, help=d("games stepped together", pc.n_envs))
    p.add_argument("--n-steps", type=opt.positive, default=None, help=d("steps per env per rollout", pc.n_steps))
    p.add_argument("--batch-size", type=opt.positive, default=None, help=d("minibatch size", pc.batch_size))
    p.add_argument("--epochs", type=opt.positive, default=None, help=d("PPO epochs per rollout", pc.n_epochs))
    p.add_argument("--lr", type=float, default=None, help=d("learning rate", pc.learning_rate))
    p.add_argument("--ent-coef", type=float, default=None, help=d("entropy bonus", pc.ent_coef))
    p.add_argument("--clip-range", type=float, default=None, help=d("PPO clip range", pc.clip_range))
    p.add_argument("--target-kl", type=float, default=None, help=d("stop an update early past this KL", pc.target_kl))
    p.add_argument("--no-masks", action="store_true", help="plain PPO without action masks")
    p.add_argument("--reward", choices=["score_diff", "sparse", "score"], default=None, help=d("reward", pc.reward))
    p.add_argument("--eval-every", type=opt.positive, default=None,
                   help=d("steps between evaluations", pc.eval_every))
    p.add_argument("--eval-games", type=opt.count, default=None,
                   help=d("paired games per evaluation opponent", pc.eval_games))
    p.add_argument("--eval-opponents", default=None,
                   help=d("comma-separated agent specs; the first picks best.zip", pc.eval_opponents))
    p.add_argument("--checkpoint-every", type=opt.positive, default=None,
                   help=d("steps between checkpoints", pc.checkpoint_every))
    p.add_argument("--snapshot-every", type=opt.positive, default=None,
                   help=d("steps between self-play snapshots", pc.snapshot_every))
    p.add_argument("--init", default=None, metavar="CHECKPOINT", help="start from these policy weights (.pt or .zip)")
    p.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/ppo-POLICY)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.zip")
    p.add_argument("--verbose", action="store_true", help="also print SB3's log tables")

    p = sub.add_parser("imitate", help="supervised imitation of an expert (dataset split by maze, early stopping)")
    _common(p, ic)
    p.add_argument("--expert", default=ic.expert, help=d("the agent to imitate", ic.expert))
    p.add_argument("--opponents", default=None,
                   help=d("weighted opponents of the expert while recording ('expert': itself)", ic.opponents))
    p.add_argument("--games", type=opt.positive, default=None, help=d("games to record", ic.games))
    p.add_argument("--epochs", type=opt.positive, default=None, help=d("maximum epochs", ic.epochs))
    p.add_argument("--batch-size", type=opt.positive, default=None, help=d("minibatch size", ic.batch_size))
    p.add_argument("--lr", type=float, default=None, help=d("learning rate", ic.lr))
    p.add_argument("--patience", type=opt.positive, default=None,
                   help=d("epochs without validation progress before stopping", ic.patience))
    p.add_argument("--dagger", type=opt.count, default=None, help=d("DAgger rounds after the first fit",
                                                                    ic.dagger_rounds))
    p.add_argument("--dagger-games", type=opt.positive, default=None, help=d("games per DAgger round", ic.dagger_games))
    p.add_argument("--workers", type=opt.count, default=None,
                   help=d("processes recording the expert's games (0: one per core)", ic.workers))
    p.add_argument("--eval-games", type=opt.count, default=None,
                   help=d("paired games against each evaluation opponent at the end", ic.eval_games))
    p.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/imitate-POLICY)")

    p = sub.add_parser("export", help="write a checkpoint's policy as a portable .pt (weights + metadata) or .onnx")
    p.add_argument("checkpoint", help="a .zip or .pt checkpoint")
    p.add_argument("output", help="OUT.pt or OUT.onnx")
    p.add_argument("--description", default=None, help="description stored in the metadata (shown by pyrat agents)")
    p.add_argument("--lookahead", choices=["search"], default=None,
                   help="the exported agent plays the network guiding this search at play time "
                        "(pyrat_rl.agents.net_search); default: the network alone")
    p.add_argument("--prior", type=float, default=None,
                   help="with --lookahead: weight of the network's move log-probability in a target's value "
                        "(default 0.25)")
    p.add_argument("--loop-guard", nargs="?", const="pairs", choices=["pairs", "cycles"], default=None,
                   help="the exported network never repeats a back-and-forth between two cells (plays its best "
                        "other move); 'cycles': nor steps, with no cheese eaten since, onto a cell where it already "
                        "decided twice (see pyrat_rl.agents.policy_agent)")

    p = sub.add_parser("eval", help="paired games between two agents, all stepped at once (batched evaluator)")
    p.add_argument("agent", help="agent spec (a checkpoint path, a built-in name...)")
    p.add_argument("opponent", help="agent spec")
    games = opt.default_of(evaluate, "games")
    p.add_argument("--games", type=opt.positive, default=games, help=d("an even number of games", games))
    opt.add_seed(p, opt.default_of(evaluate, "seed"), "series seed (same set-ups as 'pyrat play --seed')")
    opt.add_preset(p, opt.default_of(evaluate, "config"))
    opt.add_max_turns(p, opt.default_of(evaluate, "max_turns"))
    opt.add_json(p)


def _set(kwargs: dict, **values) -> dict:
    kwargs.update({k: v for k, v in values.items() if v is not None})
    return kwargs


# -- checks, before any heavy work -------------------------------------------------------------------------
def _check_device(name: str) -> None:
    import torch

    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: no CUDA device here (use --device cpu, or auto)")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: there are {torch.cuda.device_count()} CUDA device(s)")


def _check_agents(option: str, specs, keyword: str | None = None) -> None:
    """Every spec resolves to an agent (``keyword``, e.g. ``self``, stands for no spec)."""
    from pyrat_rl.agents.spec import AgentSpecError, agent_factory

    for spec in specs:
        if spec == keyword:
            continue
        try:
            agent_factory(spec)
        except AgentSpecError as exc:   # says what was tried
            raise UsageError(f"{option}: {exc}") from None


def _check_mix(option: str, text: str, keyword: str) -> None:
    from .selfplay import parse_mix

    with opt.user_errors(ValueError):
        mix = parse_mix(text)
    _check_agents(option, [spec for spec, _ in mix], keyword)


def _check_net(policy: str, net: dict | None) -> None:
    from pyrat_rl.agents.networks import NETWORKS

    if not net:
        return
    known = [n for n in inspect.signature(NETWORKS[policy][0].__init__).parameters
             if n not in ("self", "observation_space")]
    unknown = sorted(set(net) - set(known))
    if unknown:
        raise UsageError(f"--net: {policy} has no option {', '.join(map(repr, unknown))}; its options: "
                         f"{', '.join(known)}")
    from pyrat_rl.agents.networks import HISTORY_CHOICES

    if "history" in net and net["history"] not in HISTORY_CHOICES:
        raise UsageError(f"--net: history must be one of {', '.join(map(str, HISTORY_CHOICES))} (planes), "
                         f"not {net['history']!r}")


def _check_checkpoint(option: str, path: str | None, suffixes: tuple[str, ...]) -> None:
    if path is None:
        return
    if Path(path).suffix.lower() not in suffixes:
        raise UsageError(f"{option}: {path} is not a {' or '.join(suffixes)} checkpoint")
    if not Path(path).is_file():
        raise UsageError(f"{option}: {path} does not exist")


def _check_no_history(args: argparse.Namespace) -> None:
    """Refuse, before any work, a network that reads history planes (`pyrat_rl.train.ppo.refuse_history`): from
    ``--net '{"history": 2}'`` or an ``--init`` checkpoint trained so."""
    from .ppo import refuse_history

    with opt.user_errors(ValueError, KeyError, OSError):
        if args.init:
            from pyrat_rl.agents.policy_agent import load_checkpoint

            meta = load_checkpoint(args.init)[0]
            refuse_history(meta["policy"], meta.get("net_kwargs"), f"--init {args.init}")
        else:
            refuse_history(args.policy, args.net, "--net")


def _check_training(args: argparse.Namespace) -> None:
    _check_device(args.device)
    _check_net(args.policy, args.net)
    if args.presets and not getattr(args, "init", None):   # with --init the checkpoint's network is used
        from pyrat_env.mazes import preset

        from .imitation import check_sizes

        names = args.presets.split(",")
        with opt.user_errors(ValueError):
            check_sizes(args.policy, [preset(n) for n in names], names)


# -- the commands --------------------------------------------------------------------------------------------
def _ppo(args: argparse.Namespace) -> int:
    from .ppo import PPOConfig, train_ppo
    from .selfplay import SELF

    kw: dict = {"policy": args.policy, "preset": args.presets or args.preset, "opponent": args.opponent,
                "device": args.device,
                "threads": args.threads, "seed": args.seed, "progress": not args.no_progress,
                "masks": not args.no_masks, "verbose": int(args.verbose),
                "out": args.out or f"runs/ppo-{args.policy}"}
    _set(kw, timesteps=args.timesteps, n_envs=args.n_envs, n_steps=args.n_steps, batch_size=args.batch_size,
         n_epochs=args.epochs, learning_rate=args.lr, ent_coef=args.ent_coef, clip_range=args.clip_range,
         target_kl=args.target_kl, reward=args.reward,
         eval_every=args.eval_every, eval_games=args.eval_games, checkpoint_every=args.checkpoint_every,
         snapshot_every=args.snapshot_every, init=args.init, net_kwargs=args.net)
    if args.eval_opponents:
        kw["eval_opponents"] = tuple(s.strip() for s in args.eval_opponents.split(",") if s.strip())
    _check_training(args)
    _check_mix("--opponent", args.opponent, SELF)
    _check_agents("--eval-opponents", kw.get("eval_opponents", ()))
    _check_checkpoint("--init", args.init, (".pt", ".zip"))
    _check_no_history(args)
    if args.resume:
        run = Path(kw["out"])
        missing = [name for name in ("config.json", "last.zip") if not (run / name).is_file()]
        if missing:
            raise UsageError(f"--resume: {run} holds no run to resume (no {' or '.join(missing)}); "
                             "name its folder with --out")
        if args.timesteps is None:   # keep the run's own target unless a new one is given
            with opt.user_errors(ValueError, KeyError):
                kw["timesteps"] = json.loads((run / "config.json").read_text())["config"]["timesteps"]
    summary = train_ppo(PPOConfig(**kw), resume=args.resume)
    print(json.dumps({k: summary[k] for k in ("timesteps", "seconds", "steps_per_s", "best_score", "best")},
                     indent=1))
    return 0


def _imitate(args: argparse.Namespace) -> int:
    from .imitation import EXPERT, ImitationConfig, train_imitation

    kw = {"policy": args.policy, "preset": args.presets or args.preset, "expert": args.expert, "device": args.device,
          "threads": args.threads, "seed": args.seed, "progress": not args.no_progress,
          "out": args.out or f"runs/imitate-{args.policy}"}
    _set(kw, opponents=args.opponents, games=args.games, epochs=args.epochs, batch_size=args.batch_size,
         lr=args.lr, patience=args.patience, dagger_rounds=args.dagger, dagger_games=args.dagger_games,
         workers=args.workers, eval_games=args.eval_games, net_kwargs=args.net)
    cfg = ImitationConfig(**kw)
    _check_training(args)
    _check_agents("--expert", [cfg.expert])
    _check_mix("--opponents", cfg.opponents, EXPERT)
    _check_agents("eval opponents", cfg.eval_opponents)
    train_imitation(cfg)
    return 0


def _export(args: argparse.Namespace) -> int:
    from pyrat_rl.agents.policy_agent import export_checkpoint

    _check_checkpoint("checkpoint", args.checkpoint, (".pt", ".zip", ".onnx"))
    if Path(args.output).suffix.lower() not in (".pt", ".onnx"):
        raise UsageError(f"export to OUT.pt or OUT.onnx, not {args.output}")
    with opt.user_errors(ValueError):   # not a PyRat checkpoint
        lookahead = None
        if args.lookahead:
            lookahead = {"kind": args.lookahead}
            if args.prior is not None:
                lookahead["prior"] = args.prior
        elif args.prior is not None:
            raise UsageError("--prior: only with --lookahead")
        if args.prior is not None and not (math.isfinite(args.prior) and args.prior >= 0):
            raise UsageError(f"--prior: a finite number >= 0, got {args.prior}")
        path = export_checkpoint(args.checkpoint, args.output, description=args.description, lookahead=lookahead,
                                 loop_guard=args.loop_guard or None)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) and {path.with_suffix('.json')}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from pyrat_rl.agents.spec import AgentSpecError, resolve_agent

    from .evaluate import evaluate

    if args.games < 2 or args.games % 2:
        raise UsageError(f"--games: paired evaluation needs an even number of games, got {args.games}")
    with opt.user_errors(AgentSpecError):
        agent, opponent = resolve_agent(args.agent), resolve_agent(args.opponent)
    res = evaluate(agent, opponent, games=args.games, seed=args.seed, config=args.preset,
                   max_turns=args.max_turns or None)
    if args.json:
        print(json.dumps(res.to_dict(), indent=1))
    else:
        print(res.summary(args.agent, args.opponent))
    return 0


COMMANDS = {"ppo": _ppo, "imitate": _imitate, "export": _export, "eval": _eval}


def run(args: argparse.Namespace) -> int:
    return COMMANDS[args.train_command](args)
