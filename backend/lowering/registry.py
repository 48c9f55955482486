"""The lowering tables, keyed by primitive.

`LOWERINGS[prim](kernel)` emits the body of the kernel computing one node of `prim` (see
`graphc.backend.kernel.Kernel`). Elementwise primitives register a *scalar rule* instead,
`rule(em, sig, *values) -> value`, which computes one element in registers: the generic
elementwise kernel wraps it in a broadcasting loop nest, and fused kernels chain the rules of
their body without storing intermediates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from llvmlite import ir

from graphc.backend.emitter import Emitter
from graphc.backend.extents import element_count
from graphc.backend.kernel import Kernel
from graphc.backend.parallel import Part, map_in_parts
from graphc.backend.strided import broadcast_view, contiguous_view, emit_map
from graphc.core import Primitive
from graphc.errors import GraphError
from graphc.types import TensorType


@dataclass(frozen=True)
class Signature:
    """The static facts a scalar rule needs: operand dtypes, result dtype and attributes."""

    in_dtypes: tuple[np.dtype, ...]
    out_dtype: np.dtype
    attrs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the first operand (all operands of a binary op share it)."""
        return self.in_dtypes[0]


Lowering = Callable[[Kernel], None]
ScalarRule = Callable[..., ir.Value]
ScratchRule = Callable[[Mapping[str, Any], TensorType], "TensorType | None"]

#: Kernel lowerings: `LOWERINGS[prim](kernel)` emits the kernel's loop nest.
LOWERINGS: dict[Primitive, Lowering] = {}

#: Scalar rules of elementwise primitives: `SCALAR_RULES[prim](em, sig, *values)`.
SCALAR_RULES: dict[Primitive, ScalarRule] = {}

#: Kernels needing a scratch array besides their output: `rule(attrs, out_type)` gives its
#: type (or None); the kernel receives it as `Kernel.scratch`, a workspace buffer of its own.
SCRATCH_RULES: dict[Primitive, ScratchRule] = {}


def register_lowering(prim: Primitive, fn: Lowering) -> Lowering:
    """Make `fn(kernel)` the lowering of `prim`."""
    LOWERINGS[prim] = fn
    return fn


def register_scalar(prim: Primitive, rule: ScalarRule) -> ScalarRule:
    """Lower an elementwise `prim` by its scalar rule, in a broadcasting loop nest."""
    SCALAR_RULES[prim] = rule
    LOWERINGS[prim] = lower_elementwise
    return rule


def register_scratch(prim: Primitive, rule: ScratchRule) -> ScratchRule:
    """Declare that kernels of `prim` may need a scratch array (see `SCRATCH_RULES`)."""
    SCRATCH_RULES[prim] = rule
    return rule


def scratch_type(
    prim: Primitive, attrs: Mapping[str, Any], out_type: TensorType
) -> TensorType | None:
    """The type of the scratch array a node of `prim` needs, or None."""
    rule = SCRATCH_RULES.get(prim)
    return rule(attrs, out_type) if rule else None


def lowering(prim: Primitive) -> Lowering:
    """The lowering of `prim`; a clear error when the backend cannot compile it."""
    try:
        return LOWERINGS[prim]
    except KeyError:
        raise GraphError(
            f"backend: the primitive {prim.name!r} has no LLVM lowering, so graphs using it "
            f"cannot be compiled (they still run with the interpreter)"
        ) from None


def scalar_rule(prim: Primitive) -> ScalarRule:
    try:
        return SCALAR_RULES[prim]
    except KeyError:
        raise GraphError(f"backend: {prim.name!r} has no scalar (elementwise) rule") from None


def apply_scalar(em: Emitter, prim: Primitive, sig: Signature, *values: ir.Value) -> ir.Value:
    """One element of `prim` in registers."""
    return scalar_rule(prim)(em, sig, *values)


def lower_elementwise(k: Kernel) -> None:
    """out[i] = rule(operands broadcast to out's shape at i), one loop nest."""
    shape = k.out.type.shape
    sig = Signature(tuple(o.dtype for o in k.operands), k.out.dtype, k.attrs)

    def body(kernel: Kernel, part: Part | None) -> None:
        emit_map(
            kernel,
            kernel.out.extents,
            contiguous_view(kernel.out),
            [broadcast_view(o, shape) for o in kernel.operands],
            lambda values: apply_scalar(kernel.em, kernel.primitive, sig, *values),
            part=part,
        )

    map_in_parts(k, element_count(shape), body)
