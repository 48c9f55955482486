"""Conversions between dtypes in registers: one chooser picks the LLVM operation.

numpy's `astype` is the reference, except where numpy's result is platform-dependent: a float
that does not fit the integer type (nan, infinities, out-of-range values) converts with
saturation (`llvm.fptosi.sat`): nan becomes 0, values beyond the range become the type's
minimum or maximum. This is defined behaviour (never LLVM poison), the same on every CPU.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from graphc import dtypes
from graphc.backend.emitter import Emitter
from graphc.backend.irtypes import register_type
from graphc.errors import DTypeError


def cast_opcode(src: np.dtype, dst: np.dtype) -> str:
    """The operation converting a `src` register value to `dst`.

    One of: 'same', 'fpext', 'fptrunc', 'sext', 'trunc', 'sitofp', 'uitofp' (bool to float),
    'zext' (bool to int), 'fptosi.sat', 'icmp_nonzero', 'fcmp_nonzero' (numbers to bool: any
    nonzero value, nan included, is True).

    >>> cast_opcode(dtypes.float64, dtypes.int32), cast_opcode(dtypes.bool_, dtypes.float32)
    ('fptosi.sat', 'uitofp')
    """
    if src not in dtypes.SUPPORTED or dst not in dtypes.SUPPORTED:
        raise DTypeError(f"cast: no conversion from {src} to {dst}")
    if src == dst:
        return "same"
    if dst == dtypes.bool_:
        return "fcmp_nonzero" if dtypes.is_float(src) else "icmp_nonzero"
    if src == dtypes.bool_:
        return "uitofp" if dtypes.is_float(dst) else "zext"
    src_bits, dst_bits = src.itemsize * 8, dst.itemsize * 8
    if dtypes.is_float(src) and dtypes.is_float(dst):
        return "fpext" if dst_bits > src_bits else "fptrunc"
    if dtypes.is_integer(src) and dtypes.is_integer(dst):
        return "sext" if dst_bits > src_bits else "trunc"
    if dtypes.is_integer(src):
        return "sitofp"
    return "fptosi.sat"


def emit_cast(
    em: Emitter, value: ir.Value, src: np.dtype, dst: np.dtype, name: str = ""
) -> ir.Value:
    """Convert `value` from `src` to `dst` with the operation `cast_opcode` chooses."""
    op = cast_opcode(src, dst)
    target = register_type(dst)
    b = em.b
    if op == "same":
        return value
    if op == "fcmp_nonzero":
        return b.fcmp_unordered("!=", value, ir.Constant(value.type, 0.0), name=name)
    if op == "icmp_nonzero":
        return b.icmp_unsigned("!=", value, ir.Constant(value.type, 0), name=name)
    if op == "fptosi.sat":
        return em.intrinsic("llvm.fptosi.sat", target, [value], [target, value.type], name)
    return getattr(b, op)(value, target, name=name)
