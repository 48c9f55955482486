"""Subnormal floats in the compiled step: flushed to zero during the call (as XLA), kept by the
interpreter, and left alone outside the step."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from graphc.frontend import Sequential, layers, optimizers

TINY = np.finfo(np.float32).tiny  # the smallest normal float32, 1.18e-38


def momentum_after_a_step(jit_compile: bool) -> float:
    """Adam's momentum slot of a kernel whose gradient is zero (zero inputs), started at the
    smallest normal float32, after one step `m += (0 - m) * (1 - beta_1)`: the decrement
    0.1 m is subnormal, and so is the exact result 0.9 m."""
    model = Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.Adam(), loss="mse", jit_compile=jit_compile)
    x, y = np.zeros((4, 2), np.float32), np.ones((4, 1), np.float32)
    model.train_on_batch(x, y)
    optimizer = model.optimizer
    names = [v.name for v in optimizer.state_variables()]
    index = next(i for i, name in enumerate(names) if name.endswith("kernel_momentum"))
    state = optimizer.variables
    state[index] = np.full_like(state[index], TINY)
    optimizer.set_weights(state)
    model.train_on_batch(x, y)
    return float(optimizer.variables[index].ravel()[0])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 only")
def test_the_compiled_step_flushes_subnormals_and_restores_the_mode():
    # The subnormal decrement is flushed to zero, so m keeps its (normal) value.
    assert momentum_after_a_step(jit_compile=True) == TINY
    # Outside the step, numpy computes subnormals again.
    assert np.float32(TINY) * np.float32(0.5) > 0


def test_the_interpreter_keeps_ieee_subnormals():
    assert momentum_after_a_step(jit_compile=False) == pytest.approx(0.9 * TINY, rel=1e-6)
