"""Conversion between graphs and sympy: `to_sympy`, `from_sympy`, and the sympy rule table.

A tensor becomes a numpy object array of sympy expressions, so shape primitives (reshape,
transpose, slice, concatenate, ...) translate by running their numpy implementation on object
arrays, and elementwise primitives by mapping a scalar sympy function over them. sympy is
imported only when a conversion runs, so `import graphc` stays fast.

Elementwise operations whose operands are all numbers are computed by the primitive's numpy
implementation in the graph's dtype (as graphc computes them), not by sympy: sympy evaluates
`Integer ** Integer` exactly, so a constant tower like 9**9**9**9 would never finish. Whole
numbers up to 2**53 stay sympy Integers (so `2*x` prints as `2*x`), others become Floats.
Sums and matrix products are built with one `sp.Add(*terms)` per element, linear in the number
of terms (numpy's pairwise `+` on object arrays re-flattens the growing sum at every step).

`from_sympy` walks a sympy expression tree and builds graph ops, sharing equal subexpressions,
so sympy's derivative can be compiled and compared like any other graph. Its symbols may be
arrays of symbols (what `input_symbols` gives for tensor inputs), so tensor graphs round-trip:
`from_sympy(to_sympy(g), input_symbols(g))`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from graphc.core import Primitive, Value, constant, constant_p, placeholder
from graphc.dtypes import DTypeLike, as_dtype
from graphc.errors import GraphcError
from graphc.types import TensorType

if TYPE_CHECKING:
    from graphc.graph import Graph

#: Largest tensor (elements) to_sympy expands into scalar expressions.
MAX_SYMPY_ELEMENTS = 4096
#: Whole-number float constants up to this size become exact sympy Integers (beyond, Floats).
MAX_EXACT_INTEGER = 2**53

ScalarRule = Callable[..., Any]
ArrayRule = Callable[..., np.ndarray]

#: Elementwise rules: `rule(sympy_module, *scalar_exprs, **attrs) -> expr`.
SYMPY_SCALAR_RULES: dict[Primitive, ScalarRule] = {}
#: Whole-array rules: `rule(sympy_module, *object_arrays, **attrs) -> object array`.
SYMPY_ARRAY_RULES: dict[Primitive, ArrayRule] = {}


class SympyConversionError(GraphcError, ValueError):
    """A graph or expression cannot be converted to or from sympy."""


def defsympy(prim: Primitive, rule: str | ScalarRule) -> None:
    """Register an elementwise sympy rule: a sympy function name or `rule(sp, *args, **attrs)`."""
    if isinstance(rule, str):
        name = rule
        SYMPY_SCALAR_RULES[prim] = lambda sp, *args, **attrs: getattr(sp, name)(*args)
    else:
        SYMPY_SCALAR_RULES[prim] = rule


def defsympy_array(prim: Primitive, rule: ArrayRule | None = None) -> None:
    """Register a whole-array sympy rule; without `rule`, the primitive's numpy impl is used
    on object arrays (right for shape primitives, which only move elements)."""
    if rule is None:
        SYMPY_ARRAY_RULES[prim] = lambda sp, *arrays, **attrs: prim.impl(*arrays, **attrs)
    else:
        SYMPY_ARRAY_RULES[prim] = rule


def input_symbols(graph: Graph) -> list[Any]:
    """The sympy symbols `to_sympy` uses for the graph's inputs (arrays of them for tensors).

    A scalar input named `x1` becomes `Symbol("x1")`; a tensor input `w` of shape (2, 3)
    becomes an object array of `w[0,0]`, `w[0,1]`, ...; unnamed inputs are called `in0`, ...
    All symbols are real, which lets sympy simplify `sqrt(x**2)` and friends correctly.
    """
    import sympy as sp

    symbols = []
    for index, (name, t) in enumerate(zip(graph.input_names, graph.input_types)):
        _check_sympy_size(t, f"input {name or index}")
        base = name or f"in{index}"
        if t.shape == ():
            symbols.append(sp.Symbol(base, real=True))
            continue
        array = np.empty(t.shape, dtype=object)
        for idx in np.ndindex(t.shape):
            array[idx] = sp.Symbol(f"{base}[{','.join(map(str, idx))}]", real=True)
        symbols.append(array)
    return symbols


def to_sympy(graph: Graph, symbols: Sequence[Any] | None = None) -> Any:
    """The graph's outputs as sympy expressions (sympy Arrays for tensor outputs).

    Follows the graph's convention: one expression for a single-output graph, a list
    otherwise. Tensors are expanded element by element, up to `MAX_SYMPY_ELEMENTS` elements
    per value; larger or batched values raise `SympyConversionError`.

    >>> import graphc
    >>> x1, x2 = graphc.scalars("x1 x2")
    >>> graphc.to_sympy(graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2)))
    x1*x2 + log(x1) - sin(x2)
    """
    import sympy as sp

    env: dict[int, np.ndarray] = {}
    for node, symbol in zip(graph.inputs, symbols or input_symbols(graph)):
        env[node] = np.asarray(symbol, dtype=object)
    for node in graph.order:
        if node not in env:
            env[node] = _node_to_sympy(sp, graph, node, env)
    results = [_from_object_array(sp, env[n]) for n in graph.outputs]
    return results[0] if graph.single_output else results


def _node_to_sympy(sp: Any, graph: Graph, node: int, env: Mapping[int, np.ndarray]) -> np.ndarray:
    prim = graph.primitive(node)
    t = graph.type(node)
    _check_sympy_size(t, f"{prim.name} (node %{node})")
    attrs = graph.attrs(node)
    operands = [env[s] for s in graph.operands(node)]
    if prim is constant_p:
        return _constant_to_sympy(sp, attrs["value"].array)
    if prim in SYMPY_SCALAR_RULES:
        folded = _fold_numbers(sp, graph, node, operands)
        if folded is not None:
            return folded
        rule = SYMPY_SCALAR_RULES[prim]
        mapped = np.frompyfunc(lambda *args: rule(sp, *args, **attrs), len(operands), 1)
        return np.asarray(mapped(*operands), dtype=object).reshape(t.shape)
    array_rule = SYMPY_ARRAY_RULES.get(prim)
    if array_rule is not None:
        kwargs = dict(attrs)
        if prim.needs_out_shape:
            kwargs["out_shape"] = t.shape
        return np.asarray(array_rule(sp, *operands, **kwargs), dtype=object)
    raise SympyConversionError(f"{prim.name} (node %{node}) has no sympy form")


def _fold_numbers(
    sp: Any, graph: Graph, node: int, operands: list[np.ndarray]
) -> np.ndarray | None:
    """An elementwise node whose operands are all numbers, computed by its numpy impl in the
    graph's dtypes; None when an operand is symbolic or not a plain number (zoo, pi).

    sympy would evaluate number-only operations exactly, and `9**9**9**9` has hundreds of
    millions of digits; graphc computes it in floating point (inf), and so does this.
    """
    if not operands or not all(_is_number(sp, e) for op in operands for e in op.flat):
        return None
    t = graph.type(node)
    try:
        arrays = [
            np.array([_python_number(sp, e) for e in op.flat], dtype=graph.type(s).dtype).reshape(
                op.shape
            )
            for s, op in zip(graph.operands(node), operands)
        ]
        with np.errstate(all="ignore"):
            result = graph.primitive(node).impl(*arrays, **graph.attrs(node))
        result = np.asarray(result).astype(t.dtype, copy=False).reshape(t.shape)
    except (ArithmeticError, TypeError, ValueError):
        return None  # let sympy try: it fails or computes something small
    return _constant_to_sympy(sp, result)


def _is_number(sp: Any, expr: Any) -> bool:
    return bool(getattr(expr, "is_Number", False)) or expr is sp.true or expr is sp.false


def _python_number(sp: Any, expr: Any) -> bool | int | float:
    if expr is sp.true or expr is sp.false:
        return bool(expr)
    return int(expr) if expr.is_Integer else float(expr)


def sympy_sum(sp: Any, x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    """The sum over `axes` of an object array, one `sp.Add(*terms)` per result element.

    (numpy's sum of an object array adds pairwise, and sympy re-flattens the growing Add at
    every step: O(n^2), 78 s for a 64x64 sum.)

    >>> import sympy as sp
    >>> a, b, c, d = sp.symbols("a b c d")
    >>> sympy_sum(sp, np.array([[a, b], [c, d]], dtype=object), axes=(1,)).tolist()
    [a + b, c + d]
    """
    kept = [a for a in range(x.ndim) if a not in axes]
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    rows = np.transpose(x, kept + list(axes)).reshape([x.shape[a] for a in kept] + [count])
    out = np.empty(rows.shape[:-1], dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = sp.Add(*rows[index])
    return out


def sympy_matmul(sp: Any, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """lhs @ rhs for object arrays of rank >= 2 (leading axes broadcast), one `sp.Add` per
    element.

    >>> import sympy as sp
    >>> a, b, c, d = sp.symbols("a b c d")
    >>> sympy_matmul(sp, np.array([[a, b]], dtype=object), np.array([[c], [d]], dtype=object))
    array([[a*c + b*d]], dtype=object)
    """
    lead = np.broadcast_shapes(lhs.shape[:-2], rhs.shape[:-2])
    lhs = np.broadcast_to(lhs, lead + lhs.shape[-2:])
    rhs = np.broadcast_to(rhs, lead + rhs.shape[-2:])
    rows, cols = lhs.shape[-2], rhs.shape[-1]
    out = np.empty(lead + (rows, cols), dtype=object)
    for index in np.ndindex(lead):
        a, b = lhs[index], rhs[index]
        for i in range(rows):
            for j in range(cols):
                out[index + (i, j)] = sp.Add(*(a[i, :] * b[:, j]))
    return out


def _check_sympy_size(t: TensorType, what: str) -> None:
    if t.is_batched:
        raise SympyConversionError(
            f"to_sympy: {what} has type {t} with the batch dimension; sympy needs static shapes"
        )
    if t.static_size > MAX_SYMPY_ELEMENTS:
        raise SympyConversionError(
            f"to_sympy: {what} has {t.static_size} elements ({t}); expanding more than "
            f"{MAX_SYMPY_ELEMENTS} elements into scalar expressions is refused"
        )


def _constant_to_sympy(sp: Any, array: np.ndarray) -> np.ndarray:
    def convert(x: Any) -> Any:
        if isinstance(x, (bool, np.bool_)):
            return sp.true if x else sp.false
        if isinstance(x, (int, np.integer)):
            return sp.Integer(int(x))
        x = float(x)
        if x.is_integer() and abs(x) <= MAX_EXACT_INTEGER:
            return sp.Integer(int(x))
        return sp.Float(x)  # inf -> oo, nan -> nan

    return (
        np.frompyfunc(convert, 1, 1)(array.astype(object)).reshape(array.shape)
        if (array.shape)
        else np.asarray(convert(array.item()), dtype=object)
    )


def _from_object_array(sp: Any, array: np.ndarray) -> Any:
    if array.shape == ():
        return array.item()
    return sp.Array(array.tolist(), array.shape)


def diff(expr: Any, symbol: Any) -> Any:
    """sympy's derivative, with the derivative of piecewise-constant functions set to 0.

    sympy leaves `Derivative(floor(x), x)` unevaluated; it is 0 almost everywhere, which is
    graphc's rule too, so symbolic and graph derivatives can be compared and evaluated.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y", real=True)
    >>> diff(x - y * sp.floor(x / y), y)
    -floor(x/y)
    """
    import sympy as sp

    piecewise_constant = (sp.floor, sp.ceiling, sp.sign, sp.Heaviside)

    def is_flat_derivative(e: Any) -> bool:
        return isinstance(e, sp.Derivative) and isinstance(e.expr, piecewise_constant)

    return sp.diff(expr, symbol).replace(is_flat_derivative, lambda e: sp.S.Zero).doit()


# --- from sympy --------------------------------------------------------------------------------


def from_sympy(
    exprs: Any, symbols: Sequence[Any], dtype: DTypeLike = "float64", name: str | None = None
) -> Graph:
    """A graph computing sympy expression(s) of `symbols`, which become its inputs.

    `exprs` is one expression (the graph returns one value), a list (it returns a list), or a
    sympy Matrix/Array (one tensor output). Each entry of `symbols` is a sympy Symbol (a scalar
    input) or an array of them: a numpy object array, sympy Array or Matrix, like the ones
    `input_symbols` makes for tensor inputs, becomes one tensor input of that shape (named `w`
    when its symbols are `w[0,0]`, `w[0,1]`, ...). So `from_sympy(to_sympy(g),
    input_symbols(g))` rebuilds a tensor graph. Equal subexpressions become one node, so the
    graph is a DAG even where sympy's printed form repeats itself. Derivatives must be
    evaluated first (`sp.Derivative(...).doit()`, or `sp.diff`).

    >>> import sympy as sp, graphc
    >>> x, y = sp.symbols("x y")
    >>> g = graphc.from_sympy(sp.diff(sp.log(x) + x * y - sp.sin(y), y), [x, y])
    >>> round(float(g(2.0, 5.0)), 4)
    1.7163
    """
    import sympy as sp

    from graphc.graph import Graph

    inputs, leaves = [], {}
    for entry in symbols:
        value, entry_leaves = _symbol_input(sp, entry, dtype)
        inputs.append(value)
        leaves.update(entry_leaves)
    builder = _SympyGraphBuilder(sp, leaves, as_dtype(dtype))
    single = not isinstance(exprs, (list, tuple))
    outputs = [builder.tensor(e) for e in ([exprs] if single else exprs)]
    return Graph(inputs, outputs[0] if single else outputs, name=name)


def _symbol_input(sp: Any, entry: Any, dtype: DTypeLike) -> tuple[Value, dict[Any, Any]]:
    """The input for one entry of from_sympy's `symbols`, and what each of its symbols means:
    a Value for a scalar, or (tensor input, index) for an element of a tensor input, which
    becomes an indexing op only if the expression uses it."""
    if isinstance(entry, (np.ndarray, sp.NDimArray, sp.MatrixBase, list, tuple)):
        shape = tuple(int(d) for d in getattr(entry, "shape", np.shape(entry)))
        array = np.asarray(entry.tolist() if hasattr(entry, "tolist") else entry, dtype=object)
        array = array.reshape(shape)
        names = [str(e) for e in array.flat]
        base = names[0].split("[")[0] if names else None
        common = base if base and all(n.startswith(base + "[") for n in names) else None
        value = placeholder(array.shape, dtype, name=common)
        return value, {array[i]: (value, i) for i in np.ndindex(array.shape)}
    value = placeholder((), dtype, name=str(entry))
    return value, {entry: value}


class _SympyGraphBuilder:
    """Translates sympy expression trees into graph ops, memoized per subexpression."""

    def __init__(self, sp: Any, leaves: dict[Any, Any], dtype: np.dtype):
        self.sp = sp
        self.dtype = dtype
        self.memo: dict[Any, Value] = {s: v for s, v in leaves.items() if isinstance(v, Value)}
        self.elements = {s: v for s, v in leaves.items() if not isinstance(v, Value)}
        self.functions = self._function_table()

    def tensor(self, expr: Any) -> Value:
        sp = self.sp
        if isinstance(expr, (sp.MatrixBase, sp.NDimArray)):
            from graphc.primitives.shape import reshape, stack

            shape = tuple(int(d) for d in expr.shape)
            if shape == ():
                return self.scalar(sp.sympify(expr[()]))
            if 0 in shape:
                raise SympyConversionError(f"from_sympy: the array output {expr} has no elements")
            flat = [self.scalar(e) for e in sp.flatten(expr.tolist())]
            return reshape(stack(flat), shape)
        return self.scalar(sp.sympify(expr))

    def scalar(self, root: Any) -> Value:
        stack = [root]
        while stack:  # post-order without recursion: derivatives can nest deeply
            expr = stack[-1]
            if expr in self.memo:
                stack.pop()
                continue
            self._refuse_unevaluated(expr)
            pending = [a for a in expr.args if a not in self.memo and not self._is_leaf(a)]
            if pending and not expr.is_Piecewise:
                stack.extend(pending)
                continue
            if expr.is_Piecewise:
                branch_parts = [
                    p
                    for pair in expr.args
                    for p in pair
                    if p not in self.memo and not self._is_leaf(p) and p is not self.sp.true
                ]
                if branch_parts:
                    stack.extend(branch_parts)
                    continue
            self.memo[expr] = self._translate(expr)
            stack.pop()
        return self.memo[root]

    def _refuse_unevaluated(self, expr: Any) -> None:
        sp = self.sp
        if isinstance(expr, (sp.Derivative, sp.Integral, sp.Subs, sp.Limit)):
            raise SympyConversionError(
                f"from_sympy: {expr} is an unevaluated {type(expr).__name__}; evaluate it first "
                f"with .doit() (or use sympy.diff, which evaluates)"
            )

    def _is_leaf(self, expr: Any) -> bool:
        return expr.is_Number or expr.is_NumberSymbol or expr in (self.sp.true, self.sp.false)

    def _value(self, expr: Any) -> Value:
        if expr in self.memo:
            return self.memo[expr]
        if expr in (self.sp.true, self.sp.false):
            return constant(bool(expr))
        if expr.is_Number or expr.is_NumberSymbol:
            return constant(float(expr), self.dtype)
        raise SympyConversionError(f"from_sympy: unexpected subexpression {expr}")

    def _translate(self, expr: Any) -> Value:
        if expr in self.elements:
            tensor, index = self.elements[expr]
            return tensor[index]
        if expr.is_Symbol:
            known = [s for s in self.memo if getattr(s, "is_Symbol", False)] + list(self.elements)
            shown = ", ".join(map(str, known[:12])) + (", ..." if len(known) > 12 else "")
            raise SympyConversionError(
                f"from_sympy: the expression uses the symbol {expr}, which is not among the "
                f"symbols [{shown}]"
            )
        if self._is_leaf(expr):
            return self._value(expr)
        for cls, fn in self.functions:
            if isinstance(expr, cls):
                return fn(expr)
        hint = (
            "; declare the symbols real (sympy.symbols('x', real=True)) so derivatives of "
            "Abs and sign stay real"
            if isinstance(expr, (self.sp.re, self.sp.im))
            else ""
        )
        raise SympyConversionError(
            f"from_sympy: no graph op for {type(expr).__name__} in {expr}; supported: "
            f"{', '.join(sorted(c.__name__ for c, _ in self.functions))}{hint}"
        )

    def _function_table(self) -> list[tuple[type, Any]]:
        import graphc.primitives.compare as cmp
        import graphc.primitives.elementwise as ew

        sp = self.sp
        v = self._value
        unary = {
            sp.exp: ew.exp,
            sp.log: ew.log,
            sp.sin: ew.sin,
            sp.cos: ew.cos,
            sp.tan: ew.tan,
            sp.tanh: ew.tanh,
            sp.erf: ew.erf,
            sp.Abs: ew.abs,
            sp.sign: ew.sign,
            sp.floor: ew.floor,
            sp.ceiling: ew.ceil,
        }
        table: list[tuple[type, Any]] = [
            (cls, lambda e, fn=fn: fn(v(e.args[0]))) for cls, fn in unary.items()
        ]
        relations = {
            sp.StrictLessThan: cmp.less,
            sp.LessThan: cmp.less_equal,
            sp.StrictGreaterThan: cmp.greater,
            sp.GreaterThan: cmp.greater_equal,
            sp.Equality: cmp.equal,
            sp.Unequality: cmp.not_equal,
        }
        table += [(cls, lambda e, fn=fn: fn(v(e.lhs), v(e.rhs))) for cls, fn in relations.items()]
        table += [
            (sp.Add, lambda e: _fold(ew.add, [v(a) for a in e.args])),
            (sp.Mul, self._mul),
            (sp.Pow, self._pow),
            (sp.Max, lambda e: _fold(ew.maximum, [v(a) for a in e.args])),
            (sp.Min, lambda e: _fold(ew.minimum, [v(a) for a in e.args])),
            (sp.Mod, lambda e: ew.remainder(v(e.args[0]), v(e.args[1]))),
            (sp.And, lambda e: _fold(ew.logical_and, [v(a) for a in e.args])),
            (sp.Or, lambda e: _fold(ew.logical_or, [v(a) for a in e.args])),
            (sp.Not, lambda e: ew.logical_not(v(e.args[0]))),
            (sp.Piecewise, self._piecewise),
            (sp.Heaviside, self._heaviside),
        ]
        return table

    def _mul(self, expr: Any) -> Value:
        import graphc.primitives.elementwise as ew

        # Factors with negative integer exponents go to a denominator: x*y**-1 -> x / y.
        numerator, denominator = [], []
        for factor in expr.args:
            base, exponent = factor.as_base_exp()
            if factor.is_Pow and exponent.is_Integer and exponent < 0:
                denominator.append(self._power_of(base, -exponent))
            else:
                numerator.append(self._value(factor))
        top = _fold(ew.multiply, numerator) if numerator else constant(1.0, self.dtype)
        return ew.divide(top, _fold(ew.multiply, denominator)) if denominator else top

    def _pow(self, expr: Any) -> Value:
        import graphc.primitives.elementwise as ew

        base, exponent = expr.args
        if exponent == self.sp.Rational(1, 2):
            return ew.sqrt(self._value(base))
        if exponent == -self.sp.Rational(1, 2):
            return ew.divide(1.0, ew.sqrt(self._value(base)))
        if exponent.is_Integer and exponent < 0:
            return ew.divide(1.0, self._power_of(base, -exponent))
        return self._power_of(base, exponent)

    def _power_of(self, base: Any, exponent: Any) -> Value:
        import graphc.primitives.elementwise as ew

        if exponent == 1:
            return self._value(base)
        return ew.power(
            self._value(base),
            self._value(exponent)
            if not exponent.is_Number
            else constant(float(exponent), self.dtype),
        )

    def _heaviside(self, expr: Any) -> Value:
        import graphc.primitives.compare as cmp

        # H(x) = 1 for x > 0, 0 for x < 0, and H(0) = its second argument (sympy's default 1/2).
        x = self._value(expr.args[0])
        at_zero = self._value(expr.args[1]) if len(expr.args) > 1 else 0.5
        return cmp.where(x > 0, 1.0, cmp.where(x == 0, at_zero, 0.0))

    def _piecewise(self, expr: Any) -> Value:
        import graphc.primitives.compare as cmp

        pieces = list(expr.args)
        value, condition = pieces[-1]
        if condition is not self.sp.true:
            raise SympyConversionError(
                f"from_sympy: Piecewise {expr} has no otherwise-branch (condition True)"
            )
        result = self._value(value)
        for value, condition in reversed(pieces[:-1]):
            result = cmp.where(self._value(condition), self._value(value), result)
        return result


def _fold(fn: Any, values: list[Value]) -> Value:
    result = values[0]
    for value in values[1:]:
        result = fn(result, value)
    return result
