"""The rewrite engine: registration, fixed points, type and name keeping, user counts."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.errors import GraphError
from graphc.passes import apply_rewrites, rewrite
from graphc.passes.rewrite import REWRITES, select_rewrites, unregister
from graphc.primitives.elementwise import exp_p, log_p, mul_p, neg_p, pow_p, sin_p


@pytest.fixture
def temporary():
    """Register rewrites for one test and remove them afterwards."""
    names: list[str] = []

    def register(tracks, name, **kwargs):
        names.append(name)
        return rewrite(tracks=tracks, name=name, phase="canonicalize", **kwargs)

    yield register
    for name in names:
        unregister(name)


def only(name: str):
    return [r for r in REWRITES if r.name == name]


def test_rewrites_cascade_to_a_fixed_point():
    x = graphc.placeholder((3,), name="x")
    y = x
    for _ in range(4):
        y = graphc.negative(y)
    g = graphc.Graph([x], y)
    assert len(apply_rewrites(g, only("neg_of_neg"))) == 1


def test_no_match_returns_the_very_same_graph():
    x = graphc.placeholder((3,), name="x")
    g = graphc.Graph([x], graphc.exp(-x))
    assert apply_rewrites(g, select_rewrites(["canonicalize"])) is g


def test_a_rewrite_changing_the_type_is_refused(temporary):
    @temporary([exp_p], "test_bad_type")
    def bad(node):  # exp(x) -> x in float64 (wrong dtype)
        return graphc.cast(node.operands[0].value, "float64")

    x = graphc.placeholder((3,), name="x")
    with pytest.raises(GraphError, match="changed the type of a exp node from f32"):
        apply_rewrites(graphc.Graph([x], graphc.exp(x)), only("test_bad_type"))


def test_rewrites_undoing_each_other_are_reported(temporary):
    @temporary([sin_p], "test_sin_to_neg_neg")
    def sin_to_neg(node):  # sin(x) -> --sin(x), forever
        return neg_p.bind(neg_p.bind(sin_p.bind(node.operands[0].value)))

    x = graphc.placeholder((3,), name="x")
    rules = only("test_sin_to_neg_neg") + only("neg_of_neg")
    with pytest.raises(GraphError, match="without settling|fixed point"):
        apply_rewrites(graphc.Graph([x], graphc.sin(x)), rules)


def test_a_new_replacement_takes_over_the_node_name():
    x = graphc.placeholder((3,), name="x")
    squared = pow_p.bind(x, graphc.constant(np.float32(2)), name="squared")
    result = apply_rewrites(graphc.Graph([x], squared), only("pow_small_integer"))
    assert result.primitive(result.outputs[0]) is mul_p
    assert result.node_name(result.outputs[0]) == "squared"


def test_single_user_counts_operand_slots_and_outputs(temporary):
    seen = {}

    @temporary([log_p], "test_record_users")
    def record(node):  # observe only
        seen[node.operands[0].name] = node.operands[0].single_user
        return None

    x = graphc.placeholder((3,), name="x")
    once = exp_p.bind(x, name="once")
    twice = exp_p.bind(x, name="twice")
    output = exp_p.bind(x, name="output")
    g = graphc.Graph([x], [graphc.log(once), graphc.log(twice) + twice, graphc.log(output), output])
    apply_rewrites(g, only("test_record_users"))
    assert seen == {"once": True, "twice": False, "output": False}


def test_unknown_phase_and_duplicate_names_are_refused():
    with pytest.raises(GraphError, match="unknown phase"):
        rewrite(phase="sometimes")
    with pytest.raises(GraphError, match="already registered"):
        rewrite(name="neg_of_neg")(lambda node: None)


def test_fast_math_rewrites_are_selected_only_on_request():
    exact = {r.name for r in select_rewrites(["canonicalize"])}
    fast = {r.name for r in select_rewrites(["canonicalize"], fast_math=True)}
    assert "exp_of_log" not in exact and "exp_of_log" in fast
    assert exact < fast
