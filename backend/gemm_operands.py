"""Matmul operands stored in another layout than row-major: transposed views, packed weights.

The GEMM (`backend.gemm`) reads its operands through strides and packs them itself, so two
copies that a graph implies can be skipped; `Program` asks `operand_layouts(graph)` which, before
any code is generated:

- `TRANSPOSED`: a transpose of the last two axes whose every use is an operand of a matmul
  (a matmul node, or the anchor of a fused epilogue) is not computed. Its value *is* its
  source's buffer, read with the strides exchanged: a gradient's x^T @ ct and ct @ w^T read x
  and w where they are.
- `PANELS`: a 2-D constant (a weight) whose every use is the right operand of a matmul is stored
  once, when the graph is compiled, in the GEMM's packed layout (`pack_panels`), instead of
  being packed on every call. The `Compiled` object owns the packed copy, as any weight.

Every other array is `ROWS` (row-major, C order).
"""

from __future__ import annotations

import numpy as np

from graphc.backend.gemm import host_blocking
from graphc.backend.layout import ALIGNMENT
from graphc.core import constant_p
from graphc.graph import Graph
from graphc.passes.fusion import fused_p
from graphc.primitives.linalg import matmul_p
from graphc.primitives.shape import transpose_p
from graphc.types import TensorType

#: Weights with fewer elements are packed per call, like any B (it costs little).
MIN_PACKED_ELEMENTS = 1 << 14

ROWS = "rows"
TRANSPOSED = "transposed"
PANELS = "panels"


def operand_layouts(graph: Graph) -> dict[int, str]:
    """The nodes whose value is stored as `TRANSPOSED` or `PANELS` (see the module docstring).

    >>> import graphc
    >>> x = graphc.placeholder((None, 3), name="x")
    >>> ct = graphc.placeholder((None, 128), name="ct")
    >>> w = graphc.constant(np.ones((128, 128), np.float32), name="w")
    >>> g = graphc.Graph([x, ct], [x.T @ ct, ct @ w])
    >>> sorted(operand_layouts(g).values())
    ['panels', 'transposed']
    """
    uses: dict[int, list[tuple[str, int]]] = {}
    for node in graph.order:
        for index, operand in enumerate(graph.operands(node)):
            uses.setdefault(operand, []).append(_use(graph, node, index))
    outputs = set(graph.outputs)
    layouts: dict[int, str] = {}
    for node in graph.order:
        if node in outputs or node not in uses:
            continue
        prim = graph.primitive(node)
        if prim is transpose_p and _swaps_last_axes(graph.attrs(node)["permutation"]):
            if all(use[0] == "matmul" for use in uses[node]):
                layouts[node] = TRANSPOSED
        elif prim is constant_p and _worth_packing(graph.type(node)):
            if all(use == ("matmul", 1) for use in uses[node]):
                layouts[node] = PANELS
    return layouts


def _use(graph: Graph, node: int, index: int) -> tuple[str, int]:
    """("matmul", operand position) when operand `index` of `node` is read only as a matmul
    operand (of the node, or of the anchor of its epilogue body); else ("other", index)."""
    prim = graph.primitive(node)
    if prim is matmul_p:
        return ("matmul", index)
    if prim is fused_p and graph.attrs(node)["kind"] == "epilogue":
        body: Graph = graph.attrs(node)["body"]
        inner = body.inputs[index]
        readers = [(n, i) for n in body.order for i, o in enumerate(body.operands(n)) if o == inner]
        if len(readers) == 1 and body.primitive(readers[0][0]) is matmul_p:
            return ("matmul", readers[0][1])
    return ("other", index)


def _worth_packing(t: TensorType) -> bool:
    """A matrix large enough for packing on every call to cost, whose panels add little
    padding (at most 25%)."""
    if t.ndim != 2 or t.static_size < MIN_PACKED_ELEMENTS:
        return False
    nr = host_blocking(t.dtype).nr
    return -(-t.shape[1] // nr) * nr * 4 <= t.shape[1] * 5


def _swaps_last_axes(permutation: tuple[int, ...]) -> bool:
    rank = len(permutation)
    return rank >= 2 and tuple(permutation) == (*range(rank - 2), rank - 1, rank - 2)


def pack_panels(array: np.ndarray) -> np.ndarray:
    """A (k, n) matrix as the GEMM's panels: [ceil(n / nr)][k][nr], zero-padded on the right,
    starting at a 64-byte boundary (flat; the GEMM knows the layout from k and n).

    >>> a = np.arange(6.0).reshape(2, 3)
    >>> nr = host_blocking(a.dtype).nr
    >>> p = pack_panels(a).reshape(-1, 2, nr)
    >>> p.shape[0], p[0, :, :3].tolist(), float(p[0, 0, 3:].sum())
    (1, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], 0.0)
    """
    depth, n = array.shape
    nr = host_blocking(array.dtype).nr
    panels = -(-n // nr)
    padded = np.zeros((depth, panels * nr), array.dtype)
    padded[:, :n] = array
    packed = padded.reshape(depth, panels, nr).transpose(1, 0, 2)
    raw = np.empty(packed.nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    flat = raw[start : start + packed.nbytes].view(array.dtype)
    flat[:] = packed.reshape(-1)
    flat.flags.writeable = False
    return flat
