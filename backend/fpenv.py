"""Flushing subnormal floats to zero for the duration of one native call (`flush_denormals=`).

Why: optimizer slots of weights whose gradient is exactly zero (the incoming weights of a ReLU
unit no sample activates) decay geometrically, Adam's momentum by beta_1 = 0.9 a step, and a
few hundred steps later they are subnormal (below 1.2e-38 in float32). On x86 CPUs every
instruction that reads or produces a subnormal takes a microcode assist of about a hundred
cycles, so a training step gets several times slower after the first epoch. XLA and
TensorFlow run their CPU kernels with the FTZ ("flush to zero") and DAZ ("denormals are
zero") bits of the MXCSR register set, so Keras never sees this.

With the option, the entry function sets FTZ and DAZ in the calling thread's MXCSR on entry and
restores the previous value before it returns: numpy and user code outside the call keep IEEE
subnormals. Threads the call starts inherit the setting (POSIX threads inherit the floating-
point environment of their creator), and threads that split a batch each call the entry. On
targets other than x86 the option changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from graphc.backend.emitter import declare
from graphc.backend.irtypes import PTR, VOID

#: MXCSR bits: flush results that would be subnormal to zero (FTZ, bit 15) and read subnormal
#: operands as zero (DAZ, bit 6).
FTZ_DAZ = 0x8040

I32 = ir.IntType(32)


def supports_flushing(triple: str) -> bool:
    """Whether the target has an MXCSR register (x86 with SSE).

    >>> supports_flushing("x86_64-unknown-linux-gnu"), supports_flushing("aarch64-apple-darwin")
    (True, False)
    """
    return triple.startswith(("x86_64", "i686", "i386"))


def emit_flush_denormals(b: ir.IRBuilder) -> Callable[[ir.IRBuilder], None]:
    """Emit, at `b`'s position, the code setting FTZ and DAZ; return the function that emits
    the code restoring the previous MXCSR (call it before every return)."""
    module = b.module
    save = declare(module, "llvm.x86.sse.stmxcsr", VOID, [PTR])
    load = declare(module, "llvm.x86.sse.ldmxcsr", VOID, [PTR])
    saved = b.alloca(I32, name="mxcsr.saved")
    flushed = b.alloca(I32, name="mxcsr.flushed")
    b.call(save, [saved])
    b.store(b.or_(b.load(saved, typ=I32), ir.Constant(I32, FTZ_DAZ)), flushed)
    b.call(load, [flushed])

    def restore(at: ir.IRBuilder) -> None:
        at.call(load, [saved])

    return restore
