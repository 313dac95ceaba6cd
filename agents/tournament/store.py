"""The tournament database (SQLite): tournaments, and one row per game played.

Nothing is lost when the runner is killed at any moment, even with ``kill -9``:

* the database is in WAL mode with ``synchronous=FULL``, and each game is written in one
  transaction when it is over, so a game is either fully recorded or not at all;
* ``(tournament, key)`` is the primary key of a game (the key names its round, pair and seat
  order: `pyrat_rl.agents.tournament.schedule.ScheduledGame.key`), so a game is recorded at most
  once; a row that exists already is an error (`RecordExists`: two runners on one database, or rows
  written by someone else), never a silent skip;
* the replay is written (atomically, by `pyrat_env.replay.save_replay`) before the row, so every
  recorded game has its replay. A replay without a row is the trace of a game cut short by a
  kill: the game is played again and its replay replaced. The row keeps the replay's sha256
  (`replay_problems` finds replays that are missing or were changed) and the digests of the two
  agents' files, so that a submission fixed late replays its own games only (`supersede`).

One database may hold several tournaments; their ids are digests of their settings
(`pyrat_rl.agents.tournament.config.TournamentConfig.tournament_id`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from pyrat_env.replay import utc_now

from .config import file_digest

SCHEMA = """
CREATE TABLE IF NOT EXISTS tournaments (
    id          TEXT PRIMARY KEY,
    created     TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    scheduled   INTEGER NOT NULL,
    agents      TEXT NOT NULL,     -- JSON list of {name, spec, run_spec, digest}, in agent-index order
    settings    TEXT NOT NULL      -- JSON of TournamentConfig.to_dict()
);
CREATE TABLE IF NOT EXISTS games (
    tournament  TEXT NOT NULL REFERENCES tournaments(id),
    key         TEXT NOT NULL,     -- r{round}-{a}-{b}-{f|s}: unique in a tournament
    idx         INTEGER NOT NULL,  -- position in the schedule
    round       INTEGER NOT NULL,
    swap        INTEGER NOT NULL,
    seed        INTEGER NOT NULL,  -- the game seed (maze, cheese, starts)
    seat0       INTEGER NOT NULL,  -- agent index in seat 0
    seat1       INTEGER NOT NULL,
    score0      REAL NOT NULL,
    score1      REAL NOT NULL,
    winner      INTEGER,           -- agent index, NULL on a draw
    reason      TEXT NOT NULL,     -- all_cheese_eaten, ranking_decided, max_turns, forfeit
    turns       INTEGER NOT NULL,
    timeouts0   INTEGER NOT NULL,
    timeouts1   INTEGER NOT NULL,
    errors0     INTEGER NOT NULL,
    errors1     INTEGER NOT NULL,
    forfeit0    TEXT,              -- why seat 0 forfeited (load, crash, exit, memory, cpu, timeouts, protocol)
    forfeit1    TEXT,
    details     TEXT NOT NULL,     -- JSON: error samples, forfeit messages, the agents' (truncated) output
    replay      TEXT,
    seconds     REAL NOT NULL,
    finished    TEXT NOT NULL,
    PRIMARY KEY (tournament, key)
);
CREATE TABLE IF NOT EXISTS superseded_games AS SELECT * FROM games WHERE 0;
"""
# columns added after the first release: databases that lack them get them when opened
ADDED_COLUMNS = (("replay_sha256", "TEXT"), ("digest0", "TEXT"), ("digest1", "TEXT"), ("peak_mb0", "REAL"),
                 ("peak_mb1", "REAL"))


class RecordExists(RuntimeError):
    """A game's row is in the database already (two runners on one database, or rows written by someone else)."""


def sha256_file(path: str | os.PathLike) -> str | None:
    return file_digest(path, full=True)


class TournamentStore:
    """A tournament database; open it with a path (created if missing)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT)
        self.conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        for table in ("games", "superseded_games"):
            have = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in ADDED_COLUMNS:
                if name not in have:
                    self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> TournamentStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- tournaments -------------------------------------------------------------------------------------
    def ensure_tournament(self, tid: str, settings: dict, scheduled: int) -> None:
        """Record a tournament unless it is there already (same id: same agents and settings)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "INSERT OR IGNORE INTO tournaments (id, created, seed, scheduled, agents, settings) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (tid, utc_now(), int(settings["seed"]), int(scheduled), json.dumps(settings["agents"]),
                 json.dumps(settings)))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def grow_tournament(self, tid: str, settings: dict, scheduled: int) -> None:
        """Raise a recorded tournament's number of games (and its settings) to ``scheduled``, if it had fewer.

        A strength ladder's set of games keeps its id when more mazes are asked for (the games played
        are a prefix of the longer schedule); its row then says how many games it now schedules.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute("UPDATE tournaments SET scheduled = ?, settings = ? WHERE id = ? AND scheduled < ?",
                              (int(scheduled), json.dumps(settings), tid, int(scheduled)))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def tournament(self, tid: str) -> dict | None:
        row = self.conn.execute("SELECT * FROM tournaments WHERE id = ?", (tid,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["agents"] = json.loads(out["agents"])
        out["settings"] = json.loads(out["settings"])
        out["recorded"] = self.count_games(tid)
        return out

    def tournaments(self) -> list[dict]:
        """Every tournament in the database, oldest first, with the number of games recorded."""
        rows = self.conn.execute("SELECT id FROM tournaments ORDER BY created, rowid").fetchall()
        return [self.tournament(r["id"]) for r in rows]

    def resolve_id(self, prefix: str | None = None) -> str:
        """The tournament whose id starts with ``prefix``, or the latest one; ValueError if none or ambiguous."""
        if prefix is None:
            row = self.conn.execute("SELECT id FROM tournaments ORDER BY created DESC, rowid DESC LIMIT 1").fetchone()
            if row is None:
                raise ValueError(f"{self.path}: no tournament in this database")
            return row["id"]
        rows = self.conn.execute("SELECT id FROM tournaments WHERE id LIKE ?", (prefix + "%",)).fetchall()
        if len(rows) != 1:
            known = ", ".join(t["id"] for t in self.tournaments()) or "none"
            raise ValueError(f"{self.path}: {'no' if not rows else 'several'} tournament(s) match {prefix!r} "
                             f"(known: {known})")
        return rows[0]["id"]

    # -- games -------------------------------------------------------------------------------------------
    def done_keys(self, tid: str) -> set[str]:
        return {r["key"] for r in self.conn.execute("SELECT key FROM games WHERE tournament = ?", (tid,))}

    def count_games(self, tid: str) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM games WHERE tournament = ?", (tid,)).fetchone()[0])

    def record_game(self, tid: str, game, seats: tuple[int, int], record: dict, replay: str | None,
                    replay_sha256: str | None = None, digests: tuple[str | None, str | None] = (None, None)) -> None:
        """Write one game (a `ScheduledGame`, the agent index of each seat and the game's record) at once.

        ``replay``: its path relative to the database's folder, ``replay_sha256`` its digest; ``digests``: the
        seats' agent file digests. Raises `RecordExists` when the game is recorded already (the row is left as it was).
        """
        winner_name = record["winner"]
        winner = None if winner_name is None else seats[record["names"].index(winner_name)]
        forfeits = record.get("forfeits") or [None, None]
        details = {"error_samples": record.get("error_samples"), "forfeits": forfeits,
                   "outputs": record.get("outputs"), "names": record["names"]}
        values = (tid, game.key, game.index, game.round, int(game.swap), int(game.seed), seats[0], seats[1],
                  float(record["scores"][0]), float(record["scores"][1]), winner, record["reason"],
                  int(record["turns"]), int(record["timeouts"][0]), int(record["timeouts"][1]),
                  int(record["errors"][0]), int(record["errors"][1]),
                  None if forfeits[0] is None else forfeits[0]["kind"],
                  None if forfeits[1] is None else forfeits[1]["kind"],
                  json.dumps(details), replay, float(record.get("seconds", 0.0)), utc_now(), replay_sha256,
                  digests[0], digests[1], *(list(record.get("peak_memory_mb") or [None, None]) + [None, None])[:2])
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "INSERT INTO games (tournament, key, idx, round, swap, seed, seat0, seat1, score0, score1, "
                "winner, reason, turns, timeouts0, timeouts1, errors0, errors1, forfeit0, forfeit1, details, replay, "
                "seconds, finished, replay_sha256, digest0, digest1, peak_mb0, peak_mb1) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            self.conn.execute("COMMIT")
        except sqlite3.IntegrityError:
            self.conn.execute("ROLLBACK")
            raise RecordExists(f"{self.path}: game {game.key} of tournament {tid} is recorded already (another "
                               "runner on this database, or rows written by someone else); the new result is "
                               "not recorded") from None
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def game_digests(self, tid: str) -> dict[str, tuple[int, int, str | None, str | None]]:
        """``{key: (seat0, seat1, digest0, digest1)}`` of the recorded games."""
        rows = self.conn.execute("SELECT key, seat0, seat1, digest0, digest1 FROM games WHERE tournament = ?", (tid,))
        return {r["key"]: (r["seat0"], r["seat1"], r["digest0"], r["digest1"]) for r in rows}

    def supersede(self, tid: str, keys, agents: list[dict] | None = None) -> int:
        """Move games out of the results (into ``superseded_games``, kept for the record), so they are played again.

        ``agents``: the tournament's agent list to record with it (their new digests). Returns how many moved.
        """
        keys = list(keys)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            moved = 0
            for key in keys:
                self.conn.execute("INSERT INTO superseded_games SELECT * FROM games WHERE tournament = ? AND key = ?",
                                  (tid, key))
                moved += self.conn.execute("DELETE FROM games WHERE tournament = ? AND key = ?", (tid, key)).rowcount
            if agents is not None:
                self.conn.execute("UPDATE tournaments SET agents = ? WHERE id = ?", (json.dumps(agents), tid))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return moved

    def replay_problems(self, tid: str) -> dict[str, str]:
        """``{game key: problem}`` for recorded games whose replay is missing, or differs from the digest of its row."""
        base = self.path.resolve().parent
        problems = {}
        for r in self.conn.execute("SELECT key, replay, replay_sha256 FROM games WHERE tournament = ? ORDER BY idx",
                                   (tid,)):
            if not r["replay"]:
                problems[r["key"]] = "no replay recorded"
                continue
            path = Path(r["replay"])
            path = path if path.is_absolute() else base / path
            if not path.is_file():
                problems[r["key"]] = f"replay {r['replay']} is missing"
            elif r["replay_sha256"] is None:
                problems[r["key"]] = f"replay {r['replay']} has no digest in the database (an older version's row)"
            elif sha256_file(path) != r["replay_sha256"]:
                problems[r["key"]] = f"replay {r['replay']} was changed after the game (its sha256 differs)"
        return problems

    def games(self, tid: str) -> list[dict]:
        """Every recorded game of a tournament, in schedule order (``details`` decoded)."""
        rows = self.conn.execute("SELECT * FROM games WHERE tournament = ? ORDER BY idx", (tid,)).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["details"] = json.loads(d["details"])
            out.append(d)
        return out
