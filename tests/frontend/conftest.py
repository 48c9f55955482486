"""Frontend test setup: a fresh naming session per test, and `layer_test_utils` importable.

Layer names ("dense", "dense_1", ...) come from global counters; clearing them before each
test makes names deterministic whatever the test order. Tests anywhere under tests/frontend
import the shared helper with `from layer_test_utils import run_layer_test`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from graphc.frontend import backend

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _fresh_session() -> None:
    backend.clear_session()
