"""Shared pytest fixtures (keep this file small: each test module holds its own helpers)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED_TRACES = Path(__file__).resolve().parents[1].parent / "shared" / "pyrat-game-traces"
LOCAL_TRACES = Path(__file__).resolve().parent / "data" / "traces"
GAMES = {SHARED_TRACES: 41, LOCAL_TRACES: 11}  # games in each known set, so that none goes unread unnoticed


@dataclass(frozen=True)
class OfficialTraces:
    """Recorded official games: ``files`` (``*.json.gz``, sorted) in ``folder``; ``games``: how many games they
    hold if the set is a known one (None for a folder given by ``PYRAT_TRACES_DIR``); ``full``: the whole set."""

    folder: Path
    files: tuple[Path, ...]
    games: int | None
    full: bool

    def file(self, name: str) -> Path:
        path = self.folder / name
        if not path.is_file():
            pytest.skip(f"{name} is not in {self.folder}")
        return path


@pytest.fixture(scope="session")
def official_traces() -> OfficialTraces:
    """The official recorded games: the full set in ``../shared/pyrat-game-traces`` when it is there, else the
    copies of a few in ``tests/data/traces`` (so the tests never skip); ``PYRAT_TRACES_DIR`` names another."""
    env = os.environ.get("PYRAT_TRACES_DIR")
    if env:
        folder = Path(env).resolve()
    else:
        folder = SHARED_TRACES if any(SHARED_TRACES.glob("*.json.gz")) else LOCAL_TRACES
    files = tuple(sorted(folder.glob("*.json.gz")))
    if not files:
        pytest.fail(f"no official traces (*.json.gz) in {folder}")
    return OfficialTraces(folder, files, GAMES.get(folder), folder == SHARED_TRACES)
