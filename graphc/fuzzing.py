"""Random graphs and arguments for differential fuzzing.

`random_graph(rng)` draws a small graph that can use every primitive: it starts from a few
placeholders of several shapes and dtypes (always one with the batch dimension) and applies
random operations to a growing pool of values, through the public functions (which insert the
casts and broadcasts a user's code would) and, for attributes the public functions never use
(`pad` interior, `conv` input dilation, `reduce_window` on any axis), through `bind` directly.
Operands are drawn mostly from the last few values, so graphs are deep as well as wide.
`random_arguments(graph, rng, batch)` draws matching arrays, with IEEE special values (nan,
+-inf, -0.0, huge, subnormal) and integer extremes mixed in.

Everything is drawn from one `numpy.random.Generator`, so a seed reproduces a case exactly,
whatever else the process does; `graphc.differential` runs the checks on these graphs and
`benchmarks/fuzz.py` loops over seeds.

With `differentiable=True` the graph is float64 and its operations are kept inside their smooth
domains (log of x*x + 0.5, tan of tanh x, no division by values near zero, ...), so forward
mode, reverse mode and finite differences can be compared at random points; piecewise-constant
ops (floor, sign, comparisons, argmax, integer casts) still appear, their derivative is zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import Any

import numpy as np

import graphc
from graphc import dtypes, nn
from graphc.core import Value
from graphc.errors import DTypeError, ShapeError
from graphc.graph import Graph
from graphc.primitives.conv import conv_kernel_grad_p, conv_p
from graphc.primitives.shape import pad_p
from graphc.primitives.window import reduce_window_p, select_and_scatter_add_p
from graphc.types import TensorType, broadcast_shapes

#: The dtypes graphs are drawn over by default.
ALL_DTYPES = ("float64", "float32", "int32", "int64", "bool")

#: Input shapes; None is the batch dimension. Rank-4 shapes feed conv and reduce_window.
INPUT_SHAPES = ((None, 3), (None, 2, 3), (3,), (2, 3), (), (None, 4, 4, 2), (None, 1), (1, 3))

#: Cap on the static elements (a batch dimension counts as 1) of any value.
MAX_ELEMENTS = 512

FLOAT_UNARY = (
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "erf",
    "floor",
    "ceil",
    "round",
)
NUMERIC_UNARY = ("negative", "abs", "sign")
ARITHMETIC = (
    "add",
    "subtract",
    "multiply",
    "power",
    "maximum",
    "minimum",
    "floor_divide",
    "remainder",
)
COMPARISONS = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
COMPOSITES = (
    "softmax",
    "log_softmax",
    "logsumexp",
    "softplus",
    "gelu",
    "silu",
    "elu",
    "selu",
    "mean",
    "var",
    "std",
)

# Arguments of these functions are mapped into their smooth domain in differentiable graphs.
_DOMAIN_GUARDS: dict[str, Callable[[Value], Value]] = {
    "log": lambda v: v * v + 0.5,
    "sqrt": lambda v: v * v + 0.5,
    "log1p": lambda v: v * v,
    "tan": graphc.tanh,
    "exp": lambda v: graphc.tanh(v) * 4.0,
    "expm1": lambda v: graphc.tanh(v) * 4.0,
}

_FLOAT_SPECIALS = (0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e-310, 0.5, -1.0, 2.0**60)


def random_graph(
    rng: np.random.Generator,
    *,
    steps: int | None = None,
    dtypes: Sequence[str] = ALL_DTYPES,
    differentiable: bool = False,
) -> Graph:
    """A random graph over every primitive, drawn from `rng` alone (a seed reproduces it).

    Args:
        rng: the random source.
        steps: how many operations to try (default: 2 to 12, drawn); an operation that does not
            fit its drawn operands is skipped, so graphs may have fewer nodes.
        dtypes: the dtypes inputs are drawn from; the graph's values may still take others
            (comparisons give bool, argmax int64, casts anything).
        differentiable: a float64 graph kept inside its operations' smooth domains, for
            derivative checks.

    >>> g = random_graph(np.random.default_rng(1))
    >>> any(t.is_batched for t in g.input_types), len(g.outputs) >= 1
    (True, True)
    >>> random_graph(np.random.default_rng(1)).dump() == g.dump()
    True
    """
    return _GraphBuilder(rng, tuple(dtypes), differentiable).build(steps)


def random_arguments(
    graph: Graph, rng: np.random.Generator, batch: int, *, specials: bool = True
) -> list[np.ndarray]:
    """Arrays for `graph`'s inputs at batch size `batch`.

    Floats are normal with a random scale, ints small with sometimes an extreme, bools fair
    coins; with `specials`, about one element in eight of a float or int argument is replaced
    by an IEEE special or integer extreme.

    >>> x = graphc.placeholder((None, 2), "int32")
    >>> [a.shape for a in random_arguments(graphc.Graph([x], x), np.random.default_rng(0), 5)]
    [(5, 2)]
    """
    return [_random_array(t, rng, batch, specials) for t in graph.input_types]


def _random_array(t: TensorType, rng: np.random.Generator, batch: int, specials: bool) -> Any:
    shape = t.concrete_shape(batch)
    if t.dtype == dtypes.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if t.dtype in dtypes.FLOATS:
        scale = rng.choice([0.5, 1.0, 3.0])
        array = np.asarray(rng.standard_normal(shape) * scale, t.dtype)
        with np.errstate(over="ignore"):  # 1e300 is inf in float32: a special all the same
            pool = np.array(_FLOAT_SPECIALS).astype(t.dtype)
    else:
        info = np.iinfo(t.dtype)
        array = np.asarray(rng.integers(-20, 21, shape), t.dtype)
        pool = np.array([0, -1, 1, info.min, info.max, info.min + 1], t.dtype)
    if specials and array.size:
        mask = rng.random(shape) < 0.125
        array[mask] = rng.choice(pool, int(mask.sum()))
    return array


def _static_size(shape: Sequence[int | None]) -> int:
    return prod(1 if d is None else d for d in shape)


class _GraphBuilder:
    """Grows a pool of Values with randomly chosen operations."""

    def __init__(self, rng: np.random.Generator, dtypes_: tuple[str, ...], differentiable: bool):
        self.rng = rng
        self.dtypes = ("float64",) if differentiable else dtypes_
        self.differentiable = differentiable
        # Finite differences need float64 throughout; other graphs mix both float dtypes.
        self.floats = ("float64",) if differentiable else ("float64", "float32")
        self.cast_targets = ALL_DTYPES[:1] + ALL_DTYPES[2:] if differentiable else ALL_DTYPES
        self.pool: list[Value] = []
        self.ops: list[Callable[[], Value | None]] = [
            self.float_unary, self.numeric_unary, self.logical, self.arithmetic, self.divide,
            self.compare, self.select, self.cast, self.reshape, self.transpose, self.broadcast,
            self.slice, self.rev, self.concatenate, self.pad, self.take, self.scatter_add,
            self.take_along_axis, self.scatter_add_along_axis,
            self.dim_size, self.reduce, self.arg_reduce, self.matmul, self.conv,
            self.reduce_window, self.random, self.composite,
        ]  # fmt: skip

    # --- the graph ----------------------------------------------------------------------------

    def build(self, steps: int | None) -> Graph:
        count = int(self.rng.integers(1, 4))
        shapes = [INPUT_SHAPES[i] for i in self.rng.integers(0, len(INPUT_SHAPES), count)]
        if not any(None in s for s in shapes):
            shapes[0] = INPUT_SHAPES[int(self.rng.integers(0, 2))]
        inputs = [
            graphc.placeholder(s, self.choice(self.dtypes), name=f"x{i}")
            for i, s in enumerate(shapes)
        ]
        self.pool = list(inputs)
        for _ in range(int(self.rng.integers(2, 13)) if steps is None else steps):
            op = self.ops[int(self.rng.integers(0, len(self.ops)))]
            try:
                value = op()
            except (ShapeError, DTypeError):  # the drawn operands do not fit this op
                continue
            if value is not None and _static_size(value.shape) <= MAX_ELEMENTS:
                self.pool.append(value)
        computed = self.pool[len(inputs) :] or [graphc.cast(inputs[0], "float64") * 2.0]
        outputs = [computed[-1]]
        for _ in range(int(self.rng.integers(0, 3))):
            extra = computed[int(self.rng.integers(0, len(computed)))]
            if not any(extra is o for o in outputs):
                outputs.append(extra)
        return Graph(inputs, outputs if len(outputs) > 1 else outputs[0])

    # --- drawing ------------------------------------------------------------------------------

    def choice(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.integers(0, len(options)))]

    def pick(self, accept: Callable[[Value], bool] = lambda v: True) -> Value | None:
        """A pool value, half the time one of the three latest acceptable ones."""
        candidates = [v for v in self.pool if accept(v)]
        if not candidates:
            return None
        if self.rng.random() < 0.5:
            candidates = candidates[-3:]
        return self.choice(candidates)

    def pick_float(self) -> Value:
        """A float value: a float from the pool, or a numeric one cast to a float dtype."""
        v = self.pick(lambda v: v.dtype in dtypes.FLOATS)
        if v is None or self.rng.random() < 0.15:
            v = self.pick()
            if v.dtype not in dtypes.FLOATS:
                v = graphc.cast(v, self.choice(self.floats))
        return v

    def pick_numeric(self) -> Value:
        v = self.pick(lambda v: v.dtype != dtypes.bool_)
        return v if v is not None else graphc.cast(self.pick(), "int32")

    def pick_bool(self) -> Value:
        v = self.pick(lambda v: v.dtype == dtypes.bool_)
        if v is None or self.rng.random() < 0.3:
            other = self.pick_numeric()
            v = graphc.greater(other, self.scalar_constant(other.dtype))
        return v

    def partner(self, v: Value, accept: Callable[[Value], bool] = lambda w: True) -> Value:
        """A pool value that broadcasts with `v`, else a constant that does."""
        fits = [w for w in self.pool if accept(w) and _broadcasts(v.shape, w.shape)]
        if fits and self.rng.random() < 0.7:
            return self.choice(fits[-4:])
        keep = int(self.rng.integers(0, v.ndim + 1))
        shape = tuple(1 if d is None else d for d in v.shape[v.ndim - keep :])
        return self.constant(shape, v.dtype)

    def constant(self, shape: tuple[int, ...], dtype: np.dtype) -> Value:
        array = _random_array(TensorType(shape, dtype), self.rng, 1, not self.differentiable)
        return graphc.constant(np.asarray(array, dtype))

    def scalar_constant(self, dtype: np.dtype) -> Value:
        return self.constant((), dtype)

    def guard(self, name: str, v: Value) -> Value:
        return _DOMAIN_GUARDS[name](v) if self.differentiable and name in _DOMAIN_GUARDS else v

    def positive(self, v: Value) -> Value:
        """In differentiable graphs, a denominator kept away from zero (as a float)."""
        if not self.differentiable:
            return v
        if v.dtype not in dtypes.FLOATS:
            v = graphc.cast(v, "float64")
        return v * v + 0.5

    def static_axes(self, v: Value) -> list[int]:
        return [a for a, d in enumerate(v.shape) if d is not None]

    # --- elementwise --------------------------------------------------------------------------

    def float_unary(self) -> Value:
        name = self.choice(FLOAT_UNARY)
        return getattr(graphc, name)(self.guard(name, self.pick_float()))

    def numeric_unary(self) -> Value:
        return getattr(graphc, self.choice(NUMERIC_UNARY))(self.pick_numeric())

    def logical(self) -> Value:
        a = self.pick_bool()
        kind = self.choice(["and", "or", "not"])
        if kind == "not":
            return graphc.logical_not(a)
        b = self.partner(a, lambda w: w.dtype == dtypes.bool_)
        return (graphc.logical_and if kind == "and" else graphc.logical_or)(a, b)

    def arithmetic(self) -> Value:
        name = self.choice(ARITHMETIC)
        a = self.pick_numeric()
        b = self.partner(a, lambda w: w.dtype != dtypes.bool_)
        if name == "power":
            if a.dtype in dtypes.INTEGERS:  # keep integer powers small: wrapping is exact anyway
                b = graphc.constant(np.int32(self.rng.integers(-2, 5)))
            elif self.differentiable:
                a = self.positive(a)
        elif name in ("floor_divide", "remainder"):
            b = self.positive(b)
        return getattr(graphc, name)(a, b)

    def divide(self) -> Value:
        a = self.pick_float()
        return graphc.divide(a, self.positive(self.partner(a)))

    def compare(self) -> Value:
        a = self.pick()
        return getattr(graphc, self.choice(COMPARISONS))(a, self.partner(a))

    def select(self) -> Value:
        condition = self.pick_bool()
        x = self.partner(condition, lambda w: w.dtype != dtypes.bool_)
        y = self.partner(x, lambda w: w.dtype == x.dtype)
        return graphc.where(condition, x, y)

    def cast(self) -> Value:
        v = self.pick()
        if v.dtype in dtypes.FLOATS and self.rng.random() < 0.5:
            v = v * 100.0  # so that truncation to an int is not mostly 0
        return graphc.cast(v, self.choice(self.cast_targets))

    # --- shape --------------------------------------------------------------------------------

    def reshape(self) -> Value | None:
        v = self.pick()
        static = [d for d in v.shape if d is not None]
        size = prod(static)
        if None in v.shape:
            if v.shape.count(None) > 1:
                return None
            # Keep the batch dimension where it is; merge the static axes around it.
            axis = v.shape.index(None)
            before, after = prod(v.shape[:axis]), prod(v.shape[axis + 1 :])
            return graphc.reshape(v, (before, None, after) if before > 1 else (None, after, 1))
        options = [(size,), (1, size), (size, 1)] + ([(2, size // 2)] if size % 2 == 0 else [])
        return graphc.reshape(v, self.choice(options))

    def transpose(self) -> Value:
        v = self.pick()
        return graphc.transpose(v, tuple(int(a) for a in self.rng.permutation(v.ndim)))

    def broadcast(self) -> Value:
        v = self.pick()
        lead = tuple(int(d) for d in self.rng.integers(1, 4, int(self.rng.integers(0, 2))))
        if None not in v.shape and self.rng.random() < 0.4:
            lead = (None, *lead)
        shape = tuple(self.choice([1, 2, 3]) if d == 1 else d for d in v.shape)
        return graphc.broadcast_to(v, lead + shape)

    def slice(self) -> Value | None:
        v = self.pick()
        key: list[Any] = []
        for d in v.shape:
            if d is None or d == 0:
                key.append(slice(None))
                continue
            start = int(self.rng.integers(-d, d))
            step = int(self.choice([1, 1, 2, -1, -2]))
            stop = self.choice([None, int(self.rng.integers(-d, d + 1))])
            key.append(slice(start, stop, step) if self.rng.random() < 0.8 else start)
        result = v[tuple(key)]
        return result if 0 not in result.shape else None

    def rev(self) -> Value | None:
        v = self.pick(lambda v: bool(self.static_axes(v)))
        if v is None:
            return None
        axes = [a for a in self.static_axes(v) if self.rng.random() < 0.6]
        return graphc.flip(v, axes) if axes else None

    def concatenate(self) -> Value | None:
        v = self.pick(lambda v: bool(self.static_axes(v)))
        if v is None:
            return None
        axis = self.choice(self.static_axes(v))
        parts = [v] + [w for w in self.pool if w.type == v.type and w is not v][-2:]
        if len(parts) == 1:
            parts.append(graphc.negative(v) if v.dtype != dtypes.bool_ else ~v)
        return graphc.concatenate(parts, axis=axis)

    def pad(self) -> Value:
        v = self.pick()
        config = tuple(
            (0, 0, 0) if d is None else tuple(int(c) for c in self.rng.integers(0, 3, 3))
            for d in v.shape
        )
        if v.dtype in dtypes.FLOATS:
            value = float(self.choice([0.0, 1.5, -np.inf] if not self.differentiable else [0.0]))
        else:
            value = float(self.choice([0, 1]))
        return pad_p.bind(v, config=config, value=value)

    def index_values(self, size: int, shape: tuple[int, ...]) -> Value:
        """Indices for an axis of `size`: constants (some negative or out of range, which
        `take` wraps once and clamps), or computed from an int pool value."""
        if self.rng.random() < 0.3:
            source = self.pick(lambda w: w.dtype in dtypes.INTEGERS and w.ndim <= 1)
            if source is not None and None not in source.shape:
                return source
        return graphc.constant(self.rng.integers(-size - 2, size + 2, shape).astype(np.int32))

    def take(self) -> Value | None:
        v = self.pick(lambda v: bool(self.static_axes(v)))
        if v is None:
            return None
        axis = self.choice(self.static_axes(v))
        shape = tuple(int(d) for d in self.rng.integers(1, 4, int(self.rng.integers(0, 3))))
        return graphc.take(v, self.index_values(v.shape[axis], shape), axis=axis)

    def scatter_add(self) -> Value | None:
        v = self.pick(lambda v: v.dtype != dtypes.bool_ and bool(self.static_axes(v)))
        if v is None:
            return None
        axis = self.choice(self.static_axes(v))
        size = int(self.rng.integers(1, 5))
        indices = graphc.constant(
            self.rng.integers(-size - 1, size + 1, v.shape[axis]).astype(np.int64)
        )
        return graphc.scatter_add(v, indices, axis=axis, size=size)

    def take_along_axis(self) -> Value | None:
        """Indices of the value's rank (size 1 on the other axes, so they broadcast), some
        negative or out of range."""
        v = self.pick(lambda v: v.ndim > 0 and bool(self.static_axes(v)))
        if v is None:
            return None
        axis = self.choice(self.static_axes(v))
        size = v.shape[axis]
        shape = [1] * v.ndim
        shape[axis] = int(self.rng.integers(1, 4))
        picks = self.rng.integers(-size - 1, size + 1, shape).astype(np.int64)
        return graphc.take_along_axis(v, graphc.constant(picks), axis=axis)

    def scatter_add_along_axis(self) -> Value | None:
        """Updates added at indices of the same shape (duplicates and out-of-range ones
        included), into a new axis of 1 to 4 positions."""
        v = self.pick(lambda v: v.dtype != dtypes.bool_ and v.ndim > 0 and None not in v.shape)
        if v is None:
            return None
        axis = int(self.rng.integers(0, v.ndim))
        size = int(self.rng.integers(1, 5))
        picks = self.rng.integers(-size - 1, size + 1, v.shape).astype(np.int64)
        return graphc.scatter_add_along_axis(v, graphc.constant(picks), axis=axis, size=size)

    def dim_size(self) -> Value | None:
        v = self.pick(lambda v: v.ndim > 0)
        if v is None:
            return None
        n = graphc.dim_size(v, int(self.rng.integers(0, v.ndim)))
        other = self.pick_float()
        return other * graphc.cast(n, other.dtype)

    # --- reductions ---------------------------------------------------------------------------

    def reduce(self) -> Value | None:
        v = self.pick(lambda v: v.ndim > 0)
        if v is None:
            return None
        axes = tuple(a for a in range(v.ndim) if self.rng.random() < 0.5) or (v.ndim - 1,)
        fn = self.choice([graphc.sum, graphc.max, graphc.min])
        if fn is not graphc.sum and any(v.shape[a] == 0 for a in axes):
            return None
        return fn(v, axis=axes, keepdims=bool(self.rng.random() < 0.4))

    def arg_reduce(self) -> Value | None:
        v = self.pick(lambda v: v.dtype != dtypes.bool_ and bool(self.static_axes(v)))
        if v is None:
            return None
        axis = self.choice(self.static_axes(v))
        return self.choice([graphc.argmax, graphc.argmin])(v, axis=axis)

    # --- linear algebra, convolution, windows -------------------------------------------------

    def matmul(self) -> Value | None:
        v = self.pick(lambda v: v.ndim >= 1 and v.dtype != dtypes.bool_)
        if v is None:
            return None
        k = v.shape[-1]
        if k is None:  # contract over the batch: the transposed operand, as in a gradient
            return graphc.matmul(graphc.transpose(v), self.partner_matrix(v, v.shape[-1]))
        return graphc.matmul(v, self.constant((k, int(self.rng.integers(1, 4))), v.dtype))

    def partner_matrix(self, v: Value, rows: int | None) -> Value:
        fits = [w for w in self.pool if w.ndim == 2 and w.shape[0] == rows and w.dtype == v.dtype]
        return self.choice(fits) if fits else v

    def conv(self) -> Value | None:
        v = self.pick(lambda v: v.ndim == 4 and v.dtype in dtypes.FLOATS and v.shape[0] is None)
        if v is None:
            return None
        groups = self.choice([g for g in (1, 2) if v.shape[3] % g == 0])
        window = tuple(int(w) for w in self.rng.integers(1, 4, 2))
        out_channels = groups * int(self.rng.integers(1, 3))
        kernel = self.constant((*window, v.shape[3] // groups, out_channels), v.dtype)
        attrs = dict(
            strides=tuple(int(s) for s in self.rng.integers(1, 3, 2)),
            padding=tuple(tuple(int(p) for p in self.rng.integers(0, 3, 2)) for _ in range(2)),
            lhs_dilation=tuple(int(d) for d in self.rng.integers(1, 3, 2)),
            rhs_dilation=tuple(int(d) for d in self.rng.integers(1, 3, 2)),
            feature_group_count=groups,
        )
        out = conv_p.bind(v, kernel, **attrs)
        if self.rng.random() < 0.5:  # the kernel gradient, with the output as its cotangent
            return conv_kernel_grad_p.bind(v, out, kernel_size=window, **attrs)
        return out

    def reduce_window(self) -> Value | None:
        v = self.pick(lambda v: v.ndim > 0 and v.dtype != dtypes.bool_)
        if v is None:
            return None
        window, strides, padding = [], [], []
        padded = self.rng.random() < 0.5
        for d in v.shape:
            plain = d is None or not padded
            window.append(1 if d is None else int(self.rng.integers(1, d + 1)))
            strides.append(1 if d is None else int(self.rng.integers(1, 3)))
            padding.append((0, 0) if plain else tuple(int(p) for p in self.rng.integers(0, 2, 2)))
        reducer = self.choice(["max", "sum"])
        attrs = dict(window=tuple(window), strides=tuple(strides))
        out = reduce_window_p.bind(v, reducer=reducer, padding=tuple(padding), **attrs)
        if reducer == "max" and not padded and v.dtype in dtypes.FLOATS and self.rng.random() < 0.5:
            return select_and_scatter_add_p.bind(v, out, out, **attrs)  # the max's gradient
        return out

    def random(self) -> Value:
        batched = any(t.is_batched for t in (v.type for v in self.pool))
        shape = self.choice([(3,), (2, 2)] + ([(None, 2)] if batched else []))
        seed = self.pick(lambda v: v.dtype in dtypes.INTEGERS and v.shape == ())
        return graphc.random_uniform(
            seed if seed is not None else int(self.rng.integers(0, 2**31)),
            shape,
            self.choice(self.floats),
        )

    def composite(self) -> Value | None:
        name = self.choice(COMPOSITES[:-1] if self.differentiable else COMPOSITES)
        v = self.pick_float()
        if name in ("softmax", "log_softmax", "logsumexp", "mean", "var", "std"):
            if v.ndim == 0:
                return None
            fn = getattr(nn, name, None) or getattr(graphc, name)
            return fn(v, axis=int(self.rng.integers(0, v.ndim)))
        return getattr(nn, name)(v)


def _broadcasts(a: Sequence[int | None], b: Sequence[int | None]) -> bool:
    try:
        broadcast_shapes(a, b)
    except ShapeError:
        return False
    return True
