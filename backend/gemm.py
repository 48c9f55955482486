"""Register-blocked matrix products: the engine behind `matmul` and `conv` (as implicit GEMM).

C[m, n] = A[m, k] @ B[k, n] is computed in *tiles* of `mr` rows by `nr` columns whose partial
sums stay in vector registers for a whole block of the depth k (the accumulators are the phis
of the micro-kernel's loop): per step of k the micro-kernel loads one row of B as vectors,
broadcasts one element of each of A's `mr` rows, and issues `mr * vectors` fused multiply-adds.
Around it, the classic blocking (as in BLIS/GotoBLAS):

    for each block of columns (nc)                      B block in L2
      for each block of the depth (kc)
        pack B[kc, nc] into panels [nc/nr][kc][nr]      (or read B in place, see below)
        for each panel of mr rows of A
          pack A[mr, kc] as [kc][mr]                    (a row-major A is read in place)
          for each tile of the panel's row: micro-kernel(kc), then the epilogue on the tile

*Packing* copies operands into the order the micro-kernel reads them, so any strides work the
same: a transposed operand (x^T in a gradient) or an implicit im2col matrix (conv) is only a
different packing loop (`MatrixSource`). When A has few rows, each element of B is used only
a few times and packing would cost as much as the product: B is then read in place (when its
rows are contiguous), with masked loads at the right edge.

*Edges*: tiles at the right edge mask their loads and stores by the number of valid columns.
The last panel of rows, when short, is computed as sub-panels of 8, 4, 2 and 1 rows (the binary
digits of its row count), so a module holds at most five micro-kernels per dtype instead of
one per row count: each costs LLVM about 20 ms to optimize and compile. Thin sub-panels use
wider tiles (more columns), so enough independent accumulators hide the latency of the
multiply-adds.

*Determinism*: every element of C is the sum over k, in order, of fused multiply-adds within
each depth block, and the blocks are added in order. That does not depend on the position of
the element in its tile, on the number of rows, or on how columns are split: running on a
slice of the batch, or a range of columns on another thread, gives bitwise identical results.

*Epilogue*: a fused bias/activation runs on each panel's block of C (mr rows x nc columns)
right after its last depth block is stored, while it is still in L1, instead of a second pass
over the output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
from llvmlite import ir

from graphc import dtypes
from graphc.backend.emitter import declare
from graphc.backend.extents import Extent
from graphc.backend.irtypes import I1, I8, I64, PTR, VOID, itemsize, memory_type
from graphc.backend.kernel import Kernel, Operand
from graphc.backend.loops import for_range
from graphc.backend.parallel import Part, run_in_parts
from graphc.backend.strided import View

#: Bytes of one vector register on the host (AVX-512: 64, AVX2: 32, else 16).
VECTOR_BYTES_BY_FEATURE = (("+avx512f", 64), ("+avx2", 32))

#: A panel of A with at most this many rows reads B in place instead of packing it.
DIRECT_B_ROWS = 64

PREFETCH_ROWS = 8

#: Packing loops unroll by at most this much: fully unrolled, the packing of a small static
#: operand (16 x 64 in an LSTM's gradient) became thousands of scalar copies per kernel.
PACK_UNROLL = 4

#: Bytes of the packed block of B (kc x nc): half of a 2 MiB L2 cache.
B_BLOCK_BYTES = 1 << 19


@dataclass(frozen=True)
class Blocking:
    """Tile and block sizes for one dtype on the host.

    Attributes:
        dtype: the element type.
        lanes: elements per vector register.
        mr: rows of a tile (broadcast elements of A per step of k).
        vectors: vectors per tile row for panels of `mr` rows (nr = lanes * vectors).
        kc: depth of a block (the packed A panel is mr x kc, the B panel kc x nr).
        nc: columns of a block of B.
    """

    dtype: np.dtype
    lanes: int
    mr: int
    vectors: int
    kc: int
    nc: int

    @property
    def nr(self) -> int:
        """Columns of a full tile, also the width of a packed panel of B."""
        return self.lanes * self.vectors

    def tile_vectors(self, rows: int) -> int:
        """Vectors per row of a tile with `rows` rows: thin tiles are wider, so that they
        still have about eight independent accumulators."""
        wanted = -(-8 // rows)
        return max(self.vectors, -(-wanted // self.vectors) * self.vectors)

    @property
    def short(self) -> str:
        return dtypes.short_name(self.dtype)

    def for_depth(self, depth: Extent, quantum: int = 1) -> Blocking:
        """The blocking with depth blocks of equal size for a static `depth` (a multiple of
        `quantum` when possible, e.g. whole conv taps), instead of full blocks and a short
        last one; a depth known only at run time keeps `kc`.

        >>> b = blocking(dtypes.float32, "+avx512f")
        >>> [b.for_depth(Extent.of(d)).kc for d in (784, 1024, 300, 10)]
        [262, 256, 300, 10]
        >>> b.for_depth(Extent.of(600), 32).kc, b.for_depth(Extent.batch()).kc
        (320, 256)
        """
        if not depth.is_constant:
            return self
        size = max(1, depth.constant)
        blocks = -(-size // (self.kc + self.kc // 4))  # a block may grow 25% to save one
        kc = -(-size // blocks)
        if quantum <= kc:
            kc = -(-kc // quantum) * quantum
        return replace(self, kc=kc)


def vector_bytes(features: str) -> int:
    """The vector width the host's features allow.

    >>> vector_bytes("+avx2,+avx512f,+fma"), vector_bytes("+avx2,-avx512f"), vector_bytes("")
    (64, 32, 16)
    """
    enabled = set(features.split(","))
    return next((size for flag, size in VECTOR_BYTES_BY_FEATURE if flag in enabled), 16)


@cache
def blocking(dtype: np.dtype, features: str) -> Blocking:
    """The blocking for `dtype` on a host with these LLVM CPU features.

    >>> b = blocking(dtypes.float32, "+avx512f")
    >>> (b.mr, b.nr, b.kc, b.nc), b.tile_vectors(1), b.tile_vectors(3), b.tile_vectors(6)
    ((12, 32, 256, 512), 8, 4, 2)
    >>> b = blocking(dtypes.float32, "+avx2,+fma")
    >>> (b.mr, b.nr, b.kc, b.nc)
    (6, 16, 256, 512)
    """
    width = vector_bytes(features)
    lanes = max(1, width // itemsize(dtype))
    # 12 x 2 accumulators need AVX-512's 32 vector registers; with 16 (AVX2, SSE) they would
    # spill on every step of k, so tiles have 6 rows there (12 accumulators, 2 loads of B, 1
    # broadcast: the classic 6 x 16 Haswell kernel)
    mr = 12 if width == 64 else 6
    vectors, kc = 2, 256
    nr = lanes * vectors
    nc = max(nr, B_BLOCK_BYTES // (kc * itemsize(dtype)) // nr * nr)
    return Blocking(np.dtype(dtype), lanes, mr, vectors, kc, nc)


def host_blocking(dtype: np.dtype) -> Blocking:
    """The blocking for `dtype` on the machine the code is compiled for."""
    from graphc.backend.jit import host

    return blocking(np.dtype(dtype), host().features)


# --- small IR helpers ---------------------------------------------------------------------


def i64(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def minimum(b: ir.IRBuilder, x: ir.Value, y: ir.Value, name: str = "") -> ir.Value:
    """min(x, y) of two i64 values."""
    return b.select(b.icmp_signed("<", x, y), x, y, name=name)


def ceil_div(b: ir.IRBuilder, x: ir.Value, d: int | ir.Value) -> ir.Value:
    """ceil(x / d) for x >= 0 and d > 0."""
    divisor = i64(d) if isinstance(d, int) else d
    return b.sdiv(b.add(x, b.sub(divisor, i64(1))), divisor)


def vector_literal(vector: ir.VectorType, text: str) -> ir.Constant:
    """A whole-vector constant written as one word (`zeroinitializer`, `poison`): llvmlite
    would spell out every lane, which makes the IR of a micro-kernel several times longer."""
    constant = ir.FormattedConstant(I8, text)
    constant.type = vector
    return constant


def zeros(vector: ir.VectorType) -> ir.Constant:
    return vector_literal(vector, "zeroinitializer")


def splat(b: ir.IRBuilder, value: ir.Value, lanes: int) -> ir.Value:
    """A vector with `value` in every lane (insertelement + shufflevector)."""
    vector = ir.VectorType(value.type, lanes)
    poison = vector_literal(vector, "poison")
    single = b.insert_element(poison, value, ir.Constant(I64, 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
    return b.shuffle_vector(single, poison, mask)


def element_at(b: ir.IRBuilder, base: ir.Value, index: ir.Value, dtype: np.dtype) -> ir.Value:
    return b.gep(base, [index], inbounds=True, source_etype=memory_type(dtype))


def aligned_alloca(b: ir.IRBuilder, nbytes: int, name: str) -> ir.Value:
    """`nbytes` of stack memory starting at a 64-byte boundary (emitted where `b` is)."""
    raw = b.alloca(ir.ArrayType(I8, nbytes + 64), name=f"{name}.raw")
    address = b.ptrtoint(raw, I64)
    aligned = b.and_(b.add(address, i64(63)), i64(-64))
    return b.inttoptr(aligned, PTR, name=name)


# --- the micro-kernel -----------------------------------------------------------------------


def _vector_intrinsic(module: ir.Module, name: str, vector: ir.VectorType) -> ir.Function:
    element = vector.element
    short = {ir.FloatType: "f32", ir.DoubleType: "f64"}.get(type(element))
    suffix = f"v{vector.count}{short or f'i{element.width}'}"
    mask = ir.VectorType(I1, vector.count)
    i32 = ir.IntType(32)
    if name == "fma":
        return declare(module, f"llvm.fma.{suffix}", vector, [vector] * 3)
    if name == "load":
        return declare(module, f"llvm.masked.load.{suffix}.p0", vector, [PTR, i32, mask, vector])
    return declare(module, f"llvm.masked.store.{suffix}.p0", VOID, [vector, PTR, i32, mask])


def micro_kernel(module: ir.Module, bl: Blocking, rows: int, vectors: int) -> ir.Function:
    """The module's tile function for `rows` x `vectors * lanes`, defined on first use.

    `void tile(i64 kc, ptr a, i64 a_rows, i64 a_step, ptr b, i64 b_step, i64 panel_stride,
    ptr c, i64 ldc, i64 cols, i1 accumulate)`:

    - element (r, p) of A is at a + r*a_rows + p*a_step (a packed panel, or A in place);
    - vector v of row p of B is at b + p*b_step + (v / bl.vectors)*panel_stride +
      (v % bl.vectors)*lanes (packed panels of bl.nr columns, or B in place);
    - C's rows are ldc apart; only its first `cols` columns are read from B and written;
      with `accumulate` the tile is added to C, else it replaces it.

    A module that links the process's shared micro-kernels (`backend.ukernels`; it has a set
    `graphc_shared_kernels`) only declares it, under its shared symbol, and records the
    symbol in that set.
    """
    shared = getattr(module, "graphc_shared_kernels", None)
    if shared is not None:
        from graphc.backend.ukernels import symbol

        name = symbol(bl, rows, vectors)
        shared.add(name)
        existing = module.globals.get(name)
        return existing if existing is not None else _tile_function(module, name)
    name = f"gemm.{bl.short}.{rows}x{vectors * bl.lanes}"
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    return define_micro_kernel(module, bl, rows, vectors, name)


def define_micro_kernel(
    module: ir.Module, bl: Blocking, rows: int, vectors: int, name: str, linkage: str = "internal"
) -> ir.Function:
    """Define the tile function `name` (see `micro_kernel`) in `module`."""
    fn = _tile_function(module, name)
    fn.linkage = linkage
    fn.attributes.add("noinline")
    _MicroKernel(fn, bl, rows, vectors).emit(*fn.args)
    return fn


def _tile_function(module: ir.Module, name: str) -> ir.Function:
    """The tile function's signature, with named `noalias` parameters (a declaration until a
    body is emitted)."""
    params = "kc a a_rows a_step b b_step panel_stride c ldc cols accumulate".split()
    types = [I64, PTR, I64, I64, PTR, I64, I64, PTR, I64, I64, I1]
    fn = ir.Function(module, ir.FunctionType(VOID, types), name)
    fn.attributes.add("nounwind")
    for arg, arg_name in zip(fn.args, params):
        arg.name = arg_name
        if isinstance(arg.type, ir.PointerType):
            arg.add_attribute("noalias")
    return fn


class _MicroKernel:
    """Emits the body of a tile function (see `micro_kernel`)."""

    def __init__(self, fn: ir.Function, bl: Blocking, rows: int, vectors: int):
        self.fn, self.bl, self.rows, self.vectors = fn, bl, rows, vectors
        self.b = ir.IRBuilder(fn.append_basic_block("entry"))
        self.element = memory_type(bl.dtype)
        self.vector = ir.VectorType(self.element, bl.lanes)
        module = fn.module
        is_float = dtypes.is_float(bl.dtype)
        self.fma = _vector_intrinsic(module, "fma", self.vector) if is_float else None
        self.masked_load = _vector_intrinsic(module, "load", self.vector)
        self.masked_store = _vector_intrinsic(module, "store", self.vector)
        self.align = ir.Constant(ir.IntType(32), itemsize(bl.dtype))
        self.zero = zeros(self.vector)

    def at(self, base: ir.Value, index: ir.Value) -> ir.Value:
        return element_at(self.b, base, index, self.bl.dtype)

    def load(self, where: ir.Value, mask: ir.Value) -> ir.Value:
        return self.b.call(self.masked_load, [where, self.align, mask, self.zero])

    def multiply_add(self, x: ir.Value, y: ir.Value, acc: ir.Value) -> ir.Value:
        if self.fma is not None:
            return self.b.call(self.fma, [x, y, acc])
        return self.b.add(acc, self.b.mul(x, y))

    def emit(self, kc, a, a_rows, a_step, bp, b_step, panel_stride, c, ldc, cols, accumulate):
        b, bl, vectors = self.b, self.bl, self.vectors
        offsets = []
        for v in range(vectors):
            panel, within = divmod(v, bl.vectors)
            offsets.append(b.add(b.mul(i64(panel), panel_stride), i64(within * bl.lanes)))
        a_offsets = [b.mul(i64(r), a_rows) for r in range(self.rows)]
        operands = (kc, a, a_step, a_offsets, bp, b_step)
        # A full tile and an edge tile each get their own loop and their own stores: merging
        # the two loops' accumulators in one block made LLVM spill 12 x 2 AVX-512 tiles to
        # the stack on every step of k (a quarter of the peak).
        full_path = self.fn.append_basic_block("full")
        edge_path = self.fn.append_basic_block("edge")
        full = b.icmp_signed(">=", cols, i64(vectors * bl.lanes), name="full")
        b.cbranch(full, full_path, edge_path)

        # a full tile reads B with plain loads and writes C with plain stores: masked ones
        # cost more (AMD's vmaskmovps store made a GEMM of depth 9 three times slower than
        # OpenBLAS), and their masks take vector registers the accumulators need on AVX2
        b.position_at_end(full_path)
        sums = self._k_loop("full", None, offsets, *operands)
        self._store(sums, c, ldc, None, [i64(v * bl.lanes) for v in range(vectors)], accumulate)
        b.ret_void()

        b.position_at_end(edge_path)
        lane_index = ir.Constant(ir.VectorType(I64, bl.lanes), list(range(bl.lanes)))
        cols_vector = splat(b, cols, bl.lanes)
        masks = [
            b.icmp_signed(
                "<",
                b.add(lane_index, splat(b, i64(v * bl.lanes), bl.lanes)),
                cols_vector,
                f"mask{v}",
            )
            for v in range(vectors)
        ]
        # an edge tile's vectors wholly past `cols` read and write nothing, but their masked
        # loads and stores still point past the panel (or the row of C): an address in an
        # unmapped page costs a microcode assist per access on AMD CPUs (a 1 x 64 tile over 16
        # columns made a 127 x 256 x 16 product take 180 us instead of 25). They point at the
        # tile's first vector instead.
        active = [b.icmp_signed("<", i64(v * bl.lanes), cols) for v in range(vectors)]
        edge_offsets = [b.select(on, off, i64(0)) for on, off in zip(active, offsets)]
        edge_columns = [b.select(on, i64(v * bl.lanes), i64(0)) for v, on in enumerate(active)]
        sums = self._k_loop("edge", masks, edge_offsets, *operands)
        self._store(sums, c, ldc, masks, edge_columns, accumulate)
        b.ret_void()

    def _store(
        self,
        sums: list[list[ir.Value]],
        c: ir.Value,
        ldc: ir.Value,
        masks: list[ir.Value] | None,
        columns: list[ir.Value],
        accumulate: ir.Value,
    ) -> None:
        """Write the tile's sums to C, added to it when `accumulate` (an i1) is set, else
        replacing it: vector v at column `columns[v]` of each row, the lanes `masks` selects,
        or all of them when None."""
        b = self.b
        with b.if_else(accumulate) as (add, replace):
            for block, adding in ((add, True), (replace, False)):
                with block:
                    for r, row_sums in enumerate(sums):
                        c_row = self.at(c, b.mul(i64(r), ldc))
                        for v, value in enumerate(row_sums):
                            where = self.at(c_row, columns[v])
                            if adding:
                                value = self._add(value, self._load_c(where, masks, v))
                            if masks is None:
                                b.store(value, where, align=itemsize(self.bl.dtype))
                            else:
                                b.call(self.masked_store, [value, where, self.align, masks[v]])

    def _load_c(self, where: ir.Value, masks: list[ir.Value] | None, v: int) -> ir.Value:
        if masks is None:
            return self.b.load(where, typ=self.vector, align=itemsize(self.bl.dtype))
        return self.load(where, masks[v])

    def _add(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fadd(x, y) if self.fma is not None else self.b.add(x, y)

    def _k_loop(
        self,
        name: str,
        masks: list[ir.Value] | None,
        offsets: list[ir.Value],
        kc: ir.Value,
        a: ir.Value,
        a_step: ir.Value,
        a_offsets: list[ir.Value],
        bp: ir.Value,
        b_step: ir.Value,
    ) -> list[list[ir.Value]]:
        """Emit the loop over the depth from the current block: B's vectors read with
        `masks`, or with plain loads when None. Returns the sums after the loop (zeros when
        `kc` is 0), with the builder after the loop."""
        b, bl, rows, vectors = self.b, self.bl, self.rows, self.vectors
        before = b.block
        loop = self.fn.append_basic_block(f"{name}.k")
        after = self.fn.append_basic_block(f"{name}.sums")
        b.cbranch(b.icmp_signed(">", kc, i64(0)), loop, after)
        b.position_at_end(loop)
        p = b.phi(I64, name="p")
        a_col = b.phi(PTR, name="a_col")
        b_row = b.phi(PTR, name="b_row")
        accs = [
            [b.phi(self.vector, name=f"acc{r}_{v}") for v in range(vectors)] for r in range(rows)
        ]
        loaded = [
            self.load(self.at(b_row, offsets[v]), masks[v])
            if masks is not None
            else b.load(self.at(b_row, offsets[v]), typ=self.vector, align=itemsize(bl.dtype))
            for v in range(vectors)
        ]
        self.prefetch(b_row, b_step, offsets)
        updated = []
        for r in range(rows):
            value = b.load(self.at(a_col, a_offsets[r]), typ=self.element)
            broadcast = splat(b, value, bl.lanes)
            updated.append(
                [self.multiply_add(broadcast, loaded[v], accs[r][v]) for v in range(vectors)]
            )
        p_next = b.add(p, i64(1), flags=("nuw", "nsw"))
        steps = [
            (p, i64(0), p_next),
            (a_col, a, self.at(a_col, a_step)),
            (b_row, bp, self.at(b_row, b_step)),
        ]
        for phi, start, following in steps:
            phi.add_incoming(start, before)
            phi.add_incoming(following, loop)
        for r in range(rows):
            for v in range(vectors):
                accs[r][v].add_incoming(self.zero, before)
                accs[r][v].add_incoming(updated[r][v], loop)
        b.cbranch(b.icmp_signed("<", p_next, kc), loop, after)
        b.position_at_end(after)
        sums = []
        for r in range(rows):
            sums.append([])
            for v in range(vectors):
                total = b.phi(self.vector, name=f"{name}.sum{r}_{v}")
                total.add_incoming(self.zero, before)
                total.add_incoming(updated[r][v], loop)
                sums[r].append(total)
        return sums

    def prefetch(self, b_row: ir.Value, b_step: ir.Value, offsets: list[ir.Value]) -> None:
        """Ask for B's row `PREFETCH_ROWS` ahead, one request per cache line."""
        if not PREFETCH_ROWS:
            return
        b, bl = self.b, self.bl
        i32 = ir.IntType(32)
        fn = declare(b.module, "llvm.prefetch.p0", VOID, [PTR, i32, i32, i32])
        ahead = self.at(b_row, b.mul(b_step, i64(PREFETCH_ROWS)))
        read, locality, data = ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)
        per_line = max(1, 64 // (bl.lanes * itemsize(bl.dtype)))
        for v in range(0, self.vectors, per_line):
            b.call(fn, [self.at(ahead, offsets[v]), read, locality, data])


# --- operands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelAddress:
    """Where the micro-kernel reads a panel of A: element (r, p) at `pointer + r*rows + p*step`
    (element offsets)."""

    pointer: ir.Value
    rows: ir.Value
    step: ir.Value


class PanelSource:
    """What the driver needs from A: a panel of rows, packed or read in place.

    `Matrix` is one; conv's implicit im2col matrix is another.
    """

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
        """Rows [row0, row0+rows) x columns [col0, col0+depth) of A, packed into `dst` (room
        for mr x depth elements) or addressed where they are."""
        raise TypeError(f"{type(self).__name__} must define panel")

    def for_depth_block(
        self, k: Kernel, row_begin: ir.Value, row_end: ir.Value, col0: ir.Value, depth: ir.Value
    ) -> PanelSource:
        """The source of the panels of one depth block (columns [col0, col0+depth)) of rows
        [row_begin, row_end), asked once before them: a source may pack the whole block here
        and address its panels inside it. By default, itself (each panel packed alone)."""
        return self


@dataclass(frozen=True)
class Matrix(PanelSource):
    """A matrix stored in an operand: element (i, j) at `offset + i*row_stride + j*col_stride`.

    A transposed operand is the same memory with the strides exchanged, so packing reads it
    where it is. `offset` is an i64 element offset (the matrix's place in a stack). As A, a
    row-major matrix is read where it is, and a transposed one when `in_place` is set. As B, a
    matrix with `panels` set is stored packed already (`backend.gemm_operands.pack_panels`).
    """

    operand: Operand
    offset: ir.Value
    row_stride: Extent
    col_stride: Extent
    in_place: bool = False
    panels: bool = False

    def element(self, k: Kernel, row: ir.Value, col: ir.Value) -> ir.Value:
        """The element offset of (row, col)."""
        b = k.b
        return b.add(
            self.offset,
            b.add(b.mul(row, k.value(self.row_stride)), b.mul(col, k.value(self.col_stride))),
        )

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
        """The panel where it is, or packed into `dst` as [p][r].

        A row-major matrix is read in place: a tile's rows are `mr` pointers whose cache lines
        each serve 16 (AVX-512: 32) steps of the depth, as in ONNX Runtime's MLAS kernel;
        packing copied every panel once per depth block for nothing. On a Zen 3 core (6-row
        tiles) the MLP's layers ran 5-15% faster in place (784-512-256-10 on 128 rows: 2.01 ->
        1.74 ms) and a product with one tile of columns (a classifier's 10 outputs) 2.5x
        faster; on a Xeon with AVX-512 (12-row tiles), sgemm 1024 went from 128-136 to
        140-147 GFLOP/s on one core. A transposed matrix with `in_place` set is read in place
        too (the broadcasts of one step of k are neighbours). Literals are packed.
        """
        b = k.b
        base = self.element(k, row0, col0)
        rs, cs = k.value(self.row_stride), k.value(self.col_stride)
        row_major = self.col_stride == 1 and self.row_stride != 1
        transposed = self.in_place and self.row_stride == 1
        if (row_major or transposed) and not self.operand.is_literal:
            return PanelAddress(
                element_at(b, self.operand.pointer, base, self.operand.dtype), rs, cs
            )
        with (
            for_range(b, rows, "pack.r", unroll=PACK_UNROLL) as r,
            for_range(b, depth, "pack.p", unroll=PACK_UNROLL, vectorize=False) as p,
        ):
            value = self.operand.load(b, b.add(base, b.add(b.mul(r, rs), b.mul(p, cs))))
            where = b.add(b.mul(p, i64(mr)), r)
            b.store(value, element_at(b, dst, where, self.operand.dtype))
        return PanelAddress(dst, i64(1), i64(mr))

    def pack_block(
        self,
        k: Kernel,
        dst: ir.Value,
        row0: ir.Value,
        depth: ir.Value,
        col0: ir.Value,
        cols: ir.Value,
        nr: int,
    ) -> None:
        """Pack rows [row0, row0+depth) x cols [col0, col0+cols) of B as panels of nr columns:
        dst[(j/nr)*depth*nr + p*nr + j%nr] = self[row0 + p, col0 + j]."""
        b = k.b
        base = self.element(k, row0, col0)
        rs, cs = k.value(self.row_stride), k.value(self.col_stride)
        panel_size = b.mul(depth, i64(nr))

        def copy(p: ir.Value, panel: ir.Value, c: ir.Value) -> None:
            j = b.add(b.mul(panel, i64(nr)), c)
            value = self.operand.load(b, b.add(base, b.add(b.mul(p, rs), b.mul(j, cs))))
            where = b.add(b.mul(panel, panel_size), b.add(b.mul(p, i64(nr)), c))
            b.store(value, element_at(b, dst, where, self.operand.dtype))

        panels = ceil_div(b, cols, nr)

        def width(panel: ir.Value) -> ir.Value:
            return minimum(b, i64(nr), b.sub(cols, b.mul(panel, i64(nr))))

        if self.row_stride == 1:  # transposed: columns of B are contiguous
            with for_range(b, panels, "packb.j", unroll=1) as panel:
                with for_range(b, width(panel), "packb.c", unroll=PACK_UNROLL) as c:
                    with for_range(b, depth, "packb.p", unroll=PACK_UNROLL, vectorize=False) as p:
                        copy(p, panel, c)
        else:
            # the contiguous copy is vectorized, with remainder loops: unrolling the loops
            # around it would multiply all of that (16 copies: 200 ms of code generation)
            with (
                for_range(b, depth, "packb.p", unroll=1) as p,
                for_range(b, panels, "packb.j", unroll=1) as panel,
            ):
                with for_range(b, width(panel), "packb.c") as c:
                    copy(p, panel, c)


#: `epilogue(row0, rows, col0, cols)` emits the code finishing a tile of C (bias, activation).
Epilogue = Callable[[ir.Value, ir.Value, ir.Value, ir.Value], None]

#: `offset(view_index, index)`: part of an element offset contributed by a row or a column.
Addressing = Callable[[int, ir.Value], ir.Value]


@dataclass(frozen=True)
class TileEpilogue:
    """An epilogue as the anchor (matmul or conv) lowering receives it.

    Attributes:
        views: the arrays the epilogue reads and writes, as views over the product's shape.
        build: `build(row_offset, col_offset)` returns the `Epilogue` of one matrix of the
            product, given how its rows and columns address each view: element (i, j) of view
            v is at `row_offset(v, i) + col_offset(v, j)`.
    """

    views: list[View]
    build: Callable[[Addressing, Addressing], Epilogue]


@dataclass
class Gemm:
    """One product C[:, begin:end] = A @ B[:, begin:end], as the driver sees it.

    Attributes:
        rows, depth: m and k (i64 values).
        a: A, packed panel by panel (a `Matrix` or another `PanelSource`).
        b: B (k x n).
        c: C (m x n), with unit column stride.
        columns: the range [begin, end) of columns to compute.
        epilogue: run on each finished tile, if any.
        part: the share of the work this code computes, when threads split it.
    """

    rows: ir.Value
    depth: ir.Value
    a: Matrix | PanelSource
    b: Matrix
    c: Matrix
    columns: tuple[ir.Value, ir.Value]
    epilogue: Epilogue | None = None
    part: Part | None = None


@dataclass(frozen=True)
class Buffers:
    """The packing buffers of a kernel (on its stack, 64-byte aligned): one A panel and one
    B block."""

    blocking: Blocking
    a: ir.Value
    b: ir.Value

    @classmethod
    def allocate(cls, k: Kernel, dtype: np.dtype, depth: Extent, cols: Extent, quantum: int = 1):
        """Allocate at the builder's position, which must be the kernel's entry block.

        The depth blocks are balanced for `depth` (see `Blocking.for_depth`); a static number
        of columns `cols` bounds the B block for small products.
        """
        bl = host_blocking(dtype).for_depth(depth, quantum)
        nc = bl.nc
        if cols.is_constant:
            nc = max(bl.nr, min(nc, -(-cols.constant // bl.nr) * bl.nr))
        size = itemsize(dtype)
        a = aligned_alloca(k.b, bl.mr * bl.kc * size, "packed_a")
        b = aligned_alloca(k.b, bl.kc * nc * size, "packed_b")
        return cls(bl, a, b)


def emit_gemm(k: Kernel, g: Gemm, buffers: Buffers) -> None:
    """Emit the blocked product `g` at the builder's position (see the module docstring)."""
    bl = buffers.blocking
    b = k.b
    (row_begin, row_end), (begin, end) = _share(b, g, bl)
    ldc = k.value(g.c.row_stride)
    depth_blocks = b.select(
        b.icmp_signed(">", g.depth, i64(0)), ceil_div(b, g.depth, bl.kc), i64(1)
    )
    with for_range(b, ceil_div(b, b.sub(end, begin), bl.nc), "jc") as jc:
        j0 = b.add(begin, b.mul(jc, i64(bl.nc)), name="j0")
        ncols = minimum(b, i64(bl.nc), b.sub(end, j0), name="ncols")
        with for_range(b, depth_blocks, "pc") as pc:
            p0 = b.mul(pc, i64(bl.kc), name="p0")
            kc = minimum(b, i64(bl.kc), b.sub(g.depth, p0), name="kc")
            panel = _b_block(k, g, buffers, p0, kc, j0, ncols)
            accumulate = b.icmp_signed(">", pc, i64(0))
            last = b.icmp_signed("==", pc, b.sub(depth_blocks, i64(1)))
            a = g.a.for_depth_block(k, row_begin, row_end, p0, kc)
            with for_range(b, ceil_div(b, b.sub(row_end, row_begin), bl.mr), "ir") as ir_:
                i0 = b.add(row_begin, b.mul(ir_, i64(bl.mr)), name="i0")
                rows = minimum(b, i64(bl.mr), b.sub(row_end, i0), name="rows")
                a_panel = a.panel(k, buffers.a, i0, rows, p0, kc, bl.mr)
                tile = _TileCall(k, bl, g, a_panel, panel, kc, ldc, accumulate, last)
                tile.emit_row(i0, rows, j0, ncols)


def _share(b: ir.IRBuilder, g: Gemm, bl: Blocking) -> tuple[tuple[ir.Value, ir.Value], ...]:
    """The rows and columns of C this part computes: all of them, or a share of the rows
    (whole panels) when there are at least as many panels of rows as tiles of columns, else a
    share of the columns (whole tiles)."""
    everything = ((i64(0), g.rows), g.columns)
    if g.part is None:
        return everything
    begin, end = g.columns
    panels = ceil_div(b, g.rows, bl.mr)
    tiles = ceil_div(b, b.sub(end, begin), bl.nr)
    by_rows = b.icmp_signed(">=", panels, tiles, name="split_rows")
    row_share = g.part.share(b, g.rows, bl.mr)
    col_lo, col_hi = g.part.share(b, b.sub(end, begin), bl.nr)
    rows = tuple(b.select(by_rows, mine, full) for mine, full in zip(row_share, everything[0]))
    col_share = (b.add(begin, col_lo), b.add(begin, col_hi))
    cols = tuple(b.select(by_rows, full, mine) for mine, full in zip(col_share, g.columns))
    return rows, cols


@dataclass(frozen=True)
class _Panel:
    """Where the micro-kernel finds B for the current block (packed or in place)."""

    pointer: ir.Value
    row_stride: ir.Value
    panel_stride: ir.Value


def _b_block(
    k: Kernel,
    g: Gemm,
    buffers: Buffers,
    p0: ir.Value,
    kc: ir.Value,
    j0: ir.Value,
    ncols: ir.Value,
) -> _Panel:
    """B's block of rows [p0, p0+kc) and columns [j0, j0+ncols): packed when the graph was
    compiled, read in place (few rows of A, contiguous rows of B), or packed now."""
    b, bl, source = k.b, buffers.blocking, g.b
    nr = i64(bl.nr)
    if source.panels:
        panel_stride = b.mul(g.depth, nr)
        start = b.add(b.mul(b.sdiv(j0, nr), panel_stride), b.mul(p0, nr))
        pointer = element_at(b, source.operand.pointer, b.add(source.offset, start), bl.dtype)
        return _Panel(pointer, nr, panel_stride)
    if source.col_stride != 1 or source.operand.is_literal:
        source.pack_block(k, buffers.b, p0, kc, j0, ncols, bl.nr)
        return _Panel(buffers.b, nr, b.mul(kc, nr))
    direct = b.icmp_signed("<=", g.rows, i64(DIRECT_B_ROWS), name="direct")
    with b.if_then(b.not_(direct)):
        source.pack_block(k, buffers.b, p0, kc, j0, ncols, bl.nr)
    in_place = element_at(b, source.operand.pointer, source.element(k, p0, j0), bl.dtype)
    return _Panel(
        pointer=b.select(direct, in_place, buffers.b),
        row_stride=b.select(direct, k.value(source.row_stride), nr),
        panel_stride=b.select(direct, nr, b.mul(kc, nr)),
    )


@dataclass
class _TileCall:
    """The tiles of one panel of A's rows: a loop over the columns of the block."""

    k: Kernel
    bl: Blocking
    g: Gemm
    a: PanelAddress
    panel: _Panel
    kc: ir.Value
    ldc: ir.Value
    accumulate: ir.Value
    last: ir.Value

    def emit_row(self, i0: ir.Value, rows: ir.Value, j0: ir.Value, ncols: ir.Value) -> None:
        """The tiles of a panel: a full panel of `mr` rows, or a short one as sub-panels of
        8, 4, 2 and 1 rows (its binary digits), so that only those micro-kernels exist; then,
        after the last depth block, the epilogue on the panel's block of C (at most mr x nc
        elements, still in L1). One epilogue per panel, with a runtime row count, keeps the
        IR small: LLVM would unroll an epilogue per sub-panel size."""
        b, bl = self.k.b, self.bl
        full = b.icmp_signed("==", rows, i64(bl.mr))
        with b.if_else(full) as (then, otherwise):
            with then:
                self._tiles(i0, i64(0), bl.mr, j0, ncols)
            with otherwise:
                for count in sub_panel_rows(bl.mr):
                    with b.if_then(b.icmp_signed("!=", b.and_(rows, i64(count)), i64(0))):
                        first = b.and_(rows, i64(-2 * count))  # the rows of larger sub-panels
                        self._tiles(i0, first, count, j0, ncols)
        if self.g.epilogue is not None:
            with b.if_then(self.last):
                self.g.epilogue(i0, rows, j0, ncols)

    def _tiles(
        self, i0: ir.Value, first: ir.Value, count: int, j0: ir.Value, ncols: ir.Value
    ) -> None:
        """The tiles of rows [i0 + first, i0 + first + count): a loop over the block's columns
        calling the micro-kernel compiled for `count` rows."""
        b, bl = self.k.b, self.bl
        kernel = micro_kernel(b.module, bl, count, bl.tile_vectors(count))
        width = bl.tile_vectors(count) * bl.lanes
        row = b.add(i0, first, name="row")
        a_pointer = element_at(b, self.a.pointer, b.mul(first, self.a.rows), bl.dtype)
        with for_range(b, ceil_div(b, ncols, width), "jr") as t:
            jr = b.mul(t, i64(width), name="jr")
            cols = minimum(b, i64(width), b.sub(ncols, jr), name="cols")
            panel_b = element_at(
                b,
                self.panel.pointer,
                b.mul(b.sdiv(jr, i64(bl.nr)), self.panel.panel_stride),
                bl.dtype,
            )
            c_index = self.g.c.element(self.k, row, b.add(j0, jr))
            c_tile = element_at(b, self.g.c.operand.pointer, c_index, bl.dtype)
            args = [
                self.kc,
                a_pointer,
                self.a.rows,
                self.a.step,
                panel_b,
                self.panel.row_stride,
                self.panel.panel_stride,
                c_tile,
                self.ldc,
                cols,
                self.accumulate,
            ]
            b.call(kernel, args)


def sub_panel_rows(mr: int) -> list[int]:
    """The row counts of the micro-kernels short panels are made of: the powers of two below
    `mr`, largest first (any count below `mr` is a sum of distinct ones).

    >>> sub_panel_rows(12), sub_panel_rows(6)
    ([8, 4, 2, 1], [4, 2, 1])
    """
    return [1 << bit for bit in reversed(range(mr.bit_length())) if 1 << bit < mr]


#: `lower(kernel, epilogue, part)`: a matmul or conv lowering, finishing each tile with the
#: epilogue (if any) and computing only `part` of the work (if given).
AnchorLowering = Callable[[Kernel, "TileEpilogue | None", "Part | None"], None]


@dataclass(frozen=True)
class Anchor:
    """How a primitive computed by GEMMs is lowered.

    Attributes:
        lower: the lowering, with an optional epilogue and part (see `AnchorLowering`).
        work: the multiply-adds of a node (a polynomial of the batch), given its kernel; it
            decides whether threads share the node (`backend.parallel`).
    """

    lower: AnchorLowering
    work: Callable[[Kernel], Extent]

    def __call__(self, k: Kernel) -> None:
        """Lower a node of the primitive on its own (no epilogue), on `k.threads` threads."""
        run_in_parts(
            k, self.work(k), lambda kernel, part: self.lower(kernel, None, part), k.threads
        )


#: Primitives lowered through GEMMs (the anchors of fused epilogues), by primitive.
ANCHORS: dict[object, Anchor] = {}


def register_anchor(prim: object, anchor: Anchor) -> Anchor:
    """Declare `anchor` as the GEMM lowering of `prim`."""
    ANCHORS[prim] = anchor
    return anchor
