"""Run the course notebooks top to bottom and write executed copies (outputs included) to a git-ignored folder.

    python notebooks/run_all.py                 # full mode, every notebook, copies in runs/notebooks/executed/
    PYRAT_QUICK=1 python notebooks/run_all.py   # quick mode (what the tests run)
    python notebooks/run_all.py 02 03 --out DIR # some notebooks, another folder

The notebooks in the repository are kept without outputs; this is the one command that regenerates
executed copies. Notebooks run in order, in their own folder, with the ``python3`` kernel; what they save
(agents, tournament database) goes to ``$PYRAT_RUNS``, by default ``runs/notebooks`` in the folder this
command is started from (`pyrat_rl.train.supervised.runs_root`; the kernels get that folder as
``$PYRAT_RUNS``, since they work in the notebooks' folder), so notebook 07 finds the agents of 02 to 06.
The executed copies go to ``executed/`` in that folder. Each notebook's wall time is printed at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent   # the notebooks themselves (inputs); outputs never go here
RUNS_ENV = "PYRAT_RUNS"


def notebooks(selected: list[str] | None = None) -> list[Path]:
    """The numbered notebooks (``NN_*.ipynb``), in order; ``selected``: numbers or names to keep."""
    paths = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if selected:
        paths = [p for p in paths if any(p.name.startswith(s) or p.stem == s for s in selected)]
    return paths


def run_notebook(path: str | os.PathLike, out: str | os.PathLike | None = None, timeout: int = 3600,
                 kernel: str = "python3"):
    """Execute a notebook in its folder; returns ``(notebook, seconds)`` and writes it to ``out`` when given.

    The kernel inherits this process's environment (``PYRAT_QUICK``, ``PYRAT_RUNS``, ``MPLBACKEND``...;
    `main` sets the inline backend so that figures are kept).
    A failing cell raises ``nbclient.exceptions.CellExecutionError``.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    finally:
        seconds = time.perf_counter() - t0
        if out is not None:
            out = Path(out)
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(out))
    return nb, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="numbers or names of the notebooks to run (default: all)")
    parser.add_argument("--out", default=None,
                        help="folder for the executed copies (default: executed/ in $PYRAT_RUNS, else "
                             "runs/notebooks/executed in the working folder)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    paths = notebooks(args.notebooks)
    if not paths:
        print("no notebook matches", args.notebooks, file=sys.stderr)
        return 2
    from pyrat_rl.train.supervised import runs_root

    root = runs_root()
    os.environ[RUNS_ENV] = str(root)   # absolute: the kernels run in the notebooks' folder, not in ours
    out_dir = Path(args.out) if args.out else root / "executed"
    quick = os.environ.get("PYRAT_QUICK", "")
    # The executed copies keep their figures: with MPLBACKEND=Agg (headless set-ups) plt.show() would
    # draw nothing, so the kernels get the notebook backend, which needs no display.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    print(f"running {len(paths)} notebook(s), {'quick' if quick not in ('', '0') else 'full'} mode", flush=True)
    total, failed = 0.0, []
    for path in paths:
        dest = out_dir / path.name
        try:
            _, seconds = run_notebook(path, dest, timeout=args.timeout)
            status = "ok"
        except Exception as exc:  # keep going: report every notebook
            seconds, status = float("nan"), f"FAILED ({type(exc).__name__})"
            failed.append(path.name)
            print(exc, file=sys.stderr)
        total += 0.0 if seconds != seconds else seconds
        print(f"{path.name:<40} {seconds:8.1f} s  {status}  -> {dest}", flush=True)
    print(f"total {total:.1f} s; {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
