"""When traced graphs go stale: a global epoch bumped by every structural change.

Layers and models cache graphs traced from their calls (eager calls per input signature,
`model.graph`, the compiled predictor). Weights are inputs or keyed by version, but structure
changes (a layer frozen or unfrozen, which changes BatchNormalization's behaviour; a layer
added to or popped from a Sequential) must invalidate every such cache, including the caches
of enclosing models; one counter does that without tracking who contains whom.
"""

from __future__ import annotations

import itertools

_counter = itertools.count(1)
_epoch = next(_counter)


def structure_changed() -> None:
    """Declare every traced graph stale."""
    global _epoch
    _epoch = next(_counter)


def structure_epoch() -> int:
    """The current epoch; a cache built at another epoch must be rebuilt.

    >>> before = structure_epoch()
    >>> structure_changed()
    >>> structure_epoch() > before
    True
    """
    return _epoch
