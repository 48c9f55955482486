"""Transcendental and rounding functions of one element: inline IR, intrinsics or libm calls.

This module is the single place that decides how `exp`, `log`, `tanh`, ... become code:

- `exp`, `expm1`, `log`, `log1p`, `tanh` and `erf` are emitted inline by
  `graphc.backend.vecmath` (range reduction + polynomial, a few ulp), which LLVM's loop
  vectorizer widens like any arithmetic;
- intrinsics that LLVM lowers to single instructions (sqrt, floor, ceil, roundeven, fabs,
  copysign) vectorize too;
- `sin`, `cos`, `tan` and `pow` stay scalar calls (`llvm.sin` becomes `sinf`/`sin`): their
  argument reduction for huge inputs needs more than a polynomial. The JIT resolves them in the
  process's C math library and an exported library links with `-lm`.
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backend.emitter import Emitter, declare
from graphc.backend.vecmath import FUNCTIONS as VECTOR_FUNCTIONS
from graphc.backend.vecmath import vector_math

#: Functions implemented by an LLVM intrinsic, overloaded on the float type.
INTRINSICS = {
    "sin": "llvm.sin",
    "cos": "llvm.cos",
    "sqrt": "llvm.sqrt",
    "floor": "llvm.floor",
    "ceil": "llvm.ceil",
    "round": "llvm.roundeven",  # to nearest, ties to even: numpy's rint
    "abs": "llvm.fabs",
    "pow": "llvm.pow",
    "copysign": "llvm.copysign",
}

#: Functions with no intrinsic: C99 libm, `name` for double and `namef` for float.
LIBM = frozenset({"tan"})


def libm_symbol(fname: str, float_type: ir.Type) -> str:
    """The C symbol of a libm function for a float type.

    >>> libm_symbol("erf", ir.FloatType()), libm_symbol("erf", ir.DoubleType())
    ('erff', 'erf')
    """
    return fname + ("f" if isinstance(float_type, ir.FloatType) else "")


def math_call(em: Emitter, fname: str, *args: ir.Value, name: str = "") -> ir.Value:
    """`fname(*args)` on float registers: inline vector math, an intrinsic or a libm call."""
    ftype = args[0].type
    if fname in VECTOR_FUNCTIONS:
        return vector_math(em, fname, *args)
    if fname in INTRINSICS:
        return em.intrinsic(INTRINSICS[fname], ftype, args, result=name)
    if fname in LIBM:
        fn = declare(em.module, libm_symbol(fname, ftype), ftype, [a.type for a in args])
        return em.call(fn, args, name=name)
    raise KeyError(f"mathlib: no implementation of {fname!r}")
