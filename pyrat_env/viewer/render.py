"""Drawing a PyRat game onto a ``pygame.Surface``: the maze, cheese, players, score panel and seek bar.

Everything here is a function of its arguments (plus caches of drawn pieces), so the interactive
viewer (`app`), live matches (`live`), screenshots (``pyrat watch --screenshot``) and the
environments' ``rgb_array`` render (`render_rgb`) draw the same frames. Nothing opens a window:
drawing needs ``pygame`` and its font module, not a display.

The pieces:

* `GameModel` reads a replay or trace dict (``pyrat-replay/1``, ``pyrat-game-trace/1``; optional
  keys may be missing) into what a frame needs, and keeps up when a live replay grows.
* `Scene` is one frame's content; `GameModel.scene` builds it for a state index.
* `compute_layout` places the maze, the side panel and the seek bar in a surface of any size; the
  cell size follows the surface, so 7x5 and 41x31 mazes both fill the window.
* `draw_scene` draws a scene with a layout; `render_rgb` does all of it for one state and returns
  an ``(H, W, 3)`` ``uint8`` array.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pygame

from ..engine import Maze, round_score
from ..replay import ReplayError, maze_from_game
from . import sprites
from .html import check_state
from .sprites import Color, shade

# -- colours -------------------------------------------------------------------------------------
BACKGROUND: Color = (27, 31, 40)
PANEL: Color = (40, 45, 57)
PANEL_CARD: Color = (50, 56, 70)
TEXT: Color = (238, 238, 242)
DIM: Color = (158, 164, 180)
ACCENT: Color = (255, 200, 60)
FLOOR: Color = (238, 226, 198)
FLOOR_ALT: Color = (228, 214, 182)
HOLE: Color = (20, 23, 30)
HOLE_HATCH: Color = (36, 40, 52)
WALL: Color = (36, 40, 56)
MUD_TEXT: Color = (214, 160, 100)
PLAYER_COLORS: tuple[Color, ...] = (
    (240, 112, 36),   # orange
    (40, 128, 240),   # blue
    (206, 62, 196),   # magenta
    (34, 176, 98),    # green
    (230, 60, 60),    # red
    (40, 190, 200),   # cyan
)

TRAIL_LENGTH = 8  # turns of past positions drawn behind each player

REASONS = {
    "all_cheese_eaten": "all the cheese has been eaten",
    "ranking_decided": "nobody can change the ranking any more",
    "max_turns": "the turn limit was reached",
    "forfeit": "a player forfeited",
}


def player_color(index: int) -> Color:
    """The colour of the player in seat ``index`` (a fixed palette, then evenly spaced hues)."""
    if index < len(PLAYER_COLORS):
        return PLAYER_COLORS[index]
    c = pygame.Color(0)
    c.hsva = ((index * 137.5) % 360, 70, 90, 100)
    return (c.r, c.g, c.b)


def sprite_kind(name: str, index: int) -> str:
    """``rat`` or ``python``: from the player's name when it says so, else alternating by seat."""
    low = str(name).lower()
    if "python" in low or "snake" in low:
        return "python"
    if "rat" in low or "mouse" in low:
        return "rat"
    return sprites.SPRITE_KINDS[index % 2]


def format_score(x: float) -> str:
    """``7``, ``10.5``, ``3.33``: scores as short as they can be without lying."""
    x = float(x)
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    return f"{x:.2f}".rstrip("0").rstrip(".")


# -- fonts and text --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def font(size: int) -> pygame.font.Font:
    """pygame's bundled font at ``size`` (no system font look-up, so the same everywhere)."""
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, max(6, int(size)))


@functools.lru_cache(maxsize=1024)
def text_surface(text: str, size: int, color: Color, outline: Color | None = None) -> pygame.Surface:
    """Rendered text (anti-aliased), optionally with a one-pixel-ish outline for use over drawings."""
    f = font(size)
    surf = f.render(text, True, color)
    if outline is None:
        return surf
    k = max(1, size // 14)
    back = f.render(text, True, outline)
    out = pygame.Surface((surf.get_width() + 2 * k, surf.get_height() + 2 * k), pygame.SRCALPHA)
    for dx in (-k, 0, k):
        for dy in (-k, 0, k):
            if dx or dy:
                out.blit(back, (k + dx, k + dy))
    out.blit(surf, (k, k))
    return out


def blit_text(surface: pygame.Surface, text: str, pos: tuple[int, int], size: int, color: Color,
              anchor: str = "topleft", outline: Color | None = None, max_width: int | None = None) -> pygame.Rect:
    """Draw text with its ``anchor`` (a ``pygame.Rect`` attribute name) at ``pos``; shorten it to fit."""
    surf = text_surface(text, size, color, outline)
    if max_width is not None and surf.get_width() > max_width and len(text) > 1:
        while len(text) > 1 and surf.get_width() > max_width:
            text = text[:-1]
            surf = text_surface(text.rstrip() + "...", size, color, outline)
    rect = surf.get_rect(**{anchor: pos})
    surface.blit(surf, rect)
    return rect


# -- reading a game ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlayerStyle:
    """How a player is shown: its name, colour, sprite, agent label and team."""

    name: str
    color: Color
    kind: str
    agent: str = ""
    team: str = ""


@dataclass
class Scene:
    """Everything one frame shows. Points are in cell units: ``(col + 0.5, row + 0.5)`` is a cell's centre."""

    maze: Maze
    players: list[PlayerStyle]
    state: Mapping
    points: list[tuple[float, float]]
    facings: list[int]
    trails: list[list[tuple[float, float]]] = field(default_factory=list)
    n_cheese: int | None = None          # initial cheese count
    index: int = 0                       # state index shown
    last_index: int | None = None        # last state index (None: unknown, no seek bar figures)
    last_turn: int | None = None         # the turn number of the last state
    result: tuple[str, str, Color] | None = None  # headline, reason, colour: shown at the end
    title: str = "PyRat"
    subtitle: str = ""
    playing: bool = False
    speed: float | None = None
    live: bool = False
    seek_marks: list[tuple[int, Color]] = field(default_factory=list)
    show_help: bool = False
    team_scores: list[tuple[str, float, Color]] = field(default_factory=list)


def _agent_label(agent: object) -> str:
    if agent is None:
        return ""
    if isinstance(agent, Mapping):
        for key in ("name", "spec", "kind"):
            if key in agent:
                return str(agent[key])
        return ""
    return str(agent)


def display_point(maze: Maze, cell: int, mud: Mapping | None) -> tuple[float, float]:
    """Where a player is drawn: its cell's centre, or part of the way along the mud it is crossing."""
    r, c = divmod(int(cell), maze.width)
    x, y = c + 0.5, r + 0.5
    if mud and mud.get("target") is not None:
        target = int(mud["target"])
        w = maze.weight(int(cell), target) if 0 <= target < maze.n_cells else 0
        count = int(mud.get("count") or 0)
        frac = (w - count) / w if w > 1 and 0 < count < w else 0.5
        tr, tc = divmod(target, maze.width)
        x += (tc - c) * frac
        y += (tr - r) * frac
    return x, y


def facing_between(a: tuple[float, float], b: tuple[float, float]) -> int | None:
    """The direction (1 north, 2 east, 3 south, 4 west) of the move from point a to point b, if any."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    if abs(dx) < 1e-9 and abs(dy) < 1e-9:
        return None
    if abs(dx) >= abs(dy):
        return sprites.EAST if dx > 0 else sprites.WEST
    return sprites.SOUTH if dy > 0 else sprites.NORTH


def _mud_of(state: Mapping, name: str) -> Mapping | None:
    muds = state.get("muds") or {}
    mud = muds.get(name) if isinstance(muds, Mapping) else None
    return mud if isinstance(mud, Mapping) else None


class GameModel:
    """A replay or trace dict, read for drawing; ``sync()`` picks up states appended to a live replay.

    ``source`` (a file name) goes into error messages. Raises `ReplayError` when a state cannot be
    drawn (a location off the maze, a cheese cell that does not exist...).
    """

    def __init__(self, replay: Mapping, source: str = "replay", title: str | None = None) -> None:
        self.replay = replay
        self.source = source
        try:
            self.maze = maze_from_game(replay)
        except ReplayError:
            raise
        except Exception as exc:  # noqa: BLE001 - any malformed maze is reported as such
            raise ReplayError(f"{source}: field 'maze': {exc}") from None
        players = replay.get("players") or []
        if not players:
            raise ReplayError(f"{source}: no players")
        self.names = [str(p.get("name", f"player {i}")) for i, p in enumerate(players)]
        teams = [p.get("team") for p in players]
        self.teams = [str(t) if t is not None else n for t, n in zip(teams, self.names)]
        self.players = [PlayerStyle(name=n, color=player_color(i), kind=sprite_kind(n, i),
                                    agent=_agent_label(p.get("agent")), team=t)
                        for i, (n, p, t) in enumerate(zip(self.names, players, self.teams))]
        self.team_labels = list(dict.fromkeys(self.teams))
        self.n_cheese = len(replay.get("cheese") or [])
        self.title = title or "PyRat"
        self._points: list[list[tuple[float, float]]] = []
        self._facings: list[list[int]] = []
        self._marks: list[tuple[int, Color]] = []
        self.sync()

    # -- states ---------------------------------------------------------------------------------
    @property
    def states(self) -> list:
        return self.replay["states"]

    @property
    def last(self) -> int:
        """Index of the last state recorded so far."""
        return len(self._points) - 1

    @property
    def finished(self) -> bool:
        """True when the game is known to be over: a replay with a result, or any official trace."""
        return "result" in self.replay or self.replay.get("format") != "pyrat-replay/1"

    def _check_state(self, i: int, st: object) -> None:
        # the one check of a state, shared with the browser player
        check_state(st, f"{self.source}: states[{i}]", self.names, self.maze.n_cells)

    def sync(self) -> int:
        """Read states added since the last call; returns the index of the last state."""
        states = self.replay.get("states")
        if not isinstance(states, list) or not states:
            raise ReplayError(f"{self.source}: field 'states' must be a non-empty list")
        for i in range(len(self._points), len(states)):
            st = states[i]
            self._check_state(i, st)
            pts = [display_point(self.maze, st["locations"][n], _mud_of(st, n)) for n in self.names]
            if i == 0:
                facings = [sprites.EAST if p[0] <= self.maze.width / 2 else sprites.WEST for p in pts]
            else:
                prev_pts, prev_f = self._points[i - 1], self._facings[i - 1]
                facings = []
                for p, (a, b) in enumerate(zip(prev_pts, pts)):
                    mud = _mud_of(st, self.names[p])
                    f = facing_between(a, b)
                    if mud and mud.get("target") is not None:
                        f = facing_between(pts[p], display_point(self.maze, mud["target"], None)) or f
                    facings.append(f or prev_f[p])
                before = states[i - 1]
                gained = [float(st["scores"].get(n, 0)) - float(before["scores"].get(n, 0)) for n in self.names]
                for p, g in enumerate(gained):
                    if g > 1e-9:
                        self._marks.append((i, self.players[p].color))
            self._points.append(pts)
            self._facings.append(facings)
        return self.last

    # -- what a frame shows --------------------------------------------------------------------
    def points(self, i: int) -> list[tuple[float, float]]:
        return self._points[i]

    def facings(self, i: int) -> list[int]:
        return self._facings[i]

    def trails(self, i: int, length: int = TRAIL_LENGTH) -> list[list[tuple[float, float]]]:
        """Each player's last ``length`` positions, oldest first, ending at state i (repeats dropped)."""
        out = []
        for p in range(len(self.names)):
            pts: list[tuple[float, float]] = []
            for j in range(max(0, i - length), i + 1):
                q = self._points[j][p]
                if not pts or pts[-1] != q:
                    pts.append(q)
            out.append(pts)
        return out

    def result(self) -> tuple[str, str, Color] | None:
        """(headline, reason, colour) of the game's end, or None while it is not over."""
        if not self.finished:
            return None
        return describe_result(self.replay.get("result"), self.states[self.last], self.players)

    def scene(self, i: int, **extra) -> Scene:
        """The frame for state i (``extra`` sets the playback fields: playing, speed, show_help...)."""
        i = max(0, min(int(i), self.last))
        state = self.states[i]
        size = f"{self.maze.width} x {self.maze.height} maze, {self.n_cheese} cheese"
        return Scene(
            maze=self.maze, players=self.players, state=state, points=list(self.points(i)),
            facings=list(self.facings(i)), trails=self.trails(i), n_cheese=self.n_cheese, index=i,
            last_index=self.last, result=self.result() if i == self.last else None, title=self.title,
            last_turn=self.states[self.last].get("turn", self.last), subtitle=size, seek_marks=self._marks,
            team_scores=team_scores(self.players, state), **extra)


def team_scores(players: Sequence[PlayerStyle], state: Mapping) -> list[tuple[str, float, Color]]:
    """``(label, score, colour of its first player)`` per team, when some team has several players."""
    labels = list(dict.fromkeys(p.team for p in players))
    if len(labels) == len(players):
        return []
    scores = state.get("scores") or {}
    out = []
    for label in labels:
        members = [p for p in players if p.team == label]
        total = round_score(sum(float(scores.get(p.name, 0)) for p in members))
        out.append((label or "team", total, members[0].color))
    return out


def describe_result(result: Mapping | None, final: Mapping, players: Sequence[PlayerStyle]) -> tuple[str, str, Color]:
    """A headline (``rat wins 12 - 9``, ``Draw``), the reason the game ended and a colour for it.

    Uses the replay's ``result`` when there is one; official traces have none, so the winner and the
    reason are worked out from the final state as the rules define them.
    """
    scores = final.get("scores") or {}
    labels = list(dict.fromkeys(p.team for p in players))
    totals = {t: round_score(sum(float(scores.get(p.name, 0)) for p in players if p.team == t)) for t in labels}
    colour_of = {}
    for p in players:
        colour_of.setdefault(p.team, p.color)
    figures = " - ".join(format_score(v) for v in sorted(totals.values(), reverse=True))
    result = result if isinstance(result, Mapping) else {}
    reason_key = result.get("reason")
    if reason_key is None:
        if not final.get("cheese"):
            reason_key = "all_cheese_eaten"
        elif len(labels) > 1:
            reason_key = "ranking_decided"
    reason = REASONS.get(str(reason_key), str(reason_key).replace("_", " ")) if reason_key else "the game is over"
    if len(labels) == 1:
        total = totals[labels[0]]
        who = labels[0] or "the team"
        return f"{who} scored {format_score(total)}", reason, colour_of[labels[0]]
    if "winner" in result or "draw" in result:
        winner, draw = result.get("winner"), bool(result.get("draw"))
    else:
        best = max(totals.values())
        leaders = [t for t, v in totals.items() if v == best]
        winner, draw = (leaders[0], False) if len(leaders) == 1 else (None, True)
    if draw or winner is None:
        return f"Draw {figures}", reason, ACCENT
    winner = str(winner)
    team_of_several = sum(1 for p in players if p.team == winner) > 1
    who = f"team {winner}" if team_of_several else (winner or "team")
    return f"{who} wins {figures}", reason, colour_of.get(winner, ACCENT)


# -- layout -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """Where things go in a surface: the maze (``cell`` pixels per cell), the panel and the seek bar."""

    size: tuple[int, int]
    cell: int
    maze_rect: pygame.Rect
    panel_rect: pygame.Rect | None
    seek_rect: pygame.Rect | None
    font_size: int

    def point(self, x: float, y: float) -> tuple[int, int]:
        """Pixel of a point given in cell units."""
        return int(self.maze_rect.x + x * self.cell), int(self.maze_rect.y + y * self.cell)

    def cell_rect(self, cell: int, width: int) -> pygame.Rect:
        """Pixel rectangle of a cell of a maze ``width`` cells wide."""
        r, c = divmod(int(cell), width)
        return pygame.Rect(self.maze_rect.x + c * self.cell, self.maze_rect.y + r * self.cell, self.cell, self.cell)

    def seek_track(self) -> pygame.Rect | None:
        """The part of the seek bar that maps to turns (mouse clicks are read against it)."""
        if self.seek_rect is None:
            return None
        r = self.seek_rect
        left = r.x + r.h + r.h // 2
        right = r.right - int(self.font_size * 7.5)
        return pygame.Rect(left, r.y, max(10, right - left), r.h)


def _panel_width(width: int) -> int:
    return int(min(max(width * 0.26, 170), 340, width * 0.45))


def compute_layout(size: tuple[int, int], maze_width: int, maze_height: int, panel: bool = True,
                   seekbar: bool = False) -> Layout:
    """Place the maze (as large as fits, whole pixels per cell), the side panel and the seek bar."""
    w, h = max(int(size[0]), 40), max(int(size[1]), 40)
    m = max(4, min(w, h) // 60)
    seek_h = min(max(h // 24, 20), 34) if seekbar else 0
    pw = _panel_width(w) if panel else 0
    bottom = h - m - (seek_h + m if seekbar else 0)
    area = pygame.Rect(m, m, w - 2 * m - (pw + m if panel else 0), bottom - m)
    cell = max(2, min(area.w // maze_width, area.h // maze_height))
    maze_rect = pygame.Rect(0, 0, cell * maze_width, cell * maze_height)
    maze_rect.center = area.center
    panel_rect = pygame.Rect(w - m - pw, m, pw, bottom - m) if panel else None
    seek_rect = pygame.Rect(m, h - m - seek_h, w - 2 * m, seek_h) if seekbar else None
    # pygame's font sizes are about 1.4 times the height of a line of capitals.
    fs = int(min(max(pw / 9, 14), 40)) if panel else int(min(max(h / 24, 14), 34))
    return Layout((w, h), cell, maze_rect, panel_rect, seek_rect, fs)


def default_size(maze_width: int, maze_height: int, n_players: int = 2, panel: bool = True, seekbar: bool = False,
                 max_size: tuple[int, int] = (1280, 860)) -> tuple[int, int]:
    """A window size that shows the maze with large cells (at most 64 px) within ``max_size``."""
    max_w, max_h = max_size
    pw = _panel_width(max_w) if panel else 0
    seek = 40 if seekbar else 0
    cell = int(min(64, (max_w - pw - 30) / maze_width, (max_h - seek - 20) / maze_height))
    cell = max(cell, 6)
    w = cell * maze_width + (pw + 30 if panel else 16)
    h = cell * maze_height + seek + 20
    if panel:
        w = max(w, 560)
        h = max(h, 420 + 80 * max(0, n_players - 2))
    return int(w), int(h)


# -- the maze (cached per maze and cell size) ------------------------------------------------------------
_BOARD_CACHE: dict[tuple[bytes, int], pygame.Surface] = {}


def mud_rect(maze: Maze, a: int, b: int, cell: int) -> pygame.Rect:
    """Pixel rectangle (relative to the maze's top-left) of the mud patch on the edge a-b."""
    a, b = min(a, b), max(a, b)
    r, c = divmod(a, maze.width)
    along, across = max(3, int(cell * 0.9)), max(3, int(cell * 0.52))
    if b == a + 1:  # horizontal edge: the patch straddles the vertical boundary line
        rect = pygame.Rect(0, 0, along, across)
        rect.center = ((c + 1) * cell, int((r + 0.5) * cell))
    else:
        rect = pygame.Rect(0, 0, across, along)
        rect.center = (int((c + 0.5) * cell), (r + 1) * cell)
    return rect


def board_surface(maze: Maze, cell: int) -> pygame.Surface:
    """The maze without cheese or players: floor, holes, mud (with its weight) and walls."""
    key = (maze.key(), cell)
    surf = _BOARD_CACHE.get(key)
    if surf is not None:
        return surf
    if len(_BOARD_CACHE) > 16:
        _BOARD_CACHE.clear()
    wdt, hgt = maze.width, maze.height
    surf = pygame.Surface((wdt * cell, hgt * cell))
    surf.fill(HOLE)
    for idx in range(maze.n_cells):
        r, c = divmod(idx, wdt)
        rect = pygame.Rect(c * cell, r * cell, cell, cell)
        if maze.cells[idx]:
            surf.fill(FLOOR if (r + c) % 2 == 0 else FLOOR_ALT, rect)
        else:
            step = max(4, cell // 4)
            surf.set_clip(rect)
            for k in range(-cell, cell, step):
                pygame.draw.line(surf, HOLE_HATCH, (rect.x + k, rect.bottom - 1), (rect.x + k + cell, rect.y - 1))
            surf.set_clip(None)
    # Mud: a speckled puddle across the edge, with its weight (turns to cross) written on it.
    number_size = max(10, int(cell * 0.55))
    for a, b, wgt in maze.edges():
        if wgt <= 1:
            continue
        rect = mud_rect(maze, a, b, cell)
        surf.blit(sprites.mud_patch(rect.w, rect.h, a * 7 + b), rect)
        blit_text(surf, str(wgt), rect.center, number_size, (255, 246, 226), "center", outline=(48, 28, 12))
    # Walls: every side of an existing cell that leads nowhere (no edge, a hole, the border).
    t = max(2, int(round(cell * 0.13)))
    half = t // 2
    for idx in np.flatnonzero(maze.cells):
        idx = int(idx)
        r, c = divmod(idx, wdt)
        x0, y0 = c * cell, r * cell
        for action in (1, 2, 3, 4):
            if maze.weights[idx, action] > 0:
                continue
            if action == 1:
                rect = pygame.Rect(x0 - half, y0 - half, cell + t, t)
            elif action == 3:
                rect = pygame.Rect(x0 - half, y0 + cell - half, cell + t, t)
            elif action == 2:
                rect = pygame.Rect(x0 + cell - half, y0 - half, t, cell + t)
            else:
                rect = pygame.Rect(x0 - half, y0 - half, t, cell + t)
            surf.fill(WALL, rect)
    _BOARD_CACHE[key] = surf
    return surf


# -- pieces of a frame ---------------------------------------------------------------------------------
def draw_cheese(surface: pygame.Surface, layout: Layout, maze: Maze, cheese: Sequence[int]) -> None:
    spr = sprites.cheese_sprite(max(4, int(layout.cell * 0.7)))
    for c in cheese:
        rect = layout.cell_rect(int(c), maze.width)
        surface.blit(spr, spr.get_rect(center=rect.center))


def draw_trails(surface: pygame.Surface, layout: Layout, scene: Scene) -> None:
    """Fading lines through each player's last positions, slightly offset so that trails do not hide each other."""
    mr = layout.maze_rect
    overlay = pygame.Surface(mr.size, pygame.SRCALPHA)
    n = len(scene.players)
    width = max(3, int(layout.cell * 0.14))
    for p, (style, pts) in enumerate(zip(scene.players, scene.trails)):
        if p < len(scene.points):
            pts = pts[:-1] + [scene.points[p]] if pts else [scene.points[p]]
        if len(pts) < 2:
            continue
        off = (p - (n - 1) / 2) * 0.09 if n > 1 else 0.0
        px = [(int((x + off) * layout.cell), int((y + off) * layout.cell)) for x, y in pts]
        k = len(px) - 1
        for j in range(k):
            alpha = int(40 + 150 * (j + 1) / k)
            pygame.draw.line(overlay, (*style.color, alpha), px[j], px[j + 1], width)
            pygame.draw.circle(overlay, (*style.color, alpha), px[j], max(2, width))
    surface.blit(overlay, mr.topleft)


def _player_offsets(points: Sequence[tuple[float, float]]) -> list[tuple[float, float, float]]:
    """(dx, dy, scale) per player: players sharing a spot are spread around it and drawn smaller."""
    groups: list[list[int]] = []
    for p, (x, y) in enumerate(points):
        for g in groups:
            gx, gy = points[g[0]]
            if abs(gx - x) < 0.6 and abs(gy - y) < 0.6:
                g.append(p)
                break
        else:
            groups.append([p])
    out = [(0.0, 0.0, 1.0)] * len(points)
    for members in groups:
        k = len(members)
        if k == 1:
            continue
        for j, p in enumerate(members):
            ang = -math.pi / 2 + 2 * math.pi * j / k + (math.pi / 4 if k == 2 else 0)
            out[p] = (0.2 * math.cos(ang), 0.2 * math.sin(ang), 0.68)
    return out


def draw_players(surface: pygame.Surface, layout: Layout, scene: Scene) -> None:
    """Each player as a coloured token and its sprite; a mud badge shows the turns it is still stuck for."""
    cell = layout.cell
    offsets = _player_offsets(scene.points)
    for p, style in enumerate(scene.players):
        x, y = scene.points[p]
        dx, dy, scale = offsets[p]
        cx, cy = layout.point(x + dx, y + dy)
        # Players stay visible in big mazes: below ~28 px per cell they overflow their cell a little.
        size = max(6, int(max(cell * 0.96, min(32.0, cell * 1.6)) * scale))
        radius = max(3, int(size * 0.48))
        ring = max(2, size // 14)
        token = pygame.Surface((2 * radius + 6, 2 * radius + 6), pygame.SRCALPHA)
        centre = (radius + 3, radius + 3)
        pygame.draw.circle(token, (255, 255, 255, 200), centre, radius + 2)
        pygame.draw.circle(token, (*style.color, 255), centre, radius)
        pygame.draw.circle(token, (*shade(style.color, 1.55), 255), centre, radius - ring)
        surface.blit(token, token.get_rect(center=(cx, cy)))
        facing = scene.facings[p] if p < len(scene.facings) else sprites.EAST
        spr = sprites.player_sprite(style.kind, style.color, size, facing)
        surface.blit(spr, spr.get_rect(center=(cx, cy)))
        mud = _mud_of(scene.state, style.name)
        if mud and mud.get("target") is not None:
            br = max(6, int(size * 0.2))
            bx, by = cx + int(size * 0.34), cy - int(size * 0.34)
            pygame.draw.circle(surface, sprites.MUD_DARK, (bx, by), br + max(1, br // 5))
            pygame.draw.circle(surface, sprites.MUD_LIGHT, (bx, by), br)
            blit_text(surface, str(int(mud.get("count") or 0)), (bx, by + 1), max(9, int(br * 1.9)), (255, 255, 255),
                      "center", outline=(40, 24, 10))


# words of a text: split at spaces, except around a dash between figures ("11 - 9" stays on one line)
_BREAKS = re.compile(r"(?<!-) (?!-)")


def wrap_text(text: str, size: int, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels at font ``size``, all of it (nothing cut off).

    Lines break between words; a word wider than a line (a long agent name) is broken after one of its
    ``_``, ``-`` or ``.``, else between characters.
    """
    f, lines, cur = font(size), [], ""
    for word in _BREAKS.split(" ".join(text.split())):
        trial = f"{cur} {word}" if cur else word
        if f.size(trial)[0] <= width:
            cur = trial
            continue
        if cur:
            lines.append(cur)
        cur = word
        while len(cur) > 1 and f.size(cur)[0] > width:
            k = len(cur) - 1
            while k > 1 and f.size(cur[:k])[0] > width:
                k -= 1
            cut = max(cur.rfind(c, 0, k) for c in "_-.") + 1   # after a separator of the name, if not too early
            k = cut if cut > k // 2 else k
            lines.append(cur[:k])
            cur = cur[k:]
    if cur or not lines:
        lines.append(cur)
    return lines


class _Writer:
    """Lays out lines of the panel top to bottom; in measuring mode it only adds up heights."""

    def __init__(self, surface: pygame.Surface | None, rect: pygame.Rect, fs: int) -> None:
        self.surface, self.rect, self.fs = surface, rect, fs
        self.pad = max(6, fs // 2)
        self.x, self.y = rect.x + self.pad, rect.y + self.pad
        self.w = rect.w - 2 * self.pad

    def height(self, size: int) -> int:
        return font(size).get_linesize()

    def text(self, s: str, size: int, color: Color, x: int | None = None, anchor: str = "topleft",
             max_width: int | None = None, advance: bool = True) -> None:
        if self.surface is not None:
            blit_text(self.surface, s, (self.x if x is None else x, self.y), size, color, anchor,
                      max_width=max_width or self.w)
        if advance:
            self.y += self.height(size)

    def wrapped(self, s: str, size: int, color: Color) -> None:
        """The whole text, broken into as many lines as it takes to fit the panel's width (`wrap_text`)."""
        for line in wrap_text(s, size, self.w):
            self.text(line, size, color)

    def gap(self, k: float = 0.5) -> None:
        self.y += int(self.fs * k)


def _panel_content(w: _Writer, scene: Scene) -> None:
    fs = w.fs
    big, small = int(fs * 1.5), max(10, int(fs * 0.8))
    draw = w.surface is not None
    w.text("PyRat", big, ACCENT)
    if scene.title and scene.title != "PyRat":
        w.text(scene.title, small, TEXT)
    if scene.subtitle:
        w.text(scene.subtitle, small, DIM)
    w.gap(0.6)
    turn = scene.state.get("turn", scene.index)
    label = f"Turn {turn}"
    if scene.live:
        label += "  (live)"
    elif scene.last_turn is not None:
        label += f" / {scene.last_turn}"
    w.text(label, int(fs * 1.25), TEXT)
    left = len(scene.state.get("cheese") or [])
    icon = max(8, int(fs * 1.0))
    if draw:
        w.surface.blit(sprites.cheese_sprite(icon), (w.x, w.y - 2))
    total = f" of {scene.n_cheese}" if scene.n_cheese else ""
    w.text(f"{left}{total} cheese left", fs, TEXT, x=w.x + icon + 6)
    w.gap(0.6)
    scores = scene.state.get("scores") or {}
    line, line_small = w.height(fs), w.height(small)
    for style in scene.players:
        mud = _mud_of(scene.state, style.name)
        stuck = bool(mud and mud.get("target") is not None)
        extra = style.team != style.name and len(scene.team_scores) > 1
        card_h = line + line_small + (line_small if stuck else 0) + (line_small if extra else 0) + w.pad
        if draw:
            card = pygame.Rect(w.rect.x + w.pad // 2, w.y, w.rect.w - w.pad, card_h)
            pygame.draw.rect(w.surface, PANEL_CARD, card, border_radius=max(3, fs // 3))
            pygame.draw.rect(w.surface, style.color, (card.x, card.y, max(4, fs // 4), card.h),
                             border_top_left_radius=max(3, fs // 3), border_bottom_left_radius=max(3, fs // 3))
            spr = sprites.player_sprite(style.kind, style.color, int(line * 1.6), sprites.EAST)
            w.surface.blit(spr, (card.x + max(6, fs // 3), card.y + (line + line_small - spr.get_height()) // 2 + 2))
            blit_text(w.surface, format_score(scores.get(style.name, 0)), (card.right - w.pad, card.y + 2),
                      int(fs * 1.45), TEXT, "topright")
        y0 = w.y
        x_text = w.x + int(line * 1.6) + 6
        width = w.w - int(line * 1.6) - 6 - int(fs * 2.6)
        w.y += w.pad // 2
        w.text(style.name, fs, shade(style.color, 1.25), x=x_text, max_width=width)
        w.text(style.agent or " ", small, DIM, x=x_text, max_width=width)
        if extra:
            w.text(f"team {style.team}" if style.team else "team", small, DIM, x=x_text, max_width=width)
        if stuck:
            count = int(mud.get("count") or 0)
            if draw:
                w.surface.blit(sprites.mud_icon(small), (x_text, w.y + 2))
            w.text(f"in mud: {count} more turn{'s' if count != 1 else ''}", small, MUD_TEXT,
                   x=x_text + small + 4, max_width=w.w - small)
        w.y = y0 + card_h + max(3, fs // 4)
    if scene.team_scores:
        w.gap(0.3)
        w.text("Teams", small, DIM)
        for label, total, color in scene.team_scores:
            w.text(label, fs, shade(color, 1.25), advance=False)
            w.text(format_score(total), fs, TEXT, x=w.x + w.w, anchor="topright")
    if scene.result is not None:
        headline, reason, color = scene.result
        w.gap(0.6)
        big = int(fs * 1.3)
        inner = w.w - w.pad   # the box's text width: the whole result is shown, on as many lines as it needs
        n_head, n_reason = len(wrap_text(headline, big, inner)), len(wrap_text(reason, small, inner))
        h = w.height(small) + n_head * w.height(big) + n_reason * w.height(small) + w.pad
        if draw:
            box = pygame.Rect(w.rect.x + w.pad // 2, w.y, w.rect.w - w.pad, h)
            pygame.draw.rect(w.surface, shade(color, 0.35), box, border_radius=max(3, fs // 3))
            pygame.draw.rect(w.surface, color, box, max(2, fs // 8), border_radius=max(3, fs // 3))
        y0 = w.y
        w.y += w.pad // 2
        x0, w0 = w.x, w.w
        w.x, w.w = w.x + w.pad // 2, w.w - w.pad
        w.text("Game over", small, DIM)
        w.wrapped(headline, big, shade(color, 1.35))
        w.wrapped(reason, small, TEXT)
        w.x, w.w = x0, w0
        w.y = y0 + h


def draw_panel(surface: pygame.Surface, layout: Layout, scene: Scene) -> None:
    """The side panel: title, turn, cheese left, one card per player (score, agent, mud), the result."""
    rect = layout.panel_rect
    if rect is None:
        return
    fs = layout.font_size
    # Shrink the text until everything fits (four players with teams need more room than two).
    for _ in range(6):
        probe = _Writer(None, rect, fs)
        _panel_content(probe, scene)
        if probe.y + font(max(10, int(fs * 0.8))).get_linesize() <= rect.bottom or fs <= 9:
            break
        fs = max(9, int(fs * 0.88))
    pygame.draw.rect(surface, PANEL, rect, border_radius=max(4, fs // 2))
    writer = _Writer(surface, rect, fs)
    _panel_content(writer, scene)
    if scene.speed is not None:
        small = max(10, int(fs * 0.8))
        blit_text(surface, "h: help", (rect.x + writer.pad, rect.bottom - writer.pad), small, DIM, "bottomleft")


def _speed_label(speed: float) -> str:
    return f"{format_score(speed)} turns/s"


def draw_seekbar(surface: pygame.Surface, layout: Layout, scene: Scene) -> None:
    """Play/pause button, the track (cheese eaten marked in the eater's colour), turn and speed."""
    rect, track = layout.seek_rect, layout.seek_track()
    if rect is None or track is None:
        return
    pygame.draw.rect(surface, PANEL, rect, border_radius=rect.h // 3)
    # The button shows the state: two bars while playing, a triangle while paused.
    b = pygame.Rect(rect.x + rect.h // 4, rect.y + rect.h // 4, rect.h // 2, rect.h // 2)
    if scene.playing:
        bw = max(2, b.w // 3)
        pygame.draw.rect(surface, TEXT, (b.x, b.y, bw, b.h))
        pygame.draw.rect(surface, TEXT, (b.right - bw, b.y, bw, b.h))
    else:
        pygame.draw.polygon(surface, TEXT, [b.topleft, (b.right, b.centery), b.bottomleft])
    last = max(scene.last_index or 0, 1)
    bar = pygame.Rect(track.x, track.centery - max(2, track.h // 8), track.w, max(4, track.h // 4))
    pygame.draw.rect(surface, (70, 76, 92), bar, border_radius=bar.h // 2)
    frac = min(max(scene.index / last, 0.0), 1.0)
    done = pygame.Rect(bar.x, bar.y, int(bar.w * frac), bar.h)
    if done.w > 0:
        pygame.draw.rect(surface, ACCENT, done, border_radius=bar.h // 2)
    for i, color in scene.seek_marks:
        if i <= last:
            x = bar.x + int(bar.w * i / last)
            pygame.draw.line(surface, color, (x, track.y + 3), (x, bar.y - 1), max(1, track.h // 12))
    knob = (bar.x + int(bar.w * frac), bar.centery)
    pygame.draw.circle(surface, TEXT, knob, max(5, track.h // 3))
    pygame.draw.circle(surface, shade(ACCENT, 0.8), knob, max(3, track.h // 3 - 2))
    fs = max(10, min(layout.font_size, int(rect.h * 0.8)))
    info = f"{scene.index}/{scene.last_index}"
    if scene.speed is not None:
        info += f"   {_speed_label(scene.speed)}"
    blit_text(surface, info, (rect.right - rect.h // 3, rect.centery), fs, TEXT, "midright",
              max_width=rect.right - track.right - rect.h // 3)


HELP_LINES = (
    ("space", "play / pause"),
    ("right / left", "one turn forward / back"),
    ("page up / down", "ten turns back / forward"),
    ("up / down", "faster / slower"),
    ("home / end", "first / last turn"),
    ("mouse", "click or drag the seek bar"),
    ("h", "show / hide this help"),
    ("esc / q", "quit (esc closes this help first)"),
)


def draw_help(surface: pygame.Surface, layout: Layout) -> None:
    """A translucent box listing the controls, over the middle of the window."""
    fs = max(12, layout.font_size)
    line = font(fs).get_linesize()
    keys_w = max(font(fs).size(k)[0] for k, _ in HELP_LINES) + fs
    text_w = max(font(fs).size(t)[0] for _, t in HELP_LINES)
    box = pygame.Rect(0, 0, keys_w + text_w + 2 * fs, line * (len(HELP_LINES) + 2) + fs)
    box.center = (layout.size[0] // 2, layout.size[1] // 2)
    shade_surf = pygame.Surface(box.size, pygame.SRCALPHA)
    pygame.draw.rect(shade_surf, (*BACKGROUND, 230), shade_surf.get_rect(), border_radius=fs // 2)
    surface.blit(shade_surf, box)
    pygame.draw.rect(surface, ACCENT, box, 2, border_radius=fs // 2)
    y = box.y + fs // 2
    blit_text(surface, "Controls", (box.x + fs, y), int(fs * 1.2), ACCENT)
    y += line * 2
    for k, t in HELP_LINES:
        blit_text(surface, k, (box.x + fs, y), fs, ACCENT)
        blit_text(surface, t, (box.x + fs + keys_w, y), fs, TEXT)
        y += line


def draw_scene(surface: pygame.Surface, scene: Scene, layout: Layout | None = None) -> Layout:
    """Draw a whole frame onto ``surface`` (its full size); returns the layout used."""
    if layout is None:
        layout = compute_layout(surface.get_size(), scene.maze.width, scene.maze.height,
                                panel=True, seekbar=scene.speed is not None)
    surface.fill(BACKGROUND)
    surface.blit(board_surface(scene.maze, layout.cell), layout.maze_rect)
    draw_cheese(surface, layout, scene.maze, scene.state.get("cheese") or [])
    if scene.trails:
        draw_trails(surface, layout, scene)
    draw_players(surface, layout, scene)
    draw_panel(surface, layout, scene)
    draw_seekbar(surface, layout, scene)
    if scene.show_help:
        draw_help(surface, layout)
    return layout


# -- one frame as an array (environments' rgb_array) ------------------------------------------------------
def render_rgb(maze: Maze, state: Mapping, names: Sequence[str] | None = None, *,
               teams: Sequence[str] | None = None, agents: Sequence[str] | None = None,
               history: Sequence[Mapping] = (), n_cheese: int | None = None, result: Mapping | None = None,
               title: str = "PyRat", panel: bool = True, size: tuple[int, int] | None = None) -> np.ndarray:
    """Draw one state (trace form: turn, locations, scores, muds, cheese) as an ``(H, W, 3)`` uint8 array.

    ``names`` are the players in seat order (default: the keys of ``state["locations"]``); ``history``
    is a list of earlier states, oldest first, used for the trails and the way sprites face.
    ``result`` (a replay's result dict, or ``{}`` to work it out) shows the end-of-game box;
    ``size`` is ``(width, height)`` in pixels (default: large cells, at most 1280 x 860);
    ``panel=False`` draws the maze alone.
    """
    names = [str(n) for n in (names if names is not None else state["locations"].keys())]
    teams = [str(t) for t in teams] if teams is not None else names
    agents = list(agents) if agents is not None else [""] * len(names)
    players = [PlayerStyle(n, player_color(i), sprite_kind(n, i), _agent_label(a), t)
               for i, (n, a, t) in enumerate(zip(names, agents, teams))]
    states = [*history, state]

    def pts(st: Mapping) -> list[tuple[float, float]]:
        return [display_point(maze, st["locations"][n], _mud_of(st, n)) for n in names]

    all_pts = [pts(st) for st in states[-(TRAIL_LENGTH + 1):]]
    facings = [sprites.EAST if p[0] <= maze.width / 2 else sprites.WEST for p in all_pts[0]]
    for a, b in zip(all_pts, all_pts[1:]):
        facings = [facing_between(x, y) or f for x, y, f in zip(a, b, facings)]
    for p, n in enumerate(names):
        mud = _mud_of(state, n)
        if mud and mud.get("target") is not None:
            facings[p] = facing_between(all_pts[-1][p], display_point(maze, mud["target"], None)) or facings[p]
    trails = []
    for p in range(len(names)):
        tr: list[tuple[float, float]] = []
        for step in all_pts:
            if not tr or tr[-1] != step[p]:
                tr.append(step[p])
        trails.append(tr)
    scene = Scene(maze=maze, players=players, state=state, points=all_pts[-1], facings=facings, trails=trails,
                  n_cheese=n_cheese, index=int(state.get("turn", 0)), last_index=None,
                  result=describe_result(result, state, players) if result is not None else None,
                  title=title, subtitle=f"{maze.width} x {maze.height} maze", team_scores=team_scores(players, state))
    if size is None:
        size = default_size(maze.width, maze.height, len(names), panel=panel, max_size=(960, 720))
    surface = pygame.Surface((int(size[0]), int(size[1])))
    layout = compute_layout(surface.get_size(), maze.width, maze.height, panel=panel, seekbar=False)
    draw_scene(surface, scene, layout)
    return surface_to_array(surface)


def surface_to_array(surface: pygame.Surface) -> np.ndarray:
    """A surface's pixels as a C-contiguous ``(H, W, 3)`` uint8 array."""
    w, h = surface.get_size()
    return np.frombuffer(pygame.image.tobytes(surface, "RGB"), dtype=np.uint8).reshape(h, w, 3).copy()


def draw_replay_frame(replay: Mapping, index: int, size: tuple[int, int] | None = None, source: str = "replay",
                      title: str | None = None) -> pygame.Surface:
    """A surface with the frame of state ``index`` of a replay (as ``pyrat watch --screenshot`` saves it)."""
    model = GameModel(replay, source=source, title=title)
    if size is None:
        size = default_size(model.maze.width, model.maze.height, len(model.names))
    surface = pygame.Surface((int(size[0]), int(size[1])))
    draw_scene(surface, model.scene(index), compute_layout(surface.get_size(), model.maze.width,
                                                            model.maze.height, panel=True, seekbar=False))
    return surface


def replay_frames(replay: Mapping, start: int = 0, stop: int | None = None, size: tuple[int, int] | None = None,
                  source: str = "replay", title: str | None = None):
    """The frames of states ``start`` to ``stop`` (inclusive; default: the last) as surfaces, one model for all."""
    model = GameModel(replay, source=source, title=title)
    if size is None:
        size = default_size(model.maze.width, model.maze.height, len(model.names))
    surface = pygame.Surface((int(size[0]), int(size[1])))
    layout = compute_layout(surface.get_size(), model.maze.width, model.maze.height, panel=True, seekbar=False)
    for index in range(start, model.last + 1 if stop is None else stop + 1):
        draw_scene(surface, model.scene(index), layout)
        yield surface


__all__ = [
    "GameModel", "Layout", "PlayerStyle", "Scene", "board_surface", "compute_layout", "default_size",
    "describe_result", "draw_replay_frame", "draw_scene", "player_color", "render_rgb", "replay_frames",
    "surface_to_array",
]
