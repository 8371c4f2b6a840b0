"""One conftest for the whole suite: test data location and shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared real-image test data (``$NSTSITE_TESTDATA``, default ``../shared/testdata``)."""
    if not TESTDATA.is_dir():
        pytest.skip(f"test data folder {TESTDATA} is absent (set NSTSITE_TESTDATA)")
    return TESTDATA
