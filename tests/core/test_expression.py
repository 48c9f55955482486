"""The safe expression parser behind `graphc diff`."""

from __future__ import annotations

import pytest

from graphc.expression import (
    MAX_LENGTH,
    ExpressionError,
    expression_variables,
    parse_expression,
)


def test_parses_the_textbook_function():
    graph = parse_expression("ln(x1) + x1*x2 - sin(x2)")
    assert graph.input_names == ["x1", "x2"]
    assert float(graph(2.0, 5.0)) == pytest.approx(11.652071455)


def test_variables_in_order_of_appearance_without_functions_or_constants():
    assert expression_variables("b * sin(a) + pi * e ** c + b") == ["b", "a", "c"]


def test_operators_constants_and_functions():
    graph = parse_expression("-x ** 2 / 4 + 7 // 2 + 7 % 3 + max(x, 1) + sqrt(pi) + pow(x, 3)")
    x = 2.0
    expected = -(x**2) / 4 + 7 // 2 + 7 % 3 + max(x, 1) + 3.141592653589793**0.5 + x**3
    assert float(graph(x)) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text, message",
    [
        ("x.__class__", "attribute access"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('f')", "unknown function 'open'"),
        ("sin(x, y)", r"sin\(\) takes 1 argument"),
        ("sin(x=1)", "no keyword arguments"),
        ("x ^ 2", "write x\\*\\*2"),
        ("x[0]", "Subscript is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("x < 1", "comparisons are not allowed"),
        ("x @ y", r"the operator @ is not supported; supported operators: \+ - \* /"),
        ("x << 1", "the operator << is not supported"),
        ("~x", "the operator ~ is not supported"),
        ("x and y", "the operator and is not supported"),
        ("x*1" + "0" * 400, r"number at column 3 \(about 401 digits\) is too large for a float"),
        ("1e400 * x", "number at column 1 is too large for a float"),
        ("'text'", "only numbers"),
        ("sin", "is a function"),
        ("x +", "syntax error"),
        ("", "empty"),
        ("(" * 300 + "x" + ")" * 300, "nests more than"),
        ("x + " * (MAX_LENGTH // 4 + 1) + "x", "characters long"),
    ],
)
def test_refuses_what_is_not_math(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


def test_a_long_flat_chain_is_not_deep_nesting():
    terms = [f"x*{i}" for i in range(400)]  # a left-deep tree of 400 levels in Python's AST
    graph = parse_expression(" + ".join(terms[:200]) + " - " + " - ".join(terms[200:]))
    assert float(graph(1.0)) == sum(range(200)) - sum(range(200, 400))
    with pytest.raises(ExpressionError, match="nests deeper than 200 levels"):
        parse_expression("-" * 201 + "x")  # real nesting is still bounded


def test_unknown_variable_when_variables_are_given():
    with pytest.raises(ExpressionError, match="unknown name 'z'"):
        parse_expression("x + z", ["x"])
