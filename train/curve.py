"""A PPO run's learning curve: its evaluations against an opponent, by wall time and by steps.

``python -m pyrat_rl.train.curve RUN_DIR [--opponent greedy] [--out curve.png] [--json]`` reads the run's
``state.json`` (every evaluation: steps, wall seconds of the run, points and win rate per opponent), prints
the table and, with ``--out``, draws points against wall time (matplotlib), with a line at ``--target`` (the
first crossing is reported). The run's own evaluations are small (``--eval-games``); ``--games N`` also plays
every saved checkpoint (``checkpoints/step_*.zip``) N games against the opponent under the official time limits
(`pyrat_rl.agents.match.play_series`, seats swapped on each maze), with a 95 % Wilson interval, at the wall
time the checkpoint was written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def learning_curve(run: str | Path, opponent: str = "greedy") -> list[dict]:
    """``[{timesteps, wall_s, points, win_rate}]`` of a run's evaluations against ``opponent``, in order."""
    path = Path(run) / "state.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the run's state ({exc})") from None
    rows = []
    for e in state.get("evals", []):
        res = e.get("results", {}).get(opponent)
        if res is None:
            continue
        rows.append({"timesteps": int(e["timesteps"]), "wall_s": e.get("wall_s"), "points": res.get("points"),
                     "win_rate": res.get("win_rate"), "games": res.get("games")})
    if not rows:
        raise ValueError(f"{path}: no evaluation against {opponent!r} recorded")
    return rows


def first_crossing(rows: list[dict], target: float) -> dict | None:
    """The first evaluation whose points reach ``target`` (a fraction), or None."""
    return next((r for r in rows if r["points"] is not None and r["points"] >= target), None)


def wilson(points: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion (a draw counted as half a win) over ``n`` games."""
    if n <= 0:
        return 0.0, 1.0
    centre = (points + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((points * (1 - points) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def checkpoint_curve(run: str | Path, opponent: str = "greedy", games: int = 400, seed: int = 777) -> list[dict]:
    """Every checkpoint of a run played ``games`` games against ``opponent`` (official limits, paired seats).

    ``wall_s`` is when the checkpoint was written, from the start of the run (its first TensorBoard file).
    """
    from pyrat_rl.agents.match import play_series

    run = Path(run)
    starts = sorted(run.glob("tb/**/events.out.tfevents.*"))
    t0 = min(p.stat().st_mtime for p in [run / "config.json", *starts[:1]] if p.exists())
    try:   # the run's maze preset (the first of several)
        cfg = json.loads((run / "config.json").read_text())["config"]
        preset = (cfg.get("presets") or [cfg.get("preset") or "official"])[0]
    except (OSError, ValueError, KeyError, TypeError):
        preset = "official"
    rows = []
    for ckpt in sorted(run.glob("checkpoints/step_*.zip"), key=lambda p: int(p.stem.split("_")[1])):
        res = play_series([str(ckpt), opponent], games=games, seed=seed, config=preset, keep_results=False)
        pts = float(res.points[0])
        low, high = wilson(pts, games)
        rows.append({"timesteps": int(ckpt.stem.split("_")[1]), "wall_s": round(ckpt.stat().st_mtime - t0, 1),
                     "points": pts, "low": low, "high": high, "games": games, "checkpoint": ckpt.name})
    return rows


def plot(rows: list[dict], out: str | Path, target: float | None = None, title: str | None = None,
         checkpoints: list[dict] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [(r["wall_s"] or 0) / 60 for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    games = rows[0].get("games")
    ax.plot(minutes, [100 * r["points"] for r in rows], marker="o", alpha=0.6,
            label="the run's own evaluations" + (f" ({games} games each)" if games else ""))
    if checkpoints:
        cm = [c["wall_s"] / 60 for c in checkpoints]
        ax.errorbar(cm, [100 * c["points"] for c in checkpoints],
                    yerr=[[100 * (c["points"] - c["low"]) for c in checkpoints],
                          [100 * (c["high"] - c["points"]) for c in checkpoints]],
                    fmt="s", color="black", capsize=3,
                    label=f"checkpoints, {checkpoints[0]['games']} games each (95 % interval)")
    if target is not None:
        ax.axhline(100 * target, color="grey", linestyle="--", label=f"{100 * target:.0f} %")
    ax.set_xlabel("wall time of the run (minutes)")
    ax.set_ylabel("points (%: a win 1, a draw 0.5)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    if len(rows) > 1 and minutes[-1] > 0:
        rate = rows[-1]["timesteps"] / minutes[-1]
        ax.set_xlabel(f"wall time of the run (minutes; {rate / 1e3:,.0f} k env steps a minute)")
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyrat_rl.train.curve", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a PPO run folder (with state.json)")
    parser.add_argument("--opponent", default="greedy", help="evaluation opponent (default greedy)")
    parser.add_argument("--target", type=float, default=0.55, help="points to reach, a fraction (default 0.55)")
    parser.add_argument("--out", help="write the plot to this image file")
    parser.add_argument("--title", help="the plot's title")
    parser.add_argument("--games", type=int, default=0, metavar="N",
                        help="also play every checkpoint N games against the opponent (default: none)")
    parser.add_argument("--seed", type=int, default=777, help="seed of those games' mazes (default 777)")
    parser.add_argument("--json", action="store_true", help="print the curve as JSON")
    args = parser.parse_args(argv)
    try:
        rows = learning_curve(args.run, args.opponent)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    checkpoints = checkpoint_curve(args.run, args.opponent, args.games, args.seed) if args.games > 0 else None
    hit = first_crossing(rows, args.target)
    if args.json:
        print(json.dumps({"curve": rows, "target": args.target, "first_crossing": hit, "checkpoints": checkpoints},
                         indent=1))
    else:
        for r in rows:
            wall = "-" if r["wall_s"] is None else f"{r['wall_s'] / 60:6.1f} min"
            print(f"{r['timesteps']:>10,} steps  {wall}  {100 * r['points']:5.1f} % points")
        print(f"first at {100 * args.target:.0f} %: " + ("not reached" if hit is None else
              f"{hit['timesteps']:,} steps, {(hit['wall_s'] or 0) / 60:.1f} min"))
        for c in checkpoints or ():
            print(f"{c['checkpoint']:>22}  {c['wall_s'] / 60:6.1f} min  {100 * c['points']:5.1f} % points "
                  f"[{100 * c['low']:.1f}, {100 * c['high']:.1f}] over {c['games']} games")
    if args.out:
        plot(rows, args.out, args.target, args.title, checkpoints)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
