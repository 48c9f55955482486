"""`Graph` (graphc/graph.py): construction errors, call-argument checks, the output convention
and deterministic numbering."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphc
from graphc.core import input_p


@pytest.fixture
def pair() -> graphc.Graph:
    """f(a: f32[None,2], b: i32[None]) = a.sum(axis=1) + b."""
    a = graphc.placeholder((None, 2), name="a")
    b = graphc.placeholder((None,), "int32", name="b")
    return graphc.Graph([a, b], a.sum(axis=1) + b)


def call_error(graph: graphc.Graph, *args) -> str:
    with pytest.raises(graphc.InputError) as info:
        graph(*args)
    assert isinstance(info.value, ValueError) and isinstance(info.value, graphc.GraphcError)
    return str(info.value)


# --- calling: argument checks ------------------------------------------------------------------


def test_a_good_call(pair):
    got = pair(np.ones((3, 2), "float32"), np.arange(3, dtype="int32"))
    np.testing.assert_array_equal(got, [2.0, 3.0, 4.0])
    assert got.dtype == np.float64  # f32 + i32 promotes to f64


@pytest.mark.parametrize("count", [0, 1, 3])
def test_wrong_argument_count(pair, count):
    args = [np.zeros((1, 2), "float32"), np.zeros(1, "int32"), np.zeros(1)][:count]
    assert call_error(pair, *args) == (
        f"graph takes 2 argument(s) (a: f32[None,2], b: i32[None]), got {count}"
    )


def test_wrong_rank(pair):
    assert call_error(pair, np.zeros(2, "float32"), np.zeros(2, "int32")) == (
        "input 0 ('a'): expected shape [None,2] (2-d), got (2,) (1-d)"
    )


def test_wrong_static_size(pair):
    assert call_error(pair, np.zeros((2, 3), "float32"), np.zeros(2, "int32")) == (
        "input 0 ('a'): expected shape [None,2], got (2, 3) (axis 1 should be 2)"
    )


@pytest.mark.parametrize(
    ("arg", "got"), [(np.zeros(2), "float64"), (np.zeros(2, "float32"), "float32")]
)
def test_unsafe_dtype_is_refused(pair, arg, got):
    assert call_error(pair, np.zeros((2, 2), "float32"), arg) == (
        f"input 1 ('b'): expected dtype int32, got {got}, which does not convert safely; "
        f"cast it first (e.g. x.astype('int32'))"
    )


def test_numbers_do_not_become_bools():
    flags = graphc.placeholder((2,), "bool", name="flags")
    g = graphc.Graph([flags], graphc.logical_not(flags))
    message = call_error(g, np.array([0, 1]))
    assert message.startswith("input 0 ('flags'): expected dtype bool, got int64")


def test_non_numeric_arguments(pair):
    assert call_error(pair, np.array([["x", "y"]]), np.zeros(1, "int32")) == (
        "input 0 ('a'): expected numbers of dtype float32, got an array of dtype <U1"
    )
    message = call_error(pair, graphc.placeholder((None, 2)), np.zeros(1, "int32"))
    assert (
        message
        == "input 0 ('a'): expected an array, got a symbolic Value; graphs are called with numbers"
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.zeros((2, 2)), np.zeros(2, "int32")),  # float64 -> float32 ("same_kind")
        ([[1, 2], [3, 4]], [1, 2]),  # ints -> float32, Python lists
        (np.zeros((2, 2), bool), np.zeros(2, bool)),  # bool -> anything
        (np.zeros((2, 2), "float32"), np.zeros(2, "int64")),  # int64 -> int32
    ],
)
def test_safe_conversions_are_applied(pair, a, b):
    assert pair(a, b).shape == (2,)


def test_inconsistent_batch_sizes(pair):
    assert call_error(pair, np.zeros((2, 2), "float32"), np.zeros(3, "int32")) == (
        "input 1 ('b'): batch dimension (axis 0) is 3, but input 0 ('a') axis 0 gave batch "
        "size 2; all batch dimensions of a call must agree"
    )


def test_unnamed_inputs_are_named_by_position():
    x = graphc.placeholder((3,))
    message = call_error(graphc.Graph([x], -x), np.zeros(4, "float32"))
    assert message.startswith("input 0: expected shape [3]")


def test_any_batch_size_including_zero(pair):
    for n in (0, 1, 7):
        assert pair(np.zeros((n, 2), "float32"), np.zeros(n, "int32")).shape == (n,)


# --- construction errors -----------------------------------------------------------------------


def graph_error(build) -> str:
    with pytest.raises(graphc.GraphError) as info:
        build()
    assert isinstance(info.value, ValueError) and isinstance(info.value, graphc.GraphcError)
    return str(info.value)


def test_output_depends_on_an_unlisted_input():
    x = graphc.placeholder((3,), name="x")
    y = graphc.placeholder((3,), name="y")
    assert graph_error(lambda: graphc.Graph([x], x + y)) == (
        "Graph: an output depends on the input 'y' (f32[3]), which is not among the graph's inputs"
    )
    unnamed = graphc.placeholder((None,), "int32")
    assert "the input '(unnamed)' (i32[None])" in graph_error(
        lambda: graphc.Graph([x], [x, unnamed * 2])
    )


def test_a_listed_input_must_be_a_placeholder():
    x = graphc.placeholder((3,), name="x")
    assert graph_error(lambda: graphc.Graph([x, x + 1], x)) == (
        "Graph: inputs[1] is the output of add, not an input; make inputs with graphc.placeholder "
        "or graphc.scalars"
    )
    assert graph_error(lambda: graphc.Graph([np.zeros(3)], x)).startswith(
        "Graph: inputs[0] is a ndarray, not an input"
    )
    assert "inputs[0] is the output of constant" in graph_error(
        lambda: graphc.Graph([graphc.constant(1.0)], x)
    )


def test_an_input_listed_twice():
    x = graphc.placeholder((3,), name="x")
    assert graph_error(lambda: graphc.Graph([x, x], -x)) == "Graph: input 1 ('x') is listed twice"
    y = graphc.placeholder((3,))
    assert graph_error(lambda: graphc.Graph([x, y, y], -x)) == "Graph: input 2 is listed twice"


def test_outputs_must_be_values():
    x = graphc.placeholder((3,), name="x")
    assert graph_error(lambda: graphc.Graph([x], [])) == "Graph: expected at least one output"
    assert graph_error(lambda: graphc.Graph([x], [x, 1.0])) == (
        "Graph: outputs[1] is a float, not a Value; wrap constants with graphc.constant"
    )


def test_a_batch_dimension_needs_a_batched_input():
    x = graphc.placeholder((3,), name="x")
    message = graph_error(lambda: graphc.Graph([x], graphc.broadcast_to(x, (None, 3))))
    assert message.startswith("Graph: some value has a batch dimension (None) but no input has one")


def test_unused_inputs_are_allowed():
    x, y = graphc.scalars("x y")
    g = graphc.Graph([x, y], x * 2.0)
    assert float(g(1.5, 100.0)) == 3.0
    assert len(g.inputs) == 2


# --- scalars, inputs, the output convention ----------------------------------------------------


def test_scalars_one_name_gives_one_value():
    x = graphc.scalars("x")
    assert isinstance(x, graphc.Value)
    assert x.primitive is input_p and x.name == "x" and str(x.type) == "f64[]"


@pytest.mark.parametrize("names", ["a b", "a, b", "a,b", ["a", "b"]])
def test_scalars_several_names_give_a_tuple(names):
    values = graphc.scalars(names)
    assert isinstance(values, tuple) and [v.name for v in values] == ["a", "b"]
    assert all(isinstance(v, graphc.Value) and str(v.type) == "f64[]" for v in values)


def test_scalars_take_a_dtype_and_need_a_name():
    assert graphc.scalars("n", dtype="int32").dtype == np.int32
    with pytest.raises(graphc.GraphError, match="at least one name"):
        graphc.scalars(" ")


def test_one_output_value_returns_one_array():
    x = graphc.placeholder((None, 2), name="x")
    g = graphc.Graph([x], x * 2.0)
    result = g(np.ones((3, 2)))
    assert isinstance(result, np.ndarray) and result.shape == (3, 2)
    assert g.single_output and len(g.outputs) == 1


@pytest.mark.parametrize("outputs", [1, 2])
def test_a_list_of_outputs_returns_a_list(outputs):
    x = graphc.placeholder((None, 2), name="x")
    g = graphc.Graph([x], [x * 2.0, x.sum(axis=1)][:outputs])
    result = g(np.ones((3, 2)))
    assert isinstance(result, list) and len(result) == outputs
    assert not g.single_output
    np.testing.assert_array_equal(result[0], np.full((3, 2), 2.0, "float32"))


def test_a_single_input_value_is_accepted_in_place_of_a_list():
    x = graphc.placeholder((2,), name="x")
    g = graphc.Graph(x, -x)
    assert len(g.inputs) == 1 and g(np.ones(2)).tolist() == [-1.0, -1.0]


def test_an_input_can_be_an_output_and_outputs_can_repeat():
    x = graphc.placeholder((2,), name="x")
    a, b, c = graphc.Graph([x], [x, -x, x])(np.array([1.0, 2.0]))
    assert a.tolist() == c.tolist() == [1.0, 2.0] and b.tolist() == [-1.0, -2.0]


# --- deterministic numbering -------------------------------------------------------------------


def build_mlp(*, siblings_reversed: bool = False) -> graphc.Graph:
    rng = np.random.default_rng(0)
    x = graphc.placeholder((None, 4), name="x")
    w = graphc.placeholder((4, 3), name="w")
    h = graphc.tanh(x @ w + rng.standard_normal(3).astype("float32"))
    if siblings_reversed:  # the same values, created in another order
        right = graphc.exp(h)
        left = graphc.sin(h)
    else:
        left = graphc.sin(h)
        right = graphc.exp(h)
    out = graphc.softmax(left * right, axis=-1)
    return graphc.Graph([x, w], [out, h.sum()], name="mlp")


def nodes(graph: graphc.Graph) -> list:
    return [
        (n, d["primitive"].name, sorted(d["attrs"]), str(d["type"]), d["name"])
        for n, d in sorted(graph.nx.nodes(data=True))
    ]


def test_building_twice_gives_identical_graphs():
    first, second = build_mlp(), build_mlp()
    assert nodes(first) == nodes(second)
    assert sorted(first.nx.edges(keys=True)) == sorted(second.nx.edges(keys=True))
    assert first.order == second.order
    assert (first.inputs, first.outputs) == (second.inputs, second.outputs)
    assert first.dump() == second.dump()
    assert first.to_dot() == second.to_dot()


def test_numbering_does_not_depend_on_creation_order():
    assert build_mlp().dump() == build_mlp(siblings_reversed=True).dump()
    assert nodes(build_mlp()) == nodes(build_mlp(siblings_reversed=True))


def test_inputs_come_first_then_operands_before_users():
    g = build_mlp()
    assert g.inputs == (0, 1)
    position = {node: i for i, node in enumerate(g.order)}
    assert g.order[:2] == [0, 1]
    for src, dst in g.nx.edges():
        assert src < dst and position[src] < position[dst]


def test_repeated_operands_are_separate_edges():
    x = graphc.placeholder((3,), name="x")
    g = graphc.Graph([x], x * x)
    (mul,) = g.outputs
    assert sorted(g.nx.in_edges(mul, keys=True)) == [(0, mul, 0), (0, mul, 1)]
    assert g.operands(mul) == (0, 0)


def test_dump_numbers_nodes_in_order():
    dump = build_mlp().dump()
    numbers = [int(m) for m in re.findall(r"^\s+%(\d+) = ", dump, flags=re.M)]
    assert numbers == list(range(2, 2 + len(numbers)))
    assert dump.startswith("graph mlp(%0 x: f32[None,4], %1 w: f32[4,3]) {")
