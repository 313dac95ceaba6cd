"""The ``pyrat`` command: a thin dispatcher over the subcommands that the installed packages declare.

Each subcommand is a module with ``add_arguments(parser)`` and ``run(args) -> int``, declared in the entry-point
group ``pyrat_env.commands`` (``pyproject.toml``); only the chosen one is imported, so ``pyrat compat check``
never loads torch. The one-line help of each is the first line of its module's docstring, read without
importing it. A user error is one line on stderr and exit status 2 (`pyrat_env.cli_options.UsageError`, ``argparse``).
"""

from __future__ import annotations

import sys

from . import registry
from .cli_options import ArgumentParser, UsageError


def _usage() -> str:
    lines = ["usage: pyrat COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<11} {registry.summary(registry.COMMANDS, name)}" for name in registry.names(registry.COMMANDS)]
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
    if name not in registry.names(registry.COMMANDS):
        print(f"pyrat: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = registry.load(registry.COMMANDS, name)
    parser = ArgumentParser(prog=f"pyrat {name}", description=registry.summary(registry.COMMANDS, name))
    module.add_arguments(parser)
    try:
        args = parser.parse_args(argv[1:])
    except SystemExit as exc:  # --help (0) or a bad option (2, its one line already printed): a status, as run's
        return int(exc.code or 0)
    try:
        return int(module.run(args) or 0)
    except UsageError as exc:
        print(f"pyrat {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
