"""Watching a match while it is played (``pyrat play A B --watch``).

The match runner calls a `LiveWatcher` after every turn with the replay dict it is building (the
``states`` list grows; ``result`` appears at the end) and calls ``close()`` when the match is over::

    watcher = LiveWatcher(speed=8)
    for each turn:
        ...; watcher(replay)
    watcher.close()

Each call shows the newest state and waits until the turn has been on screen for ``1 / speed``
seconds, handling window events meanwhile, so the window stays responsive. Space pauses the match
(the call does not return until space is pressed again), up/down change the pace, left/right and
the seek bar look back while paused; Esc, ``q`` or closing the window stop the display and the
match goes on without it. With the ``dummy`` video driver nothing waits. If no window can be
opened, one warning goes to stderr and the match goes on.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping


class LiveWatcher:
    """A callable that shows a replay under construction at a watchable pace (see the module docstring).

    ``speed``: turns per second; ``linger``: seconds the final frame stays up in ``close()`` (a key
    or click ends it earlier); ``size``: window size (default: fits the maze).
    """

    def __init__(self, speed: float = 8.0, *, linger: float = 4.0, size: tuple[int, int] | None = None,
                 title: str = "live match") -> None:
        self.speed = float(speed)
        self.linger = float(linger)
        self.size = size
        self.title = title
        self.app = None
        self.closed = False
        self._shown_at = 0.0

    @property
    def active(self) -> bool:
        """True while the window is open."""
        return self.app is not None and not self.closed

    def __call__(self, replay: Mapping) -> None:
        if self.closed or not replay.get("states"):
            return
        try:
            import pygame  # noqa: F401 - fail here, once, if pygame is missing

            if self.app is None:
                self._open(replay)
            app = self.app
            app.model.sync()
            if app.playing:  # while the user has paused, the frame shown stays
                app.goto(app.model.last, animate=True)
            self._pace()
        except Exception as exc:  # noqa: BLE001 - the display must never stop the match
            self._give_up(f"live view stopped: {exc}")

    def _open(self, replay: Mapping) -> None:
        from .app import ViewerApp, is_headless

        self.app = ViewerApp(replay, title=self.title, playing=True, speed=self.speed, size=self.size, live=True)
        self._headless = is_headless()
        if self._headless and not os.environ.get("SDL_VIDEODRIVER"):
            raise RuntimeError("no display to show it on")  # SDL fell back to drawing off screen
        self._shown_at = time.perf_counter()

    def _pace(self) -> None:
        """Show frames until this turn has been up for 1/speed s, or longer while the user has paused."""
        app = self.app
        if self._headless:
            app.step_frame(0.0)
            if not app.running:
                self._stop()
            return
        while True:
            if not app.step_frame():
                self._stop()
                return
            now = time.perf_counter()
            due = self._shown_at + 1.0 / max(app.speed, 0.1)
            if app.playing and now >= due:
                if app.turn != app.model.last:  # stepped back while paused: go back to the newest state
                    app.goto(app.model.last)
                self._shown_at = max(due, now - 0.5 / max(app.speed, 0.1))
                return
            time.sleep(min(max(due - now, 0.0), 1.0 / 60) if app.playing else 1.0 / 30)

    def close(self) -> None:
        """After the match: keep the final frame up for ``linger`` seconds or until a key or click."""
        if self.app is None or self.closed:
            self.closed = True
            return
        app = self.app
        try:
            app.model.sync()
            app.playing = False
            app.goto(app.model.last)
            app.user_input = False
            if self._headless:
                app.step_frame(0.0)
            else:
                end = time.perf_counter() + self.linger
                while app.running and not app.user_input and time.perf_counter() < end:
                    app.step_frame()
                    time.sleep(1.0 / 30)
        except Exception:  # noqa: BLE001, S110 - closing must not fail the match
            pass
        self._stop()

    def _stop(self) -> None:
        self.closed = True
        if self.app is not None:
            try:
                self.app.close()
            except Exception:  # noqa: BLE001, S110
                pass

    def _give_up(self, message: str) -> None:
        print(f"pyrat: {message}; the match goes on without it", file=sys.stderr)
        self._stop()
