import numpy as np
import pytest

import graphc
from graphc.frontend.engine.trace import TraceContext, current_context, next_seed, no_trace
from graphc.frontend.utils import set_random_seed
from graphc.frontend.variables import Variable


def test_contexts_nest_and_suspend():
    assert current_context() is None
    with TraceContext(training=True) as outer:
        assert current_context() is outer
        with no_trace():
            assert current_context() is None
        with TraceContext(training=False) as inner:
            assert current_context() is inner and not inner.training
        assert current_context() is outer
    assert current_context() is None


def test_seeds_are_distinct_and_derived_from_the_step_seed():
    step = graphc.placeholder((), "int64")
    with TraceContext(training=True, seed=step) as ctx:
        seeds = [ctx.next_seed() for _ in range(3)]
    values = graphc.Graph([step], seeds)(np.int64(7))
    assert len({int(v) for v in values}) == 3
    again = graphc.Graph([step], seeds)(np.int64(8))
    assert all(int(a) != int(b) for a, b in zip(values, again))


def test_unseeded_contexts_follow_set_random_seed():
    def draw():
        set_random_seed(11)
        with TraceContext(training=True):
            return int(graphc.Graph([], next_seed())())

    assert draw() == draw()


def test_next_seed_works_outside_traces():
    assert next_seed().dtype == np.int64


def test_add_update_checks_the_shape():
    v = Variable(np.zeros(3, "float32"), name="v")
    with TraceContext(training=True) as ctx:
        ctx.add_update(v, v + 1.0)
        with pytest.raises(ValueError, match="has shape \\(3,\\), got an update of shape \\(\\)"):
            ctx.add_update(v, 1.0)
    assert ctx.updates[0][0] is v and ctx.updates[0][1].dtype == np.float32
