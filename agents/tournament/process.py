"""The runner's side of an agent's process: start it with limits, ask it with deadlines, kill it.

`AgentProcess` starts ``python -m pyrat_rl.agents.tournament.worker`` (see `pyrat_rl.agents.tournament.worker`) in a
new session, so that ``os.killpg`` ends the agent together with anything it started. Its standard
output and error go to a pipe that a thread drains (`OutputCapture`): the first ``output_limit``
bytes are kept, the rest is counted and dropped, so a chatty agent never floods the console and
never blocks on a full pipe. Requests and replies travel on two other pipes; the runner never
blocks on them beyond a deadline.

One request at a time: while a late reply is pending the agent is `busy` and is not asked again.
A process that dies, closes its pipe or sends garbage raises `AgentGone` (with a ``kind``:
``crash``, ``memory``, ``exit``, ``cpu``, ``protocol``), which the game turns into a forfeit.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time

from .protocol import MessageBuffer, ProtocolError, encode

# Environment of an agent's process: one thread for numeric libraries (fair on shared cores, and
# thread stacks and malloc arenas count against the address-space limit), unbuffered output (kept
# even when the process is killed), fixed hashing (reproducible set orders when a game is replayed).
AGENT_ENV = {
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2", "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
}


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


class AgentProcess:
    """One agent in its own process, for one game."""

    def __init__(self, spec: str, memory_mb: int | None = None, cpu_seconds: float | None = None,
                 output_limit: int = 8192, cwd: str | None = None) -> None:
        self.spec = spec
        self.memory_mb, self.cpu_seconds = memory_mb, cpu_seconds
        self.output_limit = output_limit
        self.cwd = cwd
        self.popen: subprocess.Popen | None = None
        self.capture: OutputCapture | None = None
        self._w = self._r = -1
        self._buf = MessageBuffer()
        self._poller = select.poll()
        self._next_id = 0
        self.pending: int | None = None
        self.sent_at = 0.0
        self.killed = False

    # -- life ----------------------------------------------------------------------------------------
    def spawn(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        out_r, out_w = os.pipe()
        env = dict(os.environ)
        env.update(AGENT_ENV)
        # -P: the working folder is not put first on the worker's path, so a train.py, agents.py or inspect.py
        # there is never imported in place of ours or of the standard library's
        try:
            self.popen = subprocess.Popen(
                [sys.executable, "-P", "-m", "pyrat_rl.agents.tournament.worker", str(to_child_r), str(from_child_w),
                 str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=(to_child_r, from_child_w),
                start_new_session=True, env=env, cwd=self.cwd)
        except BaseException:
            for fd in (to_child_w, from_child_r, out_r):
                os.close(fd)
            raise
        finally:
            for fd in (to_child_r, from_child_w, out_w):
                os.close(fd)
        self._w, self._r = to_child_w, from_child_r
        os.set_blocking(self._w, False)
        os.set_blocking(self._r, False)
        self._poller.register(self._r, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.capture = OutputCapture(out_r, self.output_limit)
        self.capture.start()

    @property
    def alive(self) -> bool:
        return self.popen is not None and not self.killed and self.popen.poll() is None

    def kill(self) -> None:
        """Kill the process group (the agent and whatever it started) and collect the output."""
        if self.popen is None or self.killed:
            return
        self.killed = True
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.capture is not None:
            self.capture.join(timeout=2)  # a grandchild that left the group may hold the pipe: do not wait on it

    def output(self) -> str:
        return self.capture.text() if self.capture is not None else ""

    def _gone(self, default_kind: str, message: str) -> AgentGone:
        code = None
        if self.popen is not None:
            try:
                code = self.popen.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                code = None
        if code is None:
            return AgentGone(default_kind, message)
        if code < 0:
            sig = -code
            if sig == signal.SIGXCPU:
                return AgentGone("cpu", "killed by SIGXCPU: the CPU time limit was reached")
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
                    raise AgentGone(str(msg["fatal"]), str(msg.get("message", "")))
                if msg.get("id") == self.pending:
                    self.pending = None
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
