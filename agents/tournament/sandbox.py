"""What an agent's processes may see and use: the bubblewrap sandbox and the per-agent cgroup.

Sandboxes (``--sandbox``):

``bwrap`` (the default) runs an agent's fork server (`pyrat_rl.agents.tournament.forkserver`), and so every
    process of that agent, inside `bubblewrap <https://github.com/containers/bubblewrap>`_ (Debian's
    ``bubblewrap`` package; Linux namespaces, no root needed):

    * a read-only view of the system's libraries (``/usr``), the Python environment, the project's code and
      the agent's own submission only: not the other submissions, the database, the replays, ``/home`` or
      ``/root`` (`visible_paths`);
    * a private ``/tmp`` of ``disk_mb`` (a tmpfs, gone when the sandbox ends), the only place it can write;
    * new user, PID, network, IPC and UTS namespaces: it runs as ``nobody`` with no capabilities, sees only
      its own processes, has no network (only its own, empty, loopback), and cannot signal anything outside;
    * a minimal environment (`agent_environment`: nothing of the runner's) and ``python -s -P`` (no user site,
      no working folder on the path);
    * ``--die-with-parent``: the sandbox and everything in it die with the runner, even on ``kill -9``.

``none`` is the isolation of a plain process (resource limits, a process group, a private working folder):
    it guards against accidents, not against malice. It must be asked for explicitly.

cgroups (`CgroupSet`): where the runner may create cgroups (root on a cgroup-v1 or v2 machine, or a
delegated v2 subtree), each fork server is started inside its own cgroup with ``memory`` and ``pids``
limits, so an agent's memory and process count are bounded across all its processes (the kernel kills
inside the group when it is over its memory). Elsewhere the limits are per process (``RLIMIT_AS``,
``RLIMIT_FSIZE``, and ``RLIMIT_NPROC`` for a runner that is not root), and `cgroup_support` says why.
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

SANDBOXES = ("bwrap", "none")
DEFAULT_SANDBOX = "bwrap"

# Environment of an agent's processes: one thread for numeric libraries (fair on shared cores, and
# thread stacks and malloc arenas count against the address-space limit), unbuffered output (kept
# even when the process is killed), fixed hashing (reproducible set orders when a game is replayed).
AGENT_ENV = {
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2", "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONNOUSERSITE": "1",
}
# ...and the rest of it: nothing of the runner's environment is passed on
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "USER": "agent",
            "LOGNAME": "agent", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "NUMBA_CACHE_DIR": "/tmp/.numba",
            "MPLCONFIGDIR": "/tmp/.matplotlib", "XDG_CACHE_HOME": "/tmp/.cache"}

# system folders bound read-only (or recreated as the same symbolic link) when they exist
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# single /etc files programs expect (the loader's cache, time zone, users for getpwuid)
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd", "/etc/group",
        "/etc/nsswitch.conf", "/etc/alternatives")


class SandboxUnavailable(RuntimeError):
    """The sandbox asked for cannot run on this machine; the message says what to do."""


def check_sandbox(name: str) -> None:
    """Raise `SandboxUnavailable` (one line: why, and what to do) unless sandbox ``name`` works here."""
    if name not in SANDBOXES:
        raise SandboxUnavailable(f"unknown sandbox {name!r}; choose one of {', '.join(SANDBOXES)}")
    if name == "bwrap":
        problem = bwrap_problem()
        if problem:
            raise SandboxUnavailable(
                f"the bwrap sandbox cannot run: {problem}. Install bubblewrap (Debian/Ubuntu: apt-get install "
                "bubblewrap; Fedora: dnf install bubblewrap), or pass --sandbox none to run the agents with "
                "process isolation only (they could then read your files and disturb the runner)")


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None when bubblewrap runs a process in new namespaces here; else why not."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux (this is {sys.platform})"
    exe = shutil.which("bwrap")
    if exe is None:
        return "the bwrap program is not installed"
    try:
        r = subprocess.run([exe, *_namespace_args(), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                            "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{exe} does not start ({exc})"
    if r.returncode != 0:
        text = r.stderr.decode(errors="replace").strip().splitlines()
        return f"{exe} fails: {text[-1] if text else f'exit status {r.returncode}'} (user namespaces disabled?)"
    return None


def _namespace_args() -> list[str]:
    return ["--unshare-user", "--uid", "65534", "--gid", "65534", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "pyrat", "--cap-drop", "ALL",
            "--die-with-parent", "--new-session"]


def _package_dirs() -> list[Path]:
    """Where the project's code is (site-packages for a wheel; the source folders for an editable install)."""
    import pyrat_env

    out = [Path(p) for p in pyrat_env.__path__]
    for name in ("pyrat_rl.agents", "pyrat_rl.train"):
        try:
            module = __import__(name, fromlist=["__path__"])
        except ImportError:
            continue
        out += [Path(p) for p in getattr(module, "__path__", [])]
    return out


def _pth_dirs(folder: Path) -> list[Path]:
    """Folders that ``.pth`` files in a site-packages folder add to the path (other editable installs)."""
    out = []
    try:
        entries = sorted(folder.glob("*.pth"))
    except OSError:
        return out
    for pth in entries:
        try:
            lines = pth.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")):
                p = Path(line) if os.path.isabs(line) else folder / line
                if p.is_dir():
                    out.append(p)
    return out


def visible_paths(agent_files: list[str | os.PathLike] = ()) -> list[Path]:
    """The host folders an agent's sandbox binds read-only, outermost first, without duplicates.

    The Python installation (``sys.base_prefix``, ``sys.prefix``, the site-packages folders and what their
    ``.pth`` files add), the project's packages, and the folders of ``agent_files`` (the agent's own
    submission: in a tournament, its private read-only copy).
    """
    roots: list[Path] = [Path(sys.base_prefix), Path(sys.prefix), Path(sys.exec_prefix),
                         Path(os.path.realpath(sys.executable)).parent.parent]
    sites = [Path(p) for p in site.getsitepackages()]
    for s in sites:
        roots += [s, *_pth_dirs(s)]
    roots += _package_dirs()
    roots += [Path(f).resolve().parent for f in agent_files]
    seen: list[Path] = []
    for r in sorted({p.resolve() for p in roots if p.exists()}, key=lambda p: (len(p.parts), str(p))):
        if r == Path("/") or any(r == s or s in r.parents for s in seen):
            continue
        if any(r == Path(d) or Path(d) in r.parents for d in _SYSTEM if os.path.isdir(d)):
            continue   # under /usr: bound already
        seen.append(r)
    return seen


def agent_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment of an agent's processes (nothing of the runner's is passed on)."""
    env = dict(BASE_ENV)
    env.update(AGENT_ENV)
    if extra:
        env.update(extra)
    return env


def bwrap_argv(inner: list[str], visible: list[Path], env: dict[str, str], disk_mb: int | None = None) -> list[str]:
    """The bubblewrap command that runs ``inner`` in a sandbox seeing ``visible`` read-only (see the module doc)."""
    exe = shutil.which("bwrap") or "bwrap"
    argv = [exe, *_namespace_args(), "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    for d in _SYSTEM:
        if os.path.islink(d):
            argv += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            argv += ["--ro-bind", d, d]
    for f in _ETC:
        argv += ["--ro-bind-try", f, f]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if disk_mb:
        argv += ["--size", str(int(disk_mb) * 1024 * 1024)]
    argv += ["--tmpfs", "/tmp", "--chdir", "/tmp"]
    for p in visible:
        argv += ["--ro-bind", str(p), str(p)]
    # the sandbox's own root (where the mount points were made) is read-only too: /tmp is the one place to write
    return [*argv, "--remount-ro", "/", "--", *inner]


# -- cgroups ------------------------------------------------------------------------------------------------
_counter = itertools.count()


def _own_cgroup_v2() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            rel = line[3:].strip().lstrip("/")
            base = Path("/sys/fs/cgroup") / rel
            return base if (Path("/sys/fs/cgroup") / "cgroup.controllers").is_file() else None
    return None


class CgroupSet:
    """One cgroup per fork server: memory and process-count limits shared by all of an agent's processes.

    ``CgroupSet.create(memory_mb, max_processes)`` returns None where cgroups cannot be created here
    (`cgroup_support` says why). ``prefix()`` is a shell command that moves the calling shell into the
    group before it ``exec``s the server, so nothing the server starts escapes the limits; ``remove()``
    deletes the groups (after their processes are dead).
    """

    def __init__(self, dirs: dict[str, Path]) -> None:
        self.dirs = dirs

    @staticmethod
    def create(memory_mb: int | None, max_processes: int | None) -> CgroupSet | None:
        name = f"pyrat-{os.getpid()}-{next(_counter)}"
        dirs: dict[str, Path] = {}
        try:
            v2 = _own_cgroup_v2()
            if v2 is not None:
                d = v2.parent / name if v2.name else v2 / name
                d.mkdir()
                dirs["v2"] = d
                if memory_mb:
                    (d / "memory.max").write_text(str(int(memory_mb) * 1024 * 1024))
                    _try_write(d / "memory.swap.max", "0")
                if max_processes:
                    (d / "pids.max").write_text(str(int(max_processes)))
            else:
                root = Path("/sys/fs/cgroup")
                for ctl in ("memory", "pids"):
                    if not (root / ctl / "cgroup.procs").is_file():
                        raise OSError(f"no cgroup-v1 {ctl} controller mounted")
                for ctl in ("memory", "pids"):
                    d = root / ctl / name
                    d.mkdir()
                    dirs[ctl] = d
                if memory_mb:
                    limit = str(int(memory_mb) * 1024 * 1024)
                    (dirs["memory"] / "memory.limit_in_bytes").write_text(limit)
                    _try_write(dirs["memory"] / "memory.memsw.limit_in_bytes", limit)
                if max_processes:
                    (dirs["pids"] / "pids.max").write_text(str(int(max_processes)))
        except OSError:
            CgroupSet(dirs).remove()
            return None
        return CgroupSet(dirs)

    def prefix(self) -> str:
        return " && ".join(f"echo $$ > {d / 'cgroup.procs'}" for d in self.dirs.values())

    def peak_mb(self) -> float | None:
        for key, name in (("memory", "memory.max_usage_in_bytes"), ("v2", "memory.peak")):
            d = self.dirs.get(key)
            if d is not None:
                try:
                    return int((d / name).read_text().split()[0]) / 2 ** 20
                except (OSError, ValueError, IndexError):
                    return None
        return None

    def kill_all(self) -> None:
        """SIGKILL every process in the group (whatever session or process group it moved to)."""
        for d in self.dirs.values():
            if (d / "cgroup.kill").exists():
                _try_write(d / "cgroup.kill", "1")
            for _ in range(50):
                try:
                    pids = [int(x) for x in (d / "cgroup.procs").read_text().split()]
                except (OSError, ValueError):
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass

    def remove(self) -> None:
        for d in self.dirs.values():
            for _ in range(20):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    import time

                    time.sleep(0.05)


def _try_write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError:
        pass


@functools.lru_cache(maxsize=1)
def cgroup_support() -> str | None:
    """None when this runner can put agents in cgroups with memory and process limits; else why not."""
    if not sys.platform.startswith("linux"):
        return f"cgroups need Linux (this is {sys.platform})"
    group = CgroupSet.create(64, 8)
    if group is None:
        return ("cannot create cgroups here (not root, and no delegated cgroup-v2 subtree): memory is limited "
                "per process (RLIMIT_AS) and the process count only through RLIMIT_NPROC")
    group.remove()
    return None
