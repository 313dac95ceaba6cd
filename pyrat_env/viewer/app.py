"""The interactive viewer: a resizable pygame window that plays a replay, driven by keys and the mouse.

`ViewerApp` holds the playback state (``turn``, ``playing``, ``speed``, ``show_help``, ``running``)
and is driven one frame at a time, so tests can post events and step it without a real display::

    app = ViewerApp(replay)                 # opens the window (SDL_VIDEODRIVER=dummy works)
    app.handle_event(event)                 # or post events and call step_frame()
    app.tick(dt)                            # advance playback by dt seconds
    app.step_frame(dt)                      # events + tick + draw, one frame
    app.run(max_frames=None)                # the loop until Esc, q or the window is closed

``turn`` is the index of the state shown (``states[turn]``), which is also its turn number in every
replay and trace. Controls: space play/pause, left/right one turn, page up/down ten turns, up/down
speed, Home/End, click or drag on the seek bar, mouse wheel, ``h`` help, Esc or ``q`` quit.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import pygame

from . import render

SPEEDS: tuple[float, ...] = (0.5, 1, 2, 4, 8, 15, 30, 60, 120)
DEFAULT_SPEED = 8.0
FPS = 60


def _nearest_speed_index(speed: float) -> int:
    return min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - speed))


def open_window(size: tuple[int, int], title: str) -> pygame.Surface:
    """Initialise pygame's display and open a resizable window (raises ``pygame.error`` without a display)."""
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_caption(title)
    screen = pygame.display.set_mode(size, pygame.RESIZABLE)
    pygame.key.set_repeat(350, 45)
    return screen


def is_headless() -> bool:
    """True when pygame draws to no real screen (the ``dummy`` or ``offscreen`` video driver)."""
    try:
        return pygame.display.get_driver() in ("dummy", "offscreen")
    except pygame.error:
        return True


class ViewerApp:
    """Plays a replay or trace dict in a window. See the module docstring for the controls.

    ``turn``: first state shown (``None``: 0); ``playing``: start playing; ``speed``: turns per
    second; ``size``: window size (default: fits the maze, at most 1280 x 860); ``live``: the replay
    grows while shown (the match runner's `LiveWatcher` uses this).
    """

    def __init__(self, replay: Mapping, *, source: str = "replay", title: str | None = None,
                 turn: int | None = None, playing: bool = True, speed: float = DEFAULT_SPEED,
                 size: tuple[int, int] | None = None, live: bool = False) -> None:
        self.model = render.GameModel(replay, source=source, title=title)
        self.live = live
        self.turn = max(0, min(int(turn or 0), self.model.last))
        self.playing = bool(playing)
        self._speed_index = _nearest_speed_index(speed)
        self.speed = float(speed)
        self.show_help = False
        self.running = True
        self.user_input = False         # set by any key press or click (the live watcher's "press a key")
        self.frames = 0
        self.clock_time = 0.0           # playback time in seconds, advanced by tick()
        self._acc = 0.0
        self._dragging = False
        self._anim_from: int | None = None
        self._anim_start = 0.0
        self._anim_length = 0.0
        self._last_frame = time.perf_counter()
        if size is None:
            info_size = _desktop_size()
            size = render.default_size(self.model.maze.width, self.model.maze.height, len(self.model.names),
                                       seekbar=True, max_size=info_size)
        caption = f"PyRat - {title}" if title else "PyRat"
        self.screen = open_window(size, caption)
        self._clock = pygame.time.Clock()

    # -- playback --------------------------------------------------------------------------------
    @property
    def last(self) -> int:
        """Index of the last state."""
        return self.model.last

    def goto(self, turn: int, animate: bool = False) -> None:
        """Show state ``turn`` (clamped); with ``animate``, players glide there from where they were."""
        turn = max(0, min(int(turn), self.last))
        if animate and abs(turn - self.turn) == 1:
            self._anim_from = self.turn
            self._anim_start = self.clock_time
            self._anim_length = min(0.7 / max(self.speed, 0.1), 0.16) if self.playing else 0.09
        elif turn != self.turn:
            self._anim_from = None
        self.turn = turn

    def step(self, delta: int) -> None:
        """Pause and move ``delta`` turns."""
        self.playing = False
        self._acc = 0.0
        self.goto(self.turn + delta, animate=True)

    def toggle_play(self) -> None:
        if not self.playing and self.turn >= self.last and not self.live:
            self.goto(0)            # play again from the start
        self.playing = not self.playing
        self._acc = 0.0

    def change_speed(self, steps: int) -> None:
        self._speed_index = max(0, min(self._speed_index + steps, len(SPEEDS) - 1))
        self.speed = float(SPEEDS[self._speed_index])

    def seek_to_x(self, x: int) -> None:
        """Jump to the turn under pixel column ``x`` of the seek bar."""
        track = self.layout().seek_track()
        if track is None:
            return
        frac = (x - track.x) / max(track.w, 1)
        self.goto(round(min(max(frac, 0.0), 1.0) * self.last))

    def tick(self, dt: float) -> None:
        """Advance the playback clock by ``dt`` seconds (turns advance at ``speed`` while playing)."""
        self.clock_time += max(dt, 0.0)
        if self.live:
            self.model.sync()
        if not self.playing or self.live:
            return
        self._acc += max(dt, 0.0) * self.speed
        steps = int(self._acc)
        if steps:
            self._acc -= steps
            self.goto(self.turn + steps, animate=steps == 1)
        if self.turn >= self.last:
            self.playing = False
            self._acc = 0.0

    # -- events --------------------------------------------------------------------------------
    def handle_event(self, ev: pygame.event.Event) -> None:
        """React to one pygame event (keys, mouse on the seek bar, resize, window close)."""
        if ev.type == pygame.QUIT:
            self.running = False
        elif ev.type == pygame.KEYDOWN:
            self.user_input = True
            self._key(ev.key)
        elif ev.type == pygame.MOUSEBUTTONDOWN:
            self.user_input = True
            if ev.button == 1:
                self._press(ev.pos)
        elif ev.type == pygame.MOUSEMOTION and self._dragging:
            self.seek_to_x(ev.pos[0])
        elif ev.type == pygame.MOUSEBUTTONUP and ev.button == 1:
            self._dragging = False
        elif ev.type == pygame.MOUSEWHEEL:
            self.step(-1 if ev.y > 0 else 1)

    def _key(self, key: int) -> None:
        if key in (pygame.K_ESCAPE, pygame.K_q):
            if self.show_help and key == pygame.K_ESCAPE:
                self.show_help = False
            else:
                self.running = False
        elif key == pygame.K_SPACE:
            self.toggle_play()
        elif key == pygame.K_RIGHT:
            self.step(1)
        elif key == pygame.K_LEFT:
            self.step(-1)
        elif key == pygame.K_PAGEDOWN:
            self.step(10)
        elif key == pygame.K_PAGEUP:
            self.step(-10)
        elif key == pygame.K_UP:
            self.change_speed(1)
        elif key == pygame.K_DOWN:
            self.change_speed(-1)
        elif key == pygame.K_HOME:
            self.playing = self.playing and self.live
            self.goto(0)
        elif key == pygame.K_END:
            self.playing = self.playing and self.live
            self.goto(self.last)
        elif key == pygame.K_h:
            self.show_help = not self.show_help

    def _press(self, pos: tuple[int, int]) -> None:
        lay = self.layout()
        if lay.seek_rect is None or not lay.seek_rect.collidepoint(pos):
            return
        track = lay.seek_track()
        if pos[0] < track.x - lay.seek_rect.h // 4:   # the play/pause button
            self.toggle_play()
            return
        self._dragging = True
        self.playing = False
        self.seek_to_x(pos[0])

    # -- drawing -------------------------------------------------------------------------------
    def layout(self) -> render.Layout:
        surf = pygame.display.get_surface() or self.screen
        return render.compute_layout(surf.get_size(), self.model.maze.width, self.model.maze.height,
                                     panel=True, seekbar=True)

    def scene(self) -> render.Scene:
        """The frame to draw now, players part of the way between turns while they glide."""
        sc = self.model.scene(self.turn, playing=self.playing, speed=self.speed, show_help=self.show_help,
                              live=self.live)
        if self._anim_from is not None and self._anim_length > 0:
            t = (self.clock_time - self._anim_start) / self._anim_length
            if t >= 1:
                self._anim_from = None
            elif 0 <= self._anim_from <= self.last:
                t = max(t, 0.0)
                t = t * t * (3 - 2 * t)
                before = self.model.points(self._anim_from)
                sc.points = [(ax + (bx - ax) * t, ay + (by - ay) * t) for (ax, ay), (bx, by) in zip(before, sc.points)]
        return sc

    def draw(self) -> None:
        surface = pygame.display.get_surface() or self.screen
        self.screen = surface
        render.draw_scene(surface, self.scene(), self.layout())

    def step_frame(self, dt: float | None = None) -> bool:
        """Handle pending events, advance playback (by ``dt`` s, default: real time since the last frame),
        draw and show one frame. Returns ``running``."""
        now = time.perf_counter()
        if dt is None:
            dt = min(now - self._last_frame, 0.25)
        self._last_frame = now
        for ev in pygame.event.get():
            self.handle_event(ev)
            if not self.running:
                return False
        self.tick(dt)
        self.draw()
        pygame.display.flip()
        self.frames += 1
        return self.running

    def run(self, max_frames: int | None = None) -> int:
        """The window's loop, until it is closed (or for ``max_frames`` frames). Returns 0."""
        self._last_frame = time.perf_counter()
        while self.running and (max_frames is None or self.frames < max_frames):
            self.step_frame()
            busy = self.playing or self._anim_from is not None or self._dragging
            self._clock.tick(FPS if busy else 20)
        return 0

    def close(self) -> None:
        """Close the window (pygame's display is shut down; fonts stay usable)."""
        self.running = False
        pygame.display.quit()


def _desktop_size() -> tuple[int, int]:
    """90 % of the desktop (at most 1600 x 1000), or 1280 x 860 when it is unknown."""
    try:
        pygame.display.init()
        sizes = pygame.display.get_desktop_sizes()
        if sizes and sizes[0][0] > 200 and not is_headless():
            w, h = sizes[0]
            return min(int(w * 0.9), 1600), min(int(h * 0.85), 1000)
    except pygame.error:
        pass
    return 1280, 860
