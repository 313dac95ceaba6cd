"""The pygame viewer: replays in a window, live matches, PNG frames and the environments' ``rgb_array``.

Importing this package does not import pygame: the names below load their module on first use, so
code that never draws (training, the engine, ``pyrat compat``) never pays for pygame, and nothing
here ever imports torch.

* `render_rgb` (from `render`): one state as an ``(H, W, 3)`` uint8 array.
* `draw_replay_frame` (from `render`): one frame of a replay as a ``pygame.Surface``.
* `ViewerApp` (from `app`): the interactive window.
* `LiveWatcher` (from `live`): the ``pyrat play --watch`` display, called after every turn.
* ``pyrat watch`` is `cli`.
"""

from __future__ import annotations

import importlib
import os

# pygame prints a greeting on import; the viewer's users did not ask for it.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

_LAZY = {
    "render_rgb": "render",
    "draw_replay_frame": "render",
    "GameModel": "render",
    "ViewerApp": "app",
    "LiveWatcher": "live",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
