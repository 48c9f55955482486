"""Structural equality of graphs, and the attribute keys CSE relies on."""

from __future__ import annotations

import graphc
from graphc.passes import fuse
from graphc.passes.equality import freeze_attrs, structurally_equal


def test_node_ids_and_names_do_not_matter():
    x = graphc.placeholder((3,), name="x")
    a = graphc.Graph([x], graphc.exp(x) * graphc.sin(x))
    y = graphc.placeholder((3,), name="renamed")
    b = graphc.Graph([y], graphc.exp(y) * graphc.sin(y))
    assert structurally_equal(a, b)


def test_operand_slots_input_positions_and_outputs_matter():
    x, y = graphc.scalars("x y")
    assert not structurally_equal(graphc.Graph([x, y], x / y), graphc.Graph([x, y], y / x))
    assert not structurally_equal(graphc.Graph([x, y], x + y), graphc.Graph([y, x], x + y))
    assert not structurally_equal(graphc.Graph([x], [x, x * 2.0]), graphc.Graph([x], [x * 2.0, x]))
    assert not structurally_equal(graphc.Graph([x], x), graphc.Graph([x], [x]))


def test_types_and_attributes_matter():
    x = graphc.placeholder((2, 3), name="x")
    assert not structurally_equal(
        graphc.Graph([x], graphc.transpose(x)), graphc.Graph([x], graphc.reshape(x, (3, 2)))
    )
    assert not structurally_equal(
        graphc.Graph([x], graphc.sum(x, axis=0)), graphc.Graph([x], graphc.sum(x, axis=1))
    )
    assert freeze_attrs({"v": 1}) != freeze_attrs({"v": True}) != freeze_attrs({"v": 1.0})
    assert freeze_attrs({"v": float("nan")}) == freeze_attrs({"v": float("nan")})


def test_fused_bodies_compare_by_structure():
    x = graphc.placeholder((None, 3), name="x")
    make = lambda: fuse(graphc.Graph([x], graphc.exp(x) * 2.0))  # noqa: E731
    first, second = make(), make()
    assert first.attrs(first.outputs[0])["body"] is not second.attrs(second.outputs[0])["body"]
    assert structurally_equal(first, second)
    other = fuse(graphc.Graph([x], graphc.exp(x) * 3.0))
    assert not structurally_equal(first, other)
