"""Scalar rule of `cast`: the conversion `graphc.backend.casts.cast_opcode` chooses."""

from __future__ import annotations

from graphc.backend.casts import emit_cast
from graphc.backend.lowering.registry import register_scalar
from graphc.primitives.cast import cast_p

register_scalar(cast_p, lambda em, sig, x: emit_cast(em, x, sig.dtype, sig.out_dtype))
