"""Lowering of `fused` nodes (see `graphc.passes.fusion` for the contract).

An *elementwise* body becomes one loop nest: each operand is loaded once per output element
(broadcast to the output's shape) and the body's nodes are evaluated in registers with their
scalar rules, so no intermediate touches memory. Inside the body, `broadcast_to` is the
identity (every value is already indexed at the output element) and one-element constants are
IR literals.

An *epilogue* body starts with a matmul or conv, lowered as a blocked GEMM (`backend.gemm`)
into the output array (or into a scratch array when its dtype differs from the output's). The
rest of the body runs on each tile of the product as soon as the tile is final, while it is
still in the L1 cache: no second pass over the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from llvmlite import ir

from graphc.backend.emitter import Emitter
from graphc.backend.extents import element_count
from graphc.backend.gemm import ANCHORS, Addressing, Epilogue, TileEpilogue
from graphc.backend.irtypes import constant
from graphc.backend.kernel import Kernel
from graphc.backend.loops import for_range
from graphc.backend.lowering.registry import (
    Signature,
    apply_scalar,
    register_lowering,
    register_scratch,
)
from graphc.backend.parallel import Part, map_in_parts, run_in_parts
from graphc.backend.strided import broadcast_view, contiguous_view, emit_map
from graphc.core import constant_p, input_p
from graphc.graph import Graph
from graphc.passes.fusion import fused_p
from graphc.primitives.shape import broadcast_to_p
from graphc.types import TensorType


def evaluate_body(em: Emitter, body: Graph, known: Mapping[int, ir.Value]) -> ir.Value:
    """The body's output for one element, given the register values of some of its nodes."""
    env = dict(known)
    for node in body.order:
        prim = body.primitive(node)
        if node in env or prim is input_p:  # inputs read only by an epilogue's product
            continue
        t = body.type(node)
        if prim is constant_p:
            env[node] = constant(t.dtype, body.attrs(node)["value"].array.reshape(()).item())
            continue
        operands = body.operands(node)
        if prim is broadcast_to_p:
            env[node] = env[operands[0]]
            continue
        sig = Signature(tuple(body.type(o).dtype for o in operands), t.dtype, body.attrs(node))
        env[node] = apply_scalar(em, prim, sig, *(env[o] for o in operands))
    return env[body.outputs[0]]


def anchor_of(body: Graph) -> int:
    """The matmul/conv node an epilogue body starts with."""
    inputs = set(body.inputs)
    return next(n for n in body.order if n not in inputs)


def lower_fused(k: Kernel) -> None:
    body: Graph = k.attrs["body"]
    if k.attrs["kind"] == "elementwise":
        _elementwise_body(k, body)
    else:
        _epilogue_body(k, body)


def _elementwise_body(k: Kernel, body: Graph) -> None:
    shape = k.out.type.shape

    def emit(kernel: Kernel, part: Part | None) -> None:
        emit_map(
            kernel,
            kernel.out.extents,
            contiguous_view(kernel.out),
            [broadcast_view(o, shape) for o in kernel.operands],
            lambda values: evaluate_body(kernel.em, body, dict(zip(body.inputs, values))),
            part=part,
        )

    map_in_parts(k, element_count(shape), emit)


def _epilogue_body(k: Kernel, body: Graph) -> None:
    anchor = anchor_of(body)
    gemm = ANCHORS[body.primitive(anchor)]
    work = gemm.work(_anchor_kernel(k, body, anchor))
    run_in_parts(k, work, lambda kernel, part: _epilogue_part(kernel, body, part), k.threads)


def _anchor_kernel(k: Kernel, body: Graph, anchor: int) -> Kernel:
    """The kernel computing the product: the anchor's operands, into the output (or into the
    scratch array when the product has another dtype)."""
    position = {node: index for index, node in enumerate(body.inputs)}
    return replace(
        k,
        primitive=body.primitive(anchor),
        attrs=dict(body.attrs(anchor)),
        out=k.scratch if k.scratch is not None else k.out,
        operands=[k.operands[position[o]] for o in body.operands(anchor)],
        scratch=None,
    )


def _epilogue_part(k: Kernel, body: Graph, part: Part | None) -> None:
    """The product and, on each finished tile, the rest of the body."""
    anchor = anchor_of(body)
    position = {node: index for index, node in enumerate(body.inputs)}
    anchor_kernel = _anchor_kernel(k, body, anchor)
    used = sorted(
        {o for n in body.order if n != anchor for o in body.operands(n) if o in position},
        key=position.__getitem__,
    )
    shape = k.out.type.shape
    views = [contiguous_view(k.out), contiguous_view(anchor_kernel.out)]
    views += [broadcast_view(k.operands[position[o]], shape) for o in used]

    def build(row_offset: Addressing, col_offset: Addressing) -> Epilogue:
        def finish(row0: ir.Value, rows: ir.Value, col0: ir.Value, cols: ir.Value) -> None:
            b = k.b
            with for_range(b, rows, "e.r") as r:
                row = b.add(row0, r)
                starts = [row_offset(v, row) for v in range(len(views))]
                with for_range(b, cols, "e.c") as c:
                    col = b.add(col0, c)
                    at = [k.add(s, col_offset(v, col)) for v, s in enumerate(starts)]
                    values = [view.operand.load(b, o) for view, o in zip(views[1:], at[1:])]
                    known = {anchor: values[0], **dict(zip(used, values[1:]))}
                    k.out.store(b, at[0], evaluate_body(k.em, body, known))

        return finish

    ANCHORS[body.primitive(anchor)].lower(anchor_kernel, TileEpilogue(views, build), part)


def _epilogue_scratch(attrs: Mapping[str, Any], out_type: TensorType) -> TensorType | None:
    """An epilogue whose product has another dtype than the result computes it aside."""
    if attrs["kind"] != "epilogue":
        return None
    body: Graph = attrs["body"]
    product = body.type(anchor_of(body))
    return product if product.dtype != out_type.dtype else None


register_lowering(fused_p, lower_fused)
register_scratch(fused_p, _epilogue_scratch)
