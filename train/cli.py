"""``pyrat train``: PPO, imitation, export of checkpoints and batched evaluation, from the command line.

* ``pyrat train ppo --policy mlp|cnn|transformer [--preset P] [--opponent SPEC] [--timesteps T] [--n-envs N]
  [--device auto|cpu|cuda] [--init CHECKPOINT] [--out DIR] [--resume]`` (`pyrat_rl.train.ppo`)
* ``pyrat train imitate --expert SPEC [--games N] [--policy ...] [--out DIR]`` (`pyrat_rl.train.imitation`)
* ``pyrat train export CHECKPOINT OUT.pt|OUT.onnx`` (portable policy file, no optimizer state)
* ``pyrat train eval AGENT OPPONENT [--games N]`` (paired games, batched: `pyrat_rl.train.evaluate`)

Options left out take the defaults of `PPOConfig` / `ImitationConfig`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pyrat_rl.agents.networks import NETWORKS

SUMMARY = "train agents: PPO or imitation of an expert, export and evaluate checkpoints"


def _json_dict(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", choices=list(NETWORKS), default="cnn", help="network (default: cnn)")
    p.add_argument("--net", type=_json_dict, default=None, metavar="JSON",
                   help='network options, e.g. \'{"channels": [32, 32, 64], "hidden": 256}\'')
    p.add_argument("--preset", default="official", help="game preset (default: official)")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"],
                   help="torch device (default: cpu; auto picks cuda when available)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads for updates (default: every core; PPO rollouts use 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="train_command", required=True)

    p = sub.add_parser("ppo", help="train with PPO (MaskablePPO with action masks) on the batched VecEnv")
    _common(p)
    p.add_argument("--opponent", default="greedy",
                   help="agent spec, or a weighted pool with 'self' for past checkpoints: greedy:1,self:2")
    p.add_argument("--timesteps", type=int, default=None, help="total env steps (default 1,000,000)")
    p.add_argument("--n-envs", type=int, default=None, help="games stepped together (default 128)")
    p.add_argument("--n-steps", type=int, default=None, help="steps per env per rollout (default 64)")
    p.add_argument("--batch-size", type=int, default=None, help="minibatch size (default 2048)")
    p.add_argument("--epochs", type=int, default=None, help="PPO epochs per rollout (default 4)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 3e-4)")
    p.add_argument("--ent-coef", type=float, default=None, help="entropy bonus (default 0.01)")
    p.add_argument("--clip-range", type=float, default=None, help="PPO clip range (default 0.2)")
    p.add_argument("--target-kl", type=float, default=None, help="stop an update early past this KL (default none)")
    p.add_argument("--no-masks", action="store_true", help="plain PPO without action masks")
    p.add_argument("--reward", choices=["score_diff", "sparse", "score"], default=None)
    p.add_argument("--eval-every", type=int, default=None, help="steps between evaluations (default 100,000)")
    p.add_argument("--eval-games", type=int, default=None, help="paired games per evaluation opponent (default 100)")
    p.add_argument("--eval-opponents", default=None, help="comma-separated (default: greedy); the first picks best.zip")
    p.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints (default 250,000)")
    p.add_argument("--snapshot-every", type=int, default=None, help="steps between self-play snapshots")
    p.add_argument("--init", default=None, metavar="CHECKPOINT", help="start from these policy weights (.pt or .zip)")
    p.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/ppo-POLICY)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.zip")
    p.add_argument("--verbose", action="store_true", help="also print SB3's log tables")

    p = sub.add_parser("imitate", help="supervised imitation of an expert (dataset split by maze, early stopping)")
    _common(p)
    p.add_argument("--expert", default="opportunist", help="the agent to imitate (default: opportunist)")
    p.add_argument("--opponents", default=None,
                   help="weighted opponents of the expert while recording ('expert': itself); "
                        "default greedy:3,random:1")
    p.add_argument("--games", type=int, default=None, help="games to record (default 2000)")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 30)")
    p.add_argument("--batch-size", type=int, default=None, help="minibatch size (default 512)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3)")
    p.add_argument("--patience", type=int, default=None, help="epochs without validation progress before stopping")
    p.add_argument("--dagger", type=int, default=None, help="DAgger rounds after the first fit (default 0)")
    p.add_argument("--dagger-games", type=int, default=None, help="games per DAgger round (default 500)")
    p.add_argument("--eval-games", type=int, default=None, help="paired games against greedy at the end (default 100)")
    p.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/imitate-POLICY)")

    p = sub.add_parser("export", help="write a checkpoint's policy as a portable .pt (weights + metadata) or .onnx")
    p.add_argument("checkpoint", help="a .zip or .pt checkpoint")
    p.add_argument("output", help="OUT.pt or OUT.onnx")
    p.add_argument("--description", default=None, help="description stored in the metadata (shown by pyrat agents)")

    p = sub.add_parser("eval", help="paired games between two agents, all stepped at once (batched evaluator)")
    p.add_argument("agent", help="agent spec (a checkpoint path, a built-in name...)")
    p.add_argument("opponent", help="agent spec")
    p.add_argument("--games", type=int, default=100, help="an even number of games (default 100)")
    p.add_argument("--seed", type=int, default=0, help="series seed (same set-ups as 'pyrat play --seed')")
    p.add_argument("--preset", default="official")
    p.add_argument("--max-turns", type=int, default=None)
    p.add_argument("--json", action="store_true")


def _set(kwargs: dict, **values) -> dict:
    kwargs.update({k: v for k, v in values.items() if v is not None})
    return kwargs


def run(args: argparse.Namespace) -> int:
    cmd = args.train_command
    if cmd == "ppo":
        from .ppo import PPOConfig, train_ppo

        kw: dict = {"policy": args.policy, "preset": args.preset, "opponent": args.opponent, "device": args.device,
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
        if args.resume and args.timesteps is None:   # keep the run's own target unless a new one is given
            saved = json.loads((Path(kw["out"]) / "config.json").read_text())["config"]
            kw["timesteps"] = saved["timesteps"]
        summary = train_ppo(PPOConfig(**kw), resume=args.resume)
        print(json.dumps({k: summary[k] for k in ("timesteps", "seconds", "steps_per_s", "best_score", "best")},
                         indent=1))
        return 0
    if cmd == "imitate":
        from .imitation import ImitationConfig, train_imitation

        kw = {"policy": args.policy, "preset": args.preset, "expert": args.expert, "device": args.device,
              "threads": args.threads, "seed": args.seed, "progress": not args.no_progress,
              "out": args.out or f"runs/imitate-{args.policy}"}
        _set(kw, opponents=args.opponents, games=args.games, epochs=args.epochs, batch_size=args.batch_size,
             lr=args.lr, patience=args.patience, dagger_rounds=args.dagger, dagger_games=args.dagger_games,
             eval_games=args.eval_games, net_kwargs=args.net)
        train_imitation(ImitationConfig(**kw))
        return 0
    if cmd == "export":
        from pyrat_rl.agents.policy_agent import export_checkpoint

        path = export_checkpoint(args.checkpoint, args.output, description=args.description)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) and {path.with_suffix('.json')}")
        return 0
    if cmd == "eval":
        from .evaluate import evaluate

        res = evaluate(args.agent, args.opponent, games=args.games, seed=args.seed, config=args.preset,
                       max_turns=args.max_turns)
        if args.json:
            print(json.dumps(res.to_dict(), indent=1))
        else:
            print(res.summary(args.agent, args.opponent))
        return 0
    raise ValueError(f"unknown train command {cmd!r}")
