"""`graphc.lambdify`: a graph as Python source, evaluated without LLVM.

`graphc.compile` pays for LLVM once (a few hundred milliseconds) to make every later call
fast. For a small scalar function, say the gradient of a 40-variable expression, that compile
is most of the work: a native call on 40 Python floats is dominated by converting them, not
by the arithmetic. `lambdify` writes the graph out as one Python function instead, the way
sympy's `lambdify` does, in a few milliseconds:

- float64 scalar arithmetic (`+ - * /`, `exp`, `log`, `sin`, ... of the table `MATH`) becomes
  Python float expressions and `math` calls: IEEE double precision, as numpy computes them;
- every other node calls its primitive's numpy implementation, as the interpreter does, so
  any graph can be lambdified (tensors, float32, integers, reductions, fused nodes);
- identical scalar expressions are computed once, and `x * 1.0` and `x / 1.0` are `x`; one
  used once is written into the expression that uses it.

Where `math` and numpy differ, numpy wins: `math` raises on what numpy turns into inf or nan
(`log(0.0)`, `1.0 / 0.0`, overflow), and a call that raises anywhere in the generated code
is evaluated again by the interpreter. So results are the interpreter's, to within the last
bit of each `math` function (glibc's libm against numpy's own loops).

>>> import graphc
>>> x1, x2 = graphc.scalars("x1 x2")
>>> f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))
>>> g = graphc.lambdify(graphc.grad(f))
>>> [round(float(v), 4) for v in g(2.0, 5.0)]
[5.5, 1.7163]
>>> print(graphc.lambdify(graphc.grad(f)).source)
def grad(x1, x2, _batch):
    return ((x2 + (1.0 / x1)), ((-1.0 * _cos(x2)) + x1),)
<BLANKLINE>
>>> float(g(0.0, 5.0)[0])  # 1 / x1 + x2: the interpreter's inf, not a ZeroDivisionError
inf
"""

from __future__ import annotations

import builtins
import functools
import keyword
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from graphc import dtypes
from graphc.arguments import check_arguments
from graphc.core import Primitive, constant_p, input_p
from graphc.graph import Graph
from graphc.primitives import elementwise as ew

#: float64 scalar operations written as Python expressions; `{0}`, `{1}` are the operands.
#: Each agrees with numpy's float64 result wherever it does not raise.
MATH: dict[Primitive, str] = {
    ew.add_p: "{0} + {1}",
    ew.sub_p: "{0} - {1}",
    ew.mul_p: "{0} * {1}",
    ew.div_p: "{0} / {1}",  # ZeroDivisionError where numpy gives inf or nan
    ew.neg_p: "-{0}",
    ew.abs_p: "abs({0})",
    ew.pow_p: "_pow({0}, {1})",  # math.pow (no complex results: ValueError instead)
    ew.exp_p: "_exp({0})",  # OverflowError where numpy gives inf
    ew.expm1_p: "_expm1({0})",
    ew.log_p: "_log({0})",  # ValueError at 0 and below
    ew.log1p_p: "_log1p({0})",
    ew.sqrt_p: "_sqrt({0})",
    ew.sin_p: "_sin({0})",  # ValueError at +-inf
    ew.cos_p: "_cos({0})",
    ew.tan_p: "_tan({0})",
    ew.tanh_p: "_tanh({0})",
    ew.erf_p: "_erf({0})",
}


def _pow(x: float, y: float) -> float:
    """math.pow, raising where C99 and numpy disagree (a base of -inf with a non-integer
    exponent: C says inf, numpy nan), so that the interpreter answers."""
    if x == -math.inf:
        raise ValueError("pow of -inf: numpy's answer")
    return math.pow(x, y)


_MATH_NAMES = {
    "_pow": _pow,
    "_exp": math.exp,
    "_expm1": math.expm1,
    "_log": math.log,
    "_log1p": math.log1p,
    "_sqrt": math.sqrt,
    "_sin": math.sin,
    "_cos": math.cos,
    "_tan": math.tan,
    "_tanh": math.tanh,
    "_erf": math.erf,
}

#: What the generated code raises where numpy returns inf or nan: the call is then evaluated
#: again by the interpreter.
_MATH_ERRORS = (ArithmeticError, ValueError)


@dataclass
class _Source:
    """The objects the generated function's names refer to."""

    namespace: dict[str, Any] = field(default_factory=dict)

    def bind(self, prefix: str, obj: Any) -> str:
        """A name in the namespace for `obj`."""
        name = f"_{prefix}{len(self.namespace)}"
        self.namespace[name] = obj
        return name


class _Value(NamedTuple):
    """How the code refers to a node's value, and whether it is a Python float there (and a
    literal float: a float's `repr`)."""

    text: str
    is_float: bool
    is_literal: bool = False


def _is_f64_scalar(graph: Graph, node: int) -> bool:
    t = graph.type(node)
    return t.shape == () and (t.dtype is dtypes.float64 or t.dtype == dtypes.float64)


def _input_names(graph: Graph) -> list[str]:
    """Parameter names: the inputs' own names where they are identifiers, else `in<k>`."""
    names, seen = [], set()
    for index, name in enumerate(graph.input_names):
        usable = (
            name is not None
            and name.isidentifier()
            and not keyword.iskeyword(name)
            and not name.startswith("_")
            and name not in seen
            and not (name[0] == "v" and name[1:].isdigit())
            and not hasattr(builtins, name)  # `abs` and `float` appear in the code
        )
        chosen = name if usable else f"in{index}"
        seen.add(chosen)
        names.append(chosen)
    return names


def _literal(graph: Graph, node: int, source: _Source) -> _Value:
    array = graph.attrs(node)["value"].array
    if _is_f64_scalar(graph, node) and math.isfinite(float(array)):
        return _Value(repr(float(array)), True, True)
    return _Value(source.bind("c", array), False)


def _impl_call(graph: Graph, node: int, texts: list[str], source: _Source) -> str:
    """`impl(operands, **attrs)` for any node, on operand texts already numpy values."""
    prim = graph.primitive(node)
    attrs = dict(graph.attrs(node))
    impl = functools.partial(prim.impl, **attrs) if attrs else prim.impl
    args = list(texts)
    if prim.needs_out_shape:
        args.append(f"out_shape={source.bind('shape', graph.type(node).concrete_shape)}(_batch)")
    return f"_asarray({source.bind('impl', impl)}({', '.join(args)}))"


@dataclass(slots=True)
class _Step:
    """One computed value: a `MATH` template over its operands, or (None) the numpy
    implementation of `node`."""

    var: str
    operands: list[_Value]
    template: str | None
    node: int
    uses: int = 0


#: A scalar expression used once is written into its user's expression, up to this depth of
#: nesting (Python's parser has a limit; long chains are cut into statements).
MAX_INLINE_DEPTH = 12


def _plan(graph: Graph, params: list[str], source: _Source) -> tuple[list[_Step], list[_Value]]:
    """The steps computing the graph, with common scalar subexpressions computed once, and
    the values of its outputs."""
    values: dict[int, _Value] = {
        node: _Value(param, _is_f64_scalar(graph, node))
        for node, param in zip(graph.inputs, params)
    }
    steps: list[_Step] = []
    known: dict[tuple[Any, ...], _Value] = {}
    data_of, operands_of = graph._data, graph.operands
    commutative, unit_right = (ew.add_p, ew.mul_p), (ew.mul_p, ew.div_p)
    for node in graph.order:
        if node in values:
            continue
        data = data_of(node)
        prim = data["primitive"]
        if prim is constant_p:
            values[node] = _literal(graph, node, source)
            continue
        if prim is input_p:
            raise ValueError(f"lambdify: node %{node} is an input not among the graph's inputs")
        operands = [values[o] for o in operands_of(node)]
        template = MATH.get(prim)
        t = data["type"]
        var = f"v{node}"
        if template is None or t.shape != () or t.dtype != dtypes.float64:
            values[node] = _Value(var, False)
            steps.append(_Step(var, operands, None, node))
            continue
        if all([v.is_literal for v in operands]):  # folded with numpy itself: its semantics
            with np.errstate(all="ignore"):
                folded = float(prim.impl(*(np.float64(v.text) for v in operands)))
            if math.isfinite(folded):
                values[node] = _Value(repr(folded), True, True)
                continue
        texts = [v.text for v in operands]
        # x + y and y + x are the same IEEE number, as are x * y and y * x
        key = (prim, *(sorted(texts) if prim in commutative else texts))
        value = known.get(key)
        if value is None:
            if prim in unit_right and texts[-1] == "1.0":
                value = operands[0]
            elif prim is ew.mul_p and texts[0] == "1.0":
                value = operands[1]
            else:
                value = _Value(var, True)
                steps.append(_Step(var, operands, template, node))
            known[key] = value
        values[node] = value
    return steps, [values[node] for node in graph.outputs]


def write_source(graph: Graph, name: str = "f") -> tuple[str, dict[str, Any]]:
    """The Python source of a function evaluating `graph`, and the namespace it runs in.

    The function takes the graph's inputs (float64 scalars as Python floats, everything else
    as checked numpy arrays) and the batch size, and returns a tuple of the outputs.
    """
    source = _Source(namespace={**_MATH_NAMES, "_f64": np.float64, "_asarray": np.asarray})
    params = _input_names(graph)
    steps, outputs = _plan(graph, params, source)
    by_var = {step.var: step for step in steps}
    for ref in [v for step in steps for v in step.operands] + outputs:
        if ref.text in by_var:
            by_var[ref.text].uses += 1
    inlined: dict[str, tuple[str, int]] = {}  # var -> (expression, nesting depth)
    lines = []
    for step in steps:
        texts, depth = [], 0
        is_float = step.template is not None
        for ref in step.operands:
            text, nested = inlined.pop(ref.text, (ref.text, 0))
            if nested > depth:
                depth = nested
            if is_float != ref.is_float:  # Python float <-> numpy value
                text = f"float({text})" if is_float else f"_f64({text})"
            texts.append(text)
        if is_float:
            expression = step.template.format(*texts)
        else:
            expression = _impl_call(graph, step.node, texts, source)
        if is_float and step.uses == 1 and depth < MAX_INLINE_DEPTH:
            atomic = expression.endswith(")") and expression.split("(", 1)[0].isidentifier()
            inlined[step.var] = (expression if atomic else f"({expression})", depth + 1)
        else:
            lines.append(f"    {step.var} = {expression}")
    results = [inlined.pop(ref.text, (ref.text, 0))[0] for ref in outputs]
    header = f"def {name}({', '.join([*params, '_batch'])}):"
    text = "\n".join([header, *lines, f"    return ({', '.join(results)},)"]) + "\n"
    return text, source.namespace


class Lambdified:
    """A graph evaluated by generated Python code; call it like the graph.

    Built by `graphc.lambdify`, never directly. Arguments are checked as the interpreter
    checks them (float64 scalar inputs may be Python floats, taken as they are); outputs are
    numpy values: float64 scalars as `np.float64`, everything else as arrays.

    Attributes:
        graph: the graph it evaluates.
        source: the generated function's Python source.
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        name = graph.name if graph.name and graph.name.isidentifier() else "f"
        self.source, namespace = write_source(graph, name)
        exec(compile(self.source, f"<graphc.lambdify {name}>", "exec"), namespace)
        self._function: Callable[..., tuple[Any, ...]] = namespace[name]
        self._calls_numpy = any(key.startswith("_impl") for key in namespace)
        self._float_inputs = [_is_f64_scalar(graph, n) for n in graph.inputs]
        self._all_float = all(self._float_inputs)
        self._float_outputs = [_is_f64_scalar(graph, n) for n in graph.outputs]

    def __call__(self, *args: Any) -> Any:
        quick = self._all_float and len(args) == len(self._float_inputs)
        if quick and all(type(a) is float for a in args):
            try:
                return self._outputs(self._run(args, None))
            except _MATH_ERRORS:
                pass  # the general way below ends with the interpreter
        arrays, batch = check_arguments(self.graph.input_types, self.graph.input_names, args)
        values = [float(a) if f else a for a, f in zip(arrays, self._float_inputs)]
        try:
            results = self._run(values, batch)
        except _MATH_ERRORS:
            results = self.graph.evaluate(arrays, batch)
        return self._outputs(results)

    def _run(self, values: Sequence[Any], batch: int | None) -> tuple[Any, ...]:
        if not self._calls_numpy:
            return self._function(*values, batch)
        with np.errstate(all="ignore"):  # IEEE results are the semantics, as in the interpreter
            return self._function(*values, batch)

    def _outputs(self, results: Sequence[Any]) -> Any:
        outputs = [
            np.float64(value) if is_float else value
            for value, is_float in zip(results, self._float_outputs)
        ]
        return outputs[0] if self.graph.single_output else outputs

    def __repr__(self) -> str:
        ins = ", ".join(str(t) for t in self.graph.input_types)
        outs = ", ".join(str(t) for t in self.graph.output_types)
        return f"<Lambdified ({ins}) -> ({outs}), {len(self.source.splitlines()) - 2} lines>"


def lambdify(graph: Graph) -> Lambdified:
    """Evaluate `graph` with generated Python code, without LLVM (see the module docstring).

    Use it where compiling costs more than it saves: small scalar functions evaluated a few
    thousand times, or a first look at a derivative (`.source` shows the code).

    >>> import graphc
    >>> x = graphc.scalars("x")
    >>> f = graphc.lambdify(graphc.Graph([x], graphc.exp(x) * x))
    >>> float(f(1.0))
    2.718281828459045
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"lambdify: expected a graphc.Graph, got {type(graph).__name__}")
    return Lambdified(graph)
