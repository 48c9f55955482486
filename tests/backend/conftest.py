"""Backend tests: the whole session uses a private object-code cache directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graphc.backend.cache import CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def cache_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`$GRAPHC_CACHE_DIR` points at a temporary directory before any test compiles."""
    directory = tmp_path_factory.mktemp("graphc-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(directory))
        yield directory
