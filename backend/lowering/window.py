"""Lowering of `reduce_window`: max or sum over strided, padded windows, any rank.

Axes are split into *plain* ones (window 1, no padding: output i reads input i * stride, always
in bounds) and *windowed* ones. With t the position after the last windowed axis, the loops
are: output axes [0, t), then one loop per windowed axis over its window (skipping positions
that fall into the padding, which holds the identity and cannot change the result), then the
remaining plain output axes, innermost. For NHWC pooling that is n, oh, ow, kh, kw, c: the
innermost loop runs over contiguous channels in both input and output.

A small window without padding (at most `UNROLLED_WINDOW` positions, e.g. 2x2 or 3x3 pooling)
is unrolled instead: the innermost loop loads every position of the window and combines them
in registers, starting from the identity, and stores each output once (one pass over the
output instead of one per window position).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from math import prod

from llvmlite import ir

from graphc.backend.irtypes import I64, constant
from graphc.backend.kernel import Kernel, Operand
from graphc.backend.lowering.reduce import REDUCERS, lowest
from graphc.backend.lowering.registry import Signature, register_lowering
from graphc.backend.strided import View, contiguous_view, emit_map
from graphc.primitives import reduce as rd
from graphc.primitives.window import reduce_window_p, select_and_scatter_add_p

COMBINE = {"max": REDUCERS[rd.reduce_max_p][1], "sum": REDUCERS[rd.reduce_sum_p][1]}

#: Windows of at most this many positions, without padding, are unrolled.
UNROLLED_WINDOW = 16


def lower_reduce_window(k: Kernel) -> None:
    (x,) = k.operands
    b = k.b
    dtype = k.out.dtype
    reducer = k.attrs["reducer"]
    windows, strides, padding = k.attrs["window"], k.attrs["strides"], k.attrs["padding"]
    identity = constant(dtype, lowest(dtype) if reducer == "max" else 0)
    windowed = [a for a in range(x.type.ndim) if windows[a] != 1 or tuple(padding[a]) != (0, 0)]
    positions_count = prod(windows[a] for a in windowed)
    unrolled = positions_count <= UNROLLED_WINDOW and all(
        tuple(padding[a]) == (0, 0) for a in windowed
    )
    if not unrolled:
        emit_map(k, k.out.extents, contiguous_view(k.out), [], lambda _: identity, name="init")
    split = windowed[-1] + 1 if windowed else 0
    out_dims, in_dims = k.out.extents, x.extents
    out_strides, in_strides = k.out.strides, x.strides
    sig = Signature((dtype, dtype), dtype)
    combine = COMBINE[reducer]

    trailing = range(split, x.type.ndim)

    def unrolled_inner(positions: dict[int, ir.Value], in_base, out_base) -> None:
        """The plain trailing axes, every window position combined in registers."""
        for axis in windowed:  # the window's first input row/column along each axis
            start = b.mul(positions[axis], ir.Constant(I64, strides[axis]))
            in_base = b.add(in_base, b.mul(start, k.value(in_strides[axis])))
        sources = []
        for offsets in product(*(range(windows[a]) for a in windowed)):
            shift = k.offset(
                list(zip((ir.Constant(I64, o) for o in offsets), (in_strides[a] for a in windowed)))
            )
            view_strides = tuple(in_strides[a] * strides[a] for a in trailing)
            sources.append(View(x, view_strides, k.add(in_base, shift)))

        def fold(values: list[ir.Value]) -> ir.Value:
            result = identity
            for value in values:
                result = combine(k.em, sig, result, value)
            return result

        out_view = View(k.out, tuple(out_strides[a] for a in trailing), out_base)
        emit_map(k, [out_dims[a] for a in trailing], out_view, sources, fold, name="c")

    def inner(out_base: ir.Value, in_base: ir.Value) -> None:
        """The plain trailing axes: out[...] = combine(out[...], x[... * stride])."""
        acc = View(k.out, tuple(out_strides[a] for a in trailing), out_base)
        source = View(x, tuple(in_strides[a] * strides[a] for a in trailing), in_base)
        emit_map(
            k,
            [out_dims[a] for a in trailing],
            acc,
            [acc, source],
            lambda values: combine(k.em, sig, *values),
            name="c",
        )

    def windows_of(axes: list[int], positions: dict[int, ir.Value], in_base, out_base) -> None:
        """One loop per windowed axis; an out-of-bounds (padding) position is skipped."""
        if not axes:
            inner(out_base, in_base)
            return
        axis, rest = axes[0], axes[1:]
        lo = padding[axis][0]
        with k.loop(windows[axis], f"w{axis}") as w:
            start = b.mul(positions[axis], ir.Constant(I64, strides[axis]))
            where = b.add(b.sub(start, ir.Constant(I64, lo)), w, name=f"in{axis}")
            inside = b.and_(
                b.icmp_signed(">=", where, ir.Constant(I64, 0)),
                b.icmp_signed("<", where, k.value(in_dims[axis])),
            )
            with b.if_then(inside):
                moved = b.add(in_base, b.mul(where, k.value(in_strides[axis])))
                windows_of(rest, positions, moved, out_base)

    def window_loops(positions: dict[int, ir.Value], in_bases, out_bases) -> None:
        ((in_base,), (out_base,)) = in_bases, out_bases
        if unrolled:
            unrolled_inner(positions, in_base, out_base)
        else:
            windows_of(windowed, positions, in_base, out_base)

    walk_outputs(k, split, windowed, [x], [k.out], window_loops)


def walk_outputs(
    k: Kernel,
    split: int,
    windowed: list[int],
    inputs: list[Operand],
    outputs: list[Operand],
    body: Callable[[dict[int, ir.Value], list[ir.Value], list[ir.Value]], None],
) -> None:
    """Loop over the output axes [0, split) (the first output's extents), then call
    `body(positions, in_bases, out_bases)`: the output index per axis, and per operand the
    element offset reached. The `outputs` (output-shaped) advance by one per index; the
    `inputs` (input-shaped) advance by the stride on plain axes and stay at 0 on windowed
    ones, whose window `body` places itself."""
    b = k.b
    strides = k.attrs["strides"]

    def outer(axis: int, positions: dict[int, ir.Value], in_bases, out_bases) -> None:
        if axis == split:
            body(positions, in_bases, out_bases)
            return
        with k.loop(outputs[0].extents[axis], f"o{axis}") as o:
            out_next = [
                b.add(base, b.mul(o, k.value(op.strides[axis])))
                for op, base in zip(outputs, out_bases)
            ]
            in_next = in_bases
            if axis not in windowed:
                in_next = [
                    b.add(base, b.mul(o, k.value(op.strides[axis] * strides[axis])))
                    for op, base in zip(inputs, in_bases)
                ]
            outer(axis + 1, {**positions, axis: o}, in_next, out_next)

    zero = ir.Constant(I64, 0)
    outer(0, {}, [zero] * len(inputs), [zero] * len(outputs))


register_lowering(reduce_window_p, lower_reduce_window)


def lower_select_and_scatter_add(k: Kernel) -> None:
    """dx = 0 (unless the windows tile x); then per output position, for each window offset
    (unrolled) along the trailing plain axes: dx at that offset gets the window's cotangent
    where x there is the window's first element equal to its max (added, when windows
    overlap). The trailing axes, channels for pooling, are contiguous in every operand."""
    x, window_max, ct = k.operands
    b = k.b
    dx = k.out
    windows, strides = k.attrs["window"], k.attrs["strides"]
    zero = constant(dx.dtype, 0)
    windowed = [a for a in range(x.type.ndim) if windows[a] != 1]
    overlapping = any(strides[a] < windows[a] for a in windowed)
    tiling = all(  # every element in exactly one window (2x2 pooling of an even size): no fill
        strides[a] == windows[a]
        and (windows[a] == 1 or x.type.shape[a] == window_max.type.shape[a] * strides[a])
        for a in range(x.type.ndim)
    )
    if not tiling:
        emit_map(k, dx.extents, contiguous_view(dx), [], lambda _: zero, name="zero")
    split = windowed[-1] + 1 if windowed else 0
    trailing = range(split, x.type.ndim)
    inputs, outputs = (x, dx), (window_max, ct)

    def in_view(operand, base: ir.Value) -> View:
        return View(operand, tuple(operand.strides[a] * strides[a] for a in trailing), base)

    def out_view(operand, base: ir.Value) -> View:
        return View(operand, tuple(operand.strides[a] for a in trailing), base)

    def first_max(tap: int):
        def fn(values: list[ir.Value]) -> ir.Value:
            xs, m, c = values[: tap + 1], values[tap + 1], values[tap + 2]
            hit = b.fcmp_ordered("==", xs[tap], m)
            for earlier in xs[:tap]:
                hit = b.and_(hit, b.fcmp_unordered("!=", earlier, m))
            chosen = b.select(hit, c, zero)
            return b.fadd(values[tap + 3], chosen) if overlapping else chosen

        return fn

    def taps(positions: dict[int, ir.Value], in_bases: list[ir.Value], out_bases) -> None:
        starts = {a: b.mul(positions[a], ir.Constant(I64, strides[a])) for a in windowed}
        tap_bases = []
        for offsets in product(*(range(windows[a]) for a in windowed)):
            bases = []
            for operand, base in zip(inputs, in_bases):
                for axis, offset in zip(windowed, offsets):
                    where = b.add(starts[axis], ir.Constant(I64, offset))
                    base = b.add(base, b.mul(where, k.value(operand.strides[axis])))
                bases.append(base)
            tap_bases.append(bases)
        maxima, cotangents = (out_view(o, base) for o, base in zip(outputs, out_bases))
        for tap, (_, dx_base) in enumerate(tap_bases):
            target = in_view(dx, dx_base)
            sources = [in_view(x, x_base) for x_base, _ in tap_bases[: tap + 1]]
            sources += [maxima, cotangents] + ([target] if overlapping else [])
            dims = [window_max.extents[a] for a in trailing]
            emit_map(k, dims, target, sources, first_max(tap), name=f"t{tap}")

    walk_outputs(k, split, windowed, list(inputs), list(outputs), taps)


register_lowering(select_and_scatter_add_p, lower_select_and_scatter_add)
