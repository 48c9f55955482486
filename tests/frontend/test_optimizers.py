"""Optimizers: each update rule against Keras' formulas written out in numpy, schedules,
clipping, state layout, config round trips and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphc.frontend import optimizers
from graphc.frontend.optimizers import schedules
from graphc.frontend.variables import Variable

W0 = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
GRADS = [
    np.array([[0.1, -0.2], [0.3, 0.4]], np.float32),
    np.array([[-0.5, 0.1], [0.0, 0.2]], np.float32),
    np.array([[0.2, 0.2], [-0.1, -0.3]], np.float32),
]


def run(optimizer: optimizers.Optimizer, steps: int = 3) -> np.ndarray:
    w = Variable(W0, name="w")
    for g in GRADS[:steps]:
        optimizer.apply_gradients([(g, w)])
    return w.numpy()


def reference(update, state: dict, steps: int = 3) -> np.ndarray:
    """Run a numpy update rule `update(w, g, t, state) -> w` in float64."""
    w = W0.astype(np.float64)
    for t, g in enumerate(GRADS[:steps], start=1):
        w = update(w, g.astype(np.float64), t, state)
    return w


def sgd(lr, momentum=0.0, nesterov=False):
    def update(w, g, t, s):
        if momentum == 0:
            return w - lr * g
        s["m"] = momentum * s.get("m", 0.0) - lr * g
        return w + (momentum * s["m"] - lr * g if nesterov else s["m"])

    return update


def rmsprop(lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    def update(w, g, t, s):
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
        if centered:
            s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
            inc = lr * g / np.sqrt(s["v"] - s["a"] ** 2 + eps)
        else:
            inc = lr * g / np.sqrt(s["v"] + eps)
        if momentum:
            s["m"] = momentum * s.get("m", 0.0) + inc
            return w - s["m"]
        return w - inc

    return update


def adagrad(lr, init=0.1, eps=1e-7):
    def update(w, g, t, s):
        s["acc"] = s.get("acc", init) + g * g
        return w - lr * g / np.sqrt(s["acc"] + eps)

    return update


def adadelta(lr, rho=0.95, eps=1e-7):
    def update(w, g, t, s):
        s["ag"] = rho * s.get("ag", 0.0) + (1 - rho) * g * g
        delta = -np.sqrt(s.get("ad", 0.0) + eps) * g / np.sqrt(s["ag"] + eps)
        s["ad"] = rho * s.get("ad", 0.0) + (1 - rho) * delta**2
        return w + lr * delta

    return update


def adam(lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    def update(w, g, t, s):
        if wd is not None:
            w = w - w * wd * lr
        s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
        s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - b2)
        v = s["v"]
        if amsgrad:
            s["vh"] = np.maximum(s.get("vh", 0.0), v)
            v = s["vh"]
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        return w - alpha * s["m"] / (np.sqrt(v) + eps)

    return update


def adamax(lr, b1=0.9, b2=0.999, eps=1e-7):
    def update(w, g, t, s):
        s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
        s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g))
        return w - lr * s["m"] / ((1 - b1**t) * (s["u"] + eps))

    return update


def nadam(lr, b1=0.9, b2=0.999, eps=1e-7):
    def mu(t):
        return b1 * (1 - 0.5 * 0.96**t)

    def update(w, g, t, s):
        s["up"] = s.get("up", 1.0) * mu(t)
        s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
        s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - b2)
        m_hat = mu(t + 1) * s["m"] / (1 - s["up"] * mu(t + 1)) + (1 - mu(t)) * g / (1 - s["up"])
        v_hat = s["v"] / (1 - b2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)

    return update


CASES = {
    "sgd": (lambda: optimizers.SGD(0.1), sgd(0.1)),
    "sgd_momentum": (lambda: optimizers.SGD(0.1, momentum=0.9), sgd(0.1, 0.9)),
    "sgd_nesterov": (
        lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        sgd(0.1, 0.9, True),
    ),
    "rmsprop": (lambda: optimizers.RMSprop(0.01), rmsprop(0.01)),
    "rmsprop_centered_momentum": (
        lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
        rmsprop(0.01, momentum=0.5, centered=True),
    ),
    "adagrad": (lambda: optimizers.Adagrad(0.1), adagrad(0.1)),
    "adadelta": (lambda: optimizers.Adadelta(1.0), adadelta(1.0)),
    "adam": (lambda: optimizers.Adam(0.01), adam(0.01)),
    "adam_amsgrad": (lambda: optimizers.Adam(0.01, amsgrad=True), adam(0.01, amsgrad=True)),
    "adamw": (lambda: optimizers.AdamW(0.01, weight_decay=0.1), adam(0.01, wd=0.1)),
    "adamax": (lambda: optimizers.Adamax(0.01), adamax(0.01)),
    "nadam": (lambda: optimizers.Nadam(0.01), nadam(0.01)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_update_rule_matches_keras_formula(name):
    make, rule = CASES[name]
    np.testing.assert_allclose(run(make()), reference(rule, {}), rtol=2e-6, atol=2e-7)


def test_first_steps_by_hand():
    # SGD: 1 - 0.1 * 2; momentum 0.9, second step: v = 0.9 * -0.2 - 0.2 = -0.38.
    w = Variable(np.array([1.0], np.float32), name="w")
    opt = optimizers.SGD(0.1, momentum=0.9)
    opt.apply_gradients([(np.array([2.0], np.float32), w)])
    assert w.numpy()[0] == pytest.approx(0.8)
    opt.apply_gradients([(np.array([2.0], np.float32), w)])
    assert w.numpy()[0] == pytest.approx(0.42)
    # Adam's first step is lr * g / (|g| + eps / sqrt(1 - beta_2)): about lr * sign(g).
    w = Variable(np.array([1.0, 1.0], np.float32), name="w")
    optimizers.Adam(0.5).apply_gradients([(np.array([3.0, -0.001], np.float32), w)])
    shrink = 1e-7 / math.sqrt(1e-3)
    expected = [1 - 0.5 * 3 / (3 + shrink), 1 + 0.5 * 1e-3 / (1e-3 + shrink)]
    np.testing.assert_allclose(w.numpy(), expected, rtol=2e-5)  # float32 (1 - 0.999)
    # Adagrad starts its accumulator at 0.1: 1 - 0.1 * 0.3 / sqrt(0.1 + 0.09).
    w = Variable(np.array([1.0], np.float32), name="w")
    optimizers.Adagrad(0.1).apply_gradients([(np.array([0.3], np.float32), w)])
    assert w.numpy()[0] == pytest.approx(1 - 0.03 / math.sqrt(0.19), rel=1e-6)


def test_keras_defaults():
    assert optimizers.SGD().learning_rate == pytest.approx(0.01)
    assert optimizers.Adadelta().learning_rate == pytest.approx(0.001)
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
    assert optimizers.Adam().epsilon == 1e-7
    assert optimizers.AdamW().weight_decay == 0.004
    assert optimizers.RMSprop().rho == 0.9
    assert [get().name for get in (optimizers.SGD, optimizers.Adam, optimizers.RMSprop)] == [
        "SGD",
        "adam",
        "rmsprop",
    ]


def test_clipnorm_per_variable_clipvalue_and_global_clipnorm():
    g = np.array([3.0, 4.0], np.float32)  # norm 5
    small = np.array([0.3, 0.4], np.float32)  # norm 0.5

    def step(**kwargs):
        a = Variable(np.zeros(2, np.float32), name="a")
        b = Variable(np.zeros(2, np.float32), name="b")
        optimizers.SGD(1.0, **kwargs).apply_gradients([(g, a), (small, b)])
        return -a.numpy(), -b.numpy()

    a, b = step(clipnorm=1.0)
    np.testing.assert_allclose(a, [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(b, small, rtol=1e-6)  # under the norm: unchanged
    a, b = step(clipvalue=0.35)
    np.testing.assert_allclose(a, [0.35, 0.35])
    np.testing.assert_allclose(b, [0.3, 0.35])
    a, b = step(global_clipnorm=1.0)
    scale = 1.0 / math.sqrt(25 + 0.25)
    np.testing.assert_allclose(np.concatenate([a, b]), np.concatenate([g, small]) * scale, 1e-6)


def test_clipnorm_of_a_zero_gradient_is_zero():
    w = Variable(np.ones(2, np.float32), name="w")
    optimizers.SGD(1.0, clipnorm=1.0).apply_gradients([(np.zeros(2, np.float32), w)])
    np.testing.assert_array_equal(w.numpy(), [1.0, 1.0])


def test_only_one_clipping_argument():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_weight_decay_exclusion_by_name():
    kernel = Variable(np.ones(2, np.float32), name="dense/kernel")
    bias = Variable(np.ones(2, np.float32), name="dense/bias")
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    zero = np.zeros(2, np.float32)
    opt.apply_gradients([(zero, kernel), (zero, bias)])
    np.testing.assert_allclose(kernel.numpy(), [0.95, 0.95])
    np.testing.assert_array_equal(bias.numpy(), [1.0, 1.0])


def test_constraint_projects_after_the_update():
    from graphc.frontend import constraints

    w = Variable(np.array([1.0], np.float32), name="w")
    w.constraint = constraints.NonNeg()
    optimizers.SGD(1.0).apply_gradients([(np.array([3.0], np.float32), w)])
    np.testing.assert_array_equal(w.numpy(), [0.0])


def test_variables_order_and_set_weights():
    a = Variable(np.zeros((2,), np.float32), name="d/kernel")
    b = Variable(np.zeros((3,), np.float32), name="d/bias")
    opt = optimizers.Adam(0.1, amsgrad=True)
    opt.apply_gradients([(np.ones(2, np.float32), a), (np.ones(3, np.float32), b)])
    shapes = [v.shape for v in opt.variables]
    assert shapes == [(), (), (2,), (3,), (2,), (3,), (2,), (3,)]
    names = [v.name for v in opt.state_variables()]
    assert names[:3] == ["adam/iteration", "adam/learning_rate", "adam/d_kernel_momentum"]
    assert opt.iterations == 1
    fresh = optimizers.Adam(0.1, amsgrad=True)
    fresh.build([a, b])
    fresh.set_weights(opt.variables)
    assert fresh.iterations == 1
    np.testing.assert_array_equal(fresh.variables[2], opt.variables[2])
    with pytest.raises(ValueError, match="expected 8 arrays"):
        fresh.set_weights(opt.variables[:3])
    with pytest.raises(ValueError, match="not yet been built"):
        optimizers.SGD().set_weights([])


def test_nadam_keeps_u_product_last():
    w = Variable(np.zeros(1, np.float32), name="w")
    opt = optimizers.Nadam()
    opt.apply_gradients([(np.ones(1, np.float32), w)])
    assert opt.state_variables()[-1].name == "nadam/u_product"
    assert float(opt.variables[-1]) == pytest.approx(0.9 * (1 - 0.5 * 0.96))


def test_learning_rate_setter_and_schedule():
    opt = optimizers.SGD(0.5)
    opt.learning_rate = 0.25
    assert opt.learning_rate == 0.25
    scheduled = optimizers.SGD(schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5))
    assert len(scheduled.variables) == 1  # no learning-rate variable with a schedule
    w = Variable(np.zeros(1, np.float32), name="w")
    for _ in range(3):
        scheduled.apply_gradients([(np.ones(1, np.float32), w)])
    np.testing.assert_allclose(w.numpy(), [-(1.0 + 0.5 + 0.25)])
    assert scheduled.learning_rate == 0.125
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate = 0.1
    with pytest.raises(ValueError, match="should be float"):
        optimizers.SGD(learning_rate="fast")


def test_unknown_variable_and_missing_gradients():
    a = Variable(np.zeros(1, np.float32), name="a")
    b = Variable(np.zeros(1, np.float32), name="b")
    opt = optimizers.SGD(1.0)
    opt.build([a])
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply_gradients([(np.ones(1, np.float32), b)])
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        optimizers.SGD(1.0).apply_gradients([(None, a), (np.ones(1, np.float32), b)])
    with pytest.raises(ValueError, match="No gradients provided"):
        optimizers.SGD(1.0).apply_gradients([(None, a)])


def test_symbolic_gradients_need_a_training_step():
    import graphc

    w = Variable(np.zeros(2, np.float32), name="w")
    with pytest.raises(ValueError, match="inside a training step"):
        optimizers.SGD().apply([graphc.placeholder((2,))], [w])


def test_get_serialize_deserialize():
    assert type(optimizers.get("ADAM")).__name__ == "Adam"
    assert optimizers.get(None) is None
    original = optimizers.RMSprop(0.5, rho=0.8, momentum=0.1, centered=True, clipnorm=2.0)
    clone = optimizers.deserialize(optimizers.serialize(original))
    assert clone.get_config() == original.get_config()
    scheduled = optimizers.Adam(schedules.CosineDecay(0.1, 100, alpha=0.2))
    restored = optimizers.deserialize(optimizers.serialize(scheduled))
    assert restored.learning_rate_at(50) == pytest.approx(scheduled.learning_rate_at(50))
    with pytest.raises(ValueError, match="Could not locate optimizer 'adamm'"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get(42)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.SGD(use_lookahead=True)


# --- schedules ----------------------------------------------------------------------------------


def test_exponential_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96)
    assert s(250) == pytest.approx(0.1 * 0.96**2.5)
    stairs = schedules.ExponentialDecay(0.1, 100, 0.96, staircase=True)
    assert stairs(250) == pytest.approx(0.1 * 0.96**2)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.9)


def test_piecewise_constant_decay():
    s = schedules.PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1])
    assert [s(0), s(100000), s(100001), s(110000), s(110001)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    with pytest.raises(ValueError, match="1 less than"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0])


def test_cosine_decay_with_and_without_warmup():
    s = schedules.CosineDecay(0.1, decay_steps=1000, alpha=0.1)
    for step in (0, 250, 999, 1000, 5000):
        clipped = min(step, 1000)
        cosine = 0.5 * (1 + math.cos(math.pi * clipped / 1000))
        assert s(step) == pytest.approx(0.1 * ((1 - 0.1) * cosine + 0.1))
    warm = schedules.CosineDecay(0.0, 1000, warmup_target=0.1, warmup_steps=100)
    assert warm(50) == pytest.approx(0.05)
    assert warm(100) == pytest.approx(0.1)
    assert warm(600) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_polynomial_and_inverse_time_decay():
    poly = schedules.PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=2.0)
    assert poly(50) == pytest.approx(0.09 * 0.25 + 0.01)
    assert poly(500) == pytest.approx(0.01)
    cyc = schedules.PolynomialDecay(0.1, 100, end_learning_rate=0.0, cycle=True)
    assert cyc(150) == pytest.approx(0.1 * (1 - 150 / 200))
    inv = schedules.InverseTimeDecay(0.1, 10, 0.5, staircase=True)
    assert inv(25) == pytest.approx(0.1 / (1 + 0.5 * 2))


def test_schedule_serialization():
    s = schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
    assert schedules.deserialize(schedules.serialize(s))(11) == 0.01
