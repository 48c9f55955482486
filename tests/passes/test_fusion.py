"""Fusion: groups, the fused primitive's contract, no cycles, no duplicated work."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.errors import GraphError
from graphc.passes import find_fusion_groups, fuse, fused_p, verify_graph
from graphc.passes.fusion import partition_is_acyclic

RNG = np.random.default_rng(0)


def ops(graph: graphc.Graph) -> list[str]:
    return [graph.primitive(n).name for n in graph.order if n not in graph.inputs]


def body_ops(graph: graphc.Graph, node: int) -> list[str]:
    return ops(graph.attrs(node)["body"])


def fused_nodes(graph: graphc.Graph) -> list[int]:
    return [n for n in graph.order if graph.primitive(n) is fused_p]


def check_same(a: graphc.Graph, b: graphc.Graph, *args) -> None:
    verify_graph(b)
    ra, rb = a(*args), b(*args)
    for x, y in zip(ra if isinstance(ra, list) else [ra], rb if isinstance(rb, list) else [rb]):
        np.testing.assert_array_equal(x, y)


def test_an_elementwise_chain_becomes_one_node():
    x = graphc.placeholder((None, 4), name="x")
    g = graphc.Graph([x], graphc.tanh(graphc.exp(x) * 2.0 + 1.0))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert ops(result) == ["fused"]
    assert result.attrs(node)["kind"] == "elementwise"
    assert body_ops(result, node) == ["exp", "constant", "mul", "constant", "add", "tanh"]
    check_same(g, result, RNG.normal(size=(3, 4)).astype(np.float32))


def test_bias_and_activation_join_a_matmul_as_its_epilogue():
    x = graphc.placeholder((None, 5), name="x")
    w = graphc.placeholder((5, 3), name="w")
    b = graphc.placeholder((3,), name="b")
    g = graphc.Graph([x, w, b], graphc.relu(x @ w + b))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert result.attrs(node)["kind"] == "epilogue"
    body = result.attrs(node)["body"]
    first = [n for n in body.order if n not in body.inputs][0]
    assert body.primitive(first).name == "matmul"
    assert set(body.operands(first)) <= set(body.inputs)
    args = [RNG.normal(size=s).astype(np.float32) for s in [(4, 5), (5, 3), (3,)]]
    check_same(g, result, *args)


def test_conv_epilogue():
    x = graphc.placeholder((None, 6, 6, 2), name="x")
    k = graphc.placeholder((3, 3, 2, 4), name="k")
    g = graphc.Graph([x, k], graphc.tanh(graphc.conv2d(x, k) * 0.5))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert result.attrs(node)["kind"] == "epilogue"
    assert body_ops(result, node)[0] == "conv"
    args = [RNG.normal(size=s).astype(np.float32) for s in [(2, 6, 6, 2), (3, 3, 2, 4)]]
    np.testing.assert_allclose(result(*args), g(*args), rtol=1e-6)


def test_a_matmul_with_other_users_is_not_pulled_into_an_epilogue():
    x = graphc.placeholder((None, 5), name="x")
    w = graphc.placeholder((5, 3), name="w")
    h = x @ w
    g = graphc.Graph([x, w], [graphc.relu(h + 1.0), h])
    result = fuse(g)
    assert ops(result).count("matmul") == 1
    (node,) = fused_nodes(result)
    assert result.attrs(node)["kind"] == "elementwise"


def test_a_diamond_through_a_reduction_never_fuses_into_a_cycle():
    # exp(x) feeds both the reduction and the final add: merging exp with the add would make
    # the group depend on the reduction, which depends on the group.
    x = graphc.placeholder((None, 4), "float64", name="x")
    e = graphc.exp(x)
    total = graphc.sum(e, axis=1, keepdims=True)
    g = graphc.Graph([x], graphc.sin(e / total))
    node = {g.primitive(n).name: n for n in g.order}
    naive = {node["exp"], node["div"], node["sin"]}
    assert not partition_is_acyclic(g, [naive])
    result = fuse(g)
    groups = find_fusion_groups(g)
    assert all(partition_is_acyclic(g, [set(gr.members) - gr.shared]) for gr in groups)
    assert [sorted(g.primitive(m).name for m in gr.members) for gr in groups] == [["div", "sin"]]
    verify_graph(result)
    check_same(g, result, RNG.normal(size=(3, 4)))


def test_work_with_several_users_is_not_duplicated():
    x = graphc.placeholder((None, 4), "float64", name="x")
    shared = graphc.exp(graphc.sin(x))
    g = graphc.Graph([x], [graphc.tanh(shared) + 1.0, graphc.cos(shared) * 2.0])
    result = fuse(g)
    all_ops = ops(result) + [op for n in fused_nodes(result) for op in body_ops(result, n)]
    assert all_ops.count("exp") == 1 and all_ops.count("sin") == 1
    assert len(fused_nodes(result)) == 3
    check_same(g, result, RNG.normal(size=(2, 4)))


def test_broadcasts_are_copied_into_groups_instead_of_materialized():
    x = graphc.placeholder((None, 4), "float64", name="x")
    bias = graphc.broadcast_to(graphc.constant(np.arange(4.0)), (None, 4))
    g = graphc.Graph([x], [graphc.exp(x + bias), graphc.sin(x * bias)])
    result = fuse(g)
    assert "broadcast_to" not in ops(result)
    assert all("broadcast_to" in body_ops(result, n) for n in fused_nodes(result))
    check_same(g, result, RNG.normal(size=(2, 4)))


def test_a_broadcast_widening_the_output_stays_outside():
    x = graphc.placeholder((4,), "float64", name="x")
    wide = graphc.broadcast_to(x, (3, 4))
    g = graphc.Graph([x], graphc.exp(graphc.sin(wide)))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert ops(result) == ["broadcast_to", "fused"]
    assert body_ops(result, node) == ["sin", "exp"]
    check_same(g, result, np.arange(4.0))


def test_single_ops_and_graphs_without_elementwise_chains_are_left_alone():
    x = graphc.placeholder((None, 4), name="x")
    g = graphc.Graph([x], graphc.sum(graphc.exp(x), axis=1))
    assert fuse(g) is g


def test_fusing_twice_changes_nothing_more():
    x = graphc.placeholder((None, 4), name="x")
    once = fuse(graphc.Graph([x], graphc.exp(x) * 2.0))
    assert fuse(once) is once


def test_fused_nodes_print_their_kind_and_ops():
    x = graphc.placeholder((None, 4), name="x")
    text = fuse(graphc.Graph([x], graphc.exp(x) * 2.0)).dump()
    assert "fused[kind=elementwise, nodes=3: exp mul] %0 : f32[None,4]" in text


def test_the_contract_is_checked_when_a_fused_node_is_built():
    x = graphc.placeholder((3,), name="x")
    body_input = graphc.placeholder((3,))
    body = graphc.Graph([body_input], graphc.sum(body_input))
    with pytest.raises(GraphError, match="cannot hold reduce_sum"):
        fused_p.bind(x, body=body, kind="elementwise")
    with pytest.raises(GraphError, match="must start with a matmul or conv"):
        fused_p.bind(x, body=graphc.Graph([body_input], graphc.exp(body_input)), kind="epilogue")
    with pytest.raises(GraphError, match="the operands are"):
        fused_p.bind(graphc.placeholder((4,)), body=body, kind="elementwise")
    with pytest.raises(GraphError, match=r"shape \[3\] of its loop nest, got \[2,3\]"):
        wide = graphc.Graph([body_input], graphc.broadcast_to(body_input, (2, 3)))
        fused_p.bind(x, body=wide, kind="elementwise")
    with pytest.raises(GraphError, match="kind must be one of"):
        fused_p.bind(x, body=graphc.Graph([body_input], -body_input), kind="loop")


def test_fused_graphs_convert_to_sympy_like_the_original():
    x = graphc.placeholder((2,), "float64", name="x")
    y = graphc.placeholder((), "float64", name="y")
    g = graphc.Graph([x, y], [graphc.exp(x * y) + 1.0, graphc.sin(y) * y])
    fused = fuse(g)
    assert len(fused_nodes(fused)) == 2
    assert graphc.to_sympy(fused) == graphc.to_sympy(g)


def test_derivatives_flow_through_fused_nodes():
    x, y = graphc.scalars("x y")
    g = graphc.Graph([x, y], graphc.tanh(graphc.exp(x) * y + 0.5))
    fused = fuse(g)
    assert len(fused_nodes(fused)) == 1
    np.testing.assert_allclose(graphc.grad(fused)(0.3, -1.2), graphc.grad(g)(0.3, -1.2))
    np.testing.assert_allclose(
        graphc.jvp(fused)(0.3, -1.2, 1.0, 2.0), graphc.jvp(g)(0.3, -1.2, 1.0, 2.0)
    )


def test_long_chains_are_cut_into_groups_of_bounded_size() -> None:
    """One fused node is one LLVM function; huge ones make LLVM's optimizer slow."""
    from graphc.passes.fusion import MAX_GROUP_SIZE

    x = graphc.placeholder((None, 4), name="x")
    y = x
    steps = MAX_GROUP_SIZE + 10
    for _ in range(steps):
        y = graphc.tanh(y) * 0.5  # two computing nodes a step
    graph = graphc.Graph([x], y)
    groups = find_fusion_groups(graph)
    sizes = [sum(graph.primitive(m).name != "constant" for m in g.members) for g in groups]
    assert len(groups) == -(-2 * steps // MAX_GROUP_SIZE) and max(sizes) <= MAX_GROUP_SIZE
    fused = fuse(graph)
    verify_graph(fused)
    args = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(fused(args), graph(args), rtol=1e-6)
