"""`utils.plot_model` / `utils.model_to_dot`: the layer graph as DOT text and pictures."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from graphc.errors import GraphcError
from graphc.frontend import Input, Model, Sequential, layers, utils

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def edges(dot):
    """Arrows as (source title, target title) pairs, resolving node ids to layer names."""
    names = dict(re.findall(r"(n\d+) \[label=<.*?<b>([^<]+)</b>", dot))
    return {(names[a], names[b]) for a, b in re.findall(r"(n\d+) -> (n\d+);", dot)}


@pytest.fixture
def branching():
    a, b = Input((4,), name="a"), Input((4,), name="b")
    h = layers.Dense(4, activation="relu", name="hidden")(a)
    r = layers.Add(name="residual")([h, a])
    merged = layers.Concatenate(name="merge")([r, b])
    out = layers.Dense(1, activation="sigmoid", name="score")(merged * 2.0)
    return Model([a, b], out, name="branching")


def test_boxes_and_arrows_follow_the_layer_graph(branching):
    dot = utils.model_to_dot(branching)
    assert dot.startswith('digraph "branching" {')
    for title in (
        "<b>a</b> (InputLayer)",
        "<b>hidden</b> (Dense)",
        "<b>residual</b> (Add)",
        "<b>score</b> (Dense)",
    ):
        assert title in dot
    assert edges(dot) == {
        ("a", "hidden"),
        ("a", "residual"),
        ("hidden", "residual"),
        ("residual", "merge"),
        ("b", "merge"),
        ("merge", "score"),  # through the plain graphc op `merged * 2.0`
    }
    assert "Output shape" not in dot and "Activation" not in dot


def test_optional_rows(branching):
    dot = utils.model_to_dot(
        branching,
        show_shapes=True,
        show_dtype=True,
        show_layer_activations=True,
        show_trainable=True,
    )
    residual = next(line for line in dot.splitlines() if "<b>residual</b>" in line)
    assert "<td>Input shape</td><td>Output shape</td>" in residual
    assert "<td>[(None, 4), (None, 4)]</td><td>(None, 4)</td>" in residual
    assert "<td>[float32, float32]</td><td>float32</td>" in residual
    assert "Trainable: True" in residual and "Activation" not in residual
    score = next(line for line in dot.splitlines() if "<b>score</b>" in line)
    assert "Activation: sigmoid" in score


def test_graph_options(branching):
    dot = utils.model_to_dot(branching, show_layer_names=False, rankdir="LR", dpi=96)
    assert "graph [rankdir=LR, dpi=96" in dot
    assert "<b>" not in dot and ">Dense<" in dot
    with pytest.raises(ValueError, match="rankdir"):
        utils.model_to_dot(branching, rankdir="XY")


def test_sequential_shows_its_input_layer():
    model = Sequential([layers.Input((3,)), layers.Dense(2, name="d")], name="s")
    assert edges(utils.model_to_dot(model)) == {("input_layer", "d")}


def test_shared_layer_is_one_box_with_multiple_shapes():
    x = Input((4,))
    shared = layers.Dense(4, name="shared")
    y = shared(shared(x))
    dot = utils.model_to_dot(Model(x, y), show_shapes=True)
    assert dot.count("<b>shared</b>") == 1
    assert ("shared", "shared") in edges(dot)


def test_nested_models_collapsed_and_expanded():
    inner = Sequential(
        [layers.Input((4,)), layers.Dense(3, name="i1"), layers.Dense(2, name="i2")], name="inner"
    )
    x = Input((4,), name="x")
    model = Model(x, layers.Dense(1, name="head")(inner(x)))
    collapsed = utils.model_to_dot(model)
    assert edges(collapsed) == {("x", "inner"), ("inner", "head")}
    expanded = utils.model_to_dot(model, expand_nested=True)
    assert 'subgraph cluster_1 {\n    label="inner (Sequential)"' in expanded
    assert edges(expanded) == {
        ("x", "input_layer"),
        ("input_layer", "i1"),
        ("i1", "i2"),
        ("i2", "head"),
    }


def test_subclassed_model_is_one_box():
    class Tiny(Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)

    model = Tiny(name="tiny")
    with pytest.raises(ValueError, match="not been built"):
        utils.model_to_dot(model)
    model.predict(np.ones((1, 5)), verbose=0)
    dot = utils.model_to_dot(model, show_shapes=True)
    assert "<b>tiny</b> (Tiny)" in dot and "->" not in dot
    assert "<td>(None, 5)</td><td>(None, 2)</td>" in dot


def test_names_are_escaped():
    x = Input((2,), name="x")
    model = Model(x, layers.Dense(1, name="a<b>&c")(x), name='say "hi"')
    dot = utils.model_to_dot(model)
    assert "<b>a&lt;b&gt;&amp;c</b>" in dot and dot.startswith('digraph "say \\"hi\\"" {')


def test_dot_file(tmp_path, branching):
    path = utils.plot_model(branching, tmp_path / "model.dot", show_shapes=True)
    assert path == str(tmp_path / "model.dot")
    assert (tmp_path / "model.dot").read_text() == utils.model_to_dot(branching, show_shapes=True)


def test_unknown_extension(tmp_path, branching):
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.dot, got 'gif'"):
        utils.plot_model(branching, tmp_path / "model.gif")


@needs_dot
def test_png_and_svg(tmp_path, branching):
    png = utils.plot_model(branching, tmp_path / "model.png", show_shapes=True, dpi=50)
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    svg = utils.plot_model(branching, str(tmp_path / "model.svg"), expand_nested=True)
    text = open(svg).read()
    assert text.lstrip().startswith("<?xml") and "residual" in text


def test_missing_graphviz_is_explained(tmp_path, branching, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphcError, match="needs Graphviz' `dot`.*a .dot file name for plot"):
        utils.plot_model(branching, tmp_path / "model.png")
    assert not list(tmp_path.iterdir())
