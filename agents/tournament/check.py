"""``pyrat tournament check SUBMISSION...``: is a submission ready for a tournament?

What a student runs on their file before handing it in, and a teacher on the whole folder of
submissions. For each file, `check_submission`:

1. checks that it exists and is a ``.py`` file or a checkpoint (``.pt``, ``.zip``, ``.onnx``);
2. plays ONE game under tournament conditions against ``greedy`` (or ``opponent``): the agent in its
   own process, with the official time, memory and CPU limits (`Limits`), the first game of the
   two-agent schedule (`make_schedule`), so the file is the first seat on the maze of ``seed``;
3. reports what the teacher's tournament would see: whether the agent loaded (a file must hold exactly
   one agent or player class), the result, the think times (median and 99th percentile) against the
   turn limit, the preprocessing time against its limit, timeouts, errors, a forfeit, the peak memory
   and the first characters the agent printed.

The student's file is never imported here: it only ever runs in its own agent process, whose load
step fails with a clear message when the file holds several classes or none (`pyrat_rl.agents.spec`).
This module reads the file's source with `ast` only, to phrase that message better (`scan_classes`);
the verdict comes from the real load.

A file is **OK** when it loaded, did not forfeit, and had no error and no timeout in the game;
otherwise **FAIL** (or **ERROR** when the check itself could not judge it: the opponent did not
load, or the game could not be played). `check_submissions` checks several files in a bounded pool
of threads (each game runs its two agents in their own processes), ``workers`` games at once.
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import re
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from pyrat_env import cli_options as opt
from pyrat_env.cli_options import CHECKPOINT_SUFFIXES, UsageError
from pyrat_env.runtime import cpu_count

from ..match import DEFAULT_MAX_TURNS
from .config import Limits, TournamentConfig, describe_agents, game_config
from .sandbox import DEFAULT_SANDBOX, SANDBOXES
from .schedule import make_schedule

OUTPUT_CHARS = 500          # characters of the agent's output kept in a report
ERROR_SAMPLES = 3           # error messages kept in a report
MESSAGE_CHARS = 300         # characters of each message kept
_ERROR_KINDS = ("exception", "invalid_action")
CSV_FIELDS = ("file", "name", "verdict", "ok", "problem", "loaded", "opponent", "seat", "result", "score",
              "opponent_score", "reason", "turns", "think_median_ms", "think_p99_ms", "think_max_ms",
              "turn_limit_ms", "preprocessing_s", "preprocessing_limit_s", "timeouts", "errors", "error_messages",
              "forfeit_kind", "forfeit_message", "peak_memory_mb", "output", "seconds")


def default_workers() -> int:
    """Half the cores: both agents of a game think at once, each on its own core, so that timing stays fair."""
    return max(1, cpu_count() // 2)


def _clip(text: object, n: int = MESSAGE_CHARS) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 3] + "..."


# -- the file, read without running it ---------------------------------------------------------------------------
def submission_kind(path: str | Path) -> str | None:
    """``"python"`` for a ``.py`` file, ``"checkpoint"`` for ``.pt``/``.zip``/``.onnx``, else None."""
    name = str(path).lower()
    if name.endswith(".py"):
        return "python"
    if name.endswith(CHECKPOINT_SUFFIXES):
        return "checkpoint"
    return None


def scan_classes(path: str | Path) -> list[str] | None:
    """Classes of a Python file that look like agents or players, read with `ast` (the file is not run).

    A class counts when one of its bases is named ``...Player`` or ``...Agent`` (``Player``, ``pyrat.Player``,
    ``Agent``, ``pyrat_env.Agent``...) or is such a class of the same file. A hint only: the verdict comes
    from loading the file in the agent's process. None when the file cannot be read or parsed.
    """
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None

    def base_name(node: ast.expr) -> str:
        if isinstance(node, ast.Subscript):     # Generic[...] and the like
            node = node.value
        if isinstance(node, ast.Attribute):
            return node.attr
        return node.id if isinstance(node, ast.Name) else ""

    classes = [(n.name, [base_name(b) for b in n.bases]) for n in tree.body if isinstance(n, ast.ClassDef)]
    found: list[str] = []
    changed = True
    while changed:
        changed = False
        for name, bases in classes:
            if name not in found and any(b in ("Player", "Agent") or b in found or
                                         (b.endswith(("Player", "Agent")) and b not in {c for c, _ in classes})
                                         for b in bases):
                found.append(name)
                changed = True
    order = [c for c, _ in classes]
    return sorted(found, key=order.index)


def split_submission(spec: str) -> tuple[Path, str | None]:
    """``alice.py`` -> (alice.py, None); ``alice.py:Best`` -> (alice.py, "Best")."""
    target, cls = opt.split_target(str(spec))
    return Path(target).expanduser(), cls


def expand_submissions(specs: Sequence[str]) -> list[str]:
    """The files to check: a folder stands for its ``.py`` files and checkpoints (sorted; not ``__init__.py``).

    Raises `UsageError` (one line, naming it) for a file or folder that does not exist, and for a folder with
    no submission in it.
    """
    out: list[str] = []
    for spec in specs:
        path, cls = split_submission(spec)
        if path.is_dir() and cls is None:
            files = sorted(str(p) for p in path.iterdir()
                           if p.is_file() and submission_kind(p) and p.name != "__init__.py")
            if not files:
                raise UsageError(f"{spec}: no .py file or checkpoint (.pt, .zip, .onnx) in this folder")
            out += files
        elif not path.exists():
            raise UsageError(f"{spec}: no such file")
        else:
            out.append(str(spec))
    return out


# -- one check ---------------------------------------------------------------------------------------------------
def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def _base_report(spec: str, opponent: str, limits: Limits) -> dict:
    path, cls = split_submission(spec)
    return {"file": str(spec), "name": path.stem if cls is None else f"{path.stem}:{cls}",
            "kind": submission_kind(path), "ok": False, "verdict": "FAIL", "problem": None, "problems": [],
            "loaded": False, "classes": None,
            "opponent": opponent, "seat": None, "names": None, "result": None, "scores": None, "reason": None,
            "turns": None,
            "think": {"median": None, "p99": None, "max": None, "n": 0, "limit": limits.turn_time},
            "preprocessing": {"time": None, "limit": limits.preprocessing_time},
            "timeouts": 0, "errors": {"count": 0, "messages": []}, "load_problem": None, "forfeit": None,
            "opponent_forfeit": None,
            "peak_memory_mb": None, "output": "", "seconds": None,
            "limits": {"turn_time": limits.turn_time, "preprocessing_time": limits.preprocessing_time,
                       "max_consecutive_timeouts": limits.max_consecutive_timeouts, "memory_mb": limits.memory_mb,
                       "cpu_seconds": limits.cpu_seconds}}


_FOUND = re.compile(r"\((\d+) agent or player classes found in .*?: ([^()]*)\)")


def _load_problem(message: str, classes: list[str] | None, spec: str) -> str:
    """The load error, with a hint when the file holds several agent classes or none.

    The classes named are the loader's (it counts what the file really defines); the `ast` scan is the
    fall-back when its message does not list them.
    """
    text = f"cannot be loaded: {message}"
    path, cls = split_submission(spec)
    if cls is not None or "name the class" not in message:
        return text
    m = _FOUND.search(message)
    if m:
        classes = [] if m.group(2).strip() == "none" else [c.strip() for c in m.group(2).split(",")]
    if classes is None:
        return text
    if len(classes) > 1:
        return (f"{len(classes)} agent or player classes in the file ({', '.join(classes)}): keep only one, or "
                f"choose the one that plays and name it ({path.name}:{classes[0]}...)")
    if not classes:
        return ("no agent or player class in the file: define one class that subclasses pyrat.Player or "
                "pyrat_env.Agent")
    return text


def check_submission(path: str | Path, opponent: str = "greedy", preset: str = "official", limits: Limits | None = None,
                     seed: int = 0, max_turns: int | None = DEFAULT_MAX_TURNS, stop: threading.Event | None = None,
                     sandbox: str = DEFAULT_SANDBOX, pool=None) -> dict:
    """Check one submission by one game against ``opponent``; a JSON-able report (see the module docstring).

    ``path`` is a ``.py`` file or a checkpoint, optionally ``file.py:Class``. ``limits`` defaults to the
    official `Limits`. ``sandbox``: as in tournaments; ``pool``: the agents' servers (`ServerPool`). Raises
    ``FileNotFoundError`` when the file does not exist; any other problem is in the report.
    """
    from .game import play_isolated_game
    from .runner import make_task

    limits = limits if limits is not None else Limits()
    spec = str(path)
    report = _base_report(spec, opponent, limits)
    file, _ = split_submission(spec)
    if not file.is_file():
        raise FileNotFoundError(2, "No such file" if not file.exists() else "not a file", str(file))
    if report["kind"] is None:
        report["problem"] = "not a submission: a .py file or a checkpoint (.pt, .zip, .onnx) is expected"
        report["problems"] = [report["problem"]]
        return report
    if report["kind"] == "python":
        report["classes"] = scan_classes(file)

    entries = describe_agents([spec, opponent])
    config = TournamentConfig(agents=entries, games_per_pair=2, game=game_config(preset), seed=int(seed),
                              max_turns=max_turns, limits=limits)
    game = make_schedule(len(entries), 2, int(seed))[0]
    seat = game.seats.index(0)
    report["name"] = entries[0].name
    record = play_isolated_game(make_task(config, game, sandbox), stop, pool)
    return summarize(record, seat, report, spec)


def summarize(record: dict, seat: int, report: dict, spec: str) -> dict:
    """Fill ``report`` from a game record (`play_isolated_game`'s) in which the submission sat in ``seat``."""
    other = 1 - seat
    names = list(record["names"])
    me = names[seat]
    replay = record.get("replay") or {}
    player = (replay.get("players") or [{}, {}])[seat]
    forfeit = record["forfeits"][seat]
    report.update(seat=seat, names=names, reason=record.get("reason"), turns=record.get("turns"),
                  seconds=record.get("seconds"), forfeit=forfeit, opponent_forfeit=record["forfeits"][other],
                  timeouts=int(record["timeouts"][seat]), output=str(record["outputs"][seat])[:OUTPUT_CHARS])
    report["loaded"] = not (forfeit is not None and forfeit.get("kind") == "load")
    scores = record.get("scores")
    if scores is not None:
        report["scores"] = {"submission": float(scores[seat]), "opponent": float(scores[other])}
    winner = record.get("winner")
    report["result"] = "draw" if winner is None else ("win" if winner == me else "loss")

    think = [float(t) for t in player.get("think_times", [])]
    median, p99 = _percentile(think, 50), _percentile(think, 99)
    report["think"].update(median=median, p99=p99, max=max(think) if think else None, n=len(think))
    report["preprocessing"]["time"] = player.get("preprocessing_time")
    errors = [e for e in record["error_samples"][seat] if e.get("kind") in _ERROR_KINDS]
    report["errors"] = {"count": int(record["errors"][seat]),
                        "messages": [_clip(f"turn {e.get('turn')}: {e.get('kind')}: {e.get('message')}")
                                     for e in errors[:ERROR_SAMPLES]]}
    peaks = record.get("peak_memory_mb")
    if isinstance(peaks, (list, tuple)) and len(peaks) > seat and peaks[seat] is not None:
        report["peak_memory_mb"] = round(float(peaks[seat]), 1)

    problems = []
    opp_forfeit = record["forfeits"][other]
    judged = True
    if forfeit is not None:
        if forfeit.get("kind") == "load":
            report["load_problem"] = str(forfeit.get("message", ""))
            problems.append(_load_problem(str(forfeit.get("message", "")), report["classes"], spec))
        elif forfeit.get("kind") == "timeouts":
            problems.append(f"forfeit at turn {forfeit.get('turn')}: {_clip(forfeit.get('message', ''))} (answers "
                            f"later than {report['limits']['turn_time']:g} s a turn, or "
                            f"{report['limits']['preprocessing_time']:g} s for preprocessing)")
        else:
            problems.append(f"forfeit ({forfeit.get('kind')}) at turn {forfeit.get('turn')}: "
                            f"{_clip(forfeit.get('message', ''))}")
    elif opp_forfeit is not None and opp_forfeit.get("kind") == "load":
        judged = False
        problems.append(f"the opponent {report['opponent']!r} could not be loaded, so no game was played: "
                        f"{_clip(opp_forfeit.get('message', ''))}")
    if report["timeouts"] and not (forfeit is not None and forfeit.get("kind") == "timeouts"):
        limit = report["limits"]["turn_time"]
        problems.append(f"{report['timeouts']} timeout(s): answers later than {limit:g} s a turn "
                        f"(or {report['limits']['preprocessing_time']:g} s for preprocessing)")
    if report["errors"]["count"]:
        first = report["errors"]["messages"][0] if report["errors"]["messages"] else ""
        problems.append(f"{report['errors']['count']} error(s) (exceptions or invalid actions); first: {first}")
    report["problems"] = problems
    report["problem"] = problems[0] if problems else None
    report["ok"] = judged and not problems
    report["verdict"] = "OK" if report["ok"] else ("FAIL" if judged else "ERROR")
    return report


def _error_report(spec: str, opponent: str, limits: Limits, exc: BaseException) -> dict:
    report = _base_report(spec, opponent, limits)
    report["verdict"] = "ERROR"
    report["problem"] = f"the check could not be run: {type(exc).__name__}: {_clip(opt.one_line(exc))}"
    report["problems"] = [report["problem"]]
    return report


def check_submissions(paths: Sequence[str | Path], workers: int | None = None, opponent: str = "greedy",
                      preset: str = "official", limits: Limits | None = None, seed: int = 0,
                      max_turns: int | None = DEFAULT_MAX_TURNS, on_done: Callable[[dict], None] | None = None,
                      sandbox: str = DEFAULT_SANDBOX) -> list[dict]:
    """`check_submission` for each path, ``workers`` games at once (default: half the cores); reports in order.

    A check that raises (the game could not be played) gives an ``ERROR`` report; a missing file raises
    ``FileNotFoundError`` before any game. ``on_done(report)`` is called as each check ends (a progress bar).
    Ctrl-C stops the games in progress (their processes are killed) and is raised again.
    """
    specs = [str(p) for p in paths]
    for spec in specs:
        file, _ = split_submission(spec)
        if not file.is_file():
            raise FileNotFoundError(2, "No such file", str(file))
    limits = limits if limits is not None else Limits()
    workers = max(1, workers or default_workers())
    stop = threading.Event()
    reports: list[dict | None] = [None] * len(specs)
    from .process import ServerPool

    servers = ServerPool(sandbox)   # one for every check: the opponent's server stays warm

    def one(spec: str) -> dict:
        try:
            return check_submission(spec, opponent=opponent, preset=preset, limits=limits, seed=seed,
                                    max_turns=max_turns, stop=stop, sandbox=sandbox, pool=servers)
        except Exception as exc:  # noqa: BLE001 - a runner problem: reported for this file, the others go on
            if stop.is_set():
                raise
            return _error_report(spec, opponent, limits, exc)

    pool = ThreadPoolExecutor(max_workers=min(workers, max(1, len(specs))), thread_name_prefix="check")
    try:
        futures = {pool.submit(one, spec): i for i, spec in enumerate(specs)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                reports[futures[fut]] = fut.result()
                if on_done is not None:
                    on_done(reports[futures[fut]])
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        servers.close()
        raise
    pool.shutdown(wait=True)
    servers.close()
    return [r for r in reports if r is not None]


# -- output ------------------------------------------------------------------------------------------------------
def _ms(x: float | None) -> str:
    if x is None:
        return "-"
    ms = 1000 * x
    return f"{ms:.2f}" if ms < 1 else f"{ms:.1f}" if ms < 10 else f"{ms:.0f}"


def flat_row(r: dict) -> dict:
    """A report as one flat row (the CSV columns, `CSV_FIELDS`)."""
    scores = r.get("scores") or {}
    forfeit = r.get("forfeit") or {}
    return {"file": r["file"], "name": r["name"], "verdict": r["verdict"], "ok": r["ok"], "problem": r["problem"] or "",
            "loaded": r["loaded"], "opponent": r["opponent"], "seat": r["seat"], "result": r["result"] or "",
            "score": scores.get("submission", ""), "opponent_score": scores.get("opponent", ""),
            "reason": r["reason"] or "", "turns": r["turns"] if r["turns"] is not None else "",
            "think_median_ms": _round_ms(r["think"]["median"]), "think_p99_ms": _round_ms(r["think"]["p99"]),
            "think_max_ms": _round_ms(r["think"]["max"]), "turn_limit_ms": _round_ms(r["think"]["limit"]),
            "preprocessing_s": "" if r["preprocessing"]["time"] is None else round(r["preprocessing"]["time"], 3),
            "preprocessing_limit_s": r["preprocessing"]["limit"], "timeouts": r["timeouts"],
            "errors": r["errors"]["count"], "error_messages": " | ".join(r["errors"]["messages"]),
            "forfeit_kind": forfeit.get("kind", ""), "forfeit_message": forfeit.get("message", ""),
            "peak_memory_mb": "" if r["peak_memory_mb"] is None else r["peak_memory_mb"], "output": r["output"],
            "seconds": "" if r["seconds"] is None else r["seconds"]}


def _round_ms(x: float | None):
    return "" if x is None else round(1000 * x, 2)


def to_csv(reports: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in reports:
        w.writerow(flat_row(r))
    return buf.getvalue()


def render_table(reports: list[dict], problem_width: int = 70) -> str:
    """The terminal table: one row per file, then the details of the files that did not pass."""
    head = ("file", "verdict", "result", "think med/p99 ms", "prep s", "timeouts", "errors", "peak MB", "problem")
    rows = []
    for r in reports:
        scores = r.get("scores")
        if r["result"] is None or scores is None:
            result = "-"
        elif r["forfeit"] is not None:
            result = "forfeit"
        else:
            result = f"{r['result']} {scores['submission']:g}-{scores['opponent']:g}"
        t = r["think"]
        think = "-" if t["n"] == 0 else f"{_ms(t['median'])}/{_ms(t['p99'])} (limit {_ms(t['limit'])})"
        p = r["preprocessing"]
        prep = "-" if p["time"] is None else f"{p['time']:.2f}/{p['limit']:g}"
        peak = "-" if r["peak_memory_mb"] is None else f"{r['peak_memory_mb']:.0f}"
        problem = _clip(opt.one_line(r["problem"]), problem_width) if r["problem"] else ""
        rows.append((r["name"], r["verdict"], result, think, prep, str(r["timeouts"]), str(r["errors"]["count"]),
                     peak, problem))
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    for r in reports:
        if r["ok"]:
            continue
        lines += ["", f"{r['file']}: {r['verdict']}"]
        lines += [f"  - {opt.one_line(p)}" for p in r["problems"]]
        lines += [f"  error: {m}" for m in r["errors"]["messages"][1:]]
        if r["output"]:
            lines.append(f"  output: {_clip(opt.one_line(r['output']), 200)}")
    return "\n".join(lines) + "\n"


def summary_line(reports: list[dict], opponent: str, preset: str, seed: int, limits: Limits) -> str:
    n_ok = sum(r["ok"] for r in reports)
    return (f"{len(reports)} file(s) checked: {n_ok} OK, {len(reports) - n_ok} not OK "
            f"(one game each against {opponent}, preset {preset}, seed {seed}; {limits.turn_time:g} s a turn, "
            f"{limits.preprocessing_time:g} s preprocessing, "
            f"{'no memory limit' if limits.memory_mb is None else f'{limits.memory_mb} MB'})")


# -- the command -------------------------------------------------------------------------------------------------
def add_check_arguments(subparsers) -> argparse.ArgumentParser:
    """Add the ``check`` sub-command to ``pyrat tournament``'s sub-parsers; returns its parser."""
    limit = {f: opt.default_of(Limits, f) for f in Limits.IDENTITY}
    p = subparsers.add_parser(
        "check", help="check submissions: one game each against greedy under tournament conditions",
        description="Check submissions before a tournament: each file (a .py file or a checkpoint; a folder stands "
                    "for the files in it) plays one game against an opponent, in its own process with the "
                    "tournament's time and memory limits. A file is OK when it loads (exactly one agent or player "
                    "class), does not forfeit, and has no error and no timeout. Exit status 0 when every file is "
                    "OK, 1 otherwise, 2 for a usage error (a missing file...).")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="a .py file (file.py:Class names the class), a checkpoint (.pt, .zip, .onnx) or a folder")
    p.add_argument("--opponent", type=opt.agent_arg, default="greedy", metavar="SPEC",
                   help=opt.with_default(f"the opponent: {opt.AGENT_HELP}", "greedy"))
    opt.add_preset(p, "official")
    opt.add_seed(p, 0, "gives the maze")
    p.add_argument("--workers", type=opt.positive, default=None, metavar="N",
                   help=opt.with_default("games played at once", default_workers()))
    p.add_argument("--turn-time", type=float, metavar="S",
                   help=opt.with_default("seconds per turn", limit["turn_time"]))
    p.add_argument("--preprocessing-time", type=float, metavar="S",
                   help=opt.with_default("seconds for preprocessing", limit["preprocessing_time"]))
    p.add_argument("--memory-mb", type=opt.count, metavar="MB",
                   help=opt.with_default("address-space limit of an agent's process, 0 for none", limit["memory_mb"]))
    p.add_argument("--sandbox", choices=SANDBOXES, default=None,
                   help="run the agents in a bubblewrap sandbox (bwrap) or not (none); default: as tournaments do")
    p.add_argument("--csv", metavar="FILE", help="also write one CSV row per file to FILE ('-': to stdout, "
                                                 "instead of the table)")
    opt.add_json(p, "print a JSON list of reports (one per file) instead of the table")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _limits(args: argparse.Namespace) -> Limits:
    values = {}
    if getattr(args, "turn_time", None) is not None:
        values["turn_time"] = args.turn_time
    if getattr(args, "preprocessing_time", None) is not None:
        values["preprocessing_time"] = args.preprocessing_time
    if getattr(args, "memory_mb", None) is not None:
        values["memory_mb"] = args.memory_mb or None
    with opt.user_errors(ValueError):
        return Limits(**values)


def _check_opponent(opponent: str) -> None:
    from ..spec import BUILTIN, shipped_agents

    _, spec = opt.split_agent_name(opponent)
    target, cls = opt.split_target(spec)
    if opt.is_path(target):
        if not Path(target).expanduser().is_file():
            raise UsageError(f"opponent {opponent!r}: {target} does not exist")
        return
    known = [*BUILTIN, *(n for n in shipped_agents() if n not in BUILTIN)]
    if cls is None and target not in known:
        raise UsageError(f"unknown opponent {opponent!r}: not a built-in or shipped agent ({', '.join(known)}), "
                         "a file, a checkpoint or package.module:Class")


def run_check(args: argparse.Namespace) -> int:
    """``pyrat tournament check``: 0 when every file is OK, 1 when some are not; `UsageError` (2) for bad input."""
    files = expand_submissions(args.submissions)
    opponent = getattr(args, "opponent", "greedy") or "greedy"
    _check_opponent(opponent)
    preset = getattr(args, "preset", None) or "official"
    seed = int(getattr(args, "seed", None) or 0)
    limits = _limits(args)
    from .sandbox import SandboxUnavailable, check_sandbox

    sandbox = getattr(args, "sandbox", None) or DEFAULT_SANDBOX
    with opt.user_errors(SandboxUnavailable):
        check_sandbox(sandbox)
    csv_to = getattr(args, "csv", None)
    as_json = bool(getattr(args, "json", False))
    bar = None
    if len(files) > 1 and not getattr(args, "quiet", False):
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="file", file=sys.stderr, desc="check", dynamic_ncols=True)

    def done(report: dict) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{report['name']}: {report['verdict']}", refresh=False)
            bar.update(1)

    try:
        with opt.user_errors(FileNotFoundError):
            reports = check_submissions(files, workers=getattr(args, "workers", None), opponent=opponent,
                                        preset=preset, limits=limits, seed=seed, on_done=done, sandbox=sandbox)
    finally:
        if bar is not None:
            bar.close()

    if csv_to and csv_to != "-":
        try:
            Path(csv_to).write_text(to_csv(reports), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{csv_to}: {exc.strerror or exc}") from None
    if as_json:
        print(json.dumps(reports, indent=2))
    elif csv_to == "-":
        sys.stdout.write(to_csv(reports))
    else:
        sys.stdout.write(render_table(reports))
        print(summary_line(reports, opponent, preset, seed, limits))
    return 0 if all(r["ok"] for r in reports) else 1
