"""Lowering of `conv` (NHWC input, HWIO kernel): a direct loop nest, channels innermost.

For each output pixel (n, oh, ow) the output channels are zeroed, then for each kernel tap
(kh, kw) whose input pixel exists (inside the input, and on the lhs-dilation grid), each input
channel's value times the kernel row for that channel is added to the pixel's output channels
of its group. The innermost loop runs over output channels, contiguous in both the kernel and
the output, so it vectorizes.

A tap reads input row ih_d = oh*sh - pad_top + kh*dh of the *dilated* input, which holds real
data only where ih_d is a multiple of the lhs dilation; those are row ih_d / lhs_dilation.
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backend.extents import Extent
from graphc.backend.irtypes import I64, constant
from graphc.backend.kernel import Kernel
from graphc.backend.lowering.linalg import multiply_add
from graphc.backend.lowering.registry import register_lowering
from graphc.primitives.conv import conv_p


def _c(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def input_coordinate(
    k: Kernel,
    out_index: ir.Value,
    tap: ir.Value,
    stride: int,
    pad: int,
    rate: int,
    lhs_dilation: int,
    size: int,
    name: str,
) -> tuple[ir.Value, ir.Value]:
    """(whether the tap hits real input data, the input coordinate) along one spatial axis."""
    b = k.b
    dilated = b.add(
        b.sub(b.mul(out_index, _c(stride)), _c(pad)), b.mul(tap, _c(rate)), name=f"{name}_d"
    )
    extent = (size - 1) * lhs_dilation + 1 if size else 0
    inside = b.and_(b.icmp_signed(">=", dilated, _c(0)), b.icmp_signed("<", dilated, _c(extent)))
    if lhs_dilation == 1:
        return inside, dilated
    on_grid = b.icmp_signed("==", b.urem(dilated, _c(lhs_dilation)), _c(0))
    return b.and_(inside, on_grid), b.udiv(dilated, _c(lhs_dilation), name=name)


def lower_conv(k: Kernel) -> None:
    lhs, rhs = k.operands
    b = k.b
    _, height, width, channels = lhs.type.shape
    kernel_h, kernel_w, group_in, out_channels = rhs.type.shape
    _, out_h, out_w, _ = k.out.type.shape
    groups = k.attrs["feature_group_count"]
    group_out = out_channels // groups
    (sh, sw), ((pt, _), (pl, _)) = k.attrs["strides"], k.attrs["padding"]
    (ldh, ldw), (rdh, rdw) = k.attrs["lhs_dilation"], k.attrs["rhs_dilation"]
    zero = constant(k.out.dtype, 0)

    with k.loop(Extent.of_dim(lhs.type.shape[0]), "n") as n:
        with k.loop(out_h, "oh") as oh, k.loop(out_w, "ow") as ow:
            pixel = b.add(b.mul(b.add(b.mul(n, _c(out_h)), oh), _c(out_w)), ow)
            out_base = b.mul(pixel, _c(out_channels), name="out_pixel")
            with k.loop(out_channels, "o0") as o:
                k.out.store(b, b.add(out_base, o), zero)
            with k.loop(kernel_h, "kh") as kh:
                hit_h, ih = input_coordinate(k, oh, kh, sh, pt, rdh, ldh, height, "ih")
                with b.if_then(hit_h), k.loop(kernel_w, "kw") as kw:
                    hit_w, iw = input_coordinate(k, ow, kw, sw, pl, rdw, ldw, width, "iw")
                    with b.if_then(hit_w):
                        in_pixel = b.add(b.mul(b.add(b.mul(n, _c(height)), ih), _c(width)), iw)
                        in_base = b.mul(in_pixel, _c(channels), name="in_pixel")
                        tap = b.add(b.mul(kh, _c(kernel_w)), kw)
                        tap_base = b.mul(tap, _c(group_in * out_channels), name="tap")
                        _accumulate_tap(
                            k,
                            groups,
                            group_in,
                            group_out,
                            out_channels,
                            in_base,
                            tap_base,
                            out_base,
                        )


def _accumulate_tap(
    k: Kernel,
    groups: int,
    group_in: int,
    group_out: int,
    out_channels: int,
    in_base: ir.Value,
    tap_base: ir.Value,
    out_base: ir.Value,
) -> None:
    """out[pixel, group g] += x[pixel', g*group_in + c] * w[tap, c, g*group_out:], all g, c."""
    lhs, rhs = k.operands
    b = k.b
    with k.loop(groups, "g") as g, k.loop(group_in, "c") as c:
        a = lhs.load(b, b.add(in_base, b.add(b.mul(g, _c(group_in)), c)), name="x")
        group_offset = b.mul(g, _c(group_out))
        w_row = b.add(b.add(tap_base, b.mul(c, _c(out_channels))), group_offset, name="w_row")
        out_row = b.add(out_base, group_offset, name="out_row")
        with k.loop(group_out, "o") as o:
            where = b.add(out_row, o)
            total = multiply_add(k, k.out.load(b, where), a, rhs.load(b, b.add(w_row, o)))
            k.out.store(b, where, total)


register_lowering(conv_p, lower_conv)
