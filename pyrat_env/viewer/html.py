"""Replays as web pages: the browser player (``web/player.js``, ``web/player.css``) and the pages that embed it.

The player draws a game on a ``<canvas>`` in any browser, with no server and no network: a page holds
the game as JSON in ``<script type="application/json" id="pyrat-replay">`` and loads the player's script
and style sheet, inlined (`replay_page`: one self-contained file, what ``pyrat watch REPLAY --html OUT.html``
writes) or beside it (`game_page` with `write_assets`: the pages of a published tournament share one copy).
Pages work opened from disk (``file://``): nothing is fetched.

Every text that comes from a game or a user (player names, titles) is escaped here, and the inlined JSON has
its ``<`` written ``\\u003c`` so that nothing in it can close the ``<script>`` element. Nothing here imports
pygame.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from ..replay import ReplayError, maze_from_game

ASSETS = ("player.js", "player.css")
DATA_ID = "pyrat-replay"
PLAYER_ID = "pyrat-player"


def asset_text(name: str) -> str:
    """The text of one of the player's files (``player.js``, ``player.css``), as shipped in the package."""
    if name not in ASSETS:
        raise ValueError(f"unknown asset {name!r}; the player's files are {', '.join(ASSETS)}")
    return resources.files(__package__).joinpath("web", name).read_text(encoding="utf-8")


def write_assets(out_dir: str | os.PathLike) -> list[Path]:
    """Copy the player's files into ``out_dir`` (created if needed); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ASSETS:
        path = out / name
        path.write_text(asset_text(name), encoding="utf-8")
        paths.append(path)
    return paths


def esc(value: object) -> str:
    """``value`` as HTML text or attribute value: ``<``, ``>``, ``&`` and quotes escaped."""
    return html.escape(str(value), quote=True)


def script_json(data: object) -> str:
    """JSON to inline in a ``<script type="application/json">``: every ``<`` is written ``\\u003c``, so no
    ``</script>`` or ``<!--`` in a name or a message can end the element (JSON.parse reads it back unchanged)."""
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:   # NaN or infinity: JSON.parse would refuse the page
        raise ReplayError(f"the game cannot be written as JSON ({exc})") from None
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def check_game(game: Mapping, source: str = "replay") -> None:
    """Raise `ReplayError` (naming ``source``) when a game cannot be drawn: a malformed maze, a location, a mud
    target or a cheese cell off the maze, scores that are not numbers (the checks of the pygame viewer's
    ``GameModel``, without pygame)."""
    try:
        maze = maze_from_game(game)
    except ReplayError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed maze is reported as such
        raise ReplayError(f"{source}: field 'maze': {exc}") from None
    n = maze.n_cells
    players = game.get("players") or []
    if not players:
        raise ReplayError(f"{source}: no players")
    names = [str(p.get("name", f"player {i}")) for i, p in enumerate(players)]
    states = game.get("states")
    if not isinstance(states, list) or not states:
        raise ReplayError(f"{source}: field 'states' must be a non-empty list")

    for i, st in enumerate(states):
        check_state(st, f"{source}: states[{i}]", names, n)


def check_state(st: object, where: str, names: list[str], n_cells: int) -> None:
    """Raise `ReplayError` (naming ``where``) unless a replay state can be drawn: locations, mud targets and
    cheese on cells of the maze, numeric scores. The browser player's check and the pygame viewer's
    (`pyrat_env.viewer.render.GameModel`)."""
    def is_cell(x: object) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < n_cells

    if not isinstance(st, Mapping):
        raise ReplayError(f"{where} must be an object")
    locs = st.get("locations")
    if not isinstance(locs, Mapping):
        raise ReplayError(f"{where}.locations must be an object")
    muds = st.get("muds") or {}
    for name in names:
        if not is_cell(locs.get(name)):
            raise ReplayError(f"{where}: location of {name!r} is {locs.get(name)!r}, not a cell of the maze")
        mud = muds.get(name) if isinstance(muds, Mapping) else None
        if isinstance(mud, Mapping) and mud.get("target") is not None and not is_cell(mud["target"]):
            raise ReplayError(f"{where}: mud target of {name!r} is {mud['target']!r}, not a cell")
    cheese = st.get("cheese")
    if not isinstance(cheese, list) or not all(is_cell(c) for c in cheese):
        raise ReplayError(f"{where}.cheese must be a list of cells of the maze")
    scores = st.get("scores")
    if not isinstance(scores, Mapping) or not all(
            isinstance(scores.get(name, 0), (int, float)) and not isinstance(scores.get(name, 0), bool)
            and math.isfinite(scores.get(name, 0)) for name in names):
        raise ReplayError(f"{where}.scores must map player names to numbers")


def default_title(game: Mapping) -> str:
    """``alice vs bob`` (the players' names in seat order)."""
    names = [str(p.get("name", f"player {i}")) for i, p in enumerate(game.get("players") or [])]
    return " vs ".join(names) or "PyRat replay"


def describe_game(game: Mapping) -> str:
    """One line under a page's title: the maze, the cheese, the turns and how the game ended."""
    result = game.get("result")
    stats = game.get("stats")
    turns = result.get("turns") if isinstance(result, Mapping) else None
    if turns is None and isinstance(stats, Mapping):
        turns = stats.get("turns")
    if turns is None:
        turns = max(0, len(game.get("states") or []) - 1)
    parts = [f"{game.get('width')} x {game.get('height')} maze", f"{len(game.get('cheese') or [])} cheese",
             f"{turns} turns"]
    if isinstance(result, Mapping):
        scores = result.get("scores") or {}
        if scores:
            parts.append(", ".join(f"{name} {_score(v)}" for name, v in scores.items()))
        if result.get("draw"):
            parts.append("draw")
        elif result.get("winner") is not None:
            parts.append(f"{result['winner']} wins")
        if result.get("reason"):
            parts.append(str(result["reason"]).replace("_", " "))
    if game.get("seed") is not None:
        parts.append(f"seed {game['seed']}")
    return "; ".join(parts)


def _score(x: object) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    return str(int(x)) if x == int(x) else f"{x:g}"


def document(title: str, body: str, *, assets_prefix: str | None = None, inline_css: bool = False,
             scripts: str = "") -> str:
    """A whole HTML page: ``title`` (plain text, escaped here), ``body`` (HTML, already escaped by the caller),
    the player's style sheet linked from ``assets_prefix`` (``"../assets/"``) or inlined, and ``scripts``
    (HTML placed at the end of the body)."""
    if inline_css:
        css = asset_text("player.css")
        if "</style" in css.lower():
            raise ValueError("player.css must not contain '</style'")
        style = f"<style>\n{css}</style>"
    elif assets_prefix is not None:
        style = f'<link rel="stylesheet" href="{esc(assets_prefix + "player.css")}">'
    else:
        style = ""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n{style}\n</head>\n<body class=\"pyrat-page\">\n{body}\n{scripts}"
            "</body>\n</html>\n")


def _player_block(game: Mapping, turn: int | None, speed: float | None) -> str:
    attrs = ""
    if turn is not None:
        attrs += f' data-turn="{int(turn)}"'
    if speed is not None:
        attrs += f' data-speed="{float(speed):g}"'
    return (f'<div id="{PLAYER_ID}" class="pyrat-player"{attrs}>'
            "<noscript><p class=\"pyrat-error\">The replay player needs JavaScript.</p></noscript></div>")


def _header(title: str, subtitle: str | None, back_link, header_html: str) -> str:
    nav = ""
    if back_link:
        href, label = (back_link, "back") if isinstance(back_link, str) else back_link
        nav = f'<div class="pyrat-nav"><a href="{esc(href)}">&larr; {esc(label)}</a></div>\n'
    sub = f'<p class="pyrat-meta">{esc(subtitle)}</p>\n' if subtitle else ""
    return f'<header class="pyrat-header">\n{nav}<h1>{esc(title)}</h1>\n{sub}{header_html}</header>\n'


def replay_page(game: Mapping, title: str | None = None, *, turn: int | None = None, speed: float | None = None,
                subtitle: str | None = None) -> str:
    """One self-contained HTML page that plays ``game`` (a replay or trace dict): the style sheet, the script
    and the game are inlined. ``turn`` is shown first (a state index; ``#turn=T`` in the address wins);
    ``speed`` in turns per second. Raises `ReplayError` for a game that cannot be drawn."""
    check_game(game, title or "game")
    title = title if title is not None else default_title(game)
    js = asset_text("player.js")
    if "</script" in js.lower() or "<!--" in js:
        raise ValueError("player.js must not contain '</script' or '<!--'")
    body = _header(title, describe_game(game) if subtitle is None else subtitle, None, "") + \
        "<main>\n" + _player_block(game, turn, speed) + "\n</main>\n"
    scripts = (f'<script type="application/json" id="{DATA_ID}">{script_json(game)}</script>\n'
               f"<script>\n{js}</script>\n")
    return document(title, body, inline_css=True, scripts=scripts)


def game_page(game: Mapping, assets_prefix: str, title: str | None = None, back_link=None, *,
              turn: int | None = None, speed: float | None = None, subtitle: str | None = None,
              header_html: str = "", footer_html: str = "") -> str:
    """A page that plays ``game`` with the shared player files at ``assets_prefix`` (a relative URL ending in
    ``/``, such as ``"../assets/"``: see `write_assets`); the game itself is embedded in the page, so the page
    works from disk. ``back_link``: ``(href, label)`` or an href; ``header_html`` and ``footer_html`` are
    trusted HTML (escape what they hold). Raises `ReplayError` for a game that cannot be drawn."""
    check_game(game, title or "game")
    title = title if title is not None else default_title(game)
    body = _header(title, describe_game(game) if subtitle is None else subtitle, back_link, header_html) + \
        "<main>\n" + _player_block(game, turn, speed) + "\n</main>\n" + footer_html
    scripts = (f'<script type="application/json" id="{DATA_ID}">{script_json(game)}</script>\n'
               f'<script src="{esc(assets_prefix + "player.js")}"></script>\n')
    return document(title, body, assets_prefix=assets_prefix, scripts=scripts)


__all__ = ["ASSETS", "asset_text", "check_game", "default_title", "describe_game", "document", "esc", "game_page",
           "replay_page", "script_json", "write_assets"]
