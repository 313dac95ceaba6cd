"""``pyrat bench``: speed measurements, taken in one run so that ratios compare like with like.

Engine figures (always):
  ``engine_turns_per_s``          one `Game`, official preset, random actions fed from a list
  ``engine_batched_turns_per_s``  one `GameBatch` of ``--batch`` official games, turns summed over live games
  ``pyrat_game_turns_per_s``      pyrat-game's SIMULATION mode on the same settings and the same kind of
                                  pre-drawn random actions (FixedPlayer), ``Game.start()`` timed; null if
                                  pyrat-game is not installed
  ``maze_generation_ms``          mean time of ``new_game("official", seed)`` (maze, cheese, starts), with the
                                  compiled kernels loaded (numba; see ``pyrat_env._accel``)
  ``maze_generation_ms_python``   the same with the Python generator (what a process that has not loaded
                                  numba runs for its first mazes): the same games, slower
Environment figures (``pyrat_env.envs.bench``) and, with ``--train``, training figures
(``pyrat_rl.train.bench``) are added when those modules are present. Ratios against the references measured
in the same run are reported under ``ratios``. Each figure is the best of several rounds: other
processes on the machine can only slow a round down, so the best round is the least noisy estimate.
"""

from __future__ import annotations

import contextlib
import io
import json
import platform
import time

import numpy as np

from . import _accel, registry
from .engine import GameBatch
from .mazes import new_game
from .runtime import cpu_count

SUMMARY = "measure engine, environment and training speed"  # pyrat --help


def _random_action_lists(rng: np.random.Generator, n_players: int, length: int) -> np.ndarray:
    return rng.integers(0, 5, size=(length, n_players))


def engine_turns_per_s(seconds: float = 1.0, seed: int = 0) -> float:
    """Turns per second of one `Game` (official preset, random actions); only stepping is timed.

    Each game is one round and the best round's rate is reported.
    """
    rng = np.random.default_rng(seed)
    actions = _random_action_lists(rng, 2, 50000).tolist()
    setups = [new_game("official", seed + i) for i in range(20)]
    best, elapsed, k, i = 0.0, 0.0, 0, 0
    while elapsed < seconds:
        game = setups[i % len(setups)].game()
        i += 1
        step = game.step
        t0 = time.perf_counter()
        n = 0
        while not game.over and n < 20000:
            step(actions[k % 50000])
            k += 1
            n += 1
        dt = time.perf_counter() - t0
        elapsed += dt
        best = max(best, n / dt)
    return best


def engine_batched_turns_per_s(batch: int = 1024, steps: int = 300, seed: int = 0, rounds: int = 10) -> float:
    """Turns per second summed over the live games of one `GameBatch` of official games (best round)."""
    setups = [new_game("official", seed + i) for i in range(batch)]
    b = GameBatch([s.maze for s in setups], [s.cheese for s in setups], [s.starts for s in setups])
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, 5, size=(16, batch, 2))
    b.step(actions[0])  # preprocessing step
    best, per_round = 0.0, max(steps // rounds, 1)
    for r in range(rounds):
        turns = 0
        t0 = time.perf_counter()
        for k in range(per_round):
            turns += int((~b.over).sum())
            b.step(actions[(r * per_round + k) % 16])
        best = max(best, turns / (time.perf_counter() - t0))
    return best


def pyrat_game_turns_per_s(seconds: float = 2.0, seed: int = 0) -> float | None:
    """pyrat-game's SIMULATION mode on the official defaults with FixedPlayers of random actions.

    Each game is one round; the best round's rate is reported, as for our engine.
    """
    try:
        import pyrat
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    by_name = {a.value: a for a in pyrat.Action}
    order = ["nothing", "north", "east", "south", "west"]
    best, elapsed, g = 0.0, 0.0, 0
    while elapsed < seconds or best == 0.0:
        game = pyrat.Game(random_seed=seed + g, game_mode=pyrat.GameMode.SIMULATION)
        g += 1
        for name in ("rat", "python"):
            acts = [by_name[order[a]] for a in rng.integers(0, 5, size=20000)]
            game.add_player(pyrat.FixedPlayer(acts, name))
        sink = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            stats = game.start()
        dt = time.perf_counter() - t0
        elapsed += dt
        turns = int(stats.get("turns", 0)) if stats else 0
        if turns > 0:
            best = max(best, turns / dt)
        if g > 50:
            break
    return best or None


def maze_generation_ms(n: int = 200, seed: int = 0, compiled: bool = True) -> float:
    """Mean milliseconds to set up a default game (maze, cheese, starts) with `new_game`.

    ``compiled``: with the compiled kernels loaded (``pyrat_env._accel``: a process that uses a batched path
    has them), else with the Python generator (the first mazes of a process that has not loaded numba).
    Both give the same games.
    """
    if compiled and _accel.kernels() is None:
        return float("nan")
    before = _accel.set_enabled(compiled)
    try:
        new_game("official", seed)  # warm caches (grid edge tables, the compiled set-up's one-time check)
        t0 = time.perf_counter()
        for i in range(n):
            new_game("official", seed + i)
        return (time.perf_counter() - t0) / n * 1000
    finally:
        _accel.set_enabled(before)


def run_benchmarks(quick: bool = False, train: bool = False, envs: bool = True, tournament: bool = False) -> dict:
    """All figures of one run, with ratios against the references measured in it."""
    secs = 0.3 if quick else 1.0
    out: dict = {
        "machine": {"python": platform.python_version(), "processor": platform.machine(),
                    "cpus": cpu_count()},
        "engine_turns_per_s": engine_turns_per_s(secs, 0),
        "engine_batched_turns_per_s": engine_batched_turns_per_s(256 if quick else 1024, 100 if quick else 300),
        "pyrat_game_turns_per_s": pyrat_game_turns_per_s(0.5 if quick else 2.0),
        "maze_generation_ms": maze_generation_ms(50 if quick else 300),
        "maze_generation_ms_python": maze_generation_ms(20 if quick else 100, compiled=False),
    }
    if envs:
        try:
            from .envs.bench import env_benchmarks
        except ImportError:
            env_benchmarks = None
        if env_benchmarks is not None:
            out.update(env_benchmarks(seconds=secs))
    if train:  # training figures come from the layer that trains, declared as an entry point (pyrat_env.registry)
        out.update(registry.load(registry.BENCHMARKS, "train")(quick=quick))
    ratios = dict(out.get("ratios", {}))
    if tournament:  # idem: tournaments are a higher layer's
        figures = registry.load(registry.BENCHMARKS, "tournament")(quick=quick)
        ratios.update(figures.pop("ratios", {}))
        out.update(figures)
    if out.get("pyrat_game_turns_per_s"):
        ratios["engine_batched_vs_pyrat_game"] = out["engine_batched_turns_per_s"] / out["pyrat_game_turns_per_s"]
        ratios["engine_single_vs_pyrat_game"] = out["engine_turns_per_s"] / out["pyrat_game_turns_per_s"]
    if out.get("vec_env_steps_per_s") and out.get("sync_vector_env_steps_per_s"):
        ratios["vec_env_vs_sync_vector_env"] = out["vec_env_steps_per_s"] / out["sync_vector_env_steps_per_s"]
    out["ratios"] = ratios
    return out


def add_arguments(parser) -> None:
    from .cli_options import add_json

    add_json(parser, "print one JSON object")
    parser.add_argument("--quick", action="store_true", help="shorter measurements (less precise)")
    parser.add_argument("--train", action="store_true", help="also measure PPO training speed per network")
    parser.add_argument("--no-envs", action="store_true", help="skip the environment measurements")
    parser.add_argument("--tournament", action="store_true",
                        help="also measure tournament games per second against the same games in pyrat play")


def run(args) -> int:
    res = run_benchmarks(quick=args.quick, train=args.train, envs=not args.no_envs, tournament=args.tournament)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    for key, value in res.items():
        if key in ("ratios", "machine"):
            continue
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k:<34} {_fmt(v)}")
        else:
            print(f"{key:<36} {_fmt(value)}")
    print("ratios (measured in this run):")
    for key, value in res["ratios"].items():
        print(f"  {key:<34} {value:,.1f}x")
    return 0


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.3f}" if v < 100 else f"{v:,.0f}"
    return str(v)
