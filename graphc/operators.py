"""Python operators and numpy-style methods on `Value`, installed in one place.

`core.Value` knows nothing of the primitive families (they import it), so the operators are
attached here, after the families exist. Each one forwards to the public function of the same
meaning, looked up on its module at call time.
"""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.primitives import cast, compare, elementwise, linalg, reduce, shape

_BINARY = {
    "add": elementwise.add,
    "sub": elementwise.subtract,
    "mul": elementwise.multiply,
    "truediv": elementwise.divide,
    "floordiv": elementwise.floor_divide,
    "mod": elementwise.remainder,
    "pow": elementwise.power,
    "and": elementwise.logical_and,
    "or": elementwise.logical_or,
}


def _install_binary(name: str, fn: Any) -> None:
    setattr(Value, f"__{name}__", lambda self, other: fn(self, other))
    setattr(Value, f"__r{name}__", lambda self, other: fn(other, self))


for _name, _fn in _BINARY.items():
    _install_binary(_name, _fn)

Value.__matmul__ = lambda self, other: linalg.matmul(self, other)
Value.__rmatmul__ = lambda self, other: linalg.matmul(other, self)
Value.__neg__ = lambda self: elementwise.negative(self)
Value.__pos__ = lambda self: self
Value.__abs__ = lambda self: elementwise.abs(self)
Value.__invert__ = lambda self: elementwise.logical_not(self)
Value.__eq__ = lambda self, other: compare.equal(self, other)  # type: ignore[assignment]
Value.__ne__ = lambda self, other: compare.not_equal(self, other)  # type: ignore[assignment]
Value.__lt__ = lambda self, other: compare.less(self, other)
Value.__le__ = lambda self, other: compare.less_equal(self, other)
Value.__gt__ = lambda self, other: compare.greater(self, other)
Value.__ge__ = lambda self, other: compare.greater_equal(self, other)
Value.__getitem__ = lambda self, key: shape.getitem(self, key)

Value.astype = lambda self, dtype: cast.cast(self, dtype)
Value.sum = lambda self, axis=None, keepdims=False: reduce.sum(self, axis, keepdims)
Value.mean = lambda self, axis=None, keepdims=False: reduce.mean(self, axis, keepdims)
Value.max = lambda self, axis=None, keepdims=False: reduce.max(self, axis, keepdims)
Value.min = lambda self, axis=None, keepdims=False: reduce.min(self, axis, keepdims)


def _shape_args(args: tuple) -> Any:
    """numpy accepts both `x.reshape(2, 3)` and `x.reshape((2, 3))`."""
    return args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


Value.reshape = lambda self, *new_shape: shape.reshape(self, _shape_args(new_shape))
Value.transpose = lambda self, *axes: shape.transpose(self, _shape_args(axes) or None)
Value.T = property(lambda self: shape.transpose(self))
