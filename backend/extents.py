"""Sizes, strides and offsets as polynomials of the batch size N.

A shape holds static ints and `None`, the batch dimension, so every size the code generator
needs (a dimension, a stride, an element count, an offset such as `(N - 1) * stride` for a
reversal) is an integer polynomial of N. Keeping them symbolic lets the generator fold
constants in Python (the IR says `mul i64 %batch, 784`, not a chain of multiplications by 1),
compare strides exactly when it merges loop axes, and evaluate the same expression in Python
(the wrapper's workspace size) and in IR (the native entry's offsets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from math import prod

from llvmlite import ir

from graphc.types import Dim

I64 = ir.IntType(64)


class Extent:
    """An integer polynomial of the batch size N, immutable and hashable.

    >>> n = Extent.batch()
    >>> size = n * 784 + 16
    >>> str(size), size.evaluate(2), size == Extent.of(16) + 784 * n
    ('784*N + 16', 1584, True)
    """

    __slots__ = ("terms",)

    def __init__(self, terms: Mapping[int, int]):
        self.terms = {p: c for p, c in sorted(terms.items()) if c != 0}

    @classmethod
    def of(cls, value: int | Extent) -> Extent:
        """The constant `value` (an Extent is returned unchanged)."""
        if isinstance(value, Extent):
            return value
        return cls({0: int(value)})

    @classmethod
    def batch(cls) -> Extent:
        return cls({1: 1})

    @classmethod
    def of_dim(cls, dim: Dim) -> Extent:
        """A shape dimension: N for `None`, else the constant."""
        return cls.batch() if dim is None else cls.of(dim)

    @property
    def is_constant(self) -> bool:
        return all(p == 0 for p in self.terms)

    @property
    def constant(self) -> int:
        """The value of a constant extent (raises if it depends on N)."""
        if not self.is_constant:
            raise ValueError(f"extent {self} depends on the batch size")
        return self.terms.get(0, 0)

    def covers(self, other: int | Extent) -> bool:
        """True when self >= other for every batch size N >= 0 (coefficient-wise).

        >>> (Extent.batch() * 4 + 8).covers(Extent.batch() * 4), Extent.of(8).covers(Extent.batch())
        (True, False)
        """
        return all(c >= 0 for c in (self - Extent.of(other)).terms.values())

    def evaluate(self, batch: int | None) -> int:
        if self.is_constant:
            return self.constant
        if batch is None:
            raise ValueError(f"extent {self} needs a batch size")
        return sum(c * batch**p for p, c in self.terms.items())

    def __add__(self, other: int | Extent) -> Extent:
        other = Extent.of(other)
        terms = dict(self.terms)
        for p, c in other.terms.items():
            terms[p] = terms.get(p, 0) + c
        return Extent(terms)

    __radd__ = __add__

    def __neg__(self) -> Extent:
        return Extent({p: -c for p, c in self.terms.items()})

    def __sub__(self, other: int | Extent) -> Extent:
        return self + (-Extent.of(other))

    def __rsub__(self, other: int | Extent) -> Extent:
        return Extent.of(other) - self

    def __mul__(self, other: int | Extent) -> Extent:
        other = Extent.of(other)
        terms: dict[int, int] = {}
        for p1, c1 in self.terms.items():
            for p2, c2 in other.terms.items():
                terms[p1 + p2] = terms.get(p1 + p2, 0) + c1 * c2
        return Extent(terms)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int):
            other = Extent.of(other)
        return isinstance(other, Extent) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(tuple(self.terms.items()))

    def __str__(self) -> str:
        if not self.terms:
            return "0"
        text = ""
        for p, c in sorted(self.terms.items(), reverse=True):
            var = "" if p == 0 else ("N" if p == 1 else f"N^{p}")
            size = abs(c)
            term = str(size) if not var else (var if size == 1 else f"{size}*{var}")
            if not text:
                text = f"-{term}" if c < 0 else term
            else:
                text += f" - {term}" if c < 0 else f" + {term}"
        return text

    def __repr__(self) -> str:
        return f"Extent({self})"

    def emit(self, builder: ir.IRBuilder, batch: ir.Value, name: str = "") -> ir.Value:
        """The i64 value of the polynomial, with constants folded in Python."""
        if self.is_constant:
            return ir.Constant(I64, self.constant)
        total: ir.Value | None = None
        for p, c in self.terms.items():
            if p == 0:
                term: ir.Value = ir.Constant(I64, c)
            else:
                term = batch
                for _ in range(p - 1):
                    term = builder.mul(term, batch)
                if c != 1:
                    term = builder.mul(term, ir.Constant(I64, c))
            total = term if total is None else builder.add(total, term)
        assert total is not None
        if name and isinstance(total, ir.Instruction):
            total.name = name
        return total


def extents(shape: Sequence[Dim]) -> list[Extent]:
    """The dimensions of a shape as extents.

    >>> [str(e) for e in extents((None, 3))]
    ['N', '3']
    """
    return [Extent.of_dim(d) for d in shape]


def row_major_strides(shape: Sequence[Dim]) -> list[Extent]:
    """Element strides of a C-contiguous array of this shape.

    >>> [str(s) for s in row_major_strides((2, None, 3))]
    ['3*N', '3', '1']
    """
    strides: list[Extent] = []
    running = Extent.of(1)
    for dim in reversed(shape):
        strides.append(running)
        running = running * Extent.of_dim(dim)
    return strides[::-1]


def element_count(shape: Iterable[Dim]) -> Extent:
    """The number of elements: a product of the dimensions.

    >>> str(element_count((None, 28, 28)))
    '784*N'
    """
    return prod((Extent.of_dim(d) for d in shape), start=Extent.of(1))
