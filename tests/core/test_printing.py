"""The text dump (golden strings), DOT output and rendering (graphc.printing)."""

from __future__ import annotations

import re
import shutil
from textwrap import dedent

import numpy as np
import pytest

import graphc
from graphc import printing
from graphc.core import constant_p
from graphc.errors import GraphcError, MissingDependencyError
from graphc.primitives.elementwise import add_p, exp_p
from graphc.printing import (
    PRINT_RULES,
    dump_graph,
    format_value,
    graph_to_dot,
    render_dot,
    render_graph,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def golden(text: str) -> str:
    return dedent(text).strip("\n")


@pytest.fixture
def textbook() -> graphc.Graph:
    x1, x2 = graphc.scalars("x1 x2")
    return graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))


def test_textbook_function(textbook):
    assert textbook.dump() == golden(
        """
        graph(%0 x1: f64[], %1 x2: f64[]) {
          %2 = log %0 : f64[]
          %3 = mul %0, %1 : f64[]
          %4 = add %2, %3 : f64[]
          %5 = sin %1 : f64[]
          %6 = sub %4, %5 : f64[]
          return %6
        }
        """
    )
    assert str(textbook) == textbook.dump()


def test_batched_graph_with_attributes_and_unnamed_input():
    x = graphc.placeholder((None, 3), "int32")
    seed = graphc.placeholder((), "int64", name="seed")
    noise = graphc.random_uniform(seed, (None, 3), dtype="float64")
    g = graphc.Graph([x, seed], graphc.cast(x, "float64") + noise)
    assert dump_graph(g) == golden(
        """
        graph(%0: i32[None,3], %1 seed: i64[]) {
          %2 = cast[dtype=f64] %0 : f64[None,3]
          %3 = random_uniform[dtype=f64, shape=(None, 3)] %1 : f64[None,3]
          %4 = add %2, %3 : f64[None,3]
          return %4
        }
        """
    )


def test_named_nodes_get_a_trailing_comment():
    x = graphc.placeholder((None, 10), name="x")
    h = exp_p.bind(x, name="dense_1")
    g = graphc.Graph([x], add_p.bind(h, x, name="residual"))
    assert g.dump() == golden(
        """
        graph(%0 x: f32[None,10]) {
          %1 = exp %0 : f32[None,10]  # dense_1
          %2 = add %1, %0 : f32[None,10]  # residual
          return %2
        }
        """
    )


def test_constants_small_inline_and_large_by_type():
    x = graphc.placeholder((None, 784), name="images")
    scale = graphc.placeholder((2,), "float64", name="s")
    big = graphc.constant(np.zeros((784,), "float32"))
    small = graphc.constant([1.0, 2.0], "float64")
    matrix = graphc.constant([[1, 2], [3, 4]], "int32")
    g = graphc.Graph([x, scale], [x * big, scale * small * 2.0, matrix, graphc.constant(True)])
    assert g.dump() == golden(
        """
        graph(%0 images: f32[None,784], %1 s: f64[2]) {
          %2 = constant <f32[784]> : f32[784]
          %3 = mul %0, %2 : f32[None,784]
          %4 = constant [1.0, 2.0] : f64[2]
          %5 = mul %1, %4 : f64[2]
          %6 = constant 2.0 : f64[]
          %7 = mul %5, %6 : f64[2]
          %8 = constant [[1, 2], [3, 4]] : i32[2,2]
          %9 = constant True : bool[]
          return %3, %7, %8, %9
        }
        """
    )


def test_several_outputs_and_a_named_graph():
    x = graphc.placeholder((3,), name="x")
    g = graphc.Graph([x], [graphc.exp(x), -x, graphc.exp(x)], name="pair")
    assert g.dump() == golden(
        """
        graph pair(%0 x: f32[3]) {
          %1 = exp %0 : f32[3]
          %2 = neg %0 : f32[3]
          %3 = exp %0 : f32[3]
          return %1, %2, %3
        }
        """
    )


def test_numbering_is_independent_of_node_ids(textbook):
    # The same structure with shifted ids (as a pass might produce) prints the same text.
    shifted = graphc.Graph.from_nx(
        __import__("networkx").relabel_nodes(textbook.nx, {n: n + 100 for n in textbook.nx}),
        [n + 100 for n in textbook.inputs],
        [n + 100 for n in textbook.outputs],
        single_output=True,
    )
    assert shifted.dump() == textbook.dump()


def test_inputs_print_first_in_call_order():
    a, b = graphc.scalars("a b")
    g = graphc.Graph([b, a], a - b)
    assert g.dump().splitlines()[0] == "graph(%0 b: f64[], %1 a: f64[]) {"
    assert "%2 = sub %1, %0 : f64[]" in g.dump()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ((1,), "(1,)"),
        (((0, 0), (1, 2)), "((0, 0), (1, 2))"),
        ((), "()"),
        (np.dtype("float32"), "f32"),
        (np.dtype("bool"), "bool"),
        (graphc.TensorType((None, 4), "int64"), "i64[None,4]"),
        (float("inf"), "inf"),
        (float("nan"), "nan"),
        (-1.5, "-1.5"),
        (None, "None"),
        (True, "True"),
        ("max", "'max'"),
        (np.float32(0.1), "0.1"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_print_rules_override_the_label(monkeypatch):
    assert constant_p in PRINT_RULES
    monkeypatch.setitem(PRINT_RULES, exp_p, lambda attrs: "EXP!")
    x = graphc.placeholder((2,), name="x")
    assert "%1 = EXP! %0 : f32[2]" in graphc.Graph([x], graphc.exp(x)).dump()


# --- DOT ---------------------------------------------------------------------------------------


def _dot_nodes(dot: str) -> dict[str, str]:
    return dict(re.findall(r"^  (n\d+) \[(.*)\];$", dot, flags=re.M))


def _dot_edges(dot: str) -> list[tuple[str, str, str | None]]:
    return [
        (a, b, label or None)
        for a, b, label in re.findall(r'^  (n\d+) -> (n\d+)(?: \[label="(\d+)"\])?;$', dot, re.M)
    ]


def test_dot_structure(textbook):
    dot = textbook.to_dot()
    assert dot.startswith("digraph {\n") and dot.endswith("\n}")
    nodes = _dot_nodes(dot)
    assert list(nodes) == [f"n{i}" for i in range(7)]
    assert "shape=ellipse" in nodes["n0"] and "shape=ellipse" in nodes["n1"]
    assert "peripheries=2" in nodes["n6"] and "return 0" in nodes["n6"]
    assert all("peripheries" not in nodes[f"n{i}"] for i in range(6))
    assert 'label="%0 x1\\nf64[]"' in nodes["n0"]
    # log has one operand: no slot label; mul/add/sub label both operands by slot.
    assert _dot_edges(dot) == [
        ("n0", "n2", None),
        ("n0", "n3", "0"),
        ("n1", "n3", "1"),
        ("n2", "n4", "0"),
        ("n3", "n4", "1"),
        ("n1", "n5", None),
        ("n4", "n6", "0"),
        ("n5", "n6", "1"),
    ]


def test_dot_is_deterministic_and_shows_attrs_names_and_constants():
    def build() -> graphc.Graph:
        x = graphc.placeholder((None, 10, 3), "int32", name='the "x"')
        y = exp_p.bind(graphc.cast(x, "float32"), name="act")
        big = graphc.constant(np.arange(30, dtype="float32").reshape(10, 3))
        return graphc.Graph([x], [y * big, y], name="two outs")

    dot = graph_to_dot(build())
    assert dot == graph_to_dot(build())
    assert dot.startswith('digraph "two outs" {')
    nodes = _dot_nodes(dot)
    assert 'label="%0 the \\"x\\"\\ni32[None,10,3]"' in nodes["n0"]
    assert "%1 cast[dtype=f32]" in nodes["n1"]
    assert "%2 exp\\nact\\nf32[None,10,3]\\nreturn 1" in nodes["n2"]
    assert "constant <f32[10,3]>" in nodes["n3"] and "shape=note" in nodes["n3"]
    assert "return 0" in nodes["n4"]


def test_dot_cuts_long_labels():
    x = graphc.placeholder((), "int64", name="seed")
    g = graphc.Graph([x], graphc.random_uniform(x, (2,) * 20))
    label = re.search(r'n1 \[label="([^"]*)"', g.to_dot()).group(1)
    head = label.split("\\n")[0]
    assert len(head) <= len("%1 ") + printing.DOT_LABEL_WIDTH and head.endswith("...")


# --- rendering ---------------------------------------------------------------------------------


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<svg"), (".png", b"\x89PNG")])
def test_render(textbook, tmp_path, suffix, magic):
    path = tmp_path / f"textbook{suffix}"
    assert textbook.render(str(path)) == str(path)
    assert magic in path.read_bytes()[:400]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@needs_dot
def test_render_explicit_format(textbook, tmp_path):
    path = tmp_path / "picture"
    render_graph(textbook, path, format="svg")
    assert b"<svg" in path.read_bytes()[:400]


def test_render_without_graphviz_explains_how_to_get_it(textbook, tmp_path, monkeypatch):
    monkeypatch.setattr(printing.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError) as info:
        textbook.render(str(tmp_path / "g.svg"))
    assert isinstance(info.value, GraphcError) and isinstance(info.value, ImportError)
    message = str(info.value)
    assert message.startswith("Graph.render: drawing a picture needs Graphviz' `dot` program")
    for hint in (
        "apt-get install graphviz",
        "brew install graphviz",
        "conda install graphviz",
        "graph.to_dot()",
    ):
        assert hint in message
    assert "plot_model" not in message
    assert list(tmp_path.iterdir()) == []


def test_render_dot_words_the_missing_graphviz_for_its_caller(tmp_path, monkeypatch):
    monkeypatch.setattr(printing.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError) as info:  # the defaults: plot_model's wording
        render_dot("digraph { a -> b }", tmp_path / "m.png")
    assert str(info.value).startswith("plot_model: ")
    assert "a .dot file name for plot_model" in str(info.value)
    assert "graph.to_dot()" not in str(info.value)
    with pytest.raises(MissingDependencyError, match=r"^mine: .*; meanwhile do this$"):
        render_dot("digraph {}", tmp_path / "m.svg", caller="mine", instead="do this")
    assert list(tmp_path.iterdir()) == []


def test_render_refuses_unknown_formats(textbook, tmp_path):
    with pytest.raises(GraphcError, match=r"\.svg or \.png"):
        textbook.render(str(tmp_path / "g.pdf"))
    with pytest.raises(GraphcError, match="no extension"):
        textbook.render(str(tmp_path / "g"))


@needs_dot
def test_render_reports_graphviz_failures(textbook, tmp_path, monkeypatch):
    monkeypatch.setattr(printing, "graph_to_dot", lambda graph: "digraph { this is not dot")
    with pytest.raises(GraphcError, match="dot failed"):
        textbook.render(str(tmp_path / "g.svg"))
    assert list(tmp_path.iterdir()) == []
