"""``pyrat tournament publish``: a recorded tournament as a static web site, with every game playable in the browser.

::

    pyrat tournament publish --db course.sqlite --out site/     # then open site/index.html, or put site/ online

What it writes (plain files: no server, no network, everything works opened from disk):

* ``index.html``: the standings (points, W-D-L, rating with its 95 % interval, cheese per game, timeouts,
  errors, forfeits), the results of every pair, and every game; a warning box lists the games whose replay
  is missing or was changed after the game (``TournamentStore.replay_problems``): their replays are not linked;
* ``agents/NAME.html``: one page per agent: its results against each opponent, its games (seat, result,
  score, reason, link to the game), its timeouts, errors and forfeits with their messages, what it printed;
* ``games/KEY.html``: one page per game with the browser replay player (`pyrat_env.viewer.html`);
* ``assets/``: the player's ``player.js`` and ``player.css``, shared by the pages.

Every text an agent controls (its name, its output, its error messages) is escaped: it shows as text and never
becomes markup. The site is built in a temporary folder beside ``--out`` and then moved into place, so a reader
never sees half a site; an existing ``--out`` is replaced only if it is empty or a site written by this command.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pyrat_env import cli_options as opt
from pyrat_env.replay import SOFTWARE, ReplayError, load_game_file, utc_now
from pyrat_env.viewer.html import document, esc, game_page, write_assets

from .standings import COLUMNS

MARKER = ".pyrat-site"          # in a folder written by publish: it may be replaced by the next publish
ASSETS_DIR = "assets"
DEFAULT_BOOTSTRAP = 1000


class PublishError(ValueError):
    """A database or an output folder that cannot be used; the message says which and why (one line)."""


# -- names and numbers ------------------------------------------------------------------------------------------
def slug(text: str) -> str:
    """A file-name-safe form of a name: letters, digits, ``_`` and ``-`` only (never empty, never dots)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")[:80] or "x"


def unique_slugs(names: list[str]) -> list[str]:
    """One distinct slug per name, in order (a clash gets ``-2``, ``-3``... after the first)."""
    out: list[str] = []
    taken: set[str] = set()
    for name in names:
        base = slug(name)
        s, k = base, 1
        while s.lower() in taken:     # case-insensitive file systems would merge "Bob" and "bob"
            k += 1
            s = f"{base}-{k}"
        taken.add(s.lower())
        out.append(s)
    return out


def _num(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if x == int(x):
            return str(int(x))
        return f"{x:.1f}" if abs(x) >= 100 else f"{x:.3g}"
    return str(x)


def _cell(row: dict, key: str) -> str:
    if key == "interval":
        lo, hi = row["rating_low"], row["rating_high"]
        return "-" if lo is None or hi is None else f"{lo:.0f} to {hi:.0f}"
    if key == "rating":
        return "-" if row["rating"] is None else f"{row['rating']:.0f}"
    return _num(row[key])


def _table(header: list[tuple[str, bool]], rows: list[list[str]], cls: str = "pyrat-table") -> str:
    """An HTML table: ``header`` (label, right-aligned) pairs; ``rows`` of cells that are HTML already."""
    head = "".join(f'<th class="num">{esc(h)}</th>' if right else f"<th>{esc(h)}</th>" for h, right in header)
    body = []
    for r in rows:
        cells = "".join(f'<td class="num">{c}</td>' if header[i][1] else f"<td>{c}</td>" for i, c in enumerate(r))
        body.append(f"<tr>{cells}</tr>")
    return (f'<div class="pyrat-scroll"><table class="{cls}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(body) + "\n</tbody>\n</table></div>")


def _outcome(g: dict, i: int) -> tuple[str, str]:
    """(``win``/``draw``/``loss``, css class) of agent ``i`` in game ``g``."""
    if g["winner"] is None:
        return "draw", "pyrat-draw"
    return ("win", "pyrat-win") if g["winner"] == i else ("loss", "pyrat-loss")


def _seat(g: dict, i: int) -> int:
    return 0 if g["seat0"] == i else 1


class _Site:
    """What the pages need to link to each other: names, slugs, which games have a page with a player."""

    def __init__(self, info: dict, rows: list[dict], matrix: dict, games: list[dict], problems: dict[str, str]):
        self.info, self.rows, self.matrix, self.games, self.problems = info, rows, matrix, games, problems
        self.names = [a["name"] for a in info["agents"]]
        self.specs = [a.get("spec", a["name"]) for a in info["agents"]]
        self.slugs = unique_slugs(self.names)
        self.game_slugs = dict(zip([g["key"] for g in games], unique_slugs([g["key"] for g in games])))
        self.playable: set[str] = set()      # game keys whose page has the player
        self.row_of = {r["agent"]: r for r in rows}

    def agent_link(self, i: int, prefix: str) -> str:
        return f'<a href="{prefix}agents/{self.slugs[i]}.html">{esc(self.names[i])}</a>'

    def game_href(self, key: str, prefix: str) -> str:
        return f"{prefix}games/{self.game_slugs[key]}.html"

    def game_link(self, g: dict, prefix: str, label: str = "watch") -> str:
        if g["key"] in self.problems:
            return '<span class="pyrat-loss" title="see the warning on the index page">replay problem</span>'
        return f'<a href="{self.game_href(g["key"], prefix)}">{esc(label)}</a>'

    def summary(self) -> str:
        info = self.info
        s = info["settings"]
        game, limits = s.get("game", {}), s.get("limits", {})
        parts = [f"{info['recorded']} of {info['scheduled']} games", f"{s.get('games_per_pair')} per pair",
                 f"{game.get('width')}x{game.get('height')} mazes, {game.get('nb_cheese')} cheese",
                 f"seed {info['seed']}", f"{limits.get('turn_time')} s a turn",
                 f"{limits.get('preprocessing_time')} s of preprocessing"]
        if s.get("max_turns"):
            parts.append(f"at most {s['max_turns']} turns")
        return "; ".join(parts)


# -- pages --------------------------------------------------------------------------------------------------------
def _footer() -> str:
    return (f'<footer class="pyrat-footer">Written by {esc(SOFTWARE)} (<code>pyrat tournament publish</code>) on '
            f"{esc(utc_now())}.</footer>\n")


def _nav(prefix: str) -> str:
    return f'<div class="pyrat-nav"><a href="{prefix}index.html">&larr; standings</a></div>\n'


def _index_page(site: _Site) -> str:
    info = site.info
    out = [f'<header class="pyrat-header">\n<h1>Tournament {esc(info["id"])}</h1>\n'
           f'<p class="pyrat-meta">{esc(site.summary())}; created {esc(info.get("created", ""))}</p>\n</header>']
    if info["recorded"] < info["scheduled"]:
        out.append(f'<div class="pyrat-warning"><p>The tournament is not over: {info["recorded"]} of '
                   f'{info["scheduled"]} games are recorded.</p></div>')
    if site.problems:
        items = "\n".join(f'<li><b>{esc(k)}</b>: {esc(v)}</li>' for k, v in site.problems.items())
        out.append(f'<div class="pyrat-warning" id="replay-problems"><h2>Replay problems</h2>\n'
                   f'<p>{len(site.problems)} game(s) have a replay that is missing, unreadable or not the one '
                   f'recorded with the game; they are not linked (their results still count).</p>\n<ul>\n{items}\n'
                   f'</ul></div>')
    # Standings
    header = [(label, key not in ("agent", "interval")) for key, label in COLUMNS]
    index_of = {n: i for i, n in enumerate(site.names)}
    body = []
    for r in site.rows:
        cells = []
        for key, _ in COLUMNS:
            cells.append(site.agent_link(index_of[r["agent"]], "") if key == "agent" else esc(_cell(r, key)))
        body.append(cells)
    out.append("<h2>Standings</h2>")
    out.append('<p class="pyrat-meta">Ranked by points (a win 1, a draw 0.5), then rating: Bradley-Terry on the Elo '
               "scale, with a 95 % bootstrap interval (overlapping intervals: the games do not separate the two "
               "agents).</p>")
    out.append(_table(header, body))
    # Pair matrix
    m = site.matrix
    n = len(m["agents"])
    header = [("", False)] + [(name, True) for name in m["agents"]]
    body = []
    for i in range(n):
        line = [site.agent_link(i, "")]
        for j in range(n):
            games = m["games"][i][j]
            if i == j:
                line.append('<span class="self">x</span>')
            elif games == 0:
                line.append("-")
            else:
                pts = m["points"][i][j]
                frac = pts / games
                cls = "pyrat-win" if frac > 0.5 else "pyrat-loss" if frac < 0.5 else "pyrat-draw"
                line.append(f'<span class="{cls}">{esc(_num(float(pts)))}</span>/{games}')
        body.append(line)
    out.append("<h2>Results by pair</h2>")
    out.append('<p class="pyrat-meta">Points of the row\'s agent against the column\'s / games played.</p>')
    out.append(_table(header, body))
    # Games
    header = [("#", True), ("round", True), ("seat 0", False), ("seat 1", False), ("score", True),
              ("winner", False), ("reason", False), ("turns", True), ("replay", False)]
    body = []
    for g in site.games:
        winner = "draw" if g["winner"] is None else site.agent_link(g["winner"], "")
        body.append([str(g["idx"]), str(g["round"]), site.agent_link(g["seat0"], ""), site.agent_link(g["seat1"], ""),
                     f"{esc(_num(g['score0']))} - {esc(_num(g['score1']))}", winner,
                     esc(str(g["reason"]).replace("_", " ")), str(g["turns"]), site.game_link(g, "")])
    out.append(f"<h2>Games ({len(site.games)})</h2>")
    out.append(_table(header, body))
    out.append(_footer())
    return document(f"Tournament {info['id']}", "\n".join(out), assets_prefix=f"{ASSETS_DIR}/")


def _problem_items(g: dict, seat: int) -> list[str]:
    """HTML list items for what went wrong for the player in ``seat`` of game ``g``: forfeit, errors, timeouts."""
    d = g.get("details") or {}
    items = []
    forfeit = (d.get("forfeits") or [None, None])[seat]
    if g.get(f"forfeit{seat}") or forfeit:
        f = forfeit if isinstance(forfeit, Mapping) else {}
        kind = f.get("kind") or g.get(f"forfeit{seat}")
        items.append(f'<li><span class="pyrat-loss">forfeit</span> ({esc(kind)}) at turn {esc(f.get("turn", "?"))}: '
                     f'{esc(f.get("message", ""))}</li>')
    if g.get(f"timeouts{seat}"):
        items.append(f"<li>{g[f'timeouts{seat}']} timeout(s)</li>")
    samples = (d.get("error_samples") or [[], []])[seat] or []
    for e in samples:
        e = e if isinstance(e, Mapping) else {"message": e}
        items.append(f'<li>turn {esc(e.get("turn", "?"))}, {esc(e.get("kind", "error"))}: '
                     f'<code>{esc(e.get("message", ""))}</code></li>')
    if g.get(f"errors{seat}", 0) > len(samples):
        items.append(f"<li>({g[f'errors{seat}']} errors in all; the first {len(samples)} are shown)</li>")
    return items


def _output_of(g: dict, seat: int) -> str:
    outputs = (g.get("details") or {}).get("outputs") or ["", ""]
    text = outputs[seat] if seat < len(outputs) else ""
    return text if isinstance(text, str) else str(text or "")


def _agent_page(site: _Site, i: int) -> str:
    name = site.names[i]
    row = site.row_of.get(name)
    mine = [g for g in site.games if i in (g["seat0"], g["seat1"])]
    out = [f'<header class="pyrat-header">\n{_nav("../")}<h1>{esc(name)}</h1>\n'
           f'<p class="pyrat-meta">spec <code>{esc(site.specs[i])}</code>; tournament {esc(site.info["id"])}</p>\n'
           "</header>"]
    if row is not None:
        header = [(label, key not in ("agent", "interval")) for key, label in COLUMNS if key != "agent"]
        out.append(_table(header, [[esc(_cell(row, key)) for key, _ in COLUMNS if key != "agent"]]))
    # Per opponent
    per: dict[int, dict] = {}
    for g in mine:
        j = g["seat1"] if g["seat0"] == i else g["seat0"]
        s = per.setdefault(j, {"games": 0, "win": 0, "draw": 0, "loss": 0, "for": 0.0, "against": 0.0})
        s["games"] += 1
        s[_outcome(g, i)[0]] += 1
        seat = _seat(g, i)
        s["for"] += g[f"score{seat}"]
        s["against"] += g[f"score{1 - seat}"]
    body = []
    for j in sorted(per, key=lambda j: site.names[j].lower()):
        s = per[j]
        body.append([site.agent_link(j, "../"), str(s["games"]), str(s["win"]), str(s["draw"]), str(s["loss"]),
                     esc(_num(s["win"] + 0.5 * s["draw"])), esc(f"{s['for'] / s['games']:.2f}"),
                     esc(f"{s['against'] / s['games']:.2f}")])
    out.append("<h2>Results per opponent</h2>")
    out.append(_table([("opponent", False), ("games", True), ("W", True), ("D", True), ("L", True), ("points", True),
                       ("cheese/game", True), ("opponent's cheese/game", True)], body))
    # Games
    body = []
    for g in mine:
        seat = _seat(g, i)
        j = g[f"seat{1 - seat}"]
        word, cls = _outcome(g, i)
        forfeit = g.get(f"forfeit{seat}")
        body.append([str(g["idx"]), str(g["round"]), str(seat), site.agent_link(j, "../"),
                     f'<span class="{cls}">{word}</span>',
                     f"{esc(_num(g[f'score{seat}']))} - {esc(_num(g[f'score{1 - seat}']))}",
                     esc(str(g["reason"]).replace("_", " ")), str(g["turns"]), str(g[f"timeouts{seat}"]),
                     str(g[f"errors{seat}"]), esc(forfeit) if forfeit else "", site.game_link(g, "../")])
    out.append(f"<h2>Games ({len(mine)})</h2>")
    out.append(_table([("#", True), ("round", True), ("seat", True), ("opponent", False), ("result", False),
                       ("score", True), ("reason", False), ("turns", True), ("timeouts", True), ("errors", True),
                       ("forfeit", False), ("replay", False)], body))
    # Problems and output, game by game
    sections, outputs = [], []
    for g in mine:
        seat = _seat(g, i)
        against = f"Game {g['idx']} against {esc(site.names[g[f'seat{1 - seat}']])}"
        items = _problem_items(g, seat)
        if items:
            sections.append(f"<h3>{against} ({site.game_link(g, '../', 'watch')})</h3>\n<ul>\n"
                            + "\n".join(items) + "\n</ul>")
        text = _output_of(g, seat)
        if text:
            outputs.append(f"<details><summary>{against} ({len(text.encode('utf-8'))} bytes)</summary>\n"
                           f'<pre class="pyrat-output">{esc(text)}</pre></details>')
    out.append("<h2>Timeouts, errors and forfeits</h2>")
    out.append("\n".join(sections) if sections else "<p>None.</p>")
    out.append("<h2>What it printed</h2>")
    out.append("\n".join(outputs) if outputs else "<p>Nothing.</p>")
    out.append(_footer())
    return document(f"{name}: tournament {site.info['id']}", "\n".join(out), assets_prefix=f"../{ASSETS_DIR}/")


def _game_extras(site: _Site, g: dict) -> tuple[str, str]:
    """(header HTML, footer HTML) of a game's page: who played, the result; problems and outputs below."""
    a, b = g["seat0"], g["seat1"]
    if g["winner"] is None:
        result = "draw"
    else:
        result = f"{site.agent_link(g['winner'], '../')} wins"
    head = (f'<p class="pyrat-meta">Game {g["idx"]} (round {g["round"]}, key {esc(g["key"])}): seat 0 '
            f'{site.agent_link(a, "../")}, seat 1 {site.agent_link(b, "../")}; {esc(_num(g["score0"]))} - '
            f'{esc(_num(g["score1"]))}, {result} ({esc(str(g["reason"]).replace("_", " "))}, {g["turns"]} turns)</p>\n')
    foot = []
    for seat, i in ((0, a), (1, b)):
        items = _problem_items(g, seat)
        text = _output_of(g, seat)
        if items:
            foot.append(f"<h3>{esc(site.names[i])}: timeouts, errors, forfeit</h3>\n<ul>\n" + "\n".join(items)
                        + "\n</ul>")
        if text:
            foot.append(f"<details><summary>What {esc(site.names[i])} printed ({len(text.encode('utf-8'))} bytes)"
                        f'</summary>\n<pre class="pyrat-output">{esc(text)}</pre></details>')
    return head, ("<section>\n" + "\n".join(foot) + "\n</section>\n") if foot else ""


# -- the site ------------------------------------------------------------------------------------------------------
def _check_out(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise PublishError(f"{out}: exists and is not a folder")
    if any(out.iterdir()) and not (out / MARKER).is_file():
        raise PublishError(f"{out}: this folder is not empty and was not written by 'pyrat tournament publish' "
                           f"(no {MARKER} file); choose a new folder")


def _replay_path(db: Path, replay: str | None) -> Path | None:
    if not replay:
        return None
    path = Path(replay)
    return path if path.is_absolute() else db.resolve().parent / path


def publish(db: str | os.PathLike, out_dir: str | os.PathLike, tournament: str | None = None,
            bootstrap: int = DEFAULT_BOOTSTRAP, log=None) -> dict:
    """Write the static site of a tournament in ``db`` (the latest one, or the id starting with ``tournament``)
    into ``out_dir``. Returns ``{"pages", "games", "replays", "problems", "out", "tournament"}``: pages written,
    games recorded, game pages with a player, ``{game key: problem}`` for the games whose replay is not linked.

    Raises `PublishError` for a missing or unreadable database, an unknown tournament id, or an ``out_dir`` that
    exists and is neither empty nor a site written by this function (it is replaced as a whole).
    ``log(message)`` hears about each step (default: nothing).
    """
    from .runner import tournament_standings
    from .store import TournamentStore

    log = log or (lambda msg: None)
    db = Path(db)
    out = Path(out_dir)
    if not db.is_file():
        raise PublishError(f"{db}: no such database")
    _check_out(out)
    try:
        with TournamentStore(db) as store:
            tid = store.resolve_id(tournament)
            games = store.games(tid)
            finder = getattr(store, "replay_problems", None)
            problems = dict(finder(tid)) if finder is not None else {}
        info, rows, matrix = tournament_standings(db, tid, bootstrap=bootstrap)
        from .swiss import is_swiss, swiss_tournament_standings

        if is_swiss(info):   # byes count in a Swiss tournament's standings
            info, rows, matrix = swiss_tournament_standings(db, tid, bootstrap=bootstrap)
    except sqlite3.DatabaseError as exc:
        raise PublishError(f"{db}: not a tournament database ({exc})") from None
    except ValueError as exc:   # no tournament, or an unknown or ambiguous id
        raise PublishError(opt.one_line(exc)) from None
    site = _Site(info, rows, matrix, games, problems)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        os.chmod(tmp, 0o755)   # mkdtemp's folder is private; a site is for everyone to read
        pages = 0
        write_assets(tmp / ASSETS_DIR)
        (tmp / "games").mkdir()
        (tmp / "agents").mkdir()
        # Game pages first: a replay that cannot be read joins the problems, and is not linked from any page.
        for g in games:
            key = g["key"]
            if key in problems:
                continue
            path = _replay_path(db, g.get("replay"))
            try:
                if path is None:
                    raise ReplayError("no replay recorded")
                replay = load_game_file(path)[0]
                head, foot = _game_extras(site, g)
                names = (site.names[g["seat0"]], site.names[g["seat1"]])
                subtitle = (f"{replay.get('width')} x {replay.get('height')} maze, {len(replay.get('cheese') or [])} "
                            f"cheese; game seed {g['seed']}; tournament {tid}")
                page = game_page(replay, f"../{ASSETS_DIR}/", title=f"{names[0]} vs {names[1]}",
                                 back_link=("../index.html", "standings"), header_html=head, footer_html=foot,
                                 subtitle=subtitle)
            except ReplayError as exc:
                problems[key] = opt.one_line(exc)
                continue
            (tmp / "games" / f"{site.game_slugs[key]}.html").write_text(page, encoding="utf-8")
            site.playable.add(key)
            pages += 1
        log(f"{pages} game pages")
        for i in range(len(site.names)):
            (tmp / "agents" / f"{site.slugs[i]}.html").write_text(_agent_page(site, i), encoding="utf-8")
            pages += 1
        (tmp / "index.html").write_text(_index_page(site), encoding="utf-8")
        pages += 1
        (tmp / MARKER).write_text(f"tournament {tid}\nwritten by {SOFTWARE} on {utc_now()}\n", encoding="utf-8")
        # Into place: the old site (if any) is moved aside, the new one renamed, the old one removed.
        old = None
        if out.exists():
            _check_out(out)
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.rmdir(old)
            os.rename(out, old)
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"pages": pages, "games": len(games), "replays": len(site.playable), "problems": problems,
            "out": str(out), "tournament": tid}


# -- the command ------------------------------------------------------------------------------------------------
def add_publish_arguments(subparsers) -> argparse.ArgumentParser:
    """Add ``publish`` to ``pyrat tournament``'s sub-commands (``subparsers``: what ``add_subparsers`` returned)."""
    p = subparsers.add_parser(
        "publish", help="write a static web site of a recorded tournament, with every game playable in a browser",
        description="Write a static web site of a tournament: index.html (standings, results by pair, games), one "
                    "page per agent (games, errors, forfeits, output) and one per game with a replay player. "
                    "Plain files: open index.html from disk or put the folder online.")
    p.add_argument("--db", required=True, metavar="FILE.sqlite", help="the tournament database")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder to write (replaced as a whole if it holds a site written before)")
    p.add_argument("--tournament", metavar="ID", help="tournament id or its first characters (default: the latest)")
    p.add_argument("--bootstrap", type=opt.positive, default=DEFAULT_BOOTSTRAP, metavar="B",
                   help=opt.with_default("bootstrap resamples for the rating intervals", DEFAULT_BOOTSTRAP))
    return p


def run_publish(args: argparse.Namespace) -> int:
    """``pyrat tournament publish``: write the site, say what was written (and warn about replay problems)."""
    with opt.user_errors(PublishError, OSError):
        result = publish(args.db, args.out, args.tournament, bootstrap=args.bootstrap)
    out = Path(result["out"])
    n_agents = result["pages"] - result["replays"] - 1
    print(f"wrote {out}/: index.html, {n_agents} agent pages in agents/, {result['replays']} game pages in games/, "
          f"the player in {ASSETS_DIR}/ (tournament {result['tournament']}, {result['games']} games)")
    print(f"open {out / 'index.html'} in a browser, or put {out}/ online")
    if result["problems"]:
        print(f"warning: {len(result['problems'])} game(s) have a replay problem and are not linked "
              f"(listed on the index page): {', '.join(sorted(result['problems']))}", file=sys.stderr)
    return 0


__all__ = ["PublishError", "add_publish_arguments", "publish", "run_publish", "slug", "unique_slugs"]
