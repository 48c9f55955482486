"""One optimizer step against numbers derived by hand from Keras 3's update formulas.

Each case starts from w = [1, -2] with the gradient g = [0.5, -1] (a second step where the
rule has a state worth checking) and spells out the arithmetic of Keras 3's
`keras/src/optimizers/<name>.py` for these numbers. The expected values were also checked
against Keras 3.15 itself (outside the test suite, which must not need Keras).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphc.frontend import optimizers
from graphc.frontend.optimizers import schedules
from graphc.frontend.variables import Variable

W0 = [1.0, -2.0]
G = [0.5, -1.0]
EPS = 1e-7
SQRT_1E3 = math.sqrt(1e-3)  # sqrt(1 - beta_2) of Adam's first step


def steps(optimizer: optimizers.Optimizer, grads: list[list[float]]) -> np.ndarray:
    w = Variable(np.array(W0, np.float32), name="w")
    for g in grads:
        optimizer.apply_gradients([(np.array(g, np.float32), w)])
    return w.numpy()


def adam_first_step(lr: float, g: float) -> float:
    # m = 0.1 g, v = 0.001 g^2, alpha = lr * sqrt(1 - 0.999) / (1 - 0.9)
    return lr * SQRT_1E3 / 0.1 * (0.1 * g) / (SQRT_1E3 * abs(g) + EPS)


def nadam_first_step(lr: float, g: float) -> float:
    u1 = 0.9 * (1 - 0.5 * 0.96)  # 0.468, also u_product after the first step
    u2 = 0.9 * (1 - 0.5 * 0.96**2)  # 0.48528
    m_hat = u2 * (0.1 * g) / (1 - u1 * u2) + (1 - u1) * g / (1 - u1)
    v_hat = 0.001 * g * g / (1 - 0.999)
    return lr * m_hat / (math.sqrt(v_hat) + EPS)


CASES = {
    # w -= lr * g
    "sgd": (lambda: optimizers.SGD(0.1), [G], [1 - 0.05, -2 + 0.1]),
    # v1 = -lr g; w1 = w + v1; v2 = 0.9 v1 - lr g = -1.9 lr g; w2 = w1 + v2
    "sgd_momentum": (
        lambda: optimizers.SGD(0.1, momentum=0.9),
        [G, G],
        [1 - 0.05 - 0.095, -2 + 0.1 + 0.19],
    ),
    # v = -lr g; w += 0.9 v - lr g = -1.9 lr g
    "sgd_nesterov": (
        lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        [G],
        [1 - 0.095, -2 + 0.19],
    ),
    # v = 0.1 g^2; w -= lr g / sqrt(v + eps)
    "rmsprop": (
        lambda: optimizers.RMSprop(0.01),
        [G],
        [1 - 0.01 * 0.5 / math.sqrt(0.025 + EPS), -2 + 0.01 / math.sqrt(0.1 + EPS)],
    ),
    # v = 0.1 g^2, a = 0.1 g: denominators sqrt(0.025 - 0.0025) = 0.15 and sqrt(0.1 - 0.01) =
    # 0.3; the momentum slot starts at 0, so m = increment
    "rmsprop_centered_momentum": (
        lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
        [G],
        [1 - 0.005 / math.sqrt(0.0225 + EPS), -2 + 0.01 / math.sqrt(0.09 + EPS)],
    ),
    # second step: m2 = 0.5 m1 + increment2 with v2 = 0.19 g^2, a2 = 0.19 g
    "rmsprop_momentum_second_step": (
        lambda: optimizers.RMSprop(0.01, momentum=0.5),
        [G, G],
        [
            1 - 1.5 * 0.005 / math.sqrt(0.025 + EPS) - 0.005 / math.sqrt(0.0475 + EPS),
            -2 + 1.5 * 0.01 / math.sqrt(0.1 + EPS) + 0.01 / math.sqrt(0.19 + EPS),
        ],
    ),
    # accumulator = 0.1 + g^2; w -= lr g / sqrt(accumulator + eps)
    "adagrad": (
        lambda: optimizers.Adagrad(0.1),
        [G],
        [1 - 0.05 / math.sqrt(0.35 + EPS), -2 + 0.1 / math.sqrt(1.1 + EPS)],
    ),
    # acc_g = 0.05 g^2; delta = -sqrt(0 + eps) g / sqrt(acc_g + eps); w += lr delta
    "adadelta": (
        lambda: optimizers.Adadelta(1.0),
        [G],
        [
            1 - math.sqrt(EPS) * 0.5 / math.sqrt(0.0125 + EPS),
            -2 + math.sqrt(EPS) / math.sqrt(0.05 + EPS),
        ],
    ),
    "adam": (
        lambda: optimizers.Adam(0.1),
        [G],
        [1 - adam_first_step(0.1, 0.5), -2 - adam_first_step(0.1, -1.0)],
    ),
    # g = [1, 0] then [0, 0]: v falls from 0.001 to 0.000999, v_hat keeps 0.001;
    # alpha_2 = lr sqrt(1 - 0.999^2) / (1 - 0.9^2), m_2 = 0.09
    "adam_amsgrad": (
        lambda: optimizers.Adam(0.1, amsgrad=True),
        [[1.0, 0.0], [0.0, 0.0]],
        [
            1
            - adam_first_step(0.1, 1.0)
            - 0.1 * math.sqrt(1 - 0.999**2) / 0.19 * 0.09 / (SQRT_1E3 + EPS),
            -2.0,
        ],
    ),
    # the same without AMSGrad divides by sqrt(0.000999)
    "adam_second_step": (
        lambda: optimizers.Adam(0.1),
        [[1.0, 0.0], [0.0, 0.0]],
        [
            1
            - adam_first_step(0.1, 1.0)
            - 0.1 * math.sqrt(1 - 0.999**2) / 0.19 * 0.09 / (math.sqrt(0.000999) + EPS),
            -2.0,
        ],
    ),
    # w -= w * wd * lr first (decoupled), then the Adam step
    "adamw": (
        lambda: optimizers.AdamW(0.1, weight_decay=0.1),
        [G],
        [0.99 - adam_first_step(0.1, 0.5), -1.98 - adam_first_step(0.1, -1.0)],
    ),
    # m = 0.1 g; u = max(0, |g|); w -= lr m / ((1 - 0.9) (u + eps))
    "adamax": (
        lambda: optimizers.Adamax(0.1),
        [G],
        [1 - 0.1 * 0.05 / (0.1 * (0.5 + EPS)), -2 + 0.1 * 0.1 / (0.1 * (1 + EPS))],
    ),
    "nadam": (
        lambda: optimizers.Nadam(0.1),
        [G],
        [1 - nadam_first_step(0.1, 0.5), -2 - nadam_first_step(0.1, -1.0)],
    ),
    # clipnorm: g = [0.5, -1] has norm sqrt(1.25); clipped to norm 0.5 -> g * 0.5 / sqrt(1.25)
    "sgd_clipnorm": (
        lambda: optimizers.SGD(1.0, clipnorm=0.5),
        [G],
        [1 - 0.5 * 0.5 / math.sqrt(1.25), -2 + 0.5 / math.sqrt(1.25)],
    ),
    # clipvalue: each element into [-0.25, 0.25]
    "sgd_clipvalue": (lambda: optimizers.SGD(1.0, clipvalue=0.25), [G], [0.75, -1.75]),
    # global_clipnorm with one variable equals clipnorm
    "sgd_global_clipnorm": (
        lambda: optimizers.SGD(1.0, global_clipnorm=0.5),
        [G],
        [1 - 0.5 * 0.5 / math.sqrt(1.25), -2 + 0.5 / math.sqrt(1.25)],
    ),
    # ExponentialDecay(0.1, 1, 0.5, staircase): lr 0.1 then 0.05
    "sgd_exponential_decay": (
        lambda: optimizers.SGD(schedules.ExponentialDecay(0.1, 1, 0.5, staircase=True)),
        [G, G],
        [1 - 0.15 * 0.5, -2 + 0.15],
    ),
    # PiecewiseConstantDecay([0], [0.1, 0.01]): iteration 0 -> 0.1, iteration 1 -> 0.01
    "sgd_piecewise": (
        lambda: optimizers.SGD(schedules.PiecewiseConstantDecay([0], [0.1, 0.01])),
        [G, G],
        [1 - 0.11 * 0.5, -2 + 0.11],
    ),
    # CosineDecay(0.1, 2): 0.1 at step 0, 0.1 * 0.5 * (1 + cos(pi / 2)) = 0.05 at step 1
    "sgd_cosine_decay": (
        lambda: optimizers.SGD(schedules.CosineDecay(0.1, 2)),
        [G, G],
        [1 - 0.15 * 0.5, -2 + 0.15],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_step_equals_the_hand_derived_keras_update(name):
    make, grads, expected = CASES[name]
    # float32 arithmetic: 1 - 0.999**2 loses a few digits to cancellation
    np.testing.assert_allclose(steps(make(), grads), expected, rtol=5e-6, atol=1e-7)


def test_the_defaults_are_keras_defaults():
    expected = {
        optimizers.SGD: {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
        optimizers.RMSprop: {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0},
        optimizers.Adagrad: {"learning_rate": 0.001, "initial_accumulator_value": 0.1},
        optimizers.Adadelta: {"learning_rate": 0.001, "rho": 0.95},
        optimizers.Adam: {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999},
        optimizers.AdamW: {"learning_rate": 0.001, "weight_decay": 0.004, "amsgrad": False},
        optimizers.Adamax: {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999},
        optimizers.Nadam: {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999},
    }
    for cls, defaults in expected.items():
        config = cls().get_config()
        for key, value in defaults.items():
            assert config[key] == pytest.approx(value), (cls.__name__, key)
        if "epsilon" in config:
            assert config["epsilon"] == 1e-7, cls.__name__
        assert config["clipnorm"] is None and config["clipvalue"] is None


# --- the compiled training step against the eager update ------------------------------------

#: Every optimizer option, each updating one Dense head inside one compiled training step.
COMPILED_CASES = {
    "sgd_momentum": lambda: optimizers.SGD(0.1, momentum=0.9),
    "sgd_nesterov": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda: optimizers.RMSprop(0.01),
    "rmsprop_centered": lambda: optimizers.RMSprop(0.01, centered=True),
    "rmsprop_momentum": lambda: optimizers.RMSprop(0.01, momentum=0.5),
    "rmsprop_centered_momentum": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "adadelta": lambda: optimizers.Adadelta(1.0),
    "adam": lambda: optimizers.Adam(0.1),
    "adam_amsgrad": lambda: optimizers.Adam(0.1, amsgrad=True),
    "adamw": lambda: optimizers.AdamW(0.1, weight_decay=0.1),
    "adamax": lambda: optimizers.Adamax(0.1),
    "nadam": lambda: optimizers.Nadam(0.1),
    "sgd_clipnorm": lambda: optimizers.SGD(0.1, clipnorm=0.2),
    "adam_clipvalue": lambda: optimizers.Adam(0.1, clipvalue=0.05),
    "rmsprop_global_clipnorm": lambda: optimizers.RMSprop(0.01, global_clipnorm=0.3),
    "sgd_exponential_decay": lambda: optimizers.SGD(
        schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    ),
    "adam_piecewise": lambda: optimizers.Adam(
        schedules.PiecewiseConstantDecay([0, 1], [0.1, 0.05, 0.01])
    ),
    "sgd_momentum_cosine_decay": lambda: optimizers.SGD(
        schedules.CosineDecay(0.1, decay_steps=3, alpha=0.1), momentum=0.5
    ),
}
COMPILED_STEPS = 3


def _tiny_batch() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x (4, 3), y (4, 2) and the heads' initial kernel and bias; gradient norms are well
    above the clipping thresholds."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    y = rng.normal(size=(4, 2)).astype(np.float32)
    kernel = rng.normal(size=(3, 2)).astype(np.float32)
    bias = np.array([0.5, -0.25], np.float32)
    return x, y, kernel, bias


def _mse_gradients(x, y, kernel, bias) -> tuple[np.ndarray, np.ndarray]:
    """d/d(kernel, bias) of mean((x @ kernel + bias - y) ** 2), in float64."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    d_pred = 2.0 * (x @ kernel + bias - y) / y.size
    return (x.T @ d_pred).astype(np.float32), d_pred.sum(axis=0).astype(np.float32)


@pytest.fixture(scope="module")
def compiled_bank():
    """One model with a Dense head per case, trained by `train_on_batch` with a custom step
    in which each case's optimizer updates its own head: all cases share one compiled step.
    Returns the weights and optimizer states after each step, per case."""
    import graphc
    from graphc.frontend import Model, layers
    from graphc.frontend.trainer import gradients

    names = sorted(COMPILED_CASES)

    class Bank(Model):
        def __init__(self):
            super().__init__(name="bank")
            self.heads = [layers.Dense(2, name=name) for name in names]
            for name in names:
                setattr(self, f"optimizer_{name}", COMPILED_CASES[name]())

        def call(self, inputs):
            return [head(inputs) for head in self.heads]

        def train_step(self, data):
            x, y = data
            total = None
            for name, head in zip(names, self.heads):
                loss = graphc.mean((head(x, training=True) - y) ** 2)
                variables = head.trainable_variables
                getattr(self, f"optimizer_{name}").apply(gradients(loss, variables), variables)
                total = loss if total is None else total + loss
            return {"loss": total}

    x, y, kernel, bias = _tiny_batch()
    model = Bank()
    model(x)  # build
    for head in model.heads:
        head.set_weights([kernel, bias])
    model.compile(optimizer="sgd")  # the step only uses the per-head optimizers
    history: dict[str, list] = {name: [] for name in names}
    for _ in range(COMPILED_STEPS):
        model.train_on_batch(x, y)
        for name, head in zip(names, model.heads):
            optimizer = getattr(model, f"optimizer_{name}")
            history[name].append((head.get_weights(), optimizer.variables, optimizer.iterations))
    return history


@pytest.mark.parametrize("name", sorted(COMPILED_CASES))
def test_compiled_step_equals_the_eager_update(compiled_bank, name):
    x, y, kernel, bias = _tiny_batch()
    optimizer = COMPILED_CASES[name]()
    w = Variable(kernel, name="kernel")
    b = Variable(bias, name="bias")
    for step, (weights, slots, iterations) in enumerate(compiled_bank[name], start=1):
        grads = _mse_gradients(x, y, w.numpy(), b.numpy())
        optimizer.apply_gradients(zip(grads, [w, b]))
        assert iterations == optimizer.iterations == step
        for got, expected in zip(weights, [w.numpy(), b.numpy()]):
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, err_msg=f"step {step}")
        assert len(slots) == len(optimizer.variables)
        for got, expected in zip(slots, optimizer.variables):
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, err_msg=f"step {step}")
    # the weights moved: the updates are not all zero
    assert not np.allclose(w.numpy(), kernel)
