"""`Variable`: a model weight, numbers on the Python side and a placeholder inside graphs.

A weight must be both: numbers that `get_weights`, `set_weights` and optimizers read and write,
and a symbol that graphs refer to, so a traced model does not freeze today's numbers. Each
Variable owns one graphc placeholder (`.symbol`). Through the core hook `__graphc_value__`,
every graphc op accepts the Variable as that symbol, and the Python operators below forward to
it, so `x @ self.kernel + self.bias` builds graph ops on the weight.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.core import Value, placeholder
from graphc.dtypes import DTypeLike
from graphc.errors import DTypeError, ShapeError

_versions = itertools.count(1)

#: The Variable behind each weight symbol, by id of the symbol (Values hash by identity, but a
#: dict keyed by Values would keep them alive; the Variable owns its symbol, so a weak map from
#: the symbol's id to the Variable is exact for as long as the Variable lives).
_BY_SYMBOL: weakref.WeakValueDictionary[int, Variable] = weakref.WeakValueDictionary()


class Variable:
    """A weight: a numpy array plus the graphc placeholder that stands for it in graphs.

    Args:
        initial_value: the initial numbers (copied).
        name: a name such as "dense/kernel"; it also names the symbol.
        trainable: whether optimizers update it (`Layer.trainable = False` clears it).
        dtype: the dtype; None keeps the array's (float64 stays float64).

    >>> import graphc
    >>> w = Variable(np.ones((2, 3)), name="w", dtype="float32")
    >>> x = graphc.placeholder((None, 2))
    >>> (x @ w).shape, w.symbol
    ((None, 3), <Value 'w' input : f32[2,3]>)
    >>> w.assign(np.zeros((2, 3))); float(np.asarray(w).sum())
    0.0
    """

    __array_ufunc__ = None  # numpy defers `array <op> variable` to the variable's operators

    def __init__(
        self,
        initial_value: Any,
        name: str | None = None,
        trainable: bool = True,
        dtype: DTypeLike | None = None,
    ):
        array = np.array(initial_value, dtype=None if dtype is None else dtypes.as_dtype(dtype))
        if array.dtype not in dtypes.SUPPORTED:
            raise DTypeError(
                f"Variable {name!r}: unsupported dtype {array.dtype}; expected one of "
                f"{dtypes.supported_names()}"
            )
        self.name = name or "variable"
        self.trainable = bool(trainable)
        self._value = array
        self._version = next(_versions)
        self.symbol: Value = placeholder(array.shape, array.dtype, name=self.name)
        #: Set by `Layer.add_weight`; used by training to add penalties and project updates.
        self.regularizer: Any = None
        self.constraint: Any = None
        _BY_SYMBOL[id(self.symbol)] = self

    # --- numbers ---------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return int(self._value.size)

    @property
    def version(self) -> int:
        """A number that changes at every assignment (caches of compiled models key on it)."""
        return self._version

    @property
    def value(self) -> np.ndarray:
        """The current numbers as a read-only view (no copy; use `assign` to change them)."""
        view = self._value.view()
        view.flags.writeable = False
        return view

    def numpy(self) -> np.ndarray:
        """A copy of the current numbers."""
        return self._value.copy()

    def assign(self, value: Any) -> None:
        """Replace the numbers; the shape must match and the dtype convert safely."""
        array = np.asarray(value)
        if array.shape != self.shape:
            raise ShapeError(
                f"Variable {self.name!r}: assign expected shape {self.shape}, got {array.shape}"
            )
        if array.dtype != self.dtype and not np.can_cast(array.dtype, self.dtype, "same_kind"):
            raise DTypeError(
                f"Variable {self.name!r}: assign expected dtype {self.dtype.name}, got "
                f"{array.dtype.name}, which does not convert safely"
            )
        self._value = np.array(array, dtype=self.dtype)
        self._version = next(_versions)

    def assign_add(self, delta: Any) -> None:
        """In-place `+=`, as `tf.Variable.assign_add`."""
        self.assign(self._value + np.asarray(delta, dtype=self.dtype))

    def assign_sub(self, delta: Any) -> None:
        """In-place `-=`, as `tf.Variable.assign_sub`."""
        self.assign(self._value - np.asarray(delta, dtype=self.dtype))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._value.astype(dtype) if dtype is not None else self._value.copy()

    def __repr__(self) -> str:
        return (
            f"<Variable {self.name!r} shape={self.shape} dtype={self.dtype.name} "
            f"trainable={self.trainable}>"
        )

    # --- graphs ----------------------------------------------------------------------------

    def __graphc_value__(self) -> Value:
        return self.symbol

    def __getitem__(self, key: Any) -> Value:
        return self.symbol[key]

    @property
    def T(self) -> Value:  # noqa: N802  (numpy's name)
        return self.symbol.T


def _forward(name: str) -> None:
    setattr(Variable, name, lambda self, *args: getattr(self.symbol, name)(*args))


for _op in ("add", "sub", "mul", "truediv", "pow", "matmul", "floordiv", "mod"):
    _forward(f"__{_op}__")
    _forward(f"__r{_op}__")
for _op in ("__neg__", "__pos__", "__abs__"):
    _forward(_op)


def variable_of(symbol: Value) -> Variable | None:
    """The Variable whose symbol is `symbol`, or None for any other Value.

    >>> v = Variable(np.zeros(2), name="v")
    >>> variable_of(v.symbol) is v, variable_of(v.symbol + 1.0)
    (True, None)
    """
    variable = _BY_SYMBOL.get(id(symbol))
    return variable if variable is not None and variable.symbol is symbol else None


def variables_in(outputs: Sequence[Value]) -> list[Variable]:
    """The Variables whose symbols the graph of `outputs` uses, in first-use order.

    >>> a, b = Variable(np.ones(2), name="a"), Variable(np.ones(2), name="b")
    >>> [v.name for v in variables_in([b * 2.0 + a])]
    ['b', 'a']
    """
    seen: set[int] = set()
    found: list[Variable] = []
    stack = list(reversed(outputs))
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        variable = variable_of(value)
        if variable is not None:
            found.append(variable)
        stack.extend(reversed(value.inputs))
    return found
