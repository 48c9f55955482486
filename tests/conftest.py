"""Fixtures shared by all test directories."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator, fresh per test so tests do not depend on their order."""
    return np.random.default_rng(0)
