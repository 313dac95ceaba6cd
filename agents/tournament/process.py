"""The runner's side of an agent's processes: fork servers, one process per game, deadlines, kills.

Each agent gets a fork server (`pyrat_rl.agents.tournament.forkserver`), started in its sandbox
(`pyrat_rl.agents.tournament.sandbox`: bubblewrap by default) and, where the machine allows, in a cgroup of
its own, after importing what the agent needs (`preload_modules`). A `ServerPool` keeps the servers of a run
and hands one to each game, so that a game's agent process is a fork (milliseconds) rather than a new
Python with its imports (seconds). An `AgentProcess` is one agent in one game: the server forks it, its
standard output and error go to a pipe that a thread drains (`OutputCapture`: the first ``output_limit``
bytes are kept, the rest is counted and dropped), and requests and replies travel on two other pipes; the
runner never blocks on them beyond a deadline, and times the replies itself.

One request at a time: while a late reply is pending the agent is `busy` and is not asked again.
A process that dies, closes its pipe or sends garbage raises `AgentGone` (with a ``kind``:
``crash``, ``memory``, ``exit``, ``cpu``, ``protocol``, ``load``), which the game turns into a forfeit.
"""

from __future__ import annotations

import ast
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pyrat_env.cli_options import is_path, split_target

from .config import file_digest
from .protocol import MessageBuffer, ProtocolError, encode
from .sandbox import CgroupSet, agent_environment, bwrap_argv, cgroup_support, check_sandbox, visible_paths

# what every server imports before it forks games (the project's experts use all of them)
BASE_PRELOAD = ("numpy", "scipy.sparse.csgraph", "pyrat_env.engine", "pyrat_env.paths", "pyrat_env.agent",
                "pyrat_rl.agents.spec", "pyrat_rl.agents.scripted", "pyrat_rl.agents.tournament.worker")
# heavy libraries a submission may import: preloaded (once per server) when its file names them
HEAVY = {"torch": ("torch",), "pyrat": ("torch", "pyrat"), "stable_baselines3": ("torch", "stable_baselines3"),
         "sb3_contrib": ("torch", "sb3_contrib"), "onnxruntime": ("onnxruntime",), "gymnasium": ("gymnasium",),
         "sklearn": ("sklearn",), "pandas": ("pandas",), "networkx": ("networkx",), "numba": ("numba",)}
CHECKPOINT_PRELOAD = {".pt": ("torch", "pyrat_rl.agents.policy_agent"),
                      ".zip": ("torch", "stable_baselines3", "pyrat_rl.agents.policy_agent"),
                      ".onnx": ("onnxruntime", "pyrat_rl.agents.policy_agent")}
SHIPPED_PRELOAD = ("torch", "pyrat_rl.agents.policy_agent")


FATAL_KINDS = ("memory", "exit", "protocol")
MESSAGE_LIMIT = 500   # characters of an agent's error text kept by the runner


def bounded(text, limit: int = MESSAGE_LIMIT) -> str:
    """An agent's text, as a string of at most ``limit`` characters (it may send anything)."""
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


class AgentGone(RuntimeError):
    """The agent's process is dead or unusable; ``kind`` says why (crash, memory, exit, cpu, protocol)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class OutputCapture(threading.Thread):
    """Drains a pipe until end of file, keeping the first ``limit`` bytes and counting the rest."""

    def __init__(self, fd: int, limit: int) -> None:
        super().__init__(name="agent-output", daemon=True)
        self.fd, self.limit = fd, max(0, int(limit))
        self.head = bytearray()
        self.total = 0

    def run(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self.fd, 65536)
                except InterruptedError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                room = self.limit - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                self.total += len(chunk)
        finally:
            try:
                os.close(self.fd)
            except OSError:
                pass

    def text(self) -> str:
        out = self.head.decode("utf-8", errors="replace")
        if self.total > len(self.head):
            out += f"\n[... {self.total - len(self.head)} more bytes of output not kept]"
        return out


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def preload_modules(run_spec: str) -> list[str]:
    """What the fork server of ``run_spec`` imports before forking games (a guess that only costs or saves time).

    The experts' modules always; torch and the policy loader for checkpoints and shipped networks; for a
    ``.py`` file, the heavy libraries its imports name (read with `ast`, never executed here).
    """
    from pyrat_rl.agents.spec import BUILTIN

    out = list(BASE_PRELOAD)
    target, _ = split_target(run_spec)
    if is_path(target):
        path = Path(target)
        if path.suffix in CHECKPOINT_PRELOAD:
            out += CHECKPOINT_PRELOAD[path.suffix]
        elif path.suffix == ".py":
            try:
                tree = ast.parse(path.read_bytes())
            except (OSError, SyntaxError, ValueError):
                tree = None
            names = set()
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
            for name in sorted(names & set(HEAVY)):
                out += HEAVY[name]
    elif target not in BUILTIN and ":" not in run_spec:
        out += SHIPPED_PRELOAD
    return list(dict.fromkeys(out))


class ForkServer:
    """One agent's fork server, in its sandbox (and cgroup); used by one game at a time."""

    def __init__(self, run_spec: str, sandbox: str = "bwrap", memory_mb: int | None = None,
                 max_processes: int | None = None, disk_mb: int | None = None) -> None:
        self.run_spec, self.sandbox = run_spec, sandbox
        self.memory_mb, self.max_processes, self.disk_mb = memory_mb, max_processes, disk_mb
        self.popen: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.cgroup: CgroupSet | None = None
        self.private: str | None = None
        self.preload_seconds = 0.0
        self.dead = False
        # what an idle server holds, roughly (resident memory measured here: 60-70 MB with numpy, scipy and the
        # project; about 300 MB more with torch)
        self.size_mb = 380.0 if "torch" in preload_modules(run_spec) else 70.0

    def start(self, deadline: float, spawner=None) -> None:
        """Start the server and wait (until ``deadline``) for its preload; `AgentGone` (``load``) if it fails.

        ``spawner``: an executor whose thread lives as long as the server should (the pool's).
        """
        target, _ = split_target(self.run_spec)
        files = [target] if is_path(target) else []
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # -s -P: no user site, nothing of the working folder on the path; not -I, which would drop the fixed
        # hash seed and unbuffered output of the environment (that environment is entirely ours: agent_environment)
        inner = [sys.executable, "-s", "-P", "-m", "pyrat_rl.agents.tournament.forkserver", str(child.fileno()),
                 json.dumps(preload_modules(self.run_spec)), "sandboxed" if self.sandbox == "bwrap" else "plain"]
        self.private = tempfile.mkdtemp(prefix="pyrat-agent-")
        if self.sandbox == "bwrap":
            argv = bwrap_argv(inner, visible_paths(files), agent_environment(), self.disk_mb)
            env, cwd = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, self.private
        else:
            argv, cwd = inner, self.private
            env = agent_environment({"HOME": self.private, "TMPDIR": self.private,
                                     "NUMBA_CACHE_DIR": os.path.join(self.private, ".numba"),
                                     "MPLCONFIGDIR": os.path.join(self.private, ".matplotlib"),
                                     "XDG_CACHE_HOME": os.path.join(self.private, ".cache"),
                                     "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        if cgroup_support() is None:
            self.cgroup = CgroupSet.create(self.memory_mb, self.max_processes)
        if self.cgroup is not None:
            argv = ["/bin/sh", "-c", self.cgroup.prefix() + ' && exec "$@"', "sh", *argv]
        self._errors = tempfile.TemporaryFile()

        def launch() -> subprocess.Popen:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._errors, stderr=self._errors,
                                    pass_fds=(child.fileno(),), start_new_session=True, env=env, cwd=cwd)

        try:
            # started from the pool's own thread: the kernel's parent-death signal (the server's and bwrap's
            # --die-with-parent) follows the thread that started a process, and game threads come and go
            self.popen = spawner.submit(launch).result() if spawner is not None else launch()
        except OSError as exc:
            self.close()
            raise AgentGone("load", f"cannot start the agent's process: {exc}") from None
        finally:
            child.close()
        self.sock = parent
        reply = self._recv(deadline)
        if reply is None or not reply.get("ready"):
            problem = self._startup_error() or ("not ready in time" if reply is None else str(reply))
            self.close()
            raise AgentGone("load", f"the agent's server did not start: {problem}")
        self.preload_seconds = float(reply.get("seconds", 0.0))

    def _startup_error(self) -> str:
        try:
            self._errors.seek(0)
            lines = self._errors.read(20000).decode(errors="replace").strip().splitlines()
        except (OSError, ValueError, AttributeError):
            return ""
        return lines[-1] if lines else ""

    def _recv(self, deadline: float) -> dict | None:
        if self.sock is None:
            return None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([self.sock], [], [], left)[0]:
                return None
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.dead = True
                return None
            try:
                msg = json.loads(data)
            except ValueError:
                self.dead = True
                return None
            return msg if isinstance(msg, dict) else None

    def post(self, msg: dict, fds: tuple[int, ...] = ()) -> bool:
        """Send a request without waiting for its answer (`answer`); False if the server is gone."""
        if self.sock is None or self.dead:
            return False
        try:
            socket.send_fds(self.sock, [json.dumps(msg).encode()], list(fds))
        except OSError:
            self.dead = True
            return False
        return True

    def answer(self, timeout: float = 5.0) -> dict | None:
        """The answer to the request posted last; None (and the server is dead) if it does not come in time."""
        if self.sock is None or self.dead:
            return None
        reply = self._recv(time.monotonic() + timeout)
        if reply is None:
            self.dead = True
        return reply

    def call(self, msg: dict, timeout: float = 5.0, fds: tuple[int, ...] = ()) -> dict | None:
        """Send a request and wait for its answer; None if the server is gone or does not answer in time."""
        return self.answer(timeout) if self.post(msg, fds) else None

    def fork_post(self, limits: dict) -> tuple[int, int, int] | None:
        """Ask for a game process (`fork_answer` completes it); the runner's ends of its pipes, or None."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            sent = self.post(dict(limits, cmd="fork"), fds=(to_child_r, from_child_w, out_w))
        finally:
            for fd in (to_child_r, from_child_w, out_w):
                os.close(fd)
        if not sent:
            for fd in (to_child_w, from_child_r, out_r):
                os.close(fd)
            raise AgentGone("crash", "the agent's server is gone")
        return to_child_w, from_child_r, out_r

    def fork_answer(self, ends: tuple[int, int, int]) -> int:
        """The game process's pid (in the sandbox); `AgentGone` if the server could not fork it."""
        reply = self.answer()
        if reply is None or not reply.get("ok"):
            for fd in ends:
                os.close(fd)
            raise AgentGone("crash", "the agent's server is gone" if reply is None else str(reply.get("message")))
        return int(reply["pid"])

    def status(self, wait: float = 0.0) -> int | None:
        reply = self.call({"cmd": "status", "wait": wait}, timeout=wait + 2.0)
        return None if reply is None else reply.get("status")

    def reap(self) -> dict | None:
        """Kill the game's processes (all of them); None if the server could not (then close it)."""
        return self.reap_answer() if self.post({"cmd": "reap"}) else None

    def reap_answer(self) -> dict | None:
        reply = self.answer(timeout=5.0)
        if reply is not None and self.cgroup is not None:
            reply["peak_mb"] = self.cgroup.peak_mb()
        return reply

    @property
    def alive(self) -> bool:
        return self.popen is not None and not self.dead and self.popen.poll() is None

    def close(self) -> None:
        """Kill the server, its sandbox and everything in them."""
        self.dead = True
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self.cgroup is not None:
                self.cgroup.kill_all()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.private:
            shutil.rmtree(self.private, ignore_errors=True)
            self.private = None
        errors = getattr(self, "_errors", None)
        if errors is not None:
            errors.close()


def _memory_mb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 20
    except (ValueError, OSError, AttributeError):
        return 8192.0


class ServerPool:
    """The fork servers of a run, by agent: an idle one is reused, a busy agent gets another.

    Idle servers are kept between games, at most ``max_idle`` of them and at most ``memory_budget_mb`` of
    memory by their estimated size (`ForkServer.size_mb`; by default a third of this machine's memory); the
    least recently used go first. `close` ends them all. ``sandbox``: ``bwrap`` or ``none``
    (`pyrat_rl.agents.tournament.sandbox`).
    """

    def __init__(self, sandbox: str = "bwrap", max_idle: int = 256, memory_budget_mb: float | None = None) -> None:
        check_sandbox(sandbox)
        self.sandbox = sandbox
        self.max_idle = max(0, int(max_idle))
        self.memory_budget_mb = memory_budget_mb if memory_budget_mb is not None else _memory_mb() / 3
        self._idle: list[tuple[tuple, ForkServer]] = []
        self._lock = threading.Lock()
        self._all: set[ForkServer] = set()
        self.started = 0
        from concurrent.futures import ThreadPoolExecutor

        from pyrat_env.runtime import cpu_count

        # the threads that start servers live as long as the pool (a server dies with the thread that started it)
        self._spawner = ThreadPoolExecutor(max_workers=max(2, cpu_count()), thread_name_prefix="agent-servers")

    def acquire(self, run_spec: str, deadline: float, digest: str | None = None, memory_mb: int | None = None,
                max_processes: int | None = None, disk_mb: int | None = None) -> ForkServer:
        """A server for ``run_spec``; a file whose digest is not ``digest`` any more raises `AgentGone` (load)."""
        target, _ = split_target(run_spec)
        if digest is not None and is_path(target) and file_digest(target) != digest:
            raise AgentGone("load", f"{Path(target).name} changed since the tournament recorded it "
                                    f"(digest {digest}): it is not played")
        key = (run_spec, memory_mb, max_processes, disk_mb)
        with self._lock:
            for i, (k, server) in enumerate(self._idle):
                if k == key:
                    del self._idle[i]
                    if server.alive:
                        return server
                    self._all.discard(server)
                    server.close()
                    break
        server = ForkServer(run_spec, self.sandbox, memory_mb, max_processes, disk_mb)
        with self._lock:
            self._all.add(server)
            self.started += 1
        server.start(deadline, self._spawner)
        return server

    def idle_specs(self) -> set[str]:
        """The agents (run specs) that have a warm server waiting."""
        with self._lock:
            return {server.run_spec for _, server in self._idle}

    def release(self, server: ForkServer, healthy: bool = True) -> None:
        drop = []
        with self._lock:
            if healthy and server.alive and self.max_idle:
                self._idle.append(((server.run_spec, server.memory_mb, server.max_processes, server.disk_mb), server))
                while len(self._idle) > self.max_idle or \
                        (len(self._idle) > 1 and sum(sv.size_mb for _, sv in self._idle) > self.memory_budget_mb):
                    drop.append(self._idle.pop(0)[1])
            else:
                drop.append(server)
            for d in drop:
                self._all.discard(d)
        for d in drop:
            d.close()

    def close(self) -> None:
        with self._lock:
            servers = list(self._all)
            self._all.clear()
            self._idle.clear()
        for server in servers:
            server.close()
        self._spawner.shutdown(wait=False)

    def __enter__(self) -> ServerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AgentProcess:
    """One agent in its own process, for one game (forked by the agent's server from ``pool``)."""

    def __init__(self, spec: str, limits, pool: ServerPool, digest: str | None = None) -> None:
        self.spec = spec
        self.limits = limits
        self.memory_mb, self.cpu_seconds = limits.memory_mb, limits.cpu_seconds
        self.output_limit = limits.output_limit
        self.pool, self.digest = pool, digest
        self.server: ForkServer | None = None
        self.pid: int | None = None
        self.capture: OutputCapture | None = None
        self._w = self._r = -1
        self._buf = MessageBuffer()
        self._poller = select.poll()
        self._next_id = 0
        self.pending: int | None = None
        self.sent_at = 0.0
        self.think = 0.0          # seconds from the last request to its reply, measured here
        self.killed = False
        self.peak_mb: float | None = None
        self.exit_status: int | None = None

    # -- life ----------------------------------------------------------------------------------------
    def spawn(self, deadline: float | None = None) -> None:
        """Get a server for the agent (starting it, within ``deadline``, if need be) and fork the game process."""
        self.spawn_post(deadline)
        self.spawn_answer()

    def spawn_post(self, deadline: float | None = None) -> None:
        """`spawn`'s first half: the server, and the fork asked for (games start both agents side by side)."""
        lim = self.limits
        deadline = deadline if deadline is not None else time.monotonic() + lim.load_time
        self.server = self.pool.acquire(self.spec, deadline, self.digest, lim.memory_mb, lim.max_processes,
                                        lim.disk_mb)
        try:
            self._ends = self.server.fork_post({"file_mb": lim.disk_mb, "processes": lim.max_processes})
        except AgentGone:
            self.pool.release(self.server, healthy=False)
            self.server = None
            raise

    def spawn_answer(self) -> None:
        try:
            self.pid = self.server.fork_answer(self._ends)
        except AgentGone:
            self.pool.release(self.server, healthy=False)
            self.server = None
            raise
        self._w, self._r, out_r = self._ends
        os.set_blocking(self._w, False)
        os.set_blocking(self._r, False)
        self._poller.register(self._r, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.capture = OutputCapture(out_r, self.output_limit)
        self.capture.start()

    @property
    def alive(self) -> bool:
        return self.server is not None and not self.killed and self.server.alive

    def kill(self) -> None:
        """Kill the game process and everything it started, give the server back, and collect the output."""
        self.kill_post()
        self.kill_answer()

    def kill_post(self) -> None:
        """`kill`'s first half: the server told to kill the game's processes (games end both agents side by side)."""
        if self.killed:
            return
        self.killed = True
        self._reaping = self.server is not None and self.server.post({"cmd": "reap"})

    def kill_answer(self) -> None:
        if self.server is not None:
            info = self.server.reap_answer() if getattr(self, "_reaping", False) else None
            if info is not None:
                self.exit_status = info.get("status")
                peaks = [x for x in (info.get("maxrss_mb"), info.get("peak_mb")) if x is not None]
                self.peak_mb = max(peaks) if peaks else None
            self.pool.release(self.server, healthy=info is not None)
            self.server = None
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._w = self._r = -1
        if self.capture is not None:
            self.capture.join(timeout=2)

    def output(self) -> str:
        return self.capture.text() if self.capture is not None else ""

    def _gone(self, default_kind: str, message: str) -> AgentGone:
        code = self.server.status(wait=1.0) if self.server is not None else None
        if code is None:
            return AgentGone(default_kind, message)
        if code < 0:
            sig = -code
            if sig == signal.SIGXCPU:
                return AgentGone("cpu", "killed by SIGXCPU: the CPU time limit was reached")
            if sig == signal.SIGKILL and self.server is not None and self.server.cgroup is not None \
                    and self.memory_mb:
                return AgentGone("crash", "the agent's process was killed by SIGKILL (over the memory limit of "
                                          f"{self.memory_mb} MB for all its processes?)")
            return AgentGone("crash", f"the agent's process was killed by {_signal_name(sig)}")
        return AgentGone("crash", f"the agent's process exited with code {code}")

    # -- requests ------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.pending is not None

    def request(self, cmd: str, deadline: float, **fields) -> int:
        """Send a request (the agent must not be busy); returns its id."""
        if self.busy:
            raise RuntimeError("the agent is still busy with a previous request")
        self._next_id += 1
        rid = self._next_id
        data = memoryview(encode(dict(fields, cmd=cmd, id=rid)))
        while data:
            try:
                n = os.write(self._w, data)
                data = data[n:]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AgentGone("protocol", "the agent's process does not read its requests") from None
                _, ready, _ = select.select([], [self._w], [], left)
            except OSError:  # broken pipe: the process is gone
                raise self._gone("crash", "the agent's process is gone") from None
        self.pending = rid
        self.sent_at = time.monotonic()
        return rid

    def _read_some(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for bytes; False on timeout. Raises AgentGone at end of file."""
        if not self._poller.poll(max(0, int(timeout * 1000 + 0.999))):
            return False
        try:
            data = os.read(self._r, 65536)
        except BlockingIOError:
            return True
        except OSError:
            raise self._gone("crash", "the agent's process is gone") from None
        if not data:
            raise self._gone("crash", "the agent's process closed its pipe")
        self._buf.feed(data)
        return True

    def reply(self, deadline: float) -> dict | None:
        """The reply to the pending request, waiting until ``deadline`` (time.monotonic); None if late.

        Replies to older requests are dropped. A fatal reply (memory, exit) raises `AgentGone`.
        """
        if self.pending is None:
            return None
        late_reads = 0
        while True:
            try:
                msg = self._buf.pop()
            except ProtocolError as exc:
                raise AgentGone("protocol", str(exc)) from None
            if msg is not None:
                if msg.get("fatal"):
                    kind = msg["fatal"] if msg["fatal"] in FATAL_KINDS else "protocol"
                    raise AgentGone(kind, bounded(msg.get("message", "")))
                if msg.get("id") == self.pending:
                    self.pending = None
                    self.think = time.monotonic() - self.sent_at
                    return msg
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                # a last look without waiting: the answer may be sitting in the pipe
                late_reads += 1
                if late_reads > 4 or not self._read_some(0):
                    return None
                continue
            self._read_some(left)

    def settle(self) -> None:
        """Without waiting: drop a late reply that has arrived, so that the agent is free again."""
        if self.pending is not None:
            self.reply(time.monotonic())
