"""The tournament database (SQLite): tournaments, and one row per game played.

Nothing is lost when the runner is killed at any moment, even with ``kill -9``:

* the database is in WAL mode with ``synchronous=FULL``, and each game is written in one
  transaction when it is over, so a game is either fully recorded or not at all;
* ``(tournament, key)`` is the primary key of a game (the key names its round, pair and seat
  order: `pyrat_rl.agents.tournament.schedule.ScheduledGame.key`) and rows are inserted with
  ``INSERT OR IGNORE``, so a game is recorded at most once, even by two runners at the same time;
* the replay is written (atomically, by `pyrat_env.replay.save_replay`) before the row, so every
  recorded game has its replay. A replay without a row is the trace of a game cut short by a
  kill: the game is played again and its replay replaced.

One database may hold several tournaments; their ids are digests of their settings
(`pyrat_rl.agents.tournament.config.TournamentConfig.tournament_id`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from pyrat_env.replay import utc_now

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
"""


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

    def record_game(self, tid: str, game, seats: tuple[int, int], record: dict, replay: str | None) -> bool:
        """Write one game (a `ScheduledGame`, the agent index of each seat and the game's record) at once.

        Returns False when the game was recorded already (the row is left as it was).
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
                  json.dumps(details), replay, float(record.get("seconds", 0.0)), utc_now())
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO games (tournament, key, idx, round, swap, seed, seat0, seat1, score0, score1, "
                "winner, reason, turns, timeouts0, timeouts1, errors0, errors1, forfeit0, forfeit1, details, replay, "
                "seconds, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return cur.rowcount == 1

    def games(self, tid: str) -> list[dict]:
        """Every recorded game of a tournament, in schedule order (``details`` decoded)."""
        rows = self.conn.execute("SELECT * FROM games WHERE tournament = ? ORDER BY idx", (tid,)).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["details"] = json.loads(d["details"])
            out.append(d)
        return out
