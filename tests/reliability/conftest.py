"""Reliability tests: compiled code caches into a private directory, never the user's, and
the shared helpers (`corpus`, the hostile-file generator) are importable from every test file.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphc.backend.cache import CACHE_ENV

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session", autouse=True)
def cache_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`$GRAPHC_CACHE_DIR` points at a temporary directory before any test compiles."""
    directory = tmp_path_factory.mktemp("graphc-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(directory))
        yield directory
