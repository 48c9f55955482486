"""The pass manager and `optimize`: levels, pipelines, verification, dumps and reports."""

from __future__ import annotations

import io

import numpy as np
import pytest

import graphc
from graphc.errors import GraphError
from graphc.passes import PASSES, PassManager, fixed_point, optimize, pipeline_for


def example() -> graphc.Graph:
    x = graphc.placeholder((None, 4), "float64", name="x")
    y = graphc.placeholder((4,), "float64", name="y")
    a = graphc.exp(x * 1.0) + graphc.constant(2.0) * 3.0
    b = graphc.exp(x) + 6.0
    return graphc.Graph([x, y], graphc.tanh(a * b - y), name="example")


def ops(graph: graphc.Graph) -> list[str]:
    return [graph.primitive(n).name for n in graph.order if n not in graph.inputs]


def test_levels_do_more_and_more():
    g = example()
    args = (np.linspace(-1, 1, 8).reshape(2, 4), np.arange(4.0))
    sizes = []
    for level in (0, 1, 2):
        result = optimize(g, level, verify=True)
        np.testing.assert_allclose(result(*args), g(*args), rtol=1e-15)
        sizes.append(len(result))
    assert sizes[0] == len(g) > sizes[1] > sizes[2]
    assert ops(optimize(g, 1)) == ["exp", "constant", "add", "mul", "sub", "tanh"]
    assert ops(optimize(g, 2)) == ["fused"]


def test_the_input_graph_is_never_modified():
    g = example()
    before = g.dump()
    optimize(g, 2, verify=True)
    assert g.dump() == before


def test_stats_report_a_row_per_pass_run():
    result, report = optimize(example(), 2, stats=True)
    names = [row.name for row in report.rows]
    assert names[:4] == ["dce", "fold", "simplify", "cse"]
    assert names[-2:] == ["fuse", "memory"]
    assert "simplify (round 2)" in names  # the fixed point needs one quiet round to stop
    assert report.rows[0].nodes_before == len(example())
    assert report.rows[-1].nodes_after == len(result)
    assert report.memory_plan is not None
    text = str(report)
    assert text.splitlines()[0].split() == [
        "pass",
        "nodes",
        "before",
        "nodes",
        "after",
        "time",
        "(ms)",
        "notes",
    ]
    assert "planned vs" in text and text.splitlines()[-1].startswith("total")


def test_dump_after_prints_the_named_passes(capsys):
    optimize(example(), 1, dump_after="simplify")
    out = capsys.readouterr().out
    assert out.startswith("# after simplify: ")
    assert out.count("# after simplify") == 2  # once per round of the fixed point
    assert "graph example(" in out and "# after cse" not in out


def test_a_pass_manager_can_dump_into_a_stream():
    stream = io.StringIO()
    manager = PassManager(["fold", "simplify"], dump_after=["fold"], out=stream)
    result, report = manager.run(example())
    assert stream.getvalue().startswith("# after fold: 13 nodes\ngraph example(")
    assert [row.name for row in report.rows] == ["fold", "simplify"]
    assert len(result) == report.rows[-1].nodes_after


def test_dump_after_all_prints_every_pass(capsys):
    optimize(example(), 2, dump_after="all")
    out = capsys.readouterr().out
    for name in ("dce", "fold", "simplify", "cse", "fuse", "memory"):
        assert f"# after {name}" in out


def test_explicit_pipelines_and_user_passes():
    g = example()
    result = optimize(g, passes=["simplify"])
    assert len(result) < len(g)
    seen = []

    def spy(graph):
        seen.append(len(graph))
        return graph

    optimize(g, passes=[spy, fixed_point("fold", spy)])
    # fold removes the two folded constants in round 1; round 2 changes nothing and stops
    assert seen == [len(g), len(g) - 2, len(g) - 2]


def test_unknown_names_are_errors():
    with pytest.raises(GraphError, match="unknown pass 'inline'; the passes are"):
        optimize(example(), passes=["inline"])
    with pytest.raises(GraphError, match="dump_after names 'fuse'"):
        optimize(example(), 1, dump_after="fuse")
    with pytest.raises(GraphError, match="level must be 0, 1 or 2"):
        optimize(example(), 3)
    with pytest.raises(GraphError, match="unknown option"):
        PassManager(["fold"], fast=True)


def test_verify_names_the_pass_that_broke_the_graph():
    def retype(graph):
        broken = graphc.Graph.from_nx(
            graph.nx.copy(), graph.inputs, graph.outputs, single_output=True
        )
        out = broken.outputs[0]
        broken.nx.nodes[out]["type"] = broken.nx.nodes[out]["type"].with_dtype("float32")
        return broken

    with pytest.raises(GraphError, match="after pass retype: node"):
        optimize(example(), passes=["simplify", retype], verify=True)


def test_the_registry_and_the_standard_pipelines():
    assert {"dce", "cse", "fold", "simplify", "inference", "fuse", "memory"} <= set(PASSES)
    assert PASSES["memory"].analysis and not PASSES["fuse"].analysis
    assert pipeline_for(0) == ["dce"]
    assert pipeline_for(1, inference=True)[1].stages[0] == "inference"


def copy_pass(graph: graphc.Graph) -> graphc.Graph:
    """A user pass that never settles: it always returns a new (equal) graph."""
    return graphc.Graph.from_nx(
        graph.nx.copy(), graph.inputs, graph.outputs, single_output=graph.single_output
    )


def test_a_fixed_point_that_does_not_converge_says_so_in_the_report():
    _, report = optimize(
        example(), passes=[fixed_point("fold", copy_pass, max_rounds=3)], stats=True
    )
    assert [row.name for row in report.rows][-2:] == ["fold (round 3)", "copy_pass (round 3)"]
    assert report.rows[-1].note == "did not converge in 3 rounds"
    assert "did not converge in 3 rounds" in str(report)
    _, report = optimize(
        example(), passes=[fixed_point(copy_pass, "fold", max_rounds=2)], stats=True
    )
    assert report.rows[-1].note == "no change; did not converge in 2 rounds"  # fold: quiet


def test_a_converging_fixed_point_has_no_such_note():
    _, report = optimize(example(), 1, stats=True)
    assert "converge" not in str(report)


def replay(graph: graphc.Graph, outputs=lambda outs, inputs: outs, extra_input=False):
    """A user pass: `graph` rebuilt, with its outputs transformed (and maybe one more input)."""
    inputs = [
        graphc.placeholder(t.shape, t.dtype, name=n)
        for t, n in zip(graph.input_types, graph.input_names)
    ]
    if extra_input:
        inputs.append(graphc.placeholder((), "float64", name="extra"))
    outs = outputs(graph.to_values(inputs[: len(graph.inputs)]), inputs)
    return graphc.Graph(inputs, outs[0] if len(outs) == 1 and graph.single_output else outs)


def to_float32(graph):
    return replay(graph, lambda outs, inputs: [graphc.cast(o, "float32") for o in outs])


def one_more_output(graph):
    return replay(graph, lambda outs, inputs: [*outs, inputs[0]])


def add_input(graph):
    return replay(graph, lambda outs, inputs: [outs[0] + inputs[-1]], extra_input=True)


def as_list(graph):
    return graphc.Graph.from_nx(graph.nx, graph.inputs, graph.outputs, single_output=False)


@pytest.mark.parametrize(
    "user_pass, message",
    [
        (to_float32, r"the outputs were \(f64\[None,4\]\), now \(f32\[None,4\]\)"),
        (one_more_output, r"the outputs were \(f64\[None,4\]\), now \(f64\[None,4\], f64"),
        (add_input, r"the inputs were \(f64\[None,4\], f64\[4\]\), now \(.*, f64\[\]\)"),
        (as_list, "the graph returned one array, now a list of arrays"),
    ],
)
def test_a_pass_that_changes_the_signature_is_named(user_pass, message):
    expected = f"pass {user_pass.__name__} changed the graph's signature: {message}"
    with pytest.raises(GraphError, match=expected):
        optimize(example(), passes=["fold", user_pass])
    with pytest.raises(GraphError, match=expected):  # verify=True checks the graph first
        optimize(example(), passes=["fold", user_pass], verify=True)


def test_a_pass_may_rename_the_inputs():
    def rename(graph):
        inputs = [
            graphc.placeholder(t.shape, t.dtype, name=f"in{i}")
            for i, t in enumerate(graph.input_types)
        ]
        return graphc.Graph(inputs, graph.to_values(inputs)[0])

    assert optimize(example(), passes=[rename]).input_names == ["in0", "in1"]
