"""Lowering of `conv` (NHWC input, HWIO kernel) as an implicit GEMM (`backend.gemm`).

For each feature group g, the output is a matrix product
    out[pixel, g*Og + o] = sum_q patches[pixel, q] * w[q, g*Og + o]
with one row per output pixel (n, oh, ow), q = (kh, kw, c) running over the kernel taps and
the group's input channels, and the kernel read as a (KH*KW*Ig) x O matrix (row stride O).
The *patches* matrix (im2col) is never built: its panels are packed straight from the input
(`Patches.panel`), with zeros where a tap falls into the padding or between the pixels
of a dilated input. A 1x1 convolution with unit strides and no padding needs no patches at
all: its input already is the matrix.

A tap reads input row ih_d = oh*sh - pad_top + kh*dh of the *dilated* input, which holds real
data only where ih_d is a multiple of the lhs dilation; those are row ih_d / lhs_dilation.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from graphc.backend.extents import Extent, element_count
from graphc.backend.gemm import (
    Anchor,
    Buffers,
    Gemm,
    Matrix,
    PanelAddress,
    PanelSource,
    TileEpilogue,
    aligned_alloca,
    element_at,
    emit_gemm,
    i64,
    register_anchor,
)
from graphc.backend.irtypes import constant, itemsize
from graphc.backend.kernel import Kernel, Operand
from graphc.backend.loops import for_range
from graphc.backend.lowering.registry import register_lowering
from graphc.backend.parallel import Part
from graphc.primitives.conv import conv_kernel_grad_p, conv_p

#: The largest depth block of the kernel gradient's A packed whole (on the kernel's stack, as
#: the GEMM's other buffers); a larger one (more than 1024 taps x channels) is packed per panel.
BLOCK_BYTES = 1 << 20


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
        b.sub(b.mul(out_index, i64(stride)), i64(pad)), b.mul(tap, i64(rate)), name=f"{name}_d"
    )
    extent = (size - 1) * lhs_dilation + 1 if size else 0
    inside = b.and_(b.icmp_signed(">=", dilated, i64(0)), b.icmp_signed("<", dilated, i64(extent)))
    if lhs_dilation == 1:
        return inside, dilated
    on_grid = b.icmp_signed("==", b.urem(dilated, i64(lhs_dilation)), i64(0))
    return b.and_(inside, on_grid), b.udiv(dilated, i64(lhs_dilation), name=name)


@dataclass(frozen=True)
class ConvGeometry:
    """The static facts of a conv node, read from its operand types and attributes."""

    height: int
    width: int
    channels: int
    kernel_h: int
    kernel_w: int
    group_in: int
    out_channels: int
    groups: int
    out_h: int
    out_w: int
    strides: tuple[int, int]
    pads: tuple[int, int]
    lhs_dilation: tuple[int, int]
    rhs_dilation: tuple[int, int]

    @classmethod
    def of(cls, k: Kernel) -> ConvGeometry:
        """The geometry of a `conv` node: operands x and kernel, the output is the result."""
        lhs, rhs = k.operands
        return cls._of(k, lhs.type.shape, rhs.type.shape, k.out.type.shape)

    @classmethod
    def of_kernel_grad(cls, k: Kernel) -> ConvGeometry:
        """The geometry of the conv whose kernel gradient a `conv_kernel_grad` node computes:
        operands x and the cotangent (the conv's output), the kernel is the result."""
        x, ct = k.operands
        return cls._of(k, x.type.shape, k.out.type.shape, ct.type.shape)

    @classmethod
    def _of(cls, k: Kernel, x_shape: tuple, kernel_shape: tuple, out_shape: tuple) -> ConvGeometry:
        _, height, width, channels = x_shape
        kernel_h, kernel_w, group_in, out_channels = kernel_shape
        _, out_h, out_w, _ = out_shape
        (pt, _), (pl, _) = k.attrs["padding"]
        return cls(
            height,
            width,
            channels,
            kernel_h,
            kernel_w,
            group_in,
            out_channels,
            k.attrs["feature_group_count"],
            out_h,
            out_w,
            tuple(k.attrs["strides"]),
            (pt, pl),
            tuple(k.attrs["lhs_dilation"]),
            tuple(k.attrs["rhs_dilation"]),
        )

    @property
    def group_out(self) -> int:
        return self.out_channels // self.groups

    @property
    def depth(self) -> int:
        """The contraction length: taps times the group's input channels."""
        return self.kernel_h * self.kernel_w * self.group_in

    @property
    def is_pointwise(self) -> bool:
        """A 1x1 kernel with unit strides, no padding and no dilation: out = x @ w."""
        return (
            self.kernel_h == self.kernel_w == 1
            and self.strides == (1, 1)
            and self.pads == (0, 0)
            and self.lhs_dilation == (1, 1)
            and (self.out_h, self.out_w) == (self.height, self.width)
        )

    def pixel(self, k: Kernel, row: ir.Value) -> tuple[ir.Value, ir.Value, ir.Value]:
        """(n, oh, ow) of an output pixel's row index."""
        b = k.b
        image = b.udiv(row, i64(self.out_h * self.out_w), name="n")
        within = b.urem(row, i64(self.out_h * self.out_w))
        return image, b.udiv(within, i64(self.out_w), name="oh"), b.urem(within, i64(self.out_w))


def pack_patches(
    k: Kernel,
    geo: ConvGeometry,
    x: Operand,
    channel0: ir.Value,
    dst: ir.Value,
    pixels: tuple[ir.Value, ir.Value],
    columns: tuple[ir.Value, ir.Value],
    stride: ir.Value,
    aligned: bool,
) -> None:
    """Copy the im2col matrix's pixels [p0, p0+count) x columns [q0, q0+count) (a column q
    is a (tap, channel) of the group) to dst[(p - p0) * stride + q - q0]: per pixel and tap,
    the tap's channels in the range, read contiguously from the input, or zeros in the
    padding. `aligned`: the columns hold whole taps (each copy is the group's channels)."""
    b = k.b
    (pixel0, pixel_count), (column0, column_count) = pixels, columns
    ig = geo.group_in
    first_tap = b.udiv(column0, i64(ig), name="tap0")
    taps = b.sub(b.udiv(b.add(b.add(column0, column_count), i64(ig - 1)), i64(ig)), first_tap)
    zero = constant(x.dtype, 0)
    (sh, sw), (pt, pl) = geo.strides, geo.pads
    (ldh, ldw), (rdh, rdw) = geo.lhs_dilation, geo.rhs_dilation
    with for_range(b, pixel_count, "patch.pixel") as p:
        n, oh, ow = geo.pixel(k, b.add(pixel0, p))
        pixel_start = b.mul(p, stride)
        with for_range(b, taps, "patch.t") as t:
            tap = b.add(first_tap, t, name="tap")
            kh, kw = b.udiv(tap, i64(geo.kernel_w)), b.urem(tap, i64(geo.kernel_w))
            hit_h, ih = input_coordinate(k, oh, kh, sh, pt, rdh, ldh, geo.height, "ih")
            hit_w, iw = input_coordinate(k, ow, kw, sw, pl, rdw, ldw, geo.width, "iw")
            pixel = b.add(b.mul(b.add(b.mul(n, i64(geo.height)), ih), i64(geo.width)), iw)
            source = b.add(b.mul(pixel, i64(geo.channels)), channel0)
            start = b.mul(tap, i64(ig))  # the column of the tap's first channel
            if aligned:
                low, count = i64(0), i64(ig)
            else:
                low = b.select(b.icmp_signed("<", start, column0), b.sub(column0, start), i64(0))
                end = b.sub(b.add(column0, column_count), start)
                count = b.sub(b.select(b.icmp_signed("<", end, i64(ig)), end, i64(ig)), low)
            first = b.add(pixel_start, b.sub(b.add(start, low), column0))  # the copy's start
            with b.if_else(b.and_(hit_h, hit_w)) as (then, otherwise):
                with then, for_range(b, count, "patch.c") as c:
                    value = x.load(b, b.add(source, b.add(low, c)))
                    b.store(value, element_at(b, dst, b.add(first, c), x.dtype))
                with otherwise, for_range(b, count, "patch.z") as c:
                    b.store(zero, element_at(b, dst, b.add(first, c), x.dtype))


@dataclass(frozen=True)
class Patches(PanelSource):
    """The im2col matrix of one feature group, packed panel by panel from the input.

    When a depth block holds whole taps (`aligned`), each tap copies the group's channels
    with a loop of static length; otherwise the channel range of a tap is clipped to the block.
    """

    geometry: ConvGeometry
    x: Operand
    channel0: ir.Value
    aligned: bool

    def panel(
        self,
        k: Kernel,
        dst: ir.Value,
        row0: ir.Value,
        rows: ir.Value,
        col0: ir.Value,
        depth: ir.Value,
        mr: int,
    ) -> PanelAddress:
        """Pack patches[row0 + r, col0 + p] as dst[r*depth + p]."""
        pack_patches(
            k,
            self.geometry,
            self.x,
            self.channel0,
            dst,
            (row0, rows),
            (col0, depth),
            depth,
            self.aligned,
        )
        return PanelAddress(dst, depth, i64(1))


@dataclass(frozen=True)
class TransposedPatches(PanelSource):
    """The transposed im2col matrix of one feature group, for the kernel gradient: row q is a
    (tap, channel) of the group, column m an output pixel (n, oh, ow), packed from the input
    pixel by pixel: element (q, m) at dst[(m - col0) * stride + q - row0].

    With a `block` buffer (room for all rows x kc), each depth block is packed whole, once,
    and its panels are read inside it: per pixel, every tap's channels are one contiguous
    copy. Packed panel by panel instead, each panel of 12 rows decoded every pixel again for
    its one or two taps, and the packing took as long as the products (conv 13x13x32 ->
    11x11x64: 31 of 60 us per sample).
    """

    geometry: ConvGeometry
    x: Operand
    channel0: ir.Value
    block: ir.Value | None = None

    def panel(
        self,
        k: Kernel,
        dst: ir.Value,
        row0: ir.Value,
        rows: ir.Value,
        col0: ir.Value,
        depth: ir.Value,
        mr: int,
    ) -> PanelAddress:
        self._pack(k, dst, row0, rows, col0, depth, i64(mr))
        return PanelAddress(dst, i64(1), i64(mr))

    def for_depth_block(
        self, k: Kernel, row_begin: ir.Value, row_end: ir.Value, col0: ir.Value, depth: ir.Value
    ) -> PanelSource:
        if self.block is None:
            return self
        rows = k.b.sub(row_end, row_begin, name="block_rows")
        self._pack(k, self.block, row_begin, rows, col0, depth, rows)
        return PackedBlock(self.block, row_begin, rows)

    def _pack(
        self,
        k: Kernel,
        dst: ir.Value,
        row0: ir.Value,
        rows: ir.Value,
        col0: ir.Value,
        depth: ir.Value,
        stride: ir.Value,
    ) -> None:
        """Pack rows [row0, row0+rows) x pixels [col0, col0+depth) as dst[p*stride + r]."""
        pack_patches(
            k,
            self.geometry,
            self.x,
            self.channel0,
            dst,
            (col0, depth),
            (row0, rows),
            stride,
            aligned=False,
        )


@dataclass(frozen=True)
class PackedBlock(PanelSource):
    """A depth block of A packed already: element (q, p) at pointer[p * stride + q - row0]."""

    pointer: ir.Value
    row0: ir.Value
    stride: ir.Value

    def panel(
        self,
        k: Kernel,
        dst: ir.Value,
        row0: ir.Value,
        rows: ir.Value,
        col0: ir.Value,
        depth: ir.Value,
        mr: int,
    ) -> PanelAddress:
        first = element_at(k.b, self.pointer, k.b.sub(row0, self.row0), k.out.dtype)
        return PanelAddress(first, i64(1), self.stride)


def lower_conv(k: Kernel, epilogue: TileEpilogue | None, part: Part | None) -> None:
    """out = conv(x, w), one implicit GEMM per feature group."""
    lhs, rhs = k.operands
    geo = ConvGeometry.of(k)
    rows = Extent.of_dim(lhs.type.shape[0]) * (geo.out_h * geo.out_w)
    depth = Extent.of(geo.depth)
    buffers = Buffers.allocate(k, k.out.dtype, depth, Extent.of(geo.group_out), geo.group_in)
    aligned = buffers.blocking.kc % geo.group_in == 0  # depth blocks of whole taps
    extra = epilogue.views if epilogue is not None else []
    b = k.b
    with for_range(b, i64(geo.groups), "g") as g:
        column0 = b.mul(g, i64(geo.group_out), name="group_column")

        def row_offset(index: int, row: ir.Value) -> ir.Value:
            strides = extra[index].strides
            n, oh, ow = geo.pixel(k, row)
            terms = [(n, strides[0]), (oh, strides[1]), (ow, strides[2])]
            return k.add(k.value(extra[index].offset), k.offset(terms))

        def col_offset(index: int, col: ir.Value) -> ir.Value:
            return b.mul(b.add(column0, col), k.value(extra[index].strides[3]))

        if geo.is_pointwise:
            a = Matrix(lhs, b.mul(g, i64(geo.group_in)), Extent.of(geo.channels), Extent.of(1))
        else:
            a = Patches(geo, lhs, b.mul(g, i64(geo.group_in)), aligned)
        gemm = Gemm(
            rows=k.value(rows),
            depth=i64(geo.depth),
            a=a,
            b=Matrix(rhs, column0, Extent.of(geo.out_channels), Extent.of(1)),
            c=Matrix(k.out, column0, Extent.of(geo.out_channels), Extent.of(1)),
            columns=(i64(0), i64(geo.group_out)),
            epilogue=epilogue.build(row_offset, col_offset) if epilogue is not None else None,
            part=part,
        )
        emit_gemm(k, gemm, buffers)


def conv_work(k: Kernel) -> Extent:
    """Multiply-adds of a conv node: each output element sums over taps x group channels."""
    return element_count(k.out.type.shape) * ConvGeometry.of(k).depth


register_lowering(conv_p, register_anchor(conv_p, Anchor(lower_conv, conv_work)))


def lower_conv_kernel_grad(k: Kernel, epilogue: TileEpilogue | None, part: Part | None) -> None:
    """dkernel = patches^T @ ct per feature group: one GEMM whose depth runs over every output
    pixel of the batch, its A packed from the input (`TransposedPatches`)."""
    x, ct = k.operands
    geo = ConvGeometry.of_kernel_grad(k)
    pixels = Extent.of_dim(x.type.shape[0]) * (geo.out_h * geo.out_w)
    buffers = Buffers.allocate(k, k.out.dtype, pixels, Extent.of(geo.group_out))
    b = k.b
    block_bytes = geo.depth * buffers.blocking.kc * itemsize(k.out.dtype)
    block = aligned_alloca(b, block_bytes, "patch_block") if block_bytes <= BLOCK_BYTES else None
    with for_range(b, i64(geo.groups), "g") as g:
        column0 = b.mul(g, i64(geo.group_out), name="group_column")
        gemm = Gemm(
            rows=i64(geo.depth),
            depth=k.value(pixels),
            a=TransposedPatches(geo, x, b.mul(g, i64(geo.group_in)), block),
            b=Matrix(ct, column0, Extent.of(geo.out_channels), Extent.of(1)),
            c=Matrix(k.out, column0, Extent.of(geo.out_channels), Extent.of(1)),
            columns=(i64(0), i64(geo.group_out)),
            part=part,
        )
        emit_gemm(k, gemm, buffers)


def conv_kernel_grad_work(k: Kernel) -> Extent:
    """Multiply-adds of a kernel gradient: each kernel element sums over the batch's pixels."""
    _, ct = k.operands
    return element_count(ct.type.shape) * ConvGeometry.of_kernel_grad(k).depth


# not an anchor: nothing fuses into a kernel gradient (the optimizer's update reads it whole)
register_lowering(conv_kernel_grad_p, Anchor(lower_conv_kernel_grad, conv_kernel_grad_work))
