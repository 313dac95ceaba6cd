"""Options shared by the ``pyrat`` commands, defined once so that every command spells and checks them alike.

* ``--preset``, ``--seed``, ``--device``, ``--max-turns``, ``--json``: `add_preset`, `add_seed`, `add_device`,
  `add_max_turns`, `add_json` (each with its check, so a bad value is the same one-line error everywhere);
* agents on the command line, ``[NAME=]SPEC``: `agent_arg` checks the form, `split_agent_name` splits it,
  `default_agent_name` names an agent from its spec when no NAME is given (a file or checkpoint by its stem,
  ``module:Class`` by the class, a built-in name as it is) and `name_agents` makes the names unique
  (``greedy#1``, ``greedy#2``). ``pyrat play`` and ``pyrat tournament`` both name agents this way, without
  importing them;
* help texts: `default_of` reads a default from a config dataclass's field or a function's parameter, and
  `with_default` writes it into the help, so defaults are never retyped;
* user errors: `ArgumentParser` prints argparse's errors on one line, and `user_errors` turns the exceptions a
  command knows to be the user's doing into `UsageError`; the dispatcher (`pyrat_env.cli`) prints both as
  ``pyrat NAME: error: MESSAGE`` with exit status 2.

Standard library and `pyrat_env.mazes` only (the lowest layer): the commands of every layer use it, and the
exception types of higher layers are passed in by them (`user_errors`), never imported here.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .mazes import PRESETS


class UsageError(Exception):
    """A user's mistake (bad option value, missing file...): ``pyrat`` prints it as one line, exit status 2."""


CHECKPOINT_SUFFIXES = (".zip", ".pt", ".onnx")
DEVICES = ("cpu", "cuda", "auto")      # and cuda:N
AGENT_HELP = ("a built-in or shipped name (see 'pyrat agents'), path/to/player.py[:Class], package.module:Class, "
              "or a checkpoint (.zip, .pt, .onnx); NAME=SPEC names it")
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_CUDA = re.compile(r"cuda:\d+")


# -- one-line errors -------------------------------------------------------------------------------------
class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one line, ``pyrat play: error: argument --seed: ...``, and exit status 2.

    Sub-commands made with ``add_subparsers`` are of the same class, so theirs are too.
    """

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def one_line(text: object) -> str:
    """A message on one line (exceptions from deep down sometimes span several)."""
    return " ".join(str(text).split())


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"   # not "[Errno 2] No such file or directory: 'x'"
    return one_line(exc)


@contextlib.contextmanager
def user_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """Inside it, an exception of one of ``kinds`` is the user's mistake: it becomes a one-line `UsageError`.

    A command wraps only what reads the user's input (resolving agent specs, reading a settings file...),
    so that a bug elsewhere still shows its traceback.
    """
    try:
        yield
    except UsageError:
        raise
    except kinds as exc:
        raise UsageError(_message(exc)) from None


# -- defaults, for help texts --------------------------------------------------------------------------------
def default_of(owner: object, name: str):
    """The default of field ``name`` of a dataclass, or of parameter ``name`` of a function."""
    if dataclasses.is_dataclass(owner):
        f = {f.name: f for f in dataclasses.fields(owner)}[name]
        if f.default is not dataclasses.MISSING:
            return f.default
        if f.default_factory is not dataclasses.MISSING:
            return f.default_factory()
        raise KeyError(f"{owner.__name__}.{name} has no default")
    param = inspect.signature(owner).parameters[name]
    if param.default is inspect.Parameter.empty:
        raise KeyError(f"{owner.__name__}({name}) has no default")
    return param.default


def default_text(value: object) -> str:
    """A default as a help text shows it: ``none``, ``1,000,000``, ``0.0003``, ``greedy,random``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return ",".join(default_text(v) for v in value) or "none"
    return str(value)


def with_default(text: str, value: object) -> str:
    """``text (default VALUE)``."""
    return f"{text} (default {default_text(value)})"


# -- checks of option values (argparse ``type=`` functions) --------------------------------------------------
def preset_name(text: str) -> str:
    if text not in PRESETS:
        raise argparse.ArgumentTypeError(f"unknown preset {text!r}; choose one of {', '.join(PRESETS)}")
    return text


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed is a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is a whole number >= 0, got {value}")
    return value


def count(text: str, minimum: int = 0) -> int:
    """A whole number >= ``minimum`` (use ``functools.partial`` or `positive` for another minimum)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def positive(text: str) -> int:
    return count(text, 1)


def device(text: str) -> str:
    if text in DEVICES or _CUDA.fullmatch(text):
        return text
    raise argparse.ArgumentTypeError(f"unknown device {text!r}; use cpu, cuda, cuda:N or auto")


def agent_arg(text: str) -> str:
    """An agent argument ``[NAME=]SPEC``, checked for its form (what it names is checked when it is loaded)."""
    try:
        split_agent_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


# -- the shared options -------------------------------------------------------------------------------------
# ``default`` is what argparse returns when the option is not given; a command that must tell "not given" apart
# (``pyrat tournament run``, whose TOML file may set the value) passes None and shows its real default as ``shown``.
def _help(text: str, default: object, shown: object) -> str:
    value = default if default is not None else shown
    return with_default(text, value) if value is not None else text


def add_preset(parser: argparse.ArgumentParser, default: str | None, help: str = "game settings",
               shown: str | None = None) -> None:
    """``--preset NAME``, one of `PRESETS`."""
    parser.add_argument("--preset", type=preset_name, default=default, metavar="PRESET",
                        help=_help(f"{help}: {', '.join(PRESETS)}", default, shown))


def add_seed(parser: argparse.ArgumentParser, default: int | None, help: str, shown: int | None = None) -> None:
    """``--seed S``, a whole number >= 0."""
    parser.add_argument("--seed", type=seed, default=default, metavar="S", help=_help(help, default, shown))


def add_device(parser: argparse.ArgumentParser, default: str) -> None:
    """``--device cpu|cuda|cuda:N|auto`` (torch's device; auto picks cuda when there is one)."""
    parser.add_argument("--device", type=device, default=default, metavar="DEVICE",
                        help=with_default("torch device: cpu, cuda, cuda:N, or auto (cuda when available)", default))


def add_max_turns(parser: argparse.ArgumentParser, default: int | None, help: str = "turn limit of a game",
                  shown: int | None = None) -> None:
    """``--max-turns T``: a whole number >= 0, where 0 means no limit (the command reads ``args.max_turns or None``)."""
    parser.add_argument("--max-turns", type=count, default=default, metavar="T",
                        help=_help(f"{help}, 0 for none", default, shown))


def add_json(parser: argparse.ArgumentParser, help: str = "print the result as JSON") -> None:
    """``--json``: the command prints JSON, and nothing else, on stdout."""
    parser.add_argument("--json", action="store_true", help=help)


# -- agents on the command line: [NAME=]SPEC -----------------------------------------------------------------
def split_target(spec: str) -> tuple[str, str | None]:
    """``path/file.py:Class`` -> (``path/file.py``, ``Class``); a Windows drive letter is no class."""
    left, sep, right = spec.rpartition(":")
    if sep and not (len(left) == 1 and left.isalpha()):
        return left, (right or None)
    return spec, None


def is_path(target: str) -> bool:
    """True when an agent spec's target names a file (a .py file or a checkpoint) rather than a name or module."""
    return target.endswith(".py") or "/" in target or os.sep in target or \
        target.lower().endswith(CHECKPOINT_SUFFIXES)


def split_agent_name(text: str) -> tuple[str | None, str]:
    """``"alice=subs/a.py"`` -> ``("alice", "subs/a.py")``; ``"greedy"`` -> ``(None, "greedy")``.

    What comes before the first ``=`` is a name unless it looks like a path or a module (``runs/lr=3e-4/best.zip``
    is a spec); a name uses letters, digits, ``_``, ``.`` and ``-``. Raises ``ValueError`` for an empty spec or
    a malformed ``NAME=SPEC``.
    """
    text = str(text).strip()
    if not text:
        raise ValueError("empty agent spec")
    head, sep, tail = text.partition("=")
    if not sep or is_path(head) or ":" in head:
        return None, text
    if not _NAME.fullmatch(head):
        raise ValueError(f"bad agent name {head!r} in {text!r}: NAME=SPEC, where NAME uses letters, digits, "
                         "'_', '.' and '-'")
    if not tail.strip():
        raise ValueError(f"no agent spec after {head + '='!r}: NAME=SPEC")
    return head, tail.strip()


def default_agent_name(spec: str) -> str:
    """The name of an agent given without one, read from the spec alone (nothing is imported).

    A file or checkpoint gives its stem (``alice.py:MyPlayer`` is alice: in a course the file is the
    student), ``module:Class`` its class, and a built-in or shipped name is itself.
    """
    target, cls = split_target(spec)
    if is_path(target):
        return Path(target).stem
    return cls or spec


def unique_names(names: Sequence[str]) -> list[str]:
    """Names made unique: a name used more than once becomes ``name#1``, ``name#2``, ..."""
    out: list[str] = []
    for n in names:
        if names.count(n) > 1:
            out.append(f"{n}#{sum(1 for m in out if m.startswith(n + '#')) + 1}")
        else:
            out.append(n)
    return out


def name_agents(texts: Iterable[str]) -> list[tuple[str, str]]:
    """``(name, spec)`` for each ``[NAME=]SPEC``: given names, else `default_agent_name`, made unique.

    Raises ``ValueError`` for a malformed argument or a NAME used twice.
    """
    parsed = [split_agent_name(t) for t in texts]
    names = unique_names([given or default_agent_name(spec) for given, spec in parsed])
    for (given, _), name in zip(parsed, names):
        if given is not None and name != given:
            raise ValueError(f"agent name {given!r} is used twice")
    return [(name, spec) for name, (_, spec) in zip(names, parsed)]
