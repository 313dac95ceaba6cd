"""Tournament settings: who plays (`AgentEntry`), on what (`TournamentConfig`), under which limits (`Limits`).

The tournament id is a digest of the agents (name and spec), the game settings, the number of games per
pair, the seed, the turn limit and the time, memory and CPU limits. Running the same command again finds
the same id and resumes; changing any of these starts another tournament in the same database. A
student's file that changed (a late fix) keeps the tournament: each game row records the digests of its
agents' files, and the games of a changed file are played again (`pyrat_rl.agents.tournament.runner.
stale_games`). How the games are run (workers, backend, sandbox, database and replay paths) is not part
of the id.

Agent specs are read here without importing them (a student's file is only ever imported inside
an agent's own process). ``NAME=SPEC`` names an agent; otherwise the name comes from the spec, as
``pyrat play`` names it (`pyrat_env.cli_options.default_agent_name`): a file or checkpoint by its stem,
``module:Class`` by the class, a built-in name as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from pyrat_env.cli_options import default_agent_name, is_path, name_agents, split_agent_name, split_target
from pyrat_env.mazes import GameConfig, preset

from ..match import DEFAULT_MAX_TURNS

# The swapped game of a pair exchanges the agents' seats and so their start cells. Until December 2026 it also
# exchanged the set-up's start cells, which gave every agent its first start cell back: on presets with two start
# cells the two games of a pair were one game. Tournaments and ladder sets with two start cells name the fix in their
# identity, so a database of that time is never resumed with games of both kinds (the shared centre start of
# ``official`` played the same games before and after: its ids did not change).
SWAP_IDENTITY = {"swap": "seats-and-starts"}


def same_start(game: GameConfig) -> bool:
    """True when both players start on the same cell on every maze: a seat-swapped game is then the same game."""
    s = game.starts
    return len(s) == 2 and (s[1] == "same" or (s[0] == s[1] and s[0] != "random"))


@dataclass(frozen=True)
class Limits:
    """What an agent may use. Times in seconds; ``None`` for memory or CPU means no limit."""

    preprocessing_time: float = 3.0
    turn_time: float = 0.1
    max_consecutive_timeouts: int = 10   # that many timeouts in a row forfeit the game (0: never)
    memory_mb: int | None = 4096         # address space of the agent's process (RLIMIT_AS)
    cpu_seconds: float | None = 600.0    # CPU time of the agent's process in one game (RLIMIT_CPU)
    # not part of the tournament id: they only bound how long a broken agent can hold a game up
    end_time: float = 1.0                # for ``end`` (postprocessing)
    load_time: float = 60.0              # to start the process and import the agent
    output_limit: int = 8192             # bytes of an agent's output kept per game
    max_processes: int | None = 64       # processes and threads of one agent at once (cgroup pids limit)
    disk_mb: int | None = 256            # its private /tmp in the sandbox; the size of any file it writes

    IDENTITY = ("preprocessing_time", "turn_time", "max_consecutive_timeouts", "memory_mb", "cpu_seconds")

    def __post_init__(self) -> None:
        if self.turn_time <= 0 or self.preprocessing_time <= 0:
            raise ValueError("turn_time and preprocessing_time must be > 0 (agents in their own processes "
                             "are always timed)")
        if self.max_consecutive_timeouts < 0:
            raise ValueError("max_consecutive_timeouts must be >= 0")

    def identity(self) -> dict:
        return {k: getattr(self, k) for k in self.IDENTITY}


@dataclass(frozen=True)
class AgentEntry:
    """One participant: its display ``name``, its ``spec`` as given, what its process loads (``run_spec``)."""

    name: str
    spec: str
    run_spec: str
    digest: str | None = None   # sha256 of the agent's file (a .py file or a checkpoint)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TournamentConfig:
    """A round robin: every pair of agents plays ``games_per_pair`` games, in seat-swapped pairs."""

    agents: tuple[AgentEntry, ...]
    games_per_pair: int = 2
    game: GameConfig = field(default_factory=lambda: preset("official"))
    seed: int = 0
    max_turns: int | None = DEFAULT_MAX_TURNS
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        object.__setattr__(self, "agents", tuple(self.agents))
        if len(self.agents) < 2:
            raise ValueError("a tournament needs at least two agents")
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            raise ValueError(f"agent names must be unique, got {names}")
        if self.games_per_pair < 2 or self.games_per_pair % 2:
            raise ValueError(f"games_per_pair must be even and >= 2 (games come in seat-swapped pairs), "
                             f"got {self.games_per_pair}")
        if self.game.n_players != 2 or self.game.teams is not None:
            raise ValueError("tournament games are two-player games without teams")
        if self.max_turns is not None and self.max_turns < 1:
            raise ValueError("max_turns must be >= 1 or None")

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.agents]

    def identity(self) -> dict:
        """Everything that decides the games (hashed into the tournament id), but the agents' files.

        A file that changes keeps the tournament: its games are played again (`runner.stale_games`).
        """
        out = {"agents": [[a.name, a.spec] for a in self.agents], "game": self.game.to_dict(),
               "games_per_pair": self.games_per_pair, "seed": int(self.seed), "max_turns": self.max_turns,
               "limits": self.limits.identity()}
        if not same_start(self.game):
            out.update(SWAP_IDENTITY)
        return out

    @property
    def tournament_id(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {"agents": [a.to_dict() for a in self.agents], "game": self.game.to_dict(),
                "games_per_pair": self.games_per_pair, "seed": int(self.seed), "max_turns": self.max_turns,
                "limits": {f.name: getattr(self.limits, f.name) for f in fields(Limits)}}


# -- agent specs, without importing them -------------------------------------------------------------------
# ``[NAME=]SPEC`` and the default names are `pyrat_env.cli_options`' (``pyrat play`` names agents the same way)
def file_digest(path: str | os.PathLike, full: bool = False) -> str | None:
    """A file's sha256 in hex (its first 16 digits unless ``full``); None if it cannot be read."""
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest() if full else h.hexdigest()[:16]


def _entry(name: str, spec: str, base_dir: str | os.PathLike | None) -> AgentEntry:
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    target, cls = split_target(spec)
    run_spec, digest = spec, None
    if is_path(target):
        path = Path(target).expanduser()
        if not path.is_absolute():
            path = base / path
        path = path.resolve()
        digest = file_digest(path)
        run_spec = str(path) + (f":{cls}" if cls else "")
    else:   # a shipped network is a file too: retrained, it is another agent (built-in code is not digested)
        from ..spec import shipped_agents

        shipped = shipped_agents().get(target)
        if shipped is not None:
            digest = file_digest(shipped)
    return AgentEntry(name=name, spec=spec, run_spec=run_spec, digest=digest)


def describe_agent(spec: str, base_dir: str | os.PathLike | None = None) -> AgentEntry:
    """An `AgentEntry` for ``[NAME=]SPEC``; relative file paths are taken from ``base_dir`` (default: cwd)."""
    name, spec = split_agent_name(spec)
    return _entry(name or default_agent_name(spec), spec, base_dir)


def describe_agents(specs, base_dir: str | os.PathLike | None = None) -> tuple[AgentEntry, ...]:
    """Entries for several specs; names that collide become ``name#1``, ``name#2``... (a NAME given twice: error)."""
    return tuple(_entry(name, spec, base_dir) for name, spec in name_agents(specs))


# -- TOML --------------------------------------------------------------------------------------------------
TOML_KEYS = {"agents", "games_per_pair", "preset", "seed", "max_turns", "db", "replay_dir", "workers", "backend",
             "sandbox", "format", "rounds", "ray_address", "limits", "game"}


def load_toml(path: str | os.PathLike) -> dict:
    """Read a tournament file; paths in it (agents, db, replay_dir) are relative to the file's folder.

    Keys: ``agents`` (list of specs), ``games_per_pair``, ``preset``, ``seed``, ``max_turns`` (0: none),
    ``db``, ``replay_dir``, ``workers``, ``backend``, ``ray_address``, a ``[limits]`` table (fields of
    `Limits`) and a ``[game]`` table (fields of `GameConfig`, over the preset).
    """
    path = Path(path)
    with open(path, "rb") as f:
        data = tomllib.load(f)
    unknown = set(data) - TOML_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(TOML_KEYS))}")
    limits = data.get("limits", {})
    bad = set(limits) - {f.name for f in fields(Limits)}
    if bad:
        raise ValueError(f"{path}: unknown [limits] key(s) {', '.join(sorted(bad))}")
    data["base_dir"] = str(path.resolve().parent)
    for key in ("db", "replay_dir"):
        if key in data and not Path(data[key]).is_absolute():
            data[key] = str(path.resolve().parent / data[key])
    return data


def game_config(preset_name: str = "official", overrides: dict | None = None) -> GameConfig:
    """A preset with some fields changed (lists become tuples)."""
    cfg = preset(preset_name)
    if overrides:
        known = set(GameConfig.__dataclass_fields__)
        bad = set(overrides) - known
        if bad:
            raise ValueError(f"unknown game setting(s) {', '.join(sorted(bad))}; known: {', '.join(sorted(known))}")
        cfg = GameConfig.from_dict(dict(cfg.to_dict(), **overrides))
    return cfg
