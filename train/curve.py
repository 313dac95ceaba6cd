"""A PPO run's learning curve: its evaluations against an opponent, by wall time and by steps.

``python -m pyrat_rl.train.curve RUN_DIR [--opponent greedy] [--out curve.png] [--json]`` reads the run's
``state.json`` (every evaluation: steps, wall seconds of the run, points and win rate per opponent), prints
the table and, with ``--out``, draws points against wall time (matplotlib), with the steps on a second axis
and a line at ``--target`` (the first crossing is reported).
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
                     "win_rate": res.get("win_rate")})
    if not rows:
        raise ValueError(f"{path}: no evaluation against {opponent!r} recorded")
    return rows


def first_crossing(rows: list[dict], target: float) -> dict | None:
    """The first evaluation whose points reach ``target`` (a fraction), or None."""
    return next((r for r in rows if r["points"] is not None and r["points"] >= target), None)


def plot(rows: list[dict], out: str | Path, target: float | None = None, title: str | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [(r["wall_s"] or 0) / 60 for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(minutes, [100 * r["points"] for r in rows], marker="o", label="points against the opponent")
    if target is not None:
        ax.axhline(100 * target, color="grey", linestyle="--", label=f"{100 * target:.0f} %")
    ax.set_xlabel("wall time of the run (minutes)")
    ax.set_ylabel("points (%: a win 1, a draw 0.5)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    top = ax.secondary_xaxis("top", functions=(lambda m: m, lambda m: m))
    if len(rows) > 1 and minutes[-1] > 0:
        rate = rows[-1]["timesteps"] / minutes[-1]
        top.set_xlabel(f"(about {rate * 60:,.0f} env steps per hour of wall time)")
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
    parser.add_argument("--json", action="store_true", help="print the curve as JSON")
    args = parser.parse_args(argv)
    try:
        rows = learning_curve(args.run, args.opponent)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    hit = first_crossing(rows, args.target)
    if args.json:
        print(json.dumps({"curve": rows, "target": args.target, "first_crossing": hit}, indent=1))
    else:
        for r in rows:
            wall = "-" if r["wall_s"] is None else f"{r['wall_s'] / 60:6.1f} min"
            print(f"{r['timesteps']:>10,} steps  {wall}  {100 * r['points']:5.1f} % points")
        print(f"first at {100 * args.target:.0f} %: " + ("not reached" if hit is None else
              f"{hit['timesteps']:,} steps, {(hit['wall_s'] or 0) / 60:.1f} min"))
    if args.out:
        plot(rows, args.out, args.target, args.title)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
