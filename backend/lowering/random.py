"""Lowering of `random_uniform`: splitmix64 of (seed, flat index), as the interpreter does.

Element i is the top mantissa bits of splitmix64(seed + (i + 1) * gamma) scaled by 2**-bits,
computed with wrapping 64-bit integer arithmetic: the loop body is branch-free, so it
vectorizes, and the numbers are bit-identical to the interpreter's.
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backend.extents import element_count
from graphc.backend.irtypes import I64, register_type
from graphc.backend.kernel import Kernel
from graphc.backend.lowering.registry import register_lowering
from graphc.primitives import random as rnd


def splitmix64(b: ir.IRBuilder, state: ir.Value) -> ir.Value:
    """The splitmix64 finalizer of a 64-bit state (wrapping arithmetic)."""
    z = state
    for shift, multiplier in [(30, rnd.MIX_1), (27, rnd.MIX_2)]:
        z = b.mul(b.xor(z, b.lshr(z, ir.Constant(I64, shift))), ir.Constant(I64, multiplier))
    return b.xor(z, b.lshr(z, ir.Constant(I64, 31)))


def lower_random_uniform(k: Kernel) -> None:
    b = k.b
    bits = rnd.MANTISSA_BITS[k.out.dtype]
    float_type = register_type(k.out.dtype)
    seed = k.operands[0].load(b, ir.Constant(I64, 0), name="seed")
    scale = ir.Constant(float_type, 2.0**-bits)
    with k.loop(element_count(k.out.type.shape), "i") as i:
        counter = b.add(i, ir.Constant(I64, 1))
        state = b.add(seed, b.mul(counter, ir.Constant(I64, rnd.GOLDEN_GAMMA)), name="state")
        top = b.lshr(splitmix64(b, state), ir.Constant(I64, 64 - bits))
        value = k.em.fop("fmul", b.uitofp(top, float_type), scale, name="u")
        k.out.store(b, i, value)


register_lowering(rnd.random_uniform_p, lower_random_uniform)
