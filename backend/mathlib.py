"""Transcendental and rounding functions of one element: LLVM intrinsics or libm calls.

This module is the single place that decides how `exp`, `log`, `tanh`, ... become code, so a
vectorized polynomial implementation can replace entries here without touching the lowerings.
Intrinsics that LLVM lowers to single instructions (sqrt, floor, ceil, roundeven, fabs,
copysign) vectorize; the others become scalar libm calls (`expf`, `erf`, ...) that the JIT
resolves in the process's C math library and an exported library links with `-lm`.
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backend.emitter import Emitter, declare

#: Functions implemented by an LLVM intrinsic, overloaded on the float type.
INTRINSICS = {
    "exp": "llvm.exp",
    "log": "llvm.log",
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
LIBM = frozenset({"log1p", "expm1", "tan", "tanh", "erf"})


def libm_symbol(fname: str, float_type: ir.Type) -> str:
    """The C symbol of a libm function for a float type.

    >>> libm_symbol("erf", ir.FloatType()), libm_symbol("erf", ir.DoubleType())
    ('erff', 'erf')
    """
    return fname + ("f" if isinstance(float_type, ir.FloatType) else "")


def math_call(em: Emitter, fname: str, *args: ir.Value, name: str = "") -> ir.Value:
    """`fname(*args)` on float registers, as an intrinsic or a libm call."""
    ftype = args[0].type
    if fname in INTRINSICS:
        return em.intrinsic(INTRINSICS[fname], ftype, args, result=name)
    if fname in LIBM:
        fn = declare(em.module, libm_symbol(fname, ftype), ftype, [a.type for a in args])
        return em.call(fn, args, name=name)
    raise KeyError(f"mathlib: no implementation of {fname!r}")
