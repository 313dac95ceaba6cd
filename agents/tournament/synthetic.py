"""A synthetic field of agents of known strength, and a benchmark of Swiss against round robin on it.

`make_field` writes ``n`` small agent files, as students would hand them in: each is the built-in greedy
agent that plays a random action with probability ``eps`` (its own seeded generator, ``ctx.rng``), with
``eps`` spread evenly over [0, 1]. The true order is the order of ``eps``: the agent with eps 0 (greedy
itself) is the strongest, eps 1 plays at random. The files are named ``agent_000.py``... in an order
drawn from a seed, so that neither the names nor the agents' indices follow the strength.

The benchmark plays a Swiss tournament on such a field (and, with ``--roundrobin``, the full round robin
with 2 games per pair) and prints the games and minutes of each, and the Spearman correlations between
their rankings and the true order::

    python -m pyrat_rl.agents.tournament.synthetic --agents 60 --preset tiny --out bench [--rounds R]
        [--workers W] [--roundrobin]

Rankings compared: the standings' order (points, then rating) and the order of the Bradley-Terry ratings.
Both tournaments go into ``OUT/field.sqlite`` (run the command again to resume them).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from pathlib import Path

import numpy as np

AGENT_FILE = '''"""Synthetic agent {index} of {n}: greedy, but a random action with probability {eps:.4f}.

Written by pyrat_rl.agents.tournament.synthetic (true rank {rank} of {n}: a lower eps is stronger).
"""

from pyrat_env import GameContext
from pyrat_env.engine import Game
from pyrat_rl.agents.scripted import GreedyAgent

EPS = {eps!r}


class NoisyGreedy(GreedyAgent):
    """The greedy agent, with a random action (0 to 4) with probability EPS."""

    name = "noisy_greedy"
    description = "greedy with random actions"

    def start(self, ctx: GameContext) -> None:
        super().start(ctx)
        self.noise = ctx.rng          # the agent's own seeded generator

    def act(self, game: Game, seat: int) -> int:
        if EPS > 0 and self.noise.random() < EPS:
            return int(self.noise.integers(0, 5))
        return super().act(game, seat)
'''


def field_eps(n: int) -> list[float]:
    """The ``eps`` of each agent of a field of ``n``: evenly spread from 0 to 1."""
    if n < 2:
        raise ValueError(f"a field needs at least two agents, got {n}")
    return [round(float(e), 6) for e in np.linspace(0.0, 1.0, n)]


def make_field(out_dir: str | os.PathLike, n: int, seed: int = 0) -> list[Path]:
    """Write ``n`` agents ``agent_000.py``... into ``out_dir`` and return their paths, strongest first.

    The files' numbers are a permutation drawn from ``seed``: a name says nothing of the strength (the
    standings break exact ties by name), and the agents' order in a tournament (by name) is not their true
    order. The returned list is: its first path is the agent with ``eps`` 0 (greedy), its last the random one.
    """
    if n < 2:
        raise ValueError(f"a field needs at least two agents, got {n}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = np.random.default_rng([int(seed), n]).permutation(n)
    width = max(3, len(str(n - 1)))
    paths = []
    for rank, (label, eps) in enumerate(zip(labels, field_eps(n))):
        path = out / f"agent_{int(label):0{width}d}.py"
        text = AGENT_FILE.format(index=int(label), n=n, eps=eps, rank=rank + 1)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:   # same bytes: same tournament id
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


# -- the benchmark -----------------------------------------------------------------------------------------------
def _ranks(rows: list[dict], names: list[str], key: str) -> np.ndarray:
    """Rank of each agent (by ``names`` order): ``key`` is ``rank`` (the standings) or ``rating``."""
    pos = {r["agent"]: r for r in rows}
    if key == "rank":
        return np.array([pos[nm]["rank"] for nm in names], dtype=float)
    ratings = np.array([pos[nm]["rating"] if pos[nm]["rating"] is not None else 0.0 for nm in names])
    from scipy.stats import rankdata

    return rankdata(-ratings)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y)[0])


def _extra_kwargs(fn, wanted: dict) -> tuple[dict, list[str]]:
    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    ok = {k: v for k, v in wanted.items() if takes_any or k in params}
    return ok, sorted(set(wanted) - set(ok))


def benchmark(out_dir: str | os.PathLike, agents: int = 60, rounds: int | None = None, preset_name: str = "tiny",
              seed: int = 0, workers: int = 1, roundrobin: bool = False, progress: bool = True,
              bootstrap: int = 200, play_kwargs: dict | None = None, log=None) -> dict:
    """Swiss (and optionally round robin) on a synthetic field; the games, minutes and Spearman correlations."""
    from .config import Limits, TournamentConfig, describe_agents, game_config
    from .runner import play_jobs, run_tournament
    from .swiss import check_rounds, run_swiss

    log = log or (lambda msg: print(msg, file=sys.stderr))
    out = Path(out_dir)
    strongest_first = make_field(out / "agents", agents, seed)
    paths = sorted(strongest_first)                       # the tournament's agents, by name
    names = [p.stem for p in paths]
    true_rank = {p.stem: i + 1 for i, p in enumerate(strongest_first)}
    truth = np.array([true_rank[nm] for nm in names], dtype=float)
    config = TournamentConfig(agents=describe_agents([str(p) for p in paths]), games_per_pair=2,
                              game=game_config(preset_name), seed=seed, limits=Limits())
    rounds = check_rounds(rounds, agents)
    db = out / "field.sqlite"
    report: dict = {"agents": agents, "rounds": rounds, "preset": preset_name, "seed": seed, "workers": workers,
                    "db": str(db)}
    extra = dict(play_kwargs or {})
    swiss_kw, dropped = _extra_kwargs(play_jobs, extra)   # run_swiss forwards them to play_jobs
    if dropped:
        log(f"warning: play_jobs takes no {', '.join(dropped)}: the Swiss tournament runs without")
    sw = run_swiss(config, db, rounds, workers=workers, progress=progress, bootstrap=bootstrap, **swiss_kw)
    report["swiss"] = {"tournament": sw.tournament_id, "games": sw.games, "played": sw.played,
                       "minutes": round(sw.seconds / 60, 2), "complete": sw.complete}
    sw_rank, sw_rating = _ranks(sw.standings, names, "rank"), _ranks(sw.standings, names, "rating")
    report["spearman"] = {"swiss_vs_true": _spearman(sw_rank, truth),
                          "swiss_rating_vs_true": _spearman(sw_rating, truth)}
    if roundrobin:
        rr_kw, dropped = _extra_kwargs(run_tournament, extra)
        if dropped:
            log(f"warning: run_tournament takes no {', '.join(dropped)}: the round robin runs without")
        rr = run_tournament(config, db, workers=workers, progress=progress, bootstrap=bootstrap, **rr_kw)
        report["roundrobin"] = {"tournament": rr.tournament_id, "games": rr.games, "played": rr.played,
                                "minutes": round(rr.seconds / 60, 2), "complete": rr.complete}
        rr_rank, rr_rating = _ranks(rr.standings, names, "rank"), _ranks(rr.standings, names, "rating")
        report["spearman"].update(roundrobin_vs_true=_spearman(rr_rank, truth),
                                  roundrobin_rating_vs_true=_spearman(rr_rating, truth),
                                  swiss_vs_roundrobin=_spearman(sw_rank, rr_rank),
                                  swiss_rating_vs_roundrobin=_spearman(sw_rating, rr_rank))
    return report


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyrat_rl.agents.tournament.synthetic",
        description="Swiss against round robin on a synthetic field of known strength (greedy with random "
                    "actions, eps from 0 to 1): games, minutes and Spearman correlations with the true order.")
    parser.add_argument("--agents", type=int, default=60, metavar="N", help="agents in the field (default 60)")
    parser.add_argument("--rounds", type=int, default=None, metavar="R",
                        help="Swiss rounds (default: ceil(log2(N)) + 2, at most N - 1)")
    parser.add_argument("--preset", default="tiny", help="maze preset (default tiny)")
    parser.add_argument("--seed", type=int, default=0, help="tournament seed (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the agents and the database")
    parser.add_argument("--workers", type=int, default=1, metavar="W", help="games at once (default 1)")
    parser.add_argument("--roundrobin", action="store_true", help="also play the full round robin (2 games a pair)")
    parser.add_argument("--bootstrap", type=int, default=200, metavar="B", help="bootstrap resamples (default 200)")
    parser.add_argument("--sandbox", default=None, metavar="MODE",
                        help="passed on as sandbox=MODE to the runner, if it takes it")
    parser.add_argument("--play-option", action="append", default=[], metavar="KEY=VALUE",
                        help="another keyword argument for the runner (VALUE read as JSON if it parses)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.agents < 2:
        parser.error(f"--agents must be at least 2, got {args.agents}")
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    extra = {}
    if args.sandbox is not None:
        extra["sandbox"] = _parse_value(args.sandbox)
    for item in args.play_option:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            parser.error(f"--play-option wants KEY=VALUE, got {item!r}")
        extra[key] = _parse_value(value)
    try:
        report = benchmark(args.out, args.agents, args.rounds, args.preset, args.seed, args.workers,
                           args.roundrobin, progress=not args.quiet, bootstrap=args.bootstrap, play_kwargs=extra)
    except ValueError as exc:
        parser.error(str(exc))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    sw = report["swiss"]
    print(f"{args.agents} agents, preset {args.preset}, seed {args.seed}, {args.workers} worker(s)")
    print(f"swiss ({report['rounds']} rounds): {sw['games']} games ({sw['played']} played now), "
          f"{sw['minutes']:.2f} min")
    if "roundrobin" in report:
        rr = report["roundrobin"]
        print(f"round robin (2 games a pair): {rr['games']} games ({rr['played']} played now), "
              f"{rr['minutes']:.2f} min")
    print("Spearman correlations (standings order; ratings order):")
    sp = report["spearman"]
    print(f"  swiss vs true order        {sp['swiss_vs_true']:.3f}; {sp['swiss_rating_vs_true']:.3f}")
    if "roundrobin" in report:
        print(f"  round robin vs true order  {sp['roundrobin_vs_true']:.3f}; {sp['roundrobin_rating_vs_true']:.3f}")
        print(f"  swiss vs round robin       {sp['swiss_vs_roundrobin']:.3f}; {sp['swiss_rating_vs_roundrobin']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
