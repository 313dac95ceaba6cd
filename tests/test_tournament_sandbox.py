"""Hostile students: one agent per attack, in one sandboxed tournament, beside two honest agents.

Each attacker file is written from a template with what a real attacker could learn (the database's path,
a classmate's file, the runner's pid, a port listening on this machine). The tournament runs as a separate
``pyrat tournament run`` process, as a teacher runs it. For each attack the test checks the effect
itself (the database, the replays, the classmate's file, the listener, this machine's processes and disk),
not only what the attacker says, and that the honest agents' games are exactly the games they play
without the attackers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from pyrat_rl.agents.tournament.sandbox import bwrap_problem

pytestmark = pytest.mark.skipif(bwrap_problem() is not None and not os.environ.get("CI"),
                                reason=f"bubblewrap cannot run here: {bwrap_problem()}")

# as a teacher runs it: the console script (``python -m`` would put the working folder first on the runner's path)
_SCRIPT = Path(sys.executable).parent / "pyrat"
PYRAT = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-P", "-m", "pyrat_env.cli"]

HEADER = '''
import gc, os, signal, socket, sys, time
from pyrat_rl.agents.scripted import GreedyAgent

def report(attack, outcome):
    print(f"ATTACK {attack}: {outcome}", flush=True)

def attempt(attack, fn):
    try:
        fn()
    except BaseException as exc:  # noqa
        report(attack, f"blocked ({type(exc).__name__})")
    else:
        report(attack, "SUCCEEDED")
'''

ATTACKS = {
    # rows written into the database, replays overwritten
    "dbwriter": '''
def attack():
    import sqlite3
    conn = sqlite3.connect({db!r}, timeout=1)
    conn.execute("INSERT INTO games (tournament, key, idx, round, swap, seed, seat0, seat1, score0, score1, winner, "
                 "reason, turns, timeouts0, timeouts1, errors0, errors1, details, seconds, finished) VALUES "
                 "('x', 'forged', 0, 0, 0, 0, 0, 1, 99, 0, 0, 'forged', 1, 0, 0, 0, 0, '{{}}', 0, 'now')")
    conn.commit()

def replays():
    os.makedirs({replays!r}, exist_ok=True)
    open(os.path.join({replays!r}, "forged.json"), "w").write("{{}}")

class Agent(GreedyAgent):
    def start(self, ctx):
        super().start(ctx)
        attempt("write the database", attack)
        attempt("write a replay", replays)
''',
    # a classmate's file read, and leaked through an exception into the replays
    "reader": '''
def attack():
    secret = open({classmate!r}).read()
    raise RuntimeError("LEAK " + secret)

def edit():
    open({classmate!r}, "a").write("\\nraise SystemExit('sabotaged')\\n")

class Agent(GreedyAgent):
    def start(self, ctx):
        super().start(ctx)
        attempt("read a classmate's file", lambda: open({classmate!r}).read())
        attempt("edit a classmate's file", edit)
        attempt("list the submissions", lambda: os.listdir({submissions!r}))
        attempt("read the host's secrets", lambda: open("/etc/shadow").read() or open("/etc/hostname").read())
        import json
        homes = {{}}
        for home in ("/root", "/home"):
            try:
                homes[home] = sorted(os.listdir(home))
            except OSError:
                homes[home] = None
        report("list the homes", json.dumps(homes))
    def act(self, game, seat):
        try:
            attack()
        except RuntimeError:
            raise
        except OSError:
            pass
        return super().act(game, seat)
''',
    # the runner, the opponent and anything that looks like them: stopped, killed
    "killer": '''
def victims():
    me, out = os.getpid(), []
    ancestors = set()
    pid = me
    while pid > 1:
        ancestors.add(pid)
        try:
            pid = int(open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[1])
        except Exception:
            break
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in ancestors and int(name) != 1:
            try:
                cmd = open(f"/proc/{{name}}/cmdline", "rb").read()
            except OSError:
                continue
            if b"pyrat" in cmd or b"pytest" in cmd or b"python" in cmd:
                out.append(int(name))
    return out

def attack():
    found = victims() + [{runner_parent}]
    for pid in found:
        try:
            os.kill(pid, signal.SIGSTOP)
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if any(os.path.exists(f"/proc/{{p}}") for p in found if p != {runner_parent}):
        raise RuntimeError("still alive")
    os.kill({runner_parent}, 0)   # raises when the pid cannot be seen

class Agent(GreedyAgent):
    def start(self, ctx):
        super().start(ctx)
        attempt("stop or kill the runner and the opponent", attack)
''',
    # a double fork and setsid: a process outliving its game
    "escaper": '''
def attack():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "{token}"])
        os._exit(0)
    time.sleep(0.2)

class Agent(GreedyAgent):
    def start(self, ctx):
        super().start(ctx)
        attack()
        report("escape the game with a double fork and setsid", "started")
''',
    # the network
    "networker": '''
def attack():
    socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"hello from the sandbox")

def outside():
    socket.create_connection(("1.1.1.1", 53), timeout=1)

class Agent(GreedyAgent):
    def start(self, ctx):
        super().start(ctx)
        attempt("connect to a port of this machine", attack)
        attempt("connect outside", outside)
''',
    # the disk
    "filler": '''
def attack(path):
    block = b"x" * (1 << 20)
    with open(path, "wb") as f:
        for _ in range(500):
            f.write(block)
        f.flush()

class Agent(GreedyAgent):
    def start(self, ctx):
        super().start(ctx)
        attempt("write 500 MB in the working folder", lambda: attack("big.bin"))
        attempt("write 500 MB in /tmp", lambda: attack("/tmp/big.bin"))
''',
    # garbage on the reply pipe
    "garbler": '''
class Agent(GreedyAgent):
    def act(self, game, seat):
        from pyrat_rl.agents.tournament.worker import Worker
        worker = next(o for o in gc.get_objects() if isinstance(o, Worker))
        os.write(worker.out_fd, b"\\x00\\x00\\x00\\x10not json at all!")
        time.sleep(0.5)
        return "north"
''',
    # the worker patched: replies with a fake think time and an action that is not a number
    "patcher": '''
from pyrat_rl.agents.tournament import worker as _worker

_send = _worker.Worker.send
def send(self, obj):
    if "action" in obj:
        turns = getattr(self, "turns", 0)
        if turns == 0:
            time.sleep(0.3)                   # slow, but claims to have been quick
        obj["elapsed"] = 0.0
        if turns >= 2:
            obj["action"] = "teleport"        # and then an action that is not a number
        self.turns = turns + 1
    _send(self, obj)
_worker.Worker.send = send

class Agent(GreedyAgent):
    pass
''',
}

HONEST = '''
from pyrat_rl.agents.scripted import GreedyAgent

SECRET = "{secret}"

class Alice(GreedyAgent):
    """A classmate's honest agent."""
'''


def _processes_with(token: str) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmd = f.read()
                with open(f"/proc/{name}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if token.encode() in cmd and state != "Z" and int(name) != os.getpid():
                out.append(int(name))
    return out


class Listener(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.done = False

    def run(self) -> None:
        while not self.done:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()


def _tournament(folder: Path, specs: list[str], db: Path, extra: list[str] = ()) -> subprocess.CompletedProcess:
    cmd = [*PYRAT, "tournament", "run", "--agents", *specs, "--preset", "tiny",
           "--seed", "5", "--db", str(db), "--turn-time", "0.2", "--max-timeouts", "3", "--memory-mb", "1024",
           "--quiet", "--json", *extra]
    return subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=600)


def _rows(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM games ORDER BY idx")]


@pytest.fixture(scope="module")
def attacked(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile")
    subs = root / "submissions"
    subs.mkdir()
    secret = uuid.uuid4().hex
    token = f"escaped-{uuid.uuid4().hex[:10]}"
    alice = subs / "alice.py"
    alice.write_text(HONEST.format(secret=secret))
    alice_text = alice.read_text()
    db = root / "course.sqlite"
    listener = Listener()
    listener.start()
    fields = {"db": str(db), "replays": str(root / "course-replays"), "classmate": str(alice),
              "submissions": str(subs), "runner_parent": os.getpid(), "token": token, "port": listener.port}
    for name, body in ATTACKS.items():
        (subs / f"{name}.py").write_text(HEADER + body.format(**fields))
    # a planted package in the teacher's working folder, which a "python -m" would put first on the path
    planted = root / "pyrat_rl" / "agents"
    planted.mkdir(parents=True)
    for pkg in (root / "pyrat_rl", planted):
        (pkg / "__init__.py").write_text("print('PLANTED CODE RAN'); raise SystemExit(9)\n")
    disk_before = shutil.disk_usage(root).used
    t0 = time.monotonic()
    run = _tournament(root, ["greedy", "submissions/alice.py", *(f"submissions/{n}.py" for n in ATTACKS)], db)
    seconds = time.monotonic() - t0
    listener.done = True
    # the honest pair alone, in another folder, for comparison
    clean_root = tmp_path_factory.mktemp("clean")
    shutil.copy(alice, clean_root / "alice.py")
    clean_db = clean_root / "clean.sqlite"
    clean = _tournament(clean_root, ["greedy", "alice.py"], clean_db)
    return {"run": run, "db": db, "rows": _rows(db), "clean": clean, "clean_rows": _rows(clean_db),
            "alice": alice, "alice_text": alice_text, "secret": secret, "token": token, "listener": listener,
            "disk_growth": shutil.disk_usage(root).used - disk_before, "seconds": seconds, "root": root}


def _names(a) -> list[str]:
    return [x["name"] for x in json.loads(a["run"].stdout)["standings"]] if a["run"].stdout else []


def _games_of(a, name: str) -> list[dict]:
    index = {n: i for i, n in enumerate(["greedy", "alice", *ATTACKS])}[name]
    return [r for r in a["rows"] if index in (r["seat0"], r["seat1"])]


def _output(a, name: str) -> str:
    index = {n: i for i, n in enumerate(["greedy", "alice", *ATTACKS])}[name]
    out = []
    for r in a["rows"]:
        details = json.loads(r["details"])
        for seat in (0, 1):
            if r[f"seat{seat}"] == index:
                out.append(details["outputs"][seat] or "")
    return "\n".join(out)


def _own(row: dict, name: str, field: str):
    index = {n: i for i, n in enumerate(["greedy", "alice", *ATTACKS])}[name]
    return row[f"{field}{0 if row['seat0'] == index else 1}"]


def test_the_tournament_finishes_and_records_every_game(attacked) -> None:
    run = attacked["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    data = json.loads(run.stdout)
    n = 2 + len(ATTACKS)
    assert data["games"] == data["scheduled"] == n * (n - 1) and data["complete"]
    assert len(attacked["rows"]) == n * (n - 1)
    keys = [r["key"] for r in attacked["rows"]]
    assert len(set(keys)) == len(keys) and "forged" not in keys
    assert all(r["tournament"] == data["tournament"] for r in attacked["rows"])


def test_the_database_and_replays_cannot_be_written(attacked) -> None:
    out = _output(attacked, "dbwriter")
    assert "ATTACK write the database: blocked" in out
    # (its replay write "succeeds" when the test's folder is under /tmp: into the sandbox's private /tmp)
    replays = attacked["root"] / "course-replays"
    assert not (replays / "forged.json").exists()
    with sqlite3.connect(attacked["db"]) as conn:
        assert conn.execute("SELECT COUNT(*) FROM games WHERE reason = 'forged' OR tournament = 'x'").fetchone()[0] == 0
    # every replay is the one the runner wrote
    run = subprocess.run([*PYRAT, "tournament", "standings", "--db",
                          str(attacked["db"]), "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and json.loads(run.stdout)["replay_problems"] == {}


def test_other_submissions_cannot_be_read_or_changed(attacked) -> None:
    out = _output(attacked, "reader")
    for what in ("read a classmate's file", "edit a classmate's file", "list the submissions",
                 "read the host's secrets"):
        assert f"ATTACK {what}: blocked" in out
    # in /root and /home the sandbox shows at most the folders that lead to the Python installation it needs
    line = next(x for x in out.splitlines() if x.startswith("ATTACK list the homes: "))
    homes = json.loads(line.split(": ", 1)[1])
    needed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    for home, names in homes.items():
        for name in names or ():
            assert any(Path(home) / name == p or Path(home) / name in p.parents for p in needed), (home, name)
    assert attacked["alice"].read_text() == attacked["alice_text"]
    everything = json.dumps(attacked["rows"])
    for replay in (attacked["root"] / "course-replays").rglob("*.json.gz"):
        import gzip

        everything += gzip.decompress(replay.read_bytes()).decode()
    assert attacked["secret"] not in everything
    assert all(_own(r, "reader", "forfeit") is None for r in _games_of(attacked, "reader"))


def test_the_runner_and_the_opponents_cannot_be_signalled(attacked) -> None:
    assert "ATTACK stop or kill the runner and the opponent: blocked" in _output(attacked, "killer")
    honest = {0, 1}
    games = [r for r in _games_of(attacked, "killer") if {r["seat0"], r["seat1"]} & honest]
    assert len(games) == 4
    for r in games:   # against the honest agents: nobody stopped, killed or forfeited
        assert r["forfeit0"] is None and r["forfeit1"] is None and r["reason"] != "forfeit"
        assert r["timeouts0"] == r["timeouts1"] == 0


def test_no_process_outlives_its_game(attacked) -> None:
    assert "double fork and setsid: started" in _output(attacked, "escaper")
    assert _processes_with(attacked["token"]) == []
    assert _processes_with(str(attacked["root"])) == []


def test_there_is_no_network(attacked) -> None:
    out = _output(attacked, "networker")
    assert "ATTACK connect to a port of this machine: blocked" in out
    assert "ATTACK connect outside: blocked" in out
    assert attacked["listener"].connections == 0


def test_the_disk_cannot_be_filled(attacked) -> None:
    out = _output(attacked, "filler")
    assert "ATTACK write 500 MB in the working folder: blocked" in out
    assert "ATTACK write 500 MB in /tmp: blocked" in out
    assert attacked["disk_growth"] < 200 * 2 ** 20


def test_garbled_and_patched_replies_are_the_senders_forfeit(attacked) -> None:
    for name in ("garbler", "patcher"):
        bad = {2 + list(ATTACKS).index(n) for n in ("garbler", "patcher")}
        games = [r for r in _games_of(attacked, name) if not {r["seat0"], r["seat1"]} >= bad]
        assert len(games) == 2 * (1 + len(ATTACKS)) - 2
        index = {n: i for i, n in enumerate(["greedy", "alice", *ATTACKS])}[name]
        for r in games:
            seat = 0 if r["seat0"] == index else 1
            assert r["reason"] == "forfeit" and r[f"forfeit{seat}"] == "protocol", r
            assert r["winner"] != index
            forfeit = json.loads(r["details"])["forfeits"][seat]
            assert forfeit["message"] and len(forfeit["message"]) < 1000
    # the patched worker claimed 0 s a turn: the runner measured its 0.3 s and counted timeouts
    patched = [r for r in _games_of(attacked, "patcher") if "garbler" not in r["details"]]
    index = 2 + list(ATTACKS).index("patcher")
    assert all(r["timeouts0" if r["seat0"] == index else "timeouts1"] >= 1 for r in patched)


def test_honest_results_are_intact(attacked) -> None:
    assert attacked["clean"].returncode == 0, attacked["clean"].stderr[-2000:]
    honest = {r["key"].split("-")[0] + "-" + r["key"].split("-")[-1]: r for r in attacked["rows"]
              if {r["seat0"], r["seat1"]} == {0, 1}}
    clean = {r["key"].split("-")[0] + "-" + r["key"].split("-")[-1]: r for r in attacked["clean_rows"]}
    assert honest.keys() == clean.keys() and honest
    for key in honest:
        a, b = honest[key], clean[key]
        fields = ("score0", "score1", "turns", "reason")
        assert [a[f] for f in fields] == [b[f] for f in fields]
        assert a["forfeit0"] is None and a["forfeit1"] is None


def test_planted_code_in_the_working_folder_never_runs(attacked) -> None:
    assert "PLANTED CODE RAN" not in json.dumps(attacked["rows"])
    assert "PLANTED" not in attacked["run"].stderr


def test_a_missing_sandbox_is_one_clear_line(tmp_path: Path) -> None:
    """Without bubblewrap the run stops (exit 2) and says what to do; --sandbox none runs, with a loud warning."""
    env = dict(os.environ, PATH=str(tmp_path))   # no bwrap on the path
    base = [*PYRAT, "tournament", "run", "--agents", "greedy", "random", "--preset", "tiny", "--quiet",
            "--db", str(tmp_path / "t.sqlite")]
    run = subprocess.run(base, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "bwrap" in lines[0] and "--sandbox none" in lines[0] and "apt-get install" in lines[0]
    assert not (tmp_path / "t.sqlite").exists()
    run = subprocess.run([*base, "--sandbox", "none"], capture_output=True, text=True, timeout=300, env=env,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "warning: --sandbox none" in run.stderr and "can read your files" in run.stderr
