"""Shared pytest fixtures (keep this file small: each test module holds its own helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's ``../shared`` folder (official rules, recorded games); skips the test if it is absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared folder {SHARED_DIR} not found")
    return SHARED_DIR
