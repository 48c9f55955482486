"""Symbolic values and primitives: the building blocks of every graph.

A `Primitive` is a tiny object, a name plus algebraic properties; its rules (shape/dtype rule,
numpy implementation) are attached right after it is defined, in the module of its family, and
the tables for autodiff, sympy, printing and lowering live with their owners, keyed by primitive.

A `Value` is an immutable node `(primitive, inputs, attrs, type)`. Values form a DAG by
construction, like PyTensor variables or Keras tensors; nothing is global (there is no default
graph). `graphc.Graph(inputs, outputs)` materializes the part reachable from `outputs`.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.dtypes import DTypeLike
from graphc.errors import DTypeError, GraphError
from graphc.types import Dim, TensorType


class Property(enum.Flag):
    """Algebraic facts about a primitive, queried as data by passes and backends."""

    NONE = 0
    ELEMENTWISE = enum.auto()  # output[i] depends only on the operands' [i] (after broadcasting)
    COMMUTATIVE = enum.auto()  # f(a, b) == f(b, a)
    ASSOCIATIVE = enum.auto()  # f(f(a, b), c) == f(a, f(b, c)) in exact arithmetic
    IDEMPOTENT = enum.auto()  # f(a, a) == a
    LINEAR = enum.auto()  # linear in each operand (the transpose is its reverse rule)
    SOURCE = enum.auto()  # no operands: inputs and constants


ShapeRule = Callable[..., TensorType]
Impl = Callable[..., np.ndarray]

#: Every primitive by name, so saved graphs can refer to primitives by name.
PRIMITIVES: dict[str, Primitive] = {}


class Primitive:
    """An operation's identity. Rules are attached with `def_shape_rule` and `def_impl`.

    Args:
        name: unique name, as printed in dumps and saved files.
        properties: algebraic `Property` flags.
        needs_out_shape: the numpy impl receives the concrete output shape as `out_shape=`
            (for ops whose attributes mention the batch dimension, like `broadcast_to`).
    """

    __slots__ = ("name", "properties", "_property_bits", "needs_out_shape", "shape_rule", "impl")

    def __init__(
        self,
        name: str,
        properties: Property = Property.NONE,
        *,
        needs_out_shape: bool = False,
    ):
        if name in PRIMITIVES:
            raise GraphError(f"primitive {name!r} is defined twice")
        self.name = name
        self.properties = properties
        self._property_bits = properties.value  # `has` is hot in passes: skip Flag.__and__
        self.needs_out_shape = needs_out_shape
        self.shape_rule: ShapeRule | None = None
        self.impl: Impl | None = None
        PRIMITIVES[name] = self

    def __repr__(self) -> str:
        return self.name

    def has(self, prop: Property) -> bool:
        return bool(self._property_bits & prop.value)

    def def_shape_rule(self, rule: ShapeRule) -> ShapeRule:
        """Attach `rule(*operand_types, **attrs) -> TensorType`; it raises on bad operands."""
        self.shape_rule = rule
        return rule

    def def_impl(self, impl: Impl) -> Impl:
        """Attach the numpy implementation `impl(*arrays, **attrs) -> ndarray`."""
        self.impl = impl
        return impl

    def bind(self, *operands: Value, name: str | None = None, **attrs: Any) -> Value:
        """Apply the primitive to symbolic operands: check them and return the new value."""
        assert self.shape_rule is not None, f"{self.name} has no shape rule"
        out_type = self.shape_rule(*(v.type for v in operands), **attrs)
        return Value(self, operands, attrs, out_type, name=name)


class Value:
    """An immutable symbolic value: the output of `primitive` applied to `inputs`.

    Values support Python's arithmetic, comparison, matmul and indexing operators, numpy-style.
    They are hashed by identity; `==` builds an elementwise comparison, as in numpy.

    >>> import graphc
    >>> x = graphc.placeholder((None, 3), name="x")
    >>> y = (x * 2.0).sum(axis=1)
    >>> y.shape, y.dtype
    ((None,), dtype('float32'))
    """

    __slots__ = ("primitive", "inputs", "attrs", "type", "name", "origin", "__weakref__")
    __array_ufunc__ = None  # numpy defers `ndarray <op> Value` to the Value's reflected operator

    def __init__(
        self,
        primitive: Primitive,
        inputs: Sequence[Value],
        attrs: Mapping[str, Any],
        type: TensorType,
        *,
        name: str | None = None,
    ):
        self.primitive = primitive
        self.inputs = tuple(inputs)
        self.attrs = dict(attrs)
        self.type = type
        self.name = name
        #: Provenance for users: set by a frontend on the outputs of a layer call (the layer and
        #: the call), so errors and summaries can name it. Not part of the value's meaning.
        self.origin: Any = None

    @property
    def shape(self) -> tuple[Dim, ...]:
        return self.type.shape

    @property
    def dtype(self) -> np.dtype:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Value{label} {self.primitive.name} : {self.type}>"

    def __bool__(self) -> bool:
        raise TypeError(
            "a symbolic graphc Value has no truth value; use graphc.where(cond, a, b) "
            "instead of Python `if`/`and`/`or` on values"
        )

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "a symbolic graphc Value has no array yet: build a graphc.Graph(inputs, outputs) "
            "and call it with arrays to evaluate it"
        )

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d value")
        if self.shape[0] is None:
            raise TypeError("len() of a value whose first axis is the batch dimension")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    __hash__ = object.__hash__


class ConstantArray:
    """A constant's array as an attribute: immutable, compared and hashed by content.

    Content equality lets common-subexpression elimination merge equal constants.
    """

    __slots__ = ("array", "_hash")

    def __init__(self, array: np.ndarray):
        array = np.array(array, copy=True)
        array.flags.writeable = False
        self.array = array
        self._hash: int | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConstantArray):
            return NotImplemented
        a, b = self.array, other.array
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.array.dtype.str, self.array.shape, self.array.tobytes()))
        return self._hash

    def __repr__(self) -> str:
        return f"ConstantArray({self.array!r})"


# --- sources: inputs and constants -------------------------------------------------------------

input_p = Primitive("input", Property.SOURCE)


@input_p.def_shape_rule
def _input_shape_rule(*, type: TensorType) -> TensorType:
    return type


constant_p = Primitive("constant", Property.SOURCE)


@constant_p.def_shape_rule
def _constant_shape_rule(*, value: ConstantArray) -> TensorType:
    return TensorType(value.array.shape, value.array.dtype)


@constant_p.def_impl
def _constant_impl(*, value: ConstantArray) -> np.ndarray:
    return value.array


def placeholder(
    shape: Sequence[Dim] = (), dtype: DTypeLike = "float32", name: str | None = None
) -> Value:
    """A graph input of the given shape; `None` in the shape is the batch dimension.

    >>> placeholder((None, 784), name="images")
    <Value 'images' input : f32[None,784]>
    """
    return input_p.bind(type=TensorType(shape, dtype), name=name)


def scalars(names: str | Iterable[str], dtype: DTypeLike = "float64") -> Value | tuple[Value, ...]:
    """Scalar inputs named like sympy's `symbols`: one name gives one value, several a tuple.

    >>> x1, x2 = scalars("x1 x2")
    >>> x1
    <Value 'x1' input : f64[]>
    """
    if isinstance(names, str):
        split = names.replace(",", " ").split()
    else:
        split = list(names)
    if not split:
        raise GraphError(f"scalars: expected at least one name, got {names!r}")
    values = tuple(placeholder((), dtype, name=n) for n in split)
    return values[0] if len(values) == 1 else values


def constant(value: Any, dtype: DTypeLike | None = None, name: str | None = None) -> Value:
    """A constant tensor. Without `dtype`, numpy's dtype for the value is used.

    >>> constant([1.0, 2.0], dtype="float32")
    <Value constant : f32[2]>
    """
    if isinstance(value, Value):
        raise GraphError("constant: expected an array or a scalar, got a symbolic Value")
    array = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtypes.as_dtype(dtype))
    if array.dtype not in dtypes.SUPPORTED:
        converted = _canonical_array(array)
        if converted is None:
            raise DTypeError(
                f"constant: unsupported dtype {array.dtype}; expected one of "
                f"{dtypes.supported_names()}"
            )
        array = converted
    return constant_p.bind(value=ConstantArray(array), name=name)


def _canonical_array(array: np.ndarray) -> np.ndarray | None:
    """Map other numeric dtypes (float16, uint8, int16, ...) onto the supported ones."""
    if array.dtype.kind == "f" and array.dtype.itemsize <= 4:
        return array.astype(np.float32)
    if array.dtype.kind in "iu" and array.dtype.itemsize < 4:
        return array.astype(np.int32)
    if array.dtype.kind == "u" and array.dtype.itemsize == 4:
        return array.astype(np.int64)
    return None


def is_constant(value: Value) -> bool:
    return value.primitive is constant_p


def constant_value(value: Value) -> np.ndarray:
    """The array of a constant value."""
    if not is_constant(value):
        raise GraphError(f"expected a constant, got {value!r}")
    return value.attrs["value"].array


def unwrap_symbolic(x: Any) -> Any:
    """The Value behind objects that stand for one (`__graphc_value__`), else `x` itself.

    This is how frontend objects such as model weights take part in graphc ops: a weight
    returns its symbolic placeholder, so `graphc.matmul(x, layer.kernel)` builds a graph on the
    weight rather than freezing its current numbers into a constant.
    """
    hook = getattr(type(x), "__graphc_value__", None)
    return hook(x) if hook is not None else x


def as_value(x: Any, dtype: DTypeLike | None = None) -> Value:
    """`x` itself if it is a Value (or stands for one), else a constant made from it."""
    x = unwrap_symbolic(x)
    if isinstance(x, Value):
        return x
    return constant(x, dtype)


_fresh_ids = itertools.count()


def fresh_name(prefix: str) -> str:
    """A process-unique name such as `x_17`, for generated placeholders."""
    return f"{prefix}_{next(_fresh_ids)}"
