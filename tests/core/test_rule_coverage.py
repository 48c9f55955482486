"""Every primitive carries its rules: jvp and vjp (or an explicit nondifferentiable reason)
and a sympy form (or a listed reason why it has none)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.autodiff import JVP_RULES, NONDIFFERENTIABLE, VJP_RULES
from graphc.core import PRIMITIVES, Property
from graphc.symbolic import SYMPY_ARRAY_RULES, SYMPY_SCALAR_RULES

#: Primitives with no sympy form, and why.
NO_SYMPY = {
    "round": "sympy has no round-half-to-even function",
    "argmax": "an index, not an expression",
    "argmin": "an index, not an expression",
    "dim_size": "a runtime size",
    "random_uniform": "random numbers are not symbolic",
}

COMPUTING = sorted(
    (p for p in PRIMITIVES.values() if not p.has(Property.SOURCE)), key=lambda p: p.name
)


@pytest.mark.parametrize("prim", COMPUTING, ids=lambda p: p.name)
def test_every_primitive_has_both_derivative_rules(prim):
    assert prim in JVP_RULES and prim in VJP_RULES, f"{prim.name} lacks a jvp or vjp rule"
    if prim in NONDIFFERENTIABLE:
        assert NONDIFFERENTIABLE[prim], f"{prim.name} must say why it is not differentiable"


@pytest.mark.parametrize("prim", COMPUTING, ids=lambda p: p.name)
def test_every_primitive_has_a_sympy_form_or_a_reason(prim):
    has_rule = prim in SYMPY_SCALAR_RULES or prim in SYMPY_ARRAY_RULES
    assert has_rule or prim.name in NO_SYMPY, f"{prim.name} has no sympy rule and no reason"


def test_tensor_ops_translate_to_sympy_element_by_element():
    x = graphc.placeholder((2, 3), "float64", name="x")
    w = graphc.constant(np.arange(6.0).reshape(3, 2))
    out = graphc.concatenate([(x @ w).T, graphc.flip(x[:, ::2], axis=0).T], axis=1)
    out = graphc.pad(graphc.max(out, axis=0, keepdims=True) + graphc.sum(out), 1)
    graph = graphc.Graph([x], out)
    point = np.random.default_rng(1).standard_normal((2, 3))
    expr = graphc.to_sympy(graph)
    symbols = graphc.symbolic.input_symbols(graph)[0]
    subs = {symbols[i, j]: point[i, j] for i in range(2) for j in range(3)}
    values = np.array(expr.xreplace(subs).tolist(), dtype=float)
    np.testing.assert_allclose(values, graph(point), rtol=1e-12)
