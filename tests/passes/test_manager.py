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
