"""The viewer's own artwork, drawn in code with ``pygame.draw``: rat, python, cheese, mud and icons.

No image file is read: every sprite is drawn from simple shapes, three times larger than needed and
smoothly scaled down (cheap anti-aliasing), then cached by kind, colour, size and facing. Sprites
face east when drawn; the other directions are rotations (west is a mirror, so nobody walks upside
down). Colours are ``(r, g, b)`` tuples; every function returns a new or cached ``pygame.Surface``
with per-pixel alpha, so it needs ``pygame`` but no display.
"""

from __future__ import annotations

import functools
import math

import pygame

Color = tuple[int, int, int]

# Natural colours, mixed with each player's own colour so the players stay distinct.
RAT_FUR: Color = (150, 146, 150)
PYTHON_SKIN: Color = (96, 168, 72)
PINK: Color = (236, 150, 162)
OUTLINE: Color = (30, 26, 28)
CHEESE_TOP: Color = (255, 214, 72)
CHEESE_FRONT: Color = (246, 184, 36)
CHEESE_RIND: Color = (226, 140, 30)
CHEESE_HOLE: Color = (200, 136, 22)
MUD: Color = (122, 80, 42)
MUD_DARK: Color = (88, 56, 28)
MUD_LIGHT: Color = (156, 110, 64)

SPRITE_KINDS = ("rat", "python")
SUPERSAMPLE = 3
# Facing: the engine's action numbers (1 north, 2 east, 3 south, 4 west).
NORTH, EAST, SOUTH, WEST = 1, 2, 3, 4


def mix(a: Color, b: Color, t: float) -> Color:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def shade(c: Color, f: float) -> Color:
    """Darker (f < 1) or lighter (f > 1, towards white) version of a colour."""
    if f <= 1:
        return tuple(int(x * f) for x in c)
    return mix(c, (255, 255, 255), min(f - 1, 1))


def _canvas(size: int) -> tuple[pygame.Surface, float]:
    s = max(size, 1) * SUPERSAMPLE
    return pygame.Surface((s, s), pygame.SRCALPHA), float(s)


def _finish(big: pygame.Surface, size: int, outline: float = 0.0) -> pygame.Surface:
    """Add a dark silhouette outline (``outline`` as a share of the size), then scale down smoothly."""
    if outline > 0:
        s = big.get_width()
        k = max(1, int(round(s * outline)))
        mask = pygame.mask.from_surface(big, 40)
        sil = mask.to_surface(setcolor=(*OUTLINE, 255), unsetcolor=(0, 0, 0, 0))
        out = pygame.Surface(big.get_size(), pygame.SRCALPHA)
        for dx, dy in ((-k, 0), (k, 0), (0, -k), (0, k), (-k, -k), (k, k), (-k, k), (k, -k)):
            out.blit(sil, (dx, dy))
        out.blit(big, (0, 0))
        big = out
    size = max(size, 1)
    return pygame.transform.smoothscale(big, (size, size))


def _pt(s: float, x: float, y: float) -> tuple[int, int]:
    return int(x * s), int(y * s)


def _circle(surf: pygame.Surface, color, s: float, x: float, y: float, r: float) -> None:
    pygame.draw.circle(surf, color, _pt(s, x, y), max(1, int(r * s)))


def _ellipse(surf: pygame.Surface, color, s: float, x: float, y: float, w: float, h: float, width: int = 0) -> None:
    pygame.draw.ellipse(surf, color, pygame.Rect(int(x * s), int(y * s), max(1, int(w * s)), max(1, int(h * s))),
                        width)


def _bezier(p0, p1, p2, n: int = 24) -> list[tuple[float, float]]:
    out = []
    for i in range(n + 1):
        t = i / n
        a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
        out.append((a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]))
    return out


def _rat_east(size: int, color: Color) -> pygame.Surface:
    surf, s = _canvas(size)
    fur = mix(RAT_FUR, color, 0.6)
    belly = shade(fur, 1.35)
    # Tail: a tapering pink curve behind the body.
    pts = _bezier((0.30, 0.60), (0.02, 0.72), (0.06, 0.30))
    for i, (x, y) in enumerate(pts):
        _circle(surf, shade(PINK, 0.9), s, x, y, 0.045 - 0.03 * i / len(pts))
    # Body and head.
    _ellipse(surf, fur, s, 0.16, 0.34, 0.56, 0.42)
    _ellipse(surf, belly, s, 0.26, 0.52, 0.36, 0.2)
    _ellipse(surf, fur, s, 0.52, 0.33, 0.32, 0.32)
    pygame.draw.polygon(surf, fur, [_pt(s, 0.70, 0.36), _pt(s, 0.97, 0.53), _pt(s, 0.70, 0.64)])
    # Ear, eye, nose, whiskers.
    _circle(surf, shade(fur, 0.8), s, 0.60, 0.30, 0.11)
    _circle(surf, PINK, s, 0.60, 0.30, 0.065)
    _circle(surf, (20, 20, 24), s, 0.75, 0.45, 0.045)
    _circle(surf, (255, 255, 255), s, 0.765, 0.435, 0.015)
    _circle(surf, (214, 84, 110), s, 0.955, 0.53, 0.035)
    for dy in (-0.06, 0.0, 0.06):
        pygame.draw.line(surf, (60, 56, 60), _pt(s, 0.88, 0.55), _pt(s, 1.0, 0.55 + dy * 1.6), max(1, int(s * 0.012)))
    return _finish(surf, size, 0.025)


def _python_east(size: int, color: Color) -> pygame.Surface:
    surf, s = _canvas(size)
    skin = mix(PYTHON_SKIN, color, 0.6)
    spots = shade(skin, 0.62)
    belly = shade(skin, 1.3)
    # Body: a sine wave of overlapping discs, thin at the tail, thick near the head.
    n = 40
    body = []
    for i in range(n + 1):
        t = i / n
        x = 0.06 + 0.62 * t
        y = 0.52 + 0.15 * math.sin(t * 2.2 * math.pi + 0.4) * (1 - 0.6 * t)
        r = 0.05 + 0.085 * t
        body.append((x, y, r))
    for x, y, r in body:
        _circle(surf, skin, s, x, y, r)
    for x, y, r in body:
        _circle(surf, belly, s, x, y + r * 0.45, r * 0.45)
    for i, (x, y, r) in enumerate(body):
        if i % 7 == 3:
            _circle(surf, spots, s, x, y - r * 0.15, r * 0.55)
    # Head, eye, tongue.
    _ellipse(surf, skin, s, 0.60, 0.33, 0.32, 0.27)
    _ellipse(surf, spots, s, 0.66, 0.37, 0.12, 0.08)
    _circle(surf, (250, 220, 60), s, 0.82, 0.42, 0.045)
    _ellipse(surf, (10, 10, 10), s, 0.81, 0.39, 0.02, 0.06)
    tongue = (210, 40, 50)
    w = max(1, int(s * 0.018))
    pygame.draw.line(surf, tongue, _pt(s, 0.91, 0.49), _pt(s, 0.99, 0.49), w)
    pygame.draw.line(surf, tongue, _pt(s, 0.99, 0.49), _pt(s, 1.0, 0.44), w)
    pygame.draw.line(surf, tongue, _pt(s, 0.99, 0.49), _pt(s, 1.0, 0.54), w)
    return _finish(surf, size, 0.025)


@functools.lru_cache(maxsize=256)
def player_sprite(kind: str, color: Color, size: int, facing: int = EAST) -> pygame.Surface:
    """A player's sprite (``rat`` or ``python``) of ``size`` pixels, facing an action direction."""
    base = _python_east(size, color) if kind == "python" else _rat_east(size, color)
    if facing == WEST:
        return pygame.transform.flip(base, True, False)
    if facing == NORTH:
        return pygame.transform.rotate(base, 90)
    if facing == SOUTH:
        return pygame.transform.rotate(base, -90)
    return base


@functools.lru_cache(maxsize=32)
def cheese_sprite(size: int) -> pygame.Surface:
    """A wedge of cheese with holes, ``size`` pixels square."""
    surf, s = _canvas(size)
    apex, back_l, back_r = (0.08, 0.58), (0.62, 0.20), (0.92, 0.40)
    drop = 0.30
    front = [apex, back_r, (back_r[0], back_r[1] + drop), (apex[0], apex[1] + drop)]
    rind = [back_l, back_r, (back_r[0], back_r[1] + drop), (back_l[0], back_l[1] + drop)]
    pygame.draw.polygon(surf, CHEESE_RIND, [_pt(s, *p) for p in rind])
    pygame.draw.polygon(surf, CHEESE_FRONT, [_pt(s, *p) for p in front])
    pygame.draw.polygon(surf, CHEESE_TOP, [_pt(s, *p) for p in (apex, back_l, back_r)])
    for x, y, r in ((0.30, 0.70, 0.055), (0.55, 0.62, 0.07), (0.76, 0.70, 0.045), (0.45, 0.79, 0.035),
                    (0.55, 0.38, 0.04)):
        _ellipse(surf, CHEESE_HOLE, s, x - r, y - r * 0.8, 2 * r, 1.6 * r)
    return _finish(surf, size, 0.03)


@functools.lru_cache(maxsize=64)
def mud_patch(width: int, height: int, seed: int = 0) -> pygame.Surface:
    """A puddle of mud (rounded, speckled), ``width`` x ``height`` pixels."""
    width, height = max(width, 2), max(height, 2)
    ss = SUPERSAMPLE
    big = pygame.Surface((width * ss, height * ss), pygame.SRCALPHA)
    w, h = big.get_size()
    rect = big.get_rect()
    pygame.draw.rect(big, MUD_DARK, rect, border_radius=min(w, h) // 2)
    pygame.draw.rect(big, MUD, rect.inflate(-w * 0.08, -h * 0.14), border_radius=min(w, h) // 2)
    # A fixed pseudo-random speckle (no global random state is touched).
    x = (seed * 2654435761 + 12345) & 0xFFFFFFFF
    for _ in range(14):
        x = (1103515245 * x + 12345) & 0x7FFFFFFF
        fx = 0.15 + 0.7 * ((x >> 8) % 1000) / 1000
        x = (1103515245 * x + 12345) & 0x7FFFFFFF
        fy = 0.25 + 0.5 * ((x >> 8) % 1000) / 1000
        x = (1103515245 * x + 12345) & 0x7FFFFFFF
        light = (x >> 12) % 3 == 0
        r = max(1, int(min(w, h) * (0.05 + 0.06 * ((x >> 4) % 100) / 100)))
        pygame.draw.circle(big, MUD_LIGHT if light else MUD_DARK, (int(fx * w), int(fy * h)), r)
    return pygame.transform.smoothscale(big, (width, height))


@functools.lru_cache(maxsize=16)
def mud_icon(size: int) -> pygame.Surface:
    """A small mud puddle for the score panel."""
    return mud_patch(size, max(2, int(size * 0.6)), 7)
