"""Fusion: groups, the fused primitive's contract, no cycles, no duplicated work."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.errors import GraphError
from graphc.passes import find_fusion_groups, fuse, fused_p, verify_graph
from graphc.passes.fusion import partition_is_acyclic, plan_rows

RNG = np.random.default_rng(0)


def ops(graph: graphc.Graph) -> list[str]:
    return [graph.primitive(n).name for n in graph.order if n not in graph.inputs]


def body_ops(graph: graphc.Graph, node: int) -> list[str]:
    return ops(graph.attrs(node)["body"])


def fused_nodes(graph: graphc.Graph) -> list[int]:
    return [n for n in graph.order if graph.primitive(n) is fused_p]


def fused_ops_of(op, shape, dtype) -> list[str]:
    """The body ops of `op`'s graph fused whole."""
    x = graphc.placeholder(shape, dtype)
    graph = fuse(graphc.Graph([x], op(x)))
    (node,) = fused_nodes(graph)
    return body_ops(graph, node)


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
    # exp(x) feeds both the reduction and the final div: merging exp with the div would make
    # the group depend on the reduction, which depends on the group. Over the batch axis (not
    # a row), the reduction cannot join the group either.
    x = graphc.placeholder((None, 4), "float64", name="x")
    e = graphc.exp(x)
    total = graphc.sum(e, axis=0, keepdims=True)
    g = graphc.Graph([x], graphc.sin(e / total))
    node = {g.primitive(n).name: n for n in g.order}
    naive = {node["exp"], node["div"], node["sin"]}
    assert not partition_is_acyclic(g, [naive])
    result = fuse(g)
    groups = find_fusion_groups(g)
    assert all(partition_is_acyclic(g, [set(gr.members) - gr.shared]) for gr in groups)
    members = [sorted(g.primitive(m).name for m in gr.members) for gr in groups]
    assert members == [["reduce_sum", "reshape"], ["div", "sin"]]
    assert [gr.kind for gr in groups] == ["reduce", "elementwise"]
    verify_graph(result)
    check_same(g, result, RNG.normal(size=(3, 4)))


def test_the_same_diamond_over_a_row_is_one_rows_node():
    # Over the last axis, the sum joins through its keepdims reshape, and so does exp: all its
    # users are then in the group. exp is computed once, in the sum's walk over the row.
    x = graphc.placeholder((None, 4), "float64", name="x")
    e = graphc.exp(x)
    g = graphc.Graph([x], graphc.sin(e / graphc.sum(e, axis=1, keepdims=True)))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert ops(result) == ["fused"] and result.attrs(node)["kind"] == "rows"
    body = result.attrs(node)["body"]
    assert body.primitive(plan_rows(body).carried).name == "exp"
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
    g = graphc.Graph([x], graphc.argmax(graphc.exp(x), axis=1))
    assert fuse(g) is g
    g = graphc.Graph([x], graphc.sum(x, axis=1))
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


# --- reductions: "reduce" and "rows" groups ------------------------------------------------------


def test_softmax_over_the_last_axis_is_one_rows_node():
    x = graphc.placeholder((None, 6), name="x")
    g = graphc.Graph([x], graphc.softmax(x, axis=-1))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert ops(result) == ["fused"]
    assert result.attrs(node)["kind"] == "rows"
    assert body_ops(result, node) == [
        "reduce_max",
        "reshape",
        "sub",
        "exp",
        "reduce_sum",
        "reshape",
        "div",
    ]
    body = result.attrs(node)["body"]
    plan = plan_rows(body)
    # walk 0: max; walk 1: sum of exp(x - max), keeping exp in the output row; walk 2: div
    assert [body.primitive(r).name for r in plan.reductions] == ["reduce_max", "reduce_sum"]
    assert body.primitive(plan.carried).name == "exp" and plan.carried_walk == 1
    assert "fused[kind=rows, nodes=7: reduce_max reshape sub exp" in result.dump()
    check_same(g, result, RNG.normal(size=(5, 6)).astype(np.float32))


def test_log_softmax_is_one_rows_node_keeping_the_shifted_input():
    x = graphc.placeholder((None, 6), "float64", name="x")
    g = graphc.Graph([x], graphc.log_softmax(x, axis=-1))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert ops(result) == ["fused"] and result.attrs(node)["kind"] == "rows"
    body = result.attrs(node)["body"]
    assert body.primitive(plan_rows(body).carried).name == "sub"  # x - max, read by the last walk
    check_same(g, result, RNG.normal(size=(4, 6)))


def test_softmax_over_several_trailing_axes_is_one_rows_node():
    x = graphc.placeholder((None, 3, 4), "float64", name="x")
    g = graphc.Graph([x], graphc.softmax(x, axis=(1, 2)))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert result.attrs(node)["kind"] == "rows"
    assert plan_rows(result.attrs(node)["body"]).axes == (1, 2)
    check_same(g, result, RNG.normal(size=(2, 3, 4)))


def test_layer_norm_is_one_rows_node():
    x = graphc.placeholder((None, 8), name="x")
    gamma = graphc.constant(np.linspace(0.5, 1.5, 8).astype(np.float32), name="gamma")
    mean = graphc.mean(x, axis=-1, keepdims=True)
    centered = x - mean
    var = graphc.mean(centered * centered, axis=-1, keepdims=True)
    g = graphc.Graph([x], centered / graphc.sqrt(var + 1e-5) * gamma)
    result = fuse(g)
    assert [result.attrs(n)["kind"] for n in fused_nodes(result)] == ["rows"]
    assert [op for op in ops(result) if op != "constant"] == ["fused"]
    check_same(g, result, RNG.normal(size=(3, 8)).astype(np.float32))


def test_a_mean_of_squares_is_reduced_without_storing_the_squares():
    # mean over every axis, the batch one too: the count reads the batch size with dim_size,
    # which no longer keeps the squares out of the reduction (it reads an input instead).
    y = graphc.placeholder((None, 5), name="y")
    t = graphc.placeholder((None, 5), name="t")
    d = y - t
    g = graphc.Graph([y, t], graphc.mean(d * d))
    result = fuse(g)
    kinds = {result.attrs(n)["kind"]: n for n in fused_nodes(result)}
    assert body_ops(result, kinds["reduce"]) == ["sub", "mul", "reduce_sum"]
    assert "mul" not in ops(result) and "sub" not in ops(result)
    (size,) = [n for n in result.order if result.primitive(n).name == "dim_size"]
    assert result.operands(size) == (result.inputs[0],)
    verify_graph(result)
    args = [RNG.normal(size=(4, 5)).astype(np.float32) for _ in range(2)]
    check_same(g, result, *args)
    assert np.isnan(result(np.zeros((0, 5), np.float32), np.zeros((0, 5), np.float32)))


def test_a_sum_of_exp_is_one_reduce_node():
    x = graphc.placeholder((None, 4), name="x")
    g = graphc.Graph([x], graphc.sum(graphc.exp(x), axis=1))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert ops(result) == ["fused"]
    assert result.attrs(node)["kind"] == "reduce"
    assert body_ops(result, node) == ["exp", "reduce_sum"]
    check_same(g, result, RNG.normal(size=(3, 4)).astype(np.float32))


@pytest.mark.parametrize("axis", [0, 1, 2, (0, 2), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_over_any_axes_take_their_elementwise_operand(axis, keepdims):
    x = graphc.placeholder((None, 3, 4), "float64", name="x")
    w = graphc.placeholder((4,), "float64", name="w")
    g = graphc.Graph([x, w], graphc.max(graphc.tanh(x * w), axis=axis, keepdims=keepdims))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert ops(result) == ["fused"] and result.attrs(node)["kind"] == "reduce"
    assert body_ops(result, node)[-1] == ("reshape" if keepdims else "reduce_max")
    check_same(g, result, RNG.normal(size=(2, 3, 4)), RNG.normal(size=4))


def test_an_elementwise_value_also_used_elsewhere_is_not_fused_into_a_reduction():
    x = graphc.placeholder((None, 4), name="x")
    e = graphc.exp(graphc.sin(x))
    g = graphc.Graph([x], [graphc.sum(e, axis=1), e * 2.0])
    result = fuse(g)
    all_ops = ops(result) + [op for n in fused_nodes(result) for op in body_ops(result, n)]
    assert all_ops.count("exp") == 1 and all_ops.count("sin") == 1
    assert "reduce_sum" in ops(result)  # alone: its operand is stored for the other user anyway
    assert [result.attrs(n)["kind"] for n in fused_nodes(result)] == ["elementwise"]
    check_same(g, result, RNG.normal(size=(3, 4)).astype(np.float32))


def test_softmax_over_the_batch_axis_is_not_a_rows_node():
    # A row must be the trailing axes; over axis 0 the reductions become reduce nodes (with
    # their keepdims reshapes) and exp, read by the sum and the div, is stored once.
    x = graphc.placeholder((None, 5), "float64", name="x")
    g = graphc.Graph([x], graphc.softmax(x, axis=0))
    result = fuse(g)
    kinds = [result.attrs(n)["kind"] for n in fused_nodes(result)]
    assert kinds == ["reduce", "elementwise", "reduce"]
    assert "reshape" not in ops(result)
    all_ops = ops(result) + [op for n in fused_nodes(result) for op in body_ops(result, n)]
    assert all_ops.count("exp") == 1
    check_same(g, result, RNG.normal(size=(4, 5)))


def test_a_value_two_walks_would_compute_is_left_out_of_the_rows_group():
    # exp(x) and sin(x) are each read by their own sum's walk and by the last walk: only one
    # value can be kept in the output row, and computing the other twice is not allowed. The
    # group is grown again without exp, which is stored by a kernel of its own.
    x = graphc.placeholder((None, 5), "float64", name="x")
    a, b = graphc.exp(x), graphc.sin(x)
    out = a / graphc.sum(a, axis=1, keepdims=True) + b / graphc.sum(b, axis=1, keepdims=True)
    g = graphc.Graph([x], out)
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert ops(result) == ["exp", "fused"] and result.attrs(node)["kind"] == "rows"
    body = result.attrs(node)["body"]
    assert body.primitive(plan_rows(body).carried).name == "sin"
    all_ops = ops(result) + body_ops(result, node)
    assert all_ops.count("exp") == 1 and all_ops.count("sin") == 1
    check_same(g, result, RNG.normal(size=(3, 5)))


def test_a_value_read_by_three_walks_is_computed_by_its_own_kernel():
    # x * 2 is read by the max's walk, the sum's walk (through x * 2 - max) and the last walk
    # (x * 2 - max again): keeping x * 2 - max still leaves x * 2 in two walks, so x * 2 is
    # computed once, outside, and the rest of log_softmax is one rows node.
    x = graphc.placeholder((None, 5), "float64", name="x")
    g = graphc.Graph([x], graphc.log_softmax(x * 2.0))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert ops(result) == ["constant", "mul", "fused"]
    assert body_ops(result, node) == fused_ops_of(graphc.log_softmax, (None, 5), "float64")
    check_same(g, result, RNG.normal(size=(3, 5)))


def test_layer_norm_of_a_residual_sum_stores_the_sum_once():
    x = graphc.placeholder((None, 8), name="x")
    y = graphc.placeholder((None, 8), name="y")
    s = x + y
    centered = s - graphc.mean(s, axis=-1, keepdims=True)
    var = graphc.mean(centered * centered, axis=-1, keepdims=True)
    g = graphc.Graph([x, y], centered / graphc.sqrt(var + 1e-5))
    result = fuse(g)
    (node,) = fused_nodes(result)
    assert [op for op in ops(result) if op != "constant"] == ["add", "fused"]
    assert result.attrs(node)["kind"] == "rows"
    args = [RNG.normal(size=(3, 8)).astype(np.float32) for _ in range(2)]
    check_same(g, result, *args)


def test_a_rows_group_keeps_its_value_in_the_output_only_with_the_same_dtype():
    # The f32 exp cannot be kept in the f64 output row: it ends a rows group of its own.
    x = graphc.placeholder((None, 5), name="x")
    g = graphc.Graph([x], graphc.cast(graphc.softmax(x), "float64"))
    result = fuse(g)
    nodes = fused_nodes(result)
    assert [result.attrs(n)["kind"] for n in nodes] == ["rows", "rows"]
    assert body_ops(result, nodes[0]) == ["reduce_max", "reshape", "sub", "exp"]
    assert body_ops(result, nodes[1]) == ["reduce_sum", "reshape", "div", "cast"]
    check_same(g, result, RNG.normal(size=(3, 5)).astype(np.float32))


def test_reduce_and_rows_bodies_are_checked():
    x = graphc.placeholder((None, 3), name="x")
    inner = graphc.placeholder((None, 3))
    with pytest.raises(GraphError, match="a reduce body must end with"):
        fused_p.bind(x, body=graphc.Graph([inner], graphc.exp(inner)), kind="reduce")
    over_batch = graphc.Graph([inner], graphc.softmax(inner, axis=0))
    with pytest.raises(GraphError, match=r"trailing axes \(1,\)"):
        fused_p.bind(x, body=over_batch, kind="rows")
    a, b = graphc.exp(inner), graphc.sin(inner)
    two = a / graphc.sum(a, axis=1, keepdims=True) + b / graphc.sum(b, axis=1, keepdims=True)
    with pytest.raises(GraphError, match="would compute exp, sin in two walks"):
        fused_p.bind(x, body=graphc.Graph([inner], two), kind="rows")
    with pytest.raises(GraphError, match="must hold a reduction"):
        fused_p.bind(x, body=graphc.Graph([inner], graphc.exp(inner)), kind="rows")


def test_derivatives_and_sympy_flow_through_reduce_and_rows_nodes():
    x = graphc.placeholder((3,), "float64", name="x")
    w = graphc.placeholder((3,), "float64", name="w")
    g = graphc.Graph([x, w], graphc.sum(graphc.softmax(x) * w) + graphc.sum(graphc.exp(x)))
    fused = fuse(g)
    assert {fused.attrs(n)["kind"] for n in fused_nodes(fused)} == {"reduce", "rows"}
    args = (np.array([0.1, -0.4, 0.7]), np.array([1.0, 2.0, -0.5]))
    for got, want in zip(graphc.grad(fused)(*args), graphc.grad(g)(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    small = graphc.Graph([x], graphc.sum(graphc.exp(x)))
    assert graphc.to_sympy(fuse(small)) == graphc.to_sympy(small)


def test_reductions_in_long_graphs_keep_groups_bounded_and_acyclic():
    x = graphc.placeholder((None, 6), name="x")
    y = x
    for _ in range(5):
        y = graphc.tanh(graphc.softmax(y) * 3.0 + graphc.mean(y, axis=0, keepdims=True))
    graph = graphc.Graph([x], y)
    groups = find_fusion_groups(graph)
    assert partition_is_acyclic(graph, [set(g.members) - g.shared for g in groups])
    assert {g.kind for g in groups} >= {"rows", "reduce"}
    fused = fuse(graph)
    verify_graph(fused)
    args = RNG.normal(size=(4, 6)).astype(np.float32)
    np.testing.assert_allclose(fused(args), graph(args), rtol=1e-6)
