"""Safe parsing of math expressions typed by users (`graphc diff "log(x1) + x1*x2"`).

The text is parsed with Python's `ast` in expression mode and then walked against a whitelist:
numbers, variable names, the arithmetic operators and calls of known math functions. Nothing
is ever evaluated as Python (no `eval`, no sympy `parse_expr`): attribute access, subscripts,
keyword arguments, lambdas, comprehensions and calls of unknown names are refused with a clear
message, and so are oversized or too deeply nested inputs.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from typing import Any

from graphc.core import Value, constant, placeholder
from graphc.dtypes import DTypeLike, as_dtype
from graphc.errors import GraphcError
from graphc.graph import Graph

MAX_LENGTH = 10_000
MAX_NODES = 5_000
MAX_DEPTH = 200


class ExpressionError(GraphcError, ValueError):
    """The expression text is not valid or uses something that is not allowed."""


def _functions() -> dict[str, tuple[Callable[..., Value], int]]:
    import graphc.nn as nn
    import graphc.primitives.elementwise as ew

    table = {
        "exp": (ew.exp, 1),
        "log": (ew.log, 1),
        "ln": (ew.log, 1),
        "log1p": (ew.log1p, 1),
        "expm1": (ew.expm1, 1),
        "sqrt": (ew.sqrt, 1),
        "sin": (ew.sin, 1),
        "cos": (ew.cos, 1),
        "tan": (ew.tan, 1),
        "tanh": (ew.tanh, 1),
        "sigmoid": (ew.sigmoid, 1),
        "erf": (ew.erf, 1),
        "abs": (ew.abs, 1),
        "sign": (ew.sign, 1),
        "relu": (ew.relu, 1),
        "max": (ew.maximum, 2),
        "min": (ew.minimum, 2),
        "pow": (ew.power, 2),
    }
    for name in ("softplus", "softsign", "elu", "selu", "gelu", "silu"):
        if hasattr(nn, name):
            table[name] = (getattr(nn, name), 1)
    return table


CONSTANTS = {"pi": math.pi, "e": math.e}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
    ast.Mod: lambda a, b: a % b,
    ast.FloorDiv: lambda a, b: a // b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}

#: How refused operators are written, to name them in the error.
_OPERATOR_TEXT: dict[type, str] = {
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~",
    ast.Not: "not",
    ast.And: "and",
    ast.Or: "or",
}
SUPPORTED_OPERATORS = "+ - * / // % ** and unary - +"


def expression_variables(text: str) -> list[str]:
    """The variable names an expression uses, in order of first appearance.

    >>> expression_variables("log(x1) + x1*x2 - sin(x2)")
    ['x1', 'x2']
    """
    tree = _parse(text)
    functions = set(_functions())
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    first_seen: dict[str, tuple[int, int]] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and id(node) not in called
            and node.id not in CONSTANTS
            and node.id not in functions
        ):
            position = (node.lineno, node.col_offset)
            first_seen[node.id] = min(first_seen.get(node.id, position), position)
    return sorted(first_seen, key=first_seen.__getitem__)


def parse_expression(
    text: str, variables: Sequence[str] | None = None, dtype: DTypeLike = "float64"
) -> Graph:
    """A graph for `text`, with one scalar input per variable (in the order given).

    Without `variables`, the inputs are the names the expression uses, in order of first
    appearance. Allowed: numbers, + - * / // % **, unary -, parentheses, the constants pi and e,
    and the functions exp, log (ln), log1p, expm1, sqrt, sin, cos, tan, tanh, sigmoid, erf, abs,
    sign, relu, softplus, ... (`ExpressionError` lists them), max(a, b), min(a, b), pow(a, b).

    >>> f = parse_expression("log(x1) + x1*x2 - sin(x2)")
    >>> round(float(f(2.0, 5.0)), 4)
    11.6521
    """
    tree = _parse(text)
    names = list(variables) if variables is not None else expression_variables(text)
    inputs = [placeholder((), dtype, name=n) for n in names]
    builder = _Builder(dict(zip(names, inputs)), as_dtype(dtype))
    return Graph(inputs, builder.build(tree.body), name=None)


def _parse(text: str) -> ast.Expression:
    if not isinstance(text, str):
        raise ExpressionError(f"expected the expression as text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; at most {MAX_LENGTH} are accepted"
        )
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if _parenthesis_depth(text) > MAX_DEPTH:
        raise ExpressionError(f"the expression nests more than {MAX_DEPTH} parentheses")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        pointer = f" (column {exc.offset})" if exc.offset else ""
        raise ExpressionError(f"syntax error in expression{pointer}: {exc.msg}") from None
    except (RecursionError, MemoryError):  # Python's parser gives up on deep nesting
        raise ExpressionError(
            f"the expression nests too deeply to parse; at most {MAX_DEPTH} levels are accepted"
        ) from None
    except ValueError as exc:
        raise ExpressionError(f"the expression cannot be parsed: {exc}") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise ExpressionError(
            f"the expression has {count} syntax nodes; at most {MAX_NODES} are accepted"
        )
    return tree


def _parenthesis_depth(text: str) -> int:
    """The deepest nesting of parentheses (checked before Python's parser sees the text).

    >>> _parenthesis_depth("sin(x) + (cos(x) * 2)")
    2
    """
    depth = deepest = 0
    for char in text:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


class _Builder:
    """Walks a whitelisted AST, building graph values.

    Depth counts real nesting: parentheses, function arguments, right operands. A flat chain
    such as `a + b - c + ...` is a left-deep tree in Python's AST, so its left spine is walked
    in a loop and a sum of 1,000 terms is as shallow as one of 2.
    """

    def __init__(self, variables: dict[str, Value], dtype: Any):
        self.variables = variables
        self.dtype = dtype
        self.functions = _functions()

    def build(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            return constant(_number(node.value, node.col_offset), self.dtype)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self._chain(node, depth)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](self.build(node.operand, depth + 1))
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise ExpressionError(self._refusal(node))

    def _chain(self, node: ast.BinOp, depth: int) -> Any:
        """A left-associative chain of binary operations, built from its leftmost operand."""
        spine: list[ast.BinOp] = []
        left: ast.AST = node
        while isinstance(left, ast.BinOp) and type(left.op) in _BINARY:
            spine.append(left)
            left = left.left
        value = self.build(left, depth + 1)
        for link in reversed(spine):
            value = _BINARY[type(link.op)](value, self.build(link.right, depth + 1))
        return value

    def _name(self, name: str) -> Value:
        if name in self.variables:
            return self.variables[name]
        if name in CONSTANTS:
            return constant(CONSTANTS[name], self.dtype)
        if name in self.functions:
            raise ExpressionError(f"{name} is a function; call it like {name}(x)")
        raise ExpressionError(
            f"unknown name {name!r}; variables are {sorted(self.variables)}, constants "
            f"{sorted(CONSTANTS)}"
        )

    def _call(self, node: ast.Call, depth: int) -> Value:
        if not isinstance(node.func, ast.Name):
            raise ExpressionError("only calls of plain function names are allowed, like sin(x)")
        name = node.func.id
        if name not in self.functions:
            raise ExpressionError(
                f"unknown function {name!r}; allowed functions: {', '.join(sorted(self.functions))}"
            )
        if node.keywords:
            raise ExpressionError(f"{name}() takes no keyword arguments")
        fn, arity = self.functions[name]
        if len(node.args) != arity or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"{name}() takes {arity} argument(s), got {len(node.args)}")
        return fn(*(self.build(a, depth + 1) for a in node.args))

    @staticmethod
    def _refusal(node: ast.AST) -> str:
        if isinstance(node, ast.Attribute):
            return "attribute access (a.b) is not allowed in expressions"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
            return "^ is not a power here; write x**2 for x squared"
        if isinstance(node, ast.Compare):
            return "comparisons are not allowed in expressions"
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.BoolOp)):
            op = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
            return f"the operator {op} is not supported; supported operators: {SUPPORTED_OPERATORS}"
        return f"{type(node).__name__} is not allowed in expressions"


def _number(value: Any, column: int = 0) -> float:
    """A literal as a finite float: numbers only, and they must fit in a float (Python turns
    1e400 into inf silently and refuses float(10**400) with OverflowError; both are refused).

    >>> _number(2)
    2.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"only numbers are allowed as literals, got {value!r}")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if math.isinf(result):
        size = (
            f" (about {int(abs(value).bit_length() * math.log10(2)) + 1} digits)"
            if isinstance(value, int)
            else ""
        )
        raise ExpressionError(
            f"the number at column {column + 1}{size} is too large for a float; numbers must "
            f"be below about 1.8e308"
        )
    return result
