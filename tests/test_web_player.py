"""The browser replay player (``pyrat watch REPLAY --html``) and the static tournament site (``publish``).

The tests marked ``browser`` open the pages in a headless Chromium through Playwright for Python, with Debian's
``/usr/bin/chromium`` (no ``playwright install``): they skip, saying why, when either is missing, except under
CI (``CI`` set in the environment), where a missing browser fails. The others read the HTML as text.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from pyrat_env.cli import main as pyrat_main
from pyrat_env.cli_options import ArgumentParser, UsageError
from pyrat_env.replay import load_game_file
from pyrat_env.viewer import html as web

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "tests" / "data" / "traces"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("PYRAT_WEB_SHOTS", "/tmp/web_shots"))
NASTY = "<b>x</b>"   # an agent name that must show as text


# -- fixtures --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def replay_file(tmp_path_factory) -> Path:
    """A real replay: greedy against random, seed 1 (both move, someone goes through mud)."""
    folder = tmp_path_factory.mktemp("replays")
    assert pyrat_main(["play", "greedy", "random", "--games", "1", "--seed", "1", "--replay-dir", str(folder)]) == 0
    (path,) = folder.glob("*.json.gz")
    return path


@pytest.fixture(scope="module")
def replay(replay_file) -> dict:
    return load_game_file(replay_file)[0]


@pytest.fixture(scope="module")
def page_file(replay_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "game.html"
    assert pyrat_main(["watch", str(replay_file), "--html", str(out)]) == 0
    return out


NAUGHTY = '''
from pyrat_env import Agent


class Naughty(Agent):
    name = "naughty"

    def act(self, game, seat):
        print("<script>alert('printed')</script> & <b>bold</b>", flush=True)
        if game.turn == 2:
            raise RuntimeError("<i>boom</i> </script>")
        return 2
'''


@pytest.fixture(scope="module")
def tournament(tmp_path_factory) -> dict:
    """A small real tournament: an agent named <b>x</b> (greedy), random, and a file agent that prints HTML and
    raises an exception with markup in its message; tiny mazes, 2 games per pair."""
    from pyrat_rl.agents.tournament.config import AgentEntry, TournamentConfig, describe_agents, game_config
    from pyrat_rl.agents.tournament.runner import run_tournament

    folder = tmp_path_factory.mktemp("tournament")
    (folder / "naughty.py").write_text(NAUGHTY)
    agents = (AgentEntry(NASTY, "greedy", "greedy"),
              *describe_agents(["random", "naughty.py:Naughty"], base_dir=folder))
    config = TournamentConfig(agents=agents, games_per_pair=2, game=game_config("tiny"), seed=5)
    db = folder / "t.sqlite"
    outcome = run_tournament(config, db, progress=False, bootstrap=50, log=lambda msg: None)
    assert outcome.games == outcome.scheduled == 6 and not outcome.warnings, outcome.to_dict()
    return {"db": db, "folder": folder, "id": outcome.tournament_id}


@pytest.fixture(scope="module")
def site(tournament) -> dict:
    from pyrat_rl.agents.tournament.publish import publish

    result = publish(tournament["db"], tournament["folder"] / "site", bootstrap=50)
    return result


# -- helpers -----------------------------------------------------------------------------------------------------
class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def links_of(path: Path) -> list[str]:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.links


def _json_block(page: str) -> object:
    m = re.search(r'<script type="application/json" id="pyrat-replay">(.*?)</script>', page, re.S)
    assert m, "no replay data in the page"
    return json.loads(m.group(1))


def _expected(state: dict) -> dict:
    return {"locations": state["locations"], "scores": state["scores"], "cheese": state["cheese"]}


def _shown(page, turn: int | None = None) -> dict:
    if turn is not None:
        page.evaluate("t => window.pyratPlayer.seek(t)", turn)
    st = page.evaluate("window.pyratPlayer.state()")
    return st


# -- the page as text ------------------------------------------------------------------------------------------
def test_assets_are_shipped_and_need_no_network(tmp_path):
    paths = web.write_assets(tmp_path)
    assert sorted(p.name for p in paths) == ["player.css", "player.js"]
    js, css = web.asset_text("player.js"), web.asset_text("player.css")
    assert (tmp_path / "player.js").read_text() == js
    assert "</script" not in js.lower() and "<!--" not in js and "</style" not in css.lower()
    for text in (js, css):
        assert not re.search(r"\b(fetch|XMLHttpRequest|importScripts|WebSocket)\s*\(", text)
        assert not re.search(r"(src|href|url)\s*[=(]\s*[\"']?https?:", text), "a network resource in the player"
        assert "@import" not in text
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = patterns["pyrat_env.viewer"]
    for path in (ROOT / "pyrat_env" / "viewer" / "web").iterdir():
        assert any(path.relative_to(ROOT / "pyrat_env" / "viewer").match(p) for p in shipped), path


def test_replay_page_inlines_everything_and_escapes_names(replay):
    game = json.loads(json.dumps(replay))
    old = game["players"][0]["name"]
    new = "</script><script>alert(1)</script><!--"
    game["players"][0]["name"] = new
    for st in game["states"]:
        for key in ("locations", "scores", "muds"):
            st[key][new] = st[key].pop(old)
    page = web.replay_page(game, title="<i>title</i>", turn=3)
    assert page.count("</script>") == 2            # the data block and the player's script, nothing else
    assert "<i>title</i>" not in page and "&lt;i&gt;title&lt;/i&gt;" in page
    assert "alert(1)</script>" not in page and "<!--" not in page
    assert _json_block(page) == game                 # escaped for HTML, unchanged for JSON.parse
    assert 'data-turn="3"' in page and "<link" not in page and "<script src" not in page


def test_game_page_references_the_shared_assets(replay):
    page = web.game_page(replay, "../assets/", title="t", back_link=("../index.html", "standings"))
    assert '<link rel="stylesheet" href="../assets/player.css">' in page
    assert '<script src="../assets/player.js"></script>' in page
    assert 'href="../index.html"' in page and _json_block(page) == replay


def test_watch_html_writes_one_page_without_pygame(replay_file, tmp_path):
    out = tmp_path / "sub" / "page.html"
    code = ("import sys; from pyrat_env.cli import main; rc = main(sys.argv[1:]); "
            "assert 'pygame' not in sys.modules, 'pygame was imported'; sys.exit(rc)")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-c", code, "watch", str(replay_file), "--html", str(out), "--turn", "5"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout
    page = out.read_text(encoding="utf-8")
    assert 'data-turn="5"' in page and _json_block(page) == load_game_file(replay_file)[0]
    assert not list(out.parent.glob("*.part"))


@pytest.mark.parametrize("kind", ["missing", "malformed", "off_the_maze", "bad_turn", "bad_game", "both_outputs"])
def test_watch_html_bad_input_is_one_line(kind, replay_file, tmp_path, capsys):
    out = tmp_path / "never.html"
    path, extra = replay_file, []
    if kind == "missing":
        path = tmp_path / "nope.json"
    elif kind == "malformed":
        path = tmp_path / "bad.json"
        path.write_text('{"format": "pyrat-replay/1", "width": 3,,}')
    elif kind == "off_the_maze":
        game = json.loads(gzip.decompress(replay_file.read_bytes()))
        game["states"][3]["locations"]["greedy"] = 10_000
        path = tmp_path / "off.json"
        path.write_text(json.dumps(game))
    elif kind == "bad_turn":
        extra = ["--turn", "99999"]
    elif kind == "bad_game":
        extra = ["--game", "3"]
    else:
        extra = ["--screenshot", str(tmp_path / "x.png")]
    rc = pyrat_main(["watch", str(path), "--html", str(out), *extra])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "Traceback" not in err, err
    if kind not in ("both_outputs",):
        assert str(path) in err
    assert not out.exists()


def test_the_page_speed_default_is_the_window_default():
    pytest.importorskip("pygame")
    from pyrat_env.viewer import app, cli

    assert cli.DEFAULT_SPEED == app.DEFAULT_SPEED


# -- the site as files ----------------------------------------------------------------------------------------------
def test_publish_writes_every_page_and_every_link_resolves(site, tournament):
    from pyrat_rl.agents.tournament.store import TournamentStore

    out = Path(site["out"])
    with TournamentStore(tournament["db"]) as store:
        games = store.games(tournament["id"])
    assert site["tournament"] == tournament["id"] and site["games"] == len(games) == 6
    assert site["problems"] == {} and site["replays"] == 6 and site["pages"] == 1 + 3 + 6
    assert (out / "index.html").is_file() and (out / "assets" / "player.js").is_file()
    assert len(list((out / "agents").glob("*.html"))) == 3
    assert sorted(p.stem for p in (out / "games").glob("*.html")) == sorted(g["key"] for g in games)
    pages = list(out.rglob("*.html"))
    for page in pages:
        for link in links_of(page):
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc, f"{page.name}: non-local link {link}"
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.is_file(), f"{page.relative_to(out)} links to {link}, which does not exist"
    index_links = links_of(out / "index.html")
    assert all(f"games/{g['key']}.html" in index_links for g in games)


def test_publish_escapes_what_agents_control(site):
    out = Path(site["out"])
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert NASTY not in text, page      # escaped in the HTML, \u003c in the inlined replay data
        assert "<script>alert" not in text and "<i>boom" not in text and "<b>bold" not in text, page
    naughty = next(p for p in (out / "agents").glob("*.html") if "naughty" in p.name).read_text()
    assert "&lt;i&gt;boom&lt;/i&gt; &lt;/script&gt;" in naughty              # the error message, as text
    assert "&lt;script&gt;alert(&#x27;printed&#x27;)&lt;/script&gt;" in naughty   # what it printed, as text
    assert "&lt;b&gt;x&lt;/b&gt;" in (out / "index.html").read_text()


def test_publish_lists_replay_problems_and_does_not_link_them(tournament, tmp_path):
    import shutil

    from pyrat_rl.agents.tournament.publish import publish
    from pyrat_rl.agents.tournament.store import TournamentStore

    # A copy of the tournament (the database and its replays) with one replay gone and one corrupted.
    folder = tmp_path / "copy"
    shutil.copytree(tournament["folder"], folder, ignore=shutil.ignore_patterns("site*"))
    db = folder / "t.sqlite"
    with TournamentStore(db) as store:
        games = store.games(tournament["id"])
    gone, broken = games[0], games[1]
    (db.parent / gone["replay"]).unlink()
    (db.parent / broken["replay"]).write_bytes(b"\x1f\x8bnot gzip at all")
    result = publish(db, tmp_path / "site")
    assert set(result["problems"]) == {gone["key"], broken["key"]}
    assert result["replays"] == 4
    out = Path(result["out"])
    index = (out / "index.html").read_text()
    assert 'class="pyrat-warning"' in index and "Replay problems" in index
    for g in (gone, broken):
        assert g["key"] in index and f"games/{g['key']}.html" not in index
        assert not (out / "games" / f"{g['key']}.html").exists()
    for page in (out / "agents").glob("*.html"):
        assert f"games/{gone['key']}.html" not in page.read_text()


def test_publish_bad_input(tournament, tmp_path):
    from pyrat_rl.agents.tournament.publish import PublishError, add_publish_arguments, publish, run_publish

    parser = ArgumentParser(prog="pyrat tournament")
    add_publish_arguments(parser.add_subparsers(dest="action"))
    with pytest.raises(PublishError, match="no such database"):
        publish(tmp_path / "none.sqlite", tmp_path / "site")
    assert not (tmp_path / "none.sqlite").exists()          # not created by the attempt
    text = tmp_path / "notes.sqlite"
    text.write_text("these are not the results you are looking for\n" * 100)
    with pytest.raises(PublishError, match="not a tournament database"):
        publish(text, tmp_path / "site")
    with pytest.raises(PublishError, match="no|match"):
        publish(tournament["db"], tmp_path / "site", tournament="ffffffffzz")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(PublishError, match="not empty"):
        publish(tournament["db"], mine)
    assert (mine / "thesis.tex").read_text() == "precious" and len(list(mine.iterdir())) == 1
    args = parser.parse_args(["publish", "--db", str(text), "--out", str(tmp_path / "site")])
    with pytest.raises(UsageError) as err:
        run_publish(args)
    assert "\n" not in str(err.value) and str(text) in str(err.value)
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["publish", "--db", str(text)])
    assert exit_.value.code == 2
    assert not list(tmp_path.glob(".site.*"))                # no temporary folder left behind


def test_publish_replaces_its_own_site(tournament, tmp_path, capsys):
    from pyrat_rl.agents.tournament.publish import add_publish_arguments, run_publish

    parser = ArgumentParser(prog="pyrat tournament")
    add_publish_arguments(parser.add_subparsers(dest="action"))
    out = tmp_path / "site"
    args = parser.parse_args(["publish", "--db", str(tournament["db"]), "--out", str(out), "--bootstrap", "20"])
    assert run_publish(args) == 0
    (out / "agents" / "stale.html").write_text("old")
    assert run_publish(args) == 0
    printed = capsys.readouterr().out
    assert "index.html" in printed and "3 agent pages" in printed and "6 game pages" in printed
    assert not (out / "agents" / "stale.html").exists() and (out / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]   # nothing left beside it


# -- in the browser --------------------------------------------------------------------------------------------------
def _need_browser():
    """Playwright's sync API, or a skip (a failure under CI) saying what is missing."""
    ci = bool(os.environ.get("CI"))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install playwright; the browser is Debian's /usr/bin/chromium)"
        if ci:
            pytest.fail(f"CI: {reason}")
        pytest.skip(reason)
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if ci:
            pytest.fail(f"CI: {reason}")
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _need_browser()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser):
    """A fresh page (1100x800, scale 1) that records script errors and every URL it asks for."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, device_scale_factor=1)
    pg = context.new_page()
    pg.errors = []
    pg.requests = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.on("console", lambda msg: pg.errors.append(msg.text) if msg.type == "error" else None)
    pg.on("request", lambda req: pg.requests.append(req.url))
    yield pg
    context.close()
    assert not pg.errors, pg.errors
    assert all(u.startswith(("file://", "data:", "about:")) for u in pg.requests), pg.requests


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.pyratPlayer !== undefined")


def _canvas(page) -> bytes:
    return page.locator("canvas.pyrat-canvas").screenshot()


@pytest.mark.browser
def test_player_shows_the_states_of_the_replay(page, page_file, replay):
    _open(page, page_file.as_uri())
    states = replay["states"]
    last = len(states) - 1
    assert page.evaluate("window.pyratPlayer.nTurns") == len(states)
    first = _shown(page)
    assert first["turn"] == 0 and not first["playing"]
    mud_turn = next((t for t, st in enumerate(states) if any(m["target"] is not None for m in st["muds"].values())),
                    None)
    turns = sorted({0, 1, last // 3, last // 2, last - 1, last} | ({mud_turn} if mud_turn is not None else set()))
    for t in turns:
        st = _shown(page, t)
        assert st["turn"] == t
        assert {k: st[k] for k in ("locations", "scores", "cheese")} == _expected(states[t]), t
        assert st["muds"] == states[t]["muds"]
        assert page.locator(".pyrat-turn-number").inner_text() == str(states[t]["turn"])
        assert page.locator(".pyrat-range").input_value() == str(t)
    page.evaluate("window.pyratPlayer.seek(99999)")
    assert _shown(page)["turn"] == last
    assert "Game over" in page.locator(".pyrat-result").inner_text()
    names = page.locator(".pyrat-name").all_inner_texts()
    assert names == [p["name"] for p in replay["players"]]
    scores = page.locator(".pyrat-score").all_inner_texts()
    assert [float(s) for s in scores] == [states[last]["scores"][p["name"]] for p in replay["players"]]
    if mud_turn is not None:
        page.evaluate("t => window.pyratPlayer.seek(t)", mud_turn)
        assert page.locator(".pyrat-mud:visible").count() >= 1


@pytest.mark.browser
def test_frames_differ_where_a_player_moved_and_repeat_exactly(page, page_file, replay):
    _open(page, page_file.as_uri())
    states = replay["states"]
    t1 = next(t for t in range(1, len(states)) if states[t]["locations"] != states[t - 1]["locations"]) - 1
    t2 = t1 + 1
    page.evaluate("t => window.pyratPlayer.seek(t)", t1)
    a = _canvas(page)
    page.evaluate("t => window.pyratPlayer.seek(t)", t2)
    b = _canvas(page)
    page.evaluate("t => window.pyratPlayer.seek(t)", t1)
    c = _canvas(page)
    assert a != b, f"turns {t1} and {t2} look the same although a player moved"
    assert a == c, f"turn {t1} drawn twice gives different pixels"
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"canvas_turn_{t1}.png").write_bytes(a)
    (SHOTS / f"canvas_turn_{t2}.png").write_bytes(b)
    page.evaluate("window.pyratPlayer.seek(window.pyratPlayer.last)")
    page.screenshot(path=str(SHOTS / "player_last_turn.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.parametrize("how", ["hash", "query", "last", "attribute"])
def test_the_address_opens_at_a_turn(page, page_file, replay, replay_file, tmp_path, how):
    states = replay["states"]
    t = len(states) // 2
    if how == "hash":
        url, want = page_file.as_uri() + f"#turn={t}", t
    elif how == "query":
        url, want = page_file.as_uri() + f"?turn={t}", t
    elif how == "last":
        url, want = page_file.as_uri() + "#turn=last", len(states) - 1
    else:   # pyrat watch --turn writes the turn into the page
        out = tmp_path / "at.html"
        assert pyrat_main(["watch", str(replay_file), "--html", str(out), "--turn", "-2"]) == 0
        url, want = out.as_uri(), len(states) - 2
    _open(page, url)
    st = _shown(page)
    assert st["turn"] == want and not st["playing"]
    assert _expected(states[want]) == {k: st[k] for k in ("locations", "scores", "cheese")}
    if how == "hash":   # a new #turn= in the address moves the player
        page.evaluate("location.hash = '#turn=2'")
        page.wait_for_function("window.pyratPlayer.state().turn === 2")


@pytest.mark.browser
def test_play_advances_and_pause_stops(page, page_file, replay):
    _open(page, page_file.as_uri())
    assert page.evaluate("location.hash") == ""          # opening does not touch the address
    page.evaluate("window.pyratPlayer.setSpeed(64); window.pyratPlayer.play()")
    page.wait_for_function("window.pyratPlayer.state().turn >= 5", timeout=10_000)
    assert _shown(page)["playing"]
    page.evaluate("window.pyratPlayer.pause()")
    t = _shown(page)["turn"]
    page.wait_for_timeout(300)
    assert _shown(page)["turn"] == t and not _shown(page)["playing"]
    page.keyboard.press("ArrowRight")
    assert _shown(page)["turn"] == t + 1
    assert page.evaluate("location.hash") == f"#turn={t + 1}"   # a link to the turn shown, to copy
    page.keyboard.press("Home")
    assert _shown(page)["turn"] == 0
    page.locator(".pyrat-play").click()
    page.wait_for_function("window.pyratPlayer.state().turn >= 1", timeout=10_000)
    page.keyboard.press(" ")
    assert not _shown(page)["playing"]


@pytest.mark.browser
@pytest.mark.parametrize("name, game", [("three_teams.json.gz", 1), ("four_players_one_team.json.gz", 0)])
def test_official_traces_with_several_players(page, tmp_path, name, game):
    trace = load_game_file(TRACES / name)[game]
    out = tmp_path / "trace.html"
    assert pyrat_main(["watch", str(TRACES / name), "--game", str(game), "--html", str(out)]) == 0
    _open(page, out.as_uri() + "#turn=last")
    last = len(trace["states"]) - 1
    st = _shown(page)
    assert st["turn"] == last and _expected(trace["states"][last]) == {k: st[k] for k in ("locations", "scores",
                                                                                          "cheese")}
    assert page.locator(".pyrat-card").count() == len(trace["players"])


@pytest.mark.browser
def test_the_published_site_in_the_browser(page, site, tournament):
    from pyrat_rl.agents.tournament.store import TournamentStore

    out = Path(site["out"])
    _index = (out / "index.html").as_uri()
    page.goto(_index)
    assert page.locator("h1").inner_text().startswith("Tournament")
    rows = page.locator("table").first.locator("tbody tr")
    assert rows.count() == 3
    # The agent named <b>x</b>: shown as text everywhere, never as markup.
    link = page.get_by_role("link", name=NASTY, exact=True).first
    assert link.inner_text() == NASTY
    assert page.evaluate("document.querySelectorAll('td b, td a b, h1 b').length") == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "site_index.png"), full_page=True)
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(".html") and "/agents/" in page.url
    assert page.locator("h1").inner_text() == NASTY
    assert page.evaluate("document.querySelectorAll('h1 b').length") == 0
    page.screenshot(path=str(SHOTS / "site_agent.png"), full_page=True)
    # Follow a game: the player shows that game's replay.
    page.get_by_role("link", name="watch").first.click()
    page.wait_for_function("window.pyratPlayer !== undefined")
    key = Path(urlsplit(page.url).path).stem
    with TournamentStore(tournament["db"]) as store:
        row = next(g for g in store.games(tournament["id"]) if g["key"] == key)
    replay = load_game_file(tournament["db"].parent / row["replay"])[0]
    for t in (0, len(replay["states"]) - 1):
        st = _shown(page, t)
        assert _expected(replay["states"][t]) == {k: st[k] for k in ("locations", "scores", "cheese")}
    assert NASTY in page.locator(".pyrat-name").all_inner_texts()
    assert page.evaluate("document.querySelectorAll('.pyrat-name b').length") == 0
    page.screenshot(path=str(SHOTS / "site_game.png"), full_page=True)
    # Back to the standings.
    page.get_by_role("link", name="standings").first.click()
    page.wait_for_load_state()
    assert page.url == _index
    # The agent that printed HTML: its output is text on its page.
    naughty = next(p for p in (out / "agents").glob("*.html") if "naughty" in p.name)
    page.goto(naughty.as_uri())
    page.locator("details summary").first.click()
    assert "<script>alert('printed')</script>" in page.locator("pre.pyrat-output").first.inner_text()
    assert page.evaluate("document.querySelectorAll('pre b, li i, code i').length") == 0
