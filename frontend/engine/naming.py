"""Default names for layers and models, uniquified per prefix as Keras does.

The first Dense is "dense", the next "dense_1", and so on; `backend.clear_session()` resets the
counters so a fresh model gets the same names as in a fresh process.
"""

from __future__ import annotations

import re
from collections import defaultdict

_counters: defaultdict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    """A class name as a default layer name, as Keras spells it.

    >>> to_snake_case("Dense"), to_snake_case("InputLayer"), to_snake_case("RepeatVector")
    ('dense', 'input_layer', 'repeat_vector')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """`prefix` the first time, then `prefix_1`, `prefix_2`, ... until the counters reset.

    >>> reset_names()
    >>> unique_name("dense"), unique_name("dense"), unique_name("flatten")
    ('dense', 'dense_1', 'flatten')
    """
    count = _counters[prefix]
    _counters[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names() -> None:
    """Forget every name handed out (part of `backend.clear_session`)."""
    _counters.clear()
