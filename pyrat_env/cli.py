"""The ``pyrat`` command: a thin dispatcher over the project's modules.

Each subcommand lives in the module that does the work, which provides
``add_arguments(parser)`` and ``run(args) -> int``; only the chosen subcommand's module is
imported, so ``pyrat compat check`` never loads torch and ``pyrat watch`` never loads it either.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "play": ("agents.play_cli", "play games between agents and print a summary (replays optional)"),
    "agents": ("agents.spec", "list the built-in and shipped agents"),
    "compat": ("pyrat_env.compat", "check that the engine reproduces official traces and replays"),
    "watch": ("pyrat_env.viewer.cli", "watch a replay in a window, or draw one frame to a PNG"),
    "bench": ("pyrat_env.bench", "measure engine, environment and training speed"),
    "train": ("train.cli", "train agents: PPO or imitation of an expert"),
    "tournament": ("agents.tournament.cli", "run tournaments and print standings"),
}


def _usage() -> str:
    lines = ["usage: pyrat COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<11} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'pyrat COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from .replay import SOFTWARE
        print(SOFTWARE)
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"pyrat: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"pyrat {name}", description=COMMANDS[name][1])
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
