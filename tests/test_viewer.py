"""The pygame viewer, headless: frames follow the game, keys and the mouse move the shown turn, bad files
give one-line errors, screenshots are written, drawing scales from 7x5 to 41x31, live watching works.

Replays are built here from the engine (a greedy player against a random one), so most tests need no
data files; one draws a few official traces (the ``official_traces`` fixture: ``../shared/pyrat-game-traces``
when present, else the copies in ``tests/data/traces``).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pygame = pytest.importorskip("pygame")

from pyrat_env.cli import main as pyrat_main  # noqa: E402
from pyrat_env.engine import ACTION_NAMES  # noqa: E402
from pyrat_env.mazes import GameConfig, new_game, preset  # noqa: E402
from pyrat_env.paths import distance_matrix, first_moves_towards  # noqa: E402
from pyrat_env.replay import load_replay, save_replay  # noqa: E402
from pyrat_env.viewer import render  # noqa: E402
from pyrat_env.viewer.app import ViewerApp  # noqa: E402
from pyrat_env.viewer.live import LiveWatcher  # noqa: E402

NAMES = ("rat", "python")


# -- test data: replays played on the engine -------------------------------------------------------------
def _greedy(game, p: int) -> int:
    if not game.cheese:
        return 0
    d = distance_matrix(game.maze)[game.pos[p]]
    target = min(game.cheese, key=lambda c: (d[c], c))
    moves = first_moves_towards(game.maze, game.pos[p], target)
    return moves[0] if moves else 0


def build_replay(config, seed: int, max_turns: int = 300) -> dict:
    """A pyrat-replay/1 dict: seat 0 greedy, seat 1 random, played on the engine."""
    setup = new_game(config, seed)
    game = setup.game()
    rng = np.random.default_rng(seed)
    actions: list[list[str]] = [[] for _ in NAMES]
    states = [game.snapshot(NAMES)]
    game.step([0] * len(NAMES))
    states.append(game.snapshot(NAMES))
    while not game.over and game.turn <= max_turns:
        acts = []
        for p in range(len(NAMES)):
            a = 0
            if not game.in_mud(p):
                a = _greedy(game, p) if p == 0 else int(rng.integers(0, 5))
                actions[p].append(ACTION_NAMES[a])
            acts.append(a)
        game.step(acts)
        states.append(game.snapshot(NAMES))
    scores = states[-1]["scores"]
    result = None
    if game.over:
        reason = "all_cheese_eaten" if not game.cheese else "ranking_decided"
        best = max(scores.values())
        leaders = [n for n in NAMES if scores[n] == best]
        result = {"scores": scores, "team_scores": scores, "winner": leaders[0] if len(leaders) == 1 else None,
                  "draw": len(leaders) > 1, "reason": reason, "turns": len(states) - 2}
    replay = {
        "format": "pyrat-replay/1", "width": setup.maze.width, "height": setup.maze.height,
        "maze": setup.maze.to_dict(), "cheese": list(setup.cheese),
        "players": [{"name": n, "team": n, "agent": "greedy" if p == 0 else "random", "start": setup.starts[p],
                     "actions": actions[p], "think_times": [0.0] * len(actions[p])} for p, n in enumerate(NAMES)],
        "states": states, "stats": {"turns": len(states) - 2, "scores": scores},
        "config": setup.config.to_dict(), "seed": seed,
    }
    if result is not None:
        replay["result"] = result
    return replay


@pytest.fixture(scope="module")
def replay() -> dict:
    return build_replay(GameConfig(width=11, height=9, nb_cheese=12, starts=("top_left", "bottom_right")), seed=5)


@pytest.fixture(scope="module")
def replay_file(replay, tmp_path_factory) -> Path:
    return save_replay(replay, tmp_path_factory.mktemp("replays") / "game.json.gz")


def _key(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))


def _frame(replay: dict, turn: int, size=(900, 600)) -> tuple[np.ndarray, render.Layout]:
    surf = render.draw_replay_frame(replay, turn, size=size)
    model = render.GameModel(replay)
    lay = render.compute_layout(size, model.maze.width, model.maze.height, panel=True, seekbar=False)
    return render.surface_to_array(surf), lay


def _crop(arr: np.ndarray, rect) -> np.ndarray:
    return arr[rect.y:rect.bottom, rect.x:rect.right].astype(int)


# -- frames follow the game ---------------------------------------------------------------------------------
def test_frames_change_where_a_player_moved(replay):
    states = replay["states"]
    width = replay["width"]
    t = next(i for i in range(2, len(states))
             if states[i]["locations"]["rat"] != states[i - 1]["locations"]["rat"]
             and states[i]["muds"]["rat"]["target"] is None and states[i - 1]["muds"]["rat"]["target"] is None)
    before, lay = _frame(replay, t - 1)
    after, _ = _frame(replay, t)
    again, _ = _frame(replay, t)
    assert np.array_equal(after, again), "drawing is deterministic"
    for cell in (states[t - 1]["locations"]["rat"], states[t]["locations"]["rat"]):
        diff = np.abs(_crop(before, lay.cell_rect(cell, width)) - _crop(after, lay.cell_rect(cell, width)))
        assert (diff.sum(axis=2) > 60).mean() > 0.2, f"cell {cell} should look different after the move"


def _yellow_share(arr: np.ndarray, rect) -> float:
    px = _crop(arr, rect)
    near = [np.abs(px - np.array(c)).sum(axis=2) < 40 for c in (render.sprites.CHEESE_TOP, render.sprites.CHEESE_FRONT)]
    return float((near[0] | near[1]).mean())


def test_cheese_pixels_vanish_when_eaten(replay):
    states = replay["states"]
    width = replay["width"]
    t, cell = next((i, c) for i in range(2, len(states))
                   for c in states[i - 1]["cheese"] if c not in states[i]["cheese"])
    # Once the eater has moved on, the cell shows floor only.
    later = next((j for j in range(t + 1, len(states))
                  if cell not in states[j]["locations"].values()
                  and all(m["target"] is None for m in states[j]["muds"].values())), None)
    before, lay = _frame(replay, t - 1)
    rect = lay.cell_rect(cell, width)
    assert _yellow_share(before, rect) > 0.05
    at, _ = _frame(replay, t)
    assert _yellow_share(at, rect) < _yellow_share(before, rect) / 3
    if later is not None:
        gone, _ = _frame(replay, later)
        assert _yellow_share(gone, rect) < 0.005


def test_mud_and_the_result_are_shown(replay):
    model = render.GameModel(replay)
    assert model.finished and model.result() is not None
    headline, reason, _ = model.result()
    assert reason in render.REASONS.values()
    assert "wins" in headline or "Draw" in headline
    # A player in mud is drawn part of the way along the mud edge.
    stuck = [(i, p) for i, st in enumerate(replay["states"]) for p, n in enumerate(NAMES)
             if st["muds"][n]["target"] is not None]
    if stuck:
        i, p = stuck[0]
        st = replay["states"][i]
        x, y = model.points(i)[p]
        r, c = divmod(st["locations"][NAMES[p]], replay["width"])
        assert (x, y) != (c + 0.5, r + 0.5)
        assert abs(x - (c + 0.5)) < 1 and abs(y - (r + 0.5)) < 1


def test_describe_result_without_a_result_key():
    players = [render.PlayerStyle("a", (1, 1, 1), "rat", team="A"), render.PlayerStyle("b", (2, 2, 2), "rat", team="A"),
               render.PlayerStyle("c", (3, 3, 3), "python", team="B")]
    final = {"scores": {"a": 2, "b": 1.5, "c": 3}, "cheese": []}
    headline, reason, color = render.describe_result(None, final, players)
    assert headline == "team A wins 3.5 - 3" and reason == render.REASONS["all_cheese_eaten"] and color == (1, 1, 1)
    tie = {"scores": {"a": 1, "b": 1, "c": 2}, "cheese": [4]}
    assert render.describe_result({"reason": "max_turns"}, tie, players)[0].startswith("Draw")
    assert render.describe_result(None, {"scores": {"a": 2}, "cheese": []}, players[:1])[0] == "A scored 2"


LONG = ("the_greediest_rat_in_the_whole_town", "a-python-with-an-even-longer-name")


@pytest.mark.parametrize("size", [(560, 420), (400, 300), (1280, 860)])
def test_the_result_box_shows_the_whole_result(replay, monkeypatch, size):
    """Long agent names at small window sizes: the headline and the reason are drawn whole (no "..."), on as
    many lines as they need, each line measured with the font no wider than the box."""
    text = json.dumps(replay)
    for old, new in zip(NAMES, LONG):
        text = text.replace(f'"{old}"', f'"{new}"')
    long = json.loads(text)
    drawn: list[tuple[str, int, int | None]] = []
    real = render.blit_text

    def recording(surface, s, pos, size, color, anchor="topleft", outline=None, max_width=None):
        drawn.append((s, size, max_width))
        return real(surface, s, pos, size, color, anchor, outline, max_width)

    monkeypatch.setattr(render, "blit_text", recording)
    render.draw_replay_frame(long, len(long["states"]) - 1, size=size)
    headline, reason, _ = render.GameModel(long).result()
    assert LONG[0] in headline or LONG[1] in headline
    box = [d for d in drawn[next(i for i, d in enumerate(drawn) if d[0] == "Game over") + 1:]]
    lines = [s for s, _, _ in box]
    assert "".join(lines).replace(" ", "") == (headline + reason).replace(" ", ""), lines
    panel = render.compute_layout(size, long["width"], long["height"]).panel_rect
    for s, font_size, max_width in box:
        assert max_width is not None and max_width < panel.w
        assert render.font(font_size).size(s)[0] <= max_width, (s, max_width)
    big = box[0][1]
    if size[0] < 1000:   # without wrapping, the headline would not have fitted
        assert render.font(big).size(headline)[0] > box[0][2]


def test_wrap_text_keeps_the_figures_together():
    size = 20
    width = render.font(size).size("wins 11 - 9")[0]
    assert render.wrap_text("greedy wins 11 - 9", size, width) == ["greedy", "wins 11 - 9"]
    assert render.wrap_text("Draw 10.5 - 10.5", size, 10_000) == ["Draw 10.5 - 10.5"]
    assert render.wrap_text("", size, 50) == [""]


# -- the interactive app ---------------------------------------------------------------------------------------
def test_keys_and_mouse_move_the_shown_turn(replay):
    app = ViewerApp(replay, playing=False, size=(900, 600))
    try:
        last = app.last
        assert app.turn == 0 and last == len(replay["states"]) - 1
        _key(pygame.K_RIGHT)
        app.step_frame(0.0)
        assert app.turn == 1
        _key(pygame.K_RIGHT)
        _key(pygame.K_RIGHT)
        _key(pygame.K_LEFT)
        app.step_frame(0.0)
        assert app.turn == 2
        _key(pygame.K_END)
        app.step_frame(0.0)
        assert app.turn == last
        _key(pygame.K_RIGHT)
        app.step_frame(0.0)
        assert app.turn == last, "no turn after the last"
        _key(pygame.K_HOME)
        app.step_frame(0.0)
        assert app.turn == 0
        _key(pygame.K_PAGEDOWN)
        app.step_frame(0.0)
        assert app.turn == min(10, last)
        _key(pygame.K_HOME)
        _key(pygame.K_SPACE)
        app.step_frame(0.0)
        assert app.playing and app.turn == 0
        app.step_frame(0.5)  # 8 turns per second
        assert app.turn == 4
        _key(pygame.K_UP)
        app.step_frame(0.0)
        assert app.speed > 8
        _key(pygame.K_DOWN)
        _key(pygame.K_DOWN)
        app.step_frame(0.0)
        assert app.speed < 8
        _key(pygame.K_SPACE)
        app.step_frame(1.0)
        assert not app.playing and app.turn == 4
        # The seek bar: a click in its middle shows the middle turn, a drag follows the mouse.
        track = app.layout().seek_track()
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=track.center))
        app.step_frame(0.0)
        assert abs(app.turn - last / 2) <= 1
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(track.right, track.centery), rel=(1, 0),
                                             buttons=(1, 0, 0)))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(track.right, track.centery)))
        app.step_frame(0.0)
        assert app.turn == last
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(track.x, track.centery)))
        app.step_frame(0.0)
        assert app.turn == 0
        # Help, then quit.
        _key(pygame.K_h)
        app.step_frame(0.0)
        assert app.show_help
        _key(pygame.K_ESCAPE)
        app.step_frame(0.0)
        assert not app.show_help and app.running
        _key(pygame.K_q)
        app.step_frame(0.0)
        assert not app.running
    finally:
        app.close()


def test_run_loop_plays_to_the_end_and_quits(replay):
    app = ViewerApp(replay, speed=120, size=(640, 420))
    try:
        assert app.run(max_frames=3) == 0 and app.frames == 3 and app.running
        app.tick(10.0)
        assert app.turn == app.last and not app.playing
        _key(pygame.K_SPACE)  # play again from the start
        app.step_frame(0.0)
        assert app.playing and app.turn == 0
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        assert app.run() == 0 and not app.running
    finally:
        app.close()


def test_window_resizes(replay):
    app = ViewerApp(replay, playing=False, size=(900, 600))
    try:
        small = app.layout()
        app.screen = pygame.display.set_mode((500, 360), pygame.RESIZABLE)
        pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(500, 360), w=500, h=360))
        app.step_frame(0.0)
        lay = app.layout()
        assert lay.size == (500, 360) and lay.cell < small.cell
        assert lay.maze_rect.right <= lay.panel_rect.x and lay.maze_rect.bottom <= lay.seek_rect.y
    finally:
        app.close()


# -- the command line ---------------------------------------------------------------------------------------------
def _bad_files(tmp: Path, good: Path) -> dict[str, Path]:
    files = {"missing": tmp / "nothing-here.json"}
    files["malformed"] = tmp / "malformed.json"
    files["malformed"].write_text('{"format": "pyrat-replay/1", "width": 3,,}')
    raw = gzip.decompress(good.read_bytes())
    files["truncated_gzip"] = tmp / "truncated.json.gz"
    files["truncated_gzip"].write_bytes(gzip.compress(raw)[:200])
    files["truncated_json"] = tmp / "truncated.json"
    files["truncated_json"].write_bytes(raw[: len(raw) // 2])
    game = json.loads(raw)
    game["states"][3]["locations"]["rat"] = 10_000
    files["off_the_maze"] = tmp / "off_the_maze.json"
    files["off_the_maze"].write_text(json.dumps(game))
    files["not_a_game"] = tmp / "list.json"
    files["not_a_game"].write_text("[1, 2, 3]")
    return files


@pytest.mark.parametrize("kind", ["missing", "malformed", "truncated_gzip", "truncated_json", "off_the_maze",
                                  "not_a_game"])
def test_bad_replay_gives_one_line_naming_the_file(kind, replay_file, tmp_path, capsys):
    path = _bad_files(tmp_path, replay_file)[kind]
    rc = pyrat_main(["watch", str(path), "--screenshot", str(tmp_path / "never.png")])
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in err, err
    assert not (tmp_path / "never.png").exists()


def test_bad_replay_through_the_real_command(replay_file, tmp_path):
    path = _bad_files(tmp_path, replay_file)["truncated_gzip"]
    proc = subprocess.run([sys.executable, "-m", "pyrat_env.cli", "watch", str(path)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and str(path) in proc.stderr and "Traceback" not in proc.stderr


def test_gif_of_a_game(replay, replay_file, tmp_path, capsys):
    Image = pytest.importorskip("PIL.Image")
    out = tmp_path / "game.gif"
    assert pyrat_main(["watch", str(replay_file), "--turn", "2", "--gif", str(out), "--speed", "20"]) == 0
    states = replay["states"]
    with Image.open(out) as gif:
        assert gif.n_frames == len(states) - 2          # turns 2 to the last
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(np.asarray(gif.convert("RGB"), dtype=np.int16))
        durations = gif.info.get("duration")
    assert frames[0].shape[:2][::-1] == render.default_size(replay["width"], replay["height"], 2)
    # each frame is the window's frame of its turn, up to the GIF's 64 colours
    for k in (0, len(frames) // 2, len(frames) - 1):
        expected = render.surface_to_array(render.draw_replay_frame(
            replay, 2 + k, source=str(replay_file), title=replay_file.name)).astype(np.int16)
        assert np.mean(np.abs(frames[k] - expected)) < 6
    # frames differ where the game changed, and only there
    for k in range(len(frames) - 1):
        before, after = states[2 + k], states[3 + k]
        if before["locations"] != after["locations"] or before["scores"] != after["scores"]:
            assert not np.array_equal(frames[k], frames[k + 1]), k
    assert durations is not None
    capsys.readouterr()
    assert pyrat_main(["watch", str(replay_file), "--gif", str(out), "--screenshot", str(tmp_path / "x.png")]) == 2


def test_screenshot_of_the_last_turn(replay, replay_file, tmp_path, capsys):
    out = tmp_path / "shots" / "last.png"
    assert pyrat_main(["watch", str(replay_file), "--turn", "last", "--screenshot", str(out)]) == 0
    img = pygame.image.load(str(out))
    w, h = render.default_size(replay["width"], replay["height"], 2)
    assert img.get_size() == (w, h)
    expected = render.surface_to_array(render.draw_replay_frame(replay, len(replay["states"]) - 1,
                                                                source=str(replay_file), title=replay_file.name))
    assert np.array_equal(render.surface_to_array(img), expected)
    out2 = tmp_path / "t3.png"
    assert pyrat_main(["watch", str(replay_file), "--turn", "3", "--size", "640x400", "--screenshot", str(out2)]) == 0
    assert pygame.image.load(str(out2)).get_size() == (640, 400)
    capsys.readouterr()
    assert pyrat_main(["watch", str(replay_file), "--turn", "99999", "--screenshot", str(out2)]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "out of range" in err


# -- scaling and the environments' rgb_array ---------------------------------------------------------------------
@pytest.mark.parametrize("config", [preset("tiny"), GameConfig(width=41, height=31, nb_cheese=60,
                                                                  starts=("top_left", "bottom_right"))],
                         ids=["7x5", "41x31"])
def test_drawing_scales_with_the_window(config):
    rep = build_replay(config, seed=2, max_turns=12)
    maze = render.GameModel(rep).maze
    state = rep["states"][-1]
    for size in [(320, 240), (800, 600), (1280, 860), (1900, 1000), None]:
        arr = render.render_rgb(maze, state, list(NAMES), history=rep["states"][:-1], size=size)
        assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
        h, w = arr.shape[:2]
        if size is not None:
            assert (w, h) == size
        lay = render.compute_layout((w, h), maze.width, maze.height)
        assert lay.cell >= 2 and lay.maze_rect.right <= lay.panel_rect.x and lay.maze_rect.bottom <= h
        assert lay.maze_rect.x >= 0 and lay.maze_rect.y >= 0
        # The maze area shows floor, walls and the players' colours.
        maze_px = _crop(arr, lay.maze_rect).reshape(-1, 3)
        assert (np.abs(maze_px - np.array(render.FLOOR)).sum(axis=1) < 10).mean() > 0.1
        assert (np.abs(maze_px - np.array(render.WALL)).sum(axis=1) < 10).any()
    big = render.compute_layout((1280, 860), maze.width, maze.height)
    assert big.cell >= (18 if maze.width > 40 else 60)
    assert render.render_rgb(maze, state, panel=False, size=(200, 150)).shape == (150, 200, 3)


def test_render_rgb_defaults_and_multi_player_states():
    rep = build_replay(preset("tiny"), seed=4, max_turns=5)
    maze = render.GameModel(rep).maze
    arr = render.render_rgb(maze, rep["states"][0])
    assert arr.shape[2] == 3 and arr.shape[0] >= 300
    state = {"turn": 7, "locations": {"a": 0, "b": 0, "c": 1, "d": 34},
             "scores": {"a": 1 / 3, "b": 1 / 3, "c": 0, "d": 2},
             "muds": {"a": {"target": None, "count": 0}}, "cheese": []}
    arr = render.render_rgb(maze, state, teams=["x", "x", "y", "y"], result={}, size=(700, 500))
    assert arr.shape == (500, 700, 3)


def test_official_traces_without_optional_keys(official_traces, tmp_path):
    for name in ("four_players_one_team.json.gz", "three_teams.json.gz", "big_mud.json.gz"):
        out = tmp_path / f"{name}.png"
        assert pyrat_main(["watch", str(official_traces.file(name)), "--turn", "last", "--screenshot", str(out)]) == 0
        assert out.stat().st_size > 1000
    app = ViewerApp(load_replay(official_traces.file("three_teams.json.gz")), playing=False, size=(800, 500))
    try:
        _key(pygame.K_END)
        app.step_frame(0.0)
        assert app.scene().result is not None
    finally:
        app.close()


# -- live matches ---------------------------------------------------------------------------------------------
def test_live_watcher_follows_a_growing_replay(replay):
    growing = {k: v for k, v in replay.items() if k not in ("states", "result")}
    growing["states"] = []
    watcher = LiveWatcher(speed=1000)
    start = time.perf_counter()
    for st in replay["states"]:
        growing["states"].append(st)
        watcher(growing)
        assert watcher.active and watcher.app.turn == len(growing["states"]) - 1
        assert watcher.app.scene().result is None
    growing["result"] = replay["result"]
    watcher.close()
    assert not watcher.active and watcher.closed
    assert time.perf_counter() - start < 10
    watcher.close()  # twice is harmless


def test_live_watcher_escape_closes_the_window_and_the_match_goes_on(replay):
    growing = {k: v for k, v in replay.items() if k not in ("states", "result")}
    growing["states"] = replay["states"][:2]
    watcher = LiveWatcher()
    watcher(growing)
    assert watcher.active
    _key(pygame.K_ESCAPE)
    growing["states"] = replay["states"][:3]
    watcher(growing)
    assert watcher.closed and not watcher.active
    growing["states"] = replay["states"]
    watcher(growing)  # no window, no error
    watcher.close()


# -- import hygiene -------------------------------------------------------------------------------------------
def test_viewer_imports_pygame_lazily_and_never_torch():
    code = ("import sys; import pyrat_env.viewer as v; assert 'pygame' not in sys.modules; "
            "import pyrat_env.viewer.render, pyrat_env.viewer.app, pyrat_env.viewer.live, pyrat_env.viewer.cli; "
            "assert callable(v.render_rgb) and callable(v.LiveWatcher); assert 'torch' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_live_watcher_paces_turns_on_a_real_screen(replay, monkeypatch):
    """With a real screen (faked here) each turn stays up 1/speed s, and the final frame lingers."""
    import pyrat_env.viewer.app as app_module

    monkeypatch.setattr(app_module, "is_headless", lambda: False)
    growing = {k: v for k, v in replay.items() if k not in ("states", "result")}
    growing["states"] = []
    watcher = LiveWatcher(speed=50, linger=0.3)
    start = time.perf_counter()
    for st in replay["states"][:11]:
        growing["states"].append(st)
        watcher(growing)
    elapsed = time.perf_counter() - start
    assert 0.15 <= elapsed < 2.0, elapsed
    growing["result"] = replay["result"]
    start = time.perf_counter()
    watcher.close()
    assert 0.25 <= time.perf_counter() - start < 2.0
    # A key press ends the lingering early.
    watcher = LiveWatcher(speed=1000, linger=30)
    watcher(growing)
    _key(pygame.K_SPACE)
    start = time.perf_counter()
    watcher.close()
    assert time.perf_counter() - start < 2.0


def test_players_glide_between_turns_while_playing(replay):
    states = replay["states"]
    t = next(i for i in range(2, len(states)) if states[i]["locations"]["rat"] != states[i - 1]["locations"]["rat"])
    app = ViewerApp(replay, playing=False, turn=t - 1, size=(800, 500))
    try:
        app.step(1)
        assert app.turn == t
        start, end = app.model.points(t - 1)[0], app.model.points(t)[0]
        app.step_frame(0.03)  # part of the way
        mid = app.scene().points[0]
        assert mid != start and mid != end
        assert min(start[0], end[0]) <= mid[0] <= max(start[0], end[0])
        app.step_frame(1.0)
        assert app.scene().points[0] == end
    finally:
        app.close()
