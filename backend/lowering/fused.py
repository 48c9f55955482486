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

A *reduce* body is the reduction's loop nest (`lowering.reduce.emit_reduction`) over the
elementwise part's shape, with the body evaluated in registers in place of a load: the
reduced value is accumulated without storing what it reduces.

A *rows* body (softmax, log_softmax, layer norm) loops over the rows (the leading axes of the
output) and walks each row once per reduction, accumulating it in a register, then once more
to store the output; the row stays in the cache, so the operands are read from memory once
and the output written once. Values with one value per row (the reductions, what is computed
from them alone: `log(sum)`) are computed once per row between walks, and the value
`plan_rows` carries (softmax's `exp(x - max)`) is stored in the output row by the walk that
computes it and read back by the later ones. Rows are shared between threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from llvmlite import ir

from graphc.backend.emitter import Emitter
from graphc.backend.extents import element_count, extents
from graphc.backend.gemm import ANCHORS, Addressing, Epilogue, TileEpilogue
from graphc.backend.irtypes import constant, register_type
from graphc.backend.kernel import Kernel
from graphc.backend.loops import for_range
from graphc.backend.lowering.reduce import accumulate, emit_reduction, reduction_start
from graphc.backend.lowering.registry import (
    Signature,
    apply_scalar,
    register_lowering,
    register_scratch,
)
from graphc.backend.parallel import Part, map_in_parts, run_in_parts
from graphc.backend.strided import View, broadcast_view, contiguous_view, emit_map, emit_nest
from graphc.core import constant_p, input_p
from graphc.errors import GraphError
from graphc.graph import Graph
from graphc.passes.fusion import RowPlan, fused_p, plan_rows, reduction_of, walk_nodes
from graphc.primitives.shape import broadcast_to_p, reshape_p
from graphc.types import TensorType


def evaluate_nodes(
    em: Emitter, body: Graph, known: Mapping[int, ir.Value], targets: Iterable[int]
) -> dict[int, ir.Value]:
    """Register values for one element: `known` plus `targets` and the ancestors they need.

    `broadcast_to` and `reshape` are the identity: every value is indexed at the element of
    the loop nest (a reshape in a body only keeps a reduction's axes, see `plan_rows`).
    """
    env = dict(known)
    needed: set[int] = set()
    for target in targets:
        needed |= walk_nodes(body, target, env)
    for node in body.order:
        if node not in needed:
            continue
        prim = body.primitive(node)
        t = body.type(node)
        if prim is input_p:
            raise GraphError(f"backend: a fused body reads its input %{node}, which is not loaded")
        if prim is constant_p:
            env[node] = constant(t.dtype, body.attrs(node)["value"].array.reshape(()).item())
            continue
        operands = body.operands(node)
        if prim is broadcast_to_p or prim is reshape_p:
            env[node] = env[operands[0]]
            continue
        sig = Signature(tuple(body.type(o).dtype for o in operands), t.dtype, body.attrs(node))
        env[node] = apply_scalar(em, prim, sig, *(env[o] for o in operands))
    return env


def evaluate_body(
    em: Emitter, body: Graph, known: Mapping[int, ir.Value], output: int | None = None
) -> ir.Value:
    """The value of `output` (the body's output by default) for one element, given the
    register values of some of its nodes (the inputs it reads, at least)."""
    output = body.outputs[0] if output is None else output
    return evaluate_nodes(em, body, known, [output])[output]


def anchor_of(body: Graph) -> int:
    """The matmul/conv node an epilogue body starts with."""
    inputs = set(body.inputs)
    return next(n for n in body.order if n not in inputs)


def lower_fused(k: Kernel) -> None:
    body: Graph = k.attrs["body"]
    LOWER_KIND[k.attrs["kind"]](k, body)


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


def _reduce_body(k: Kernel, body: Graph) -> None:
    reduction = reduction_of(body)
    (source,) = body.operands(reduction)
    shape = body.type(source).shape
    emit_reduction(
        k,
        body.primitive(reduction),
        body.attrs(reduction)["axes"],
        shape,
        [broadcast_view(o, shape) for o in k.operands],
        lambda values: evaluate_body(k.em, body, dict(zip(body.inputs, values)), source),
    )


def _rows_body(k: Kernel, body: Graph) -> None:
    plan = plan_rows(body)
    shape = k.out.type.shape
    lead = len(shape) - len(plan.axes)  # the row index runs over the axes before `lead`

    def emit(kernel: Kernel, part: Part | None) -> None:
        b = kernel.b
        views = [contiguous_view(kernel.out), *(broadcast_view(o, shape) for o in kernel.operands)]
        with b.goto_entry_block():
            slots = {
                r: b.alloca(register_type(body.type(r).dtype), name="acc") for r in plan.reductions
            }

        def row(starts: list[ir.Value]) -> None:
            env: dict[int, ir.Value] = {}
            _row_values(kernel.em, body, plan, env)
            for walk in range(len(plan.reductions) + 1):
                inner = [View(v.operand, v.strides[lead:], s) for v, s in zip(views, starts)]
                _walk(kernel, body, plan, walk, inner, slots, env)
                if walk < len(plan.reductions):
                    _row_values(kernel.em, body, plan, env)

        outer = [View(v.operand, v.strides[:lead]) for v in views]
        emit_nest(kernel, extents(shape[:lead]), outer, row, name="row", part=part)

    map_in_parts(k, element_count(shape), emit)


def _walk(
    k: Kernel,
    body: Graph,
    plan: RowPlan,
    walk: int,
    views: list[View],
    slots: Mapping[int, ir.Value],
    env: dict[int, ir.Value],
) -> None:
    """One walk over a row: accumulate reduction `walk` into `env`, or (the last walk) store
    the output; `views` are the output's and the operands' views along the row."""
    b = k.b
    target = plan.targets(body)[walk]
    reduction = plan.reductions[walk] if walk < len(plan.reductions) else None
    nodes = walk_nodes(body, target, plan.stops(body, walk))
    reads = {o for n in nodes for o in body.operands(n)} | {target}
    loads = [(i, n) for i, n in enumerate(body.inputs, start=1) if n in reads]
    carried = plan.carried
    keeps = carried is not None and walk == plan.carried_walk
    rereads = carried is not None and walk > plan.carried_walk and carried in reads
    if reduction is not None:
        dtype = body.type(reduction).dtype
        b.store(reduction_start(body.primitive(reduction), dtype), slots[reduction])

    def element(offsets: list[ir.Value]) -> None:
        known = dict(env)
        known.update({n: views[i].operand.load(b, offsets[i]) for i, n in loads})
        if rereads:
            known[carried] = k.out.load(b, offsets[0])
        values = evaluate_nodes(k.em, body, known, [target] + ([carried] if keeps else []))
        if keeps:
            k.out.store(b, offsets[0], values[carried])
        if reduction is None:
            k.out.store(b, offsets[0], values[target])
            return
        slot = slots[reduction]
        acc = b.load(slot, typ=register_type(dtype))
        b.store(accumulate(k.em, body.primitive(reduction), dtype, acc, values[target]), slot)

    shape = k.out.type.shape
    emit_nest(k, extents(shape[len(shape) - len(plan.axes) :]), views, element, name=f"w{walk}.")
    if reduction is not None:
        env[reduction] = b.load(slots[reduction], typ=register_type(dtype))


def _row_values(em: Emitter, body: Graph, plan: RowPlan, env: dict[int, ir.Value]) -> None:
    """Compute, once per row, the row nodes whose operands are known (in `env`) by now."""
    for node in body.order:
        if node in env or node not in plan.row_nodes or node in plan.reductions:
            continue
        operands = body.operands(node)
        if all(o in env or body.primitive(o) is constant_p for o in operands):
            env[node] = evaluate_body(em, body, env, node)


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


#: The lowering of each kind of fused body.
LOWER_KIND = {
    "elementwise": _elementwise_body,
    "epilogue": _epilogue_body,
    "reduce": _reduce_body,
    "rows": _rows_body,
}

register_lowering(fused_p, lower_fused)
register_scratch(fused_p, _epilogue_scratch)
