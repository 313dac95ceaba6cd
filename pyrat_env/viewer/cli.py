"""``pyrat watch REPLAY``: play a replay or official trace in a window, draw one frame to a PNG, or write a web page.

Examples::

    pyrat watch runs/game.json.gz                      # window; space, arrows, Home/End, seek bar, h
    pyrat watch game.json --turn 40 --paused           # open at turn 40
    pyrat watch game.json --turn last --screenshot end.png   # no window (works without a display)
    pyrat watch game.json --gif game.gif --speed 10          # an animated GIF of the game, drawn like the window
    pyrat watch game.json --html game.html                   # a web page that plays the game in any browser
    pyrat watch game.json --html game.html             # one self-contained page: open it in any browser

``--html`` needs neither pygame nor a display: the page holds the game and the browser player
(`pyrat_env.viewer.html`); ``--turn`` is the turn it opens at (``game.html#turn=T`` too).

A file that is missing, malformed or truncated gives one line naming the file and the problem, and
exit status 2 (as every user error of ``pyrat``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import cli_options
from ..cli import UsageError

SUMMARY = "watch a replay in a window, draw one frame to a PNG, or write a web page"  # pyrat --help

DEFAULT_SPEED = 8.0  # turns per second; the window's default (app.DEFAULT_SPEED), not imported: that loads pygame


def _turn(text: str) -> int | str:
    if text == "last":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a turn number or 'last', got {text!r}") from None


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, got {text!r}") from None
    if w < 100 or h < 100:
        raise argparse.ArgumentTypeError(f"window size {w}x{h} is too small (at least 100x100)")
    return w, h


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected turns per second, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("replay", help="replay (pyrat-replay/1) or official trace file, .json or .json.gz")
    parser.add_argument("--game", type=cli_options.count, default=0, metavar="N",
                        help="which game of a file that holds several (default: 0, the first)")
    parser.add_argument("--turn", type=_turn, default=None, metavar="T",
                        help="turn to show first, or to draw with --screenshot: a number (negative counts "
                             "from the end) or 'last' (default: 0, or 'last' with --screenshot)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--screenshot", metavar="OUT.png", default=None,
                     help="draw the frame at --turn into this image file and exit, without a window")
    out.add_argument("--gif", metavar="OUT.gif", default=None,
                     help="write the game from --turn (default 0) to the end as an animated GIF at --speed turns "
                          "per second, drawn like the window (needs Pillow), and exit without a window")
    out.add_argument("--html", metavar="OUT.html", default=None,
                     help="write one self-contained web page that plays the game in a browser (no pygame, "
                          "no display, no network needed) and exit")
    parser.add_argument("--size", type=_size, default=None, metavar="WxH",
                        help="window or image size in pixels (default: fits the maze)")
    parser.add_argument("--speed", type=_speed, default=DEFAULT_SPEED,
                        help=cli_options.with_default("turns per second when playing", DEFAULT_SPEED))
    parser.add_argument("--paused", action="store_true", help="open paused instead of playing")


def resolve_turn(turn: int | str | None, last: int, default: int = 0) -> int:
    """A state index from ``--turn`` (None: ``default``; 'last'; negative counts from the end)."""
    if turn is None:
        return default
    if turn == "last":
        return last
    t = int(turn)
    if t < 0:
        t += last + 1
    if not 0 <= t <= last:
        raise ValueError(f"turn {turn} is out of range: this game has turns 0 to {last}")
    return t


def _load(path: Path, game: int) -> dict:
    from ..replay import ReplayError, load_game_file

    try:
        games = load_game_file(path)
        if not 0 <= game < len(games):
            raise ReplayError(f"{path}: no game {game}; the file holds {len(games)} game(s)")
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    return games[game]


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from ..replay import ReplayError

    path = Path(args.replay)
    replay = _load(path, args.game)
    if args.html:
        return _html(replay, path, args)
    try:
        from . import render

        model = render.GameModel(replay, source=str(path), title=path.name)
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    try:
        turn = resolve_turn(args.turn, model.last, default=model.last if args.screenshot else 0)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
    if args.screenshot:
        return _screenshot(replay, path, turn, Path(args.screenshot), args.size)
    if args.gif:
        return _gif(replay, path, turn, Path(args.gif), args.size, args.speed)
    return _window(replay, path, turn, args)


def _html(replay: dict, path: Path, args: argparse.Namespace) -> int:
    """Write the self-contained page (`pyrat_env.viewer.html.replay_page`); pygame is never imported."""
    from ..replay import ReplayError
    from .html import check_game, default_title, describe_game, replay_page

    try:
        check_game(replay, str(path))
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    last = len(replay["states"]) - 1
    try:
        turn = resolve_turn(args.turn, last, default=0)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
    out = Path(args.html)
    source = path.name + (f", game {args.game}" if args.game else "")
    try:
        page = replay_page(replay, title=default_title(replay), turn=turn, speed=args.speed,
                           subtitle=f"{source}: {describe_game(replay)}")
    except ReplayError as exc:
        raise UsageError(f"{path}: {exc}") from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the page ({exc.strerror or exc})") from None
    print(f"wrote {out} (turns 0 to {last}, opens at {turn}; {len(page) // 1024 + 1} kB): open it in a browser")
    return 0


def _screenshot(replay: dict, path: Path, turn: int, out: Path, size: tuple[int, int] | None) -> int:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from .render import draw_replay_frame

    try:
        surface = draw_replay_frame(replay, turn, size=size, source=str(path), title=path.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(surface, str(out))
    except (OSError, pygame.error) as exc:
        raise UsageError(f"{out}: cannot write the image ({exc})") from None
    print(f"wrote {out} (turn {turn}, {surface.get_width()}x{surface.get_height()})")
    return 0


def _gif(replay: dict, path: Path, turn: int, out: Path, size: tuple[int, int] | None, speed: float) -> int:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    try:
        from PIL import Image
    except ImportError:
        raise UsageError("--gif needs Pillow: pip install pillow") from None
    import pygame

    from .render import replay_frames

    frames, palette = [], None
    for surface in replay_frames(replay, turn, size=size, source=str(path), title=path.name):
        image = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
        if palette is None:   # one palette for the whole game: small files, no flicker
            palette = image.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        frames.append(image.quantize(palette=palette, dither=Image.Dither.NONE))
    durations = [max(20, int(round(1000 / speed)))] * len(frames)
    durations[-1] = 2000   # the result stays on screen
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        frames[0].save(out, save_all=True, append_images=frames[1:], duration=durations, loop=0, optimize=True)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{out}: cannot write the animation ({exc})") from None
    print(f"wrote {out} ({len(frames)} frames, turns {turn} to {turn + len(frames) - 1}, {speed:g} turns/s)")
    return 0


def _window(replay: dict, path: Path, turn: int, args: argparse.Namespace) -> int:
    import pygame

    from .app import ViewerApp, is_headless

    try:
        app = ViewerApp(replay, source=str(path), title=path.name, turn=turn,
                        playing=not args.paused and args.turn is None, speed=args.speed, size=args.size)
    except pygame.error as exc:
        raise UsageError(f"cannot open a window ({exc}); use --screenshot OUT.png to draw a frame without "
                         "one") from None
    if is_headless():  # SDL fell back to drawing off screen: nobody would see the window
        driver = pygame.display.get_driver()
        app.close()
        raise UsageError(f"no display to open a window on (video driver {driver!r}); "
                         "use --screenshot OUT.png to draw a frame without one")
    try:
        return app.run()
    finally:
        app.close()
