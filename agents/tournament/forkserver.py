"""An agent's fork server: a preloaded parent that forks one process per game (the side inside the sandbox).

The runner starts ``python -s -P -m pyrat_rl.agents.tournament.forkserver CTL_FD PRELOAD_JSON`` once per agent
(inside its sandbox, `pyrat_rl.agents.tournament.sandbox`), and keeps it while the agent has games to play.
The server imports what the agent needs (numpy, the project, and torch or pyrat-game when the agent does:
`pyrat_rl.agents.tournament.process.preload_modules`), then answers requests on a ``SOCK_SEQPACKET`` socket,
one JSON message per packet, file descriptors passed alongside:

``fork``    with three descriptors (requests in, replies out, output): forks a game process, which starts a
            session of its own, gets its standard output and error on the output pipe, an empty private
            working folder, the per-process limits, and serves the game (`pyrat_rl.agents.tournament.worker`);
            replies with its pid. A game costs a fork, not a Python start and its imports.
``status``  the game process's exit status, or null while it runs (waiting up to ``wait`` seconds).
``reap``    kills the game process and everything it started, even what moved to another session or process
            group (the server is a child subreaper, so orphans come back to it; in the sandbox it simply
            kills every other process it can see), waits for them, removes the working folder, and replies
            with the exit status and the peak memory (``maxrss_mb``) of the game process.

One game at a time: the runner starts another server for an agent that plays two games at once. When the
socket closes (the runner is done, or gone) the server kills what is left and exits. This module imports only
the standard library before the preload.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time

MAX_FDS = 3
PACKET = 65536


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _die_with_parent() -> None:
    _prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG: the kernel kills us when our parent goes


def preload(modules: list[str]) -> list[str]:
    """Import ``modules`` (those that fail are returned); one thread for torch."""
    failed = []
    for name in modules:
        try:
            __import__(name)
        except BaseException:  # noqa: BLE001 - a missing or broken optional library only costs time later
            failed.append(name)
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            torch.set_num_threads(1)
            torch.set_num_interop_threads(1)
        except (RuntimeError, AttributeError):
            pass
    return failed


def _children() -> dict[int, list[int]]:
    """ppid -> pids, for every process this server can see."""
    out: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        try:
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (ValueError, IndexError):
            continue
        out.setdefault(ppid, []).append(int(name))
    return out


def descendants(root: int) -> list[int]:
    tree = _children()
    out, todo = [], list(tree.get(root, ()))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(tree.get(pid, ()))
    return out


class Server:
    def __init__(self, ctl: socket.socket, sandboxed: bool) -> None:
        self.ctl = ctl
        self.sandboxed = sandboxed
        self.child: int | None = None
        self.status: int | None = None
        self.rusage = None
        self.workdir: str | None = None
        self.games = 0

    def send(self, obj: dict) -> None:
        self.ctl.send(json.dumps(obj, separators=(",", ":")).encode())

    # -- requests ------------------------------------------------------------------------------------------
    def fork(self, msg: dict, fds: list[int]) -> None:
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            self.send({"ok": False, "message": f"fork needs 3 descriptors, got {len(fds)}"})
            return
        if self.child is not None:
            self.kill_all()
        self.games += 1
        self.workdir = tempfile.mkdtemp(prefix=f"game-{self.games}-")
        self.status = self.rusage = None
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:   # the game process
            try:
                self._child(msg, fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        self.child = pid
        self.send({"ok": True, "pid": pid})

    def _child(self, msg: dict, fds: list[int]) -> None:
        in_fd, out_fd, log_fd = fds
        os.setsid()
        _die_with_parent()
        self.ctl.close()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        for fd in (devnull, log_fd):
            if fd > 2:
                os.close(fd)
        os.chdir(self.workdir)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a file over the limit: an OSError (EFBIG), not a kill
        for key, res in (("file_mb", resource.RLIMIT_FSIZE), ("processes", resource.RLIMIT_NPROC)):
            value = msg.get(key)
            if not value or (key == "processes" and os.getuid() == 0):
                continue   # root ignores RLIMIT_NPROC (the cgroup's pids limit counts then)
            limit = int(value) * (1024 * 1024 if key == "file_mb" else 1)
            try:
                resource.setrlimit(res, (limit, limit))
            except (ValueError, OSError):
                pass
        from pyrat_rl.agents.tournament.worker import Worker

        Worker(in_fd, out_fd).serve()

    def poll(self, wait: float = 0.0) -> int | None:
        if self.child is None:
            return self.status
        end = time.monotonic() + max(0.0, wait)
        while True:
            try:
                pid, status, rusage = os.wait4(self.child, os.WNOHANG)
            except ChildProcessError:
                return self.status
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                self.rusage = rusage
                self.child = None
                return self.status
            if time.monotonic() >= end:
                return None
            time.sleep(0.01)

    def kill_all(self) -> None:
        """Kill the game process and every process it started; collect them all."""
        me = os.getpid()
        child = self.child
        if child is not None:   # the usual case first: the game process and its group, waited for at once
            for kill in (os.killpg, os.kill):
                try:
                    kill(child, signal.SIGKILL)
                except OSError:
                    pass
            try:
                pid, status, rusage = os.wait4(child, 0)
                self.status, self.rusage, self.child = os.waitstatus_to_exitcode(status), rusage, None
            except ChildProcessError:
                pass
        for _ in range(200):
            victims = ([int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
                       if self.sandboxed else descendants(me))
            if not victims:
                break
            for pid in victims:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self._collect(child)
            time.sleep(0.002)
        self._collect(child)

    def _collect(self, child: int | None) -> None:
        while True:
            try:
                pid, status, rusage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            if pid == child:
                self.status = os.waitstatus_to_exitcode(status)
                self.rusage = rusage
                self.child = None

    def reap(self) -> None:
        self.kill_all()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        maxrss = None if self.rusage is None else round(self.rusage.ru_maxrss / 1024, 1)
        self.send({"ok": True, "status": self.status, "maxrss_mb": maxrss})

    def serve(self) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.ctl, PACKET, MAX_FDS)
            except (ConnectionError, OSError):
                data, fds = b"", []
            if not data:
                self.kill_all()
                os._exit(0)
            try:
                msg = json.loads(data)
            except ValueError:
                msg = {}
            cmd = msg.get("cmd")
            if cmd == "fork":
                self.fork(msg, list(fds))
                continue
            for fd in fds:
                os.close(fd)
            if cmd == "status":
                self.send({"ok": True, "status": self.poll(float(msg.get("wait", 0.0)))})
            elif cmd == "reap":
                self.reap()
            else:
                self.send({"ok": False, "message": f"unknown request {cmd!r}"})


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    ctl = socket.socket(fileno=int(argv[0]))
    modules = json.loads(argv[1]) if len(argv) > 1 else []
    sandboxed = len(argv) > 2 and argv[2] == "sandboxed"
    _die_with_parent()
    _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans of the games come back to us, to be killed
    t0 = time.perf_counter()
    failed = preload(modules)
    server = Server(ctl, sandboxed)
    server.send({"ok": True, "ready": True, "seconds": round(time.perf_counter() - t0, 3), "failed": failed,
                 "pid": os.getpid()})
    server.serve()


if __name__ == "__main__":
    main()
