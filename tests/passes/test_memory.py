"""Memory planning: liveness, slot reuse, sizes at a batch size."""

from __future__ import annotations

import itertools

import graphc
from graphc.passes import plan_memory
from graphc.passes.memory import format_bytes


def chain(n: int, shape=(None, 100)) -> graphc.Graph:
    x = graphc.placeholder(shape, name="x")
    y = x
    for i in range(n):
        y = graphc.sin(y) if i % 2 else graphc.exp(y)
    return graphc.Graph([x], y)


def test_a_chain_needs_two_slots_however_long():
    plan = plan_memory(chain(9))
    assert len(plan.buffers) == 8 and plan.num_slots == 2
    per_buffer = 100 * 4 * 16
    assert plan.naive_bytes(16) == 8 * per_buffer
    assert plan.planned_peak_bytes(16) == 2 * per_buffer
    assert plan.live_peak_bytes(16) == 2 * per_buffer


def test_live_buffers_never_share_a_slot_and_peak_is_at_most_naive():
    x = graphc.placeholder((None, 8), name="x")
    w = graphc.placeholder((8, 8), name="w")
    h = graphc.tanh(x @ w)
    a, b = graphc.exp(h), graphc.sin(h)
    out = (a * b + graphc.exp(a)) @ w
    plan = plan_memory(graphc.Graph([x, w], [out, graphc.sin(out)]))
    for b1, b2 in itertools.combinations(plan.buffers, 2):
        if b1.slot == b2.slot:
            assert not b1.overlaps(b2)
    for batch in (1, 7, 1000):
        live = plan.live_peak_bytes(batch)
        assert live <= plan.planned_peak_bytes(batch) <= plan.naive_bytes(batch)
    assert plan.num_slots < len(plan.buffers)


def test_inputs_outputs_and_constants_get_no_buffer():
    x = graphc.placeholder((4,), "float64", name="x")
    g = graphc.Graph([x], [graphc.exp(x) * 2.0, x])
    plan = plan_memory(g)
    buffered = {g.primitive(b.node).name for b in plan.buffers}
    assert buffered == {"exp"}


def test_unbatched_sizes_do_not_depend_on_the_batch():
    plan = plan_memory(chain(4, shape=(10,)))
    assert plan.naive_bytes(1) == plan.naive_bytes(64) == 3 * 40


def test_summary_and_byte_formatting():
    assert "2 slots" in plan_memory(chain(5)).summary(batch=4)
    assert format_bytes(2048) == "2.0 KiB" and format_bytes(5 << 20) == "5.0 MiB"
