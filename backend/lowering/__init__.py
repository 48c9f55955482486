"""Lowering rules, one module per primitive family, registered into `registry`'s tables.

Importing this package imports every family module, which fills `LOWERINGS` and
`SCALAR_RULES`; `register_lowering(prim, fn)` adds a rule for a new primitive.
"""

from graphc.backend.lowering import (
    cast,
    compare,
    conv,
    elementwise,
    fused,
    gather,
    linalg,
    random,
    reduce,
    shape,
    window,
)
from graphc.backend.lowering.registry import (
    LOWERINGS,
    SCALAR_RULES,
    Signature,
    lowering,
    register_lowering,
    register_scalar,
    register_scratch,
    scalar_rule,
)
