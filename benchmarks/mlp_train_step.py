"""mlp_train_step: one Adam step of the MLP on sparse categorical cross-entropy, batch 128.

A step is the forward pass, the gradient of the mean loss with respect to the six weight
arrays, and the Adam update (the paper's form: m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t),
p -= lr * m_hat / (sqrt(v_hat) + eps)); the updated weights and moments are fed to the next
step. graphc builds the step from graph ops (`graphc.grad` plus the update written with
graphc ops) and compiles it into one native call; JAX `jit`s the same function (with the
state buffers donated); PyTorch runs `loss.backward()` and `torch.optim.Adam` eagerly; numpy
runs a hand-written backward pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import graphc
from benchmarks import models
from benchmarks.harness import Section, Settings, Target, check_close, measure

NAME = "mlp_train_step"
TITLE = "MLP 784-512-256-10 training step (sparse cross-entropy, Adam), batch 128, float32"
PEERS = ("numpy", "torch", "jax")
LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-7
TARGET = 1.0


# --- graphc ------------------------------------------------------------------------------------


def graphc_step(weights: models.MLPWeights) -> graphc.Graph:
    """(x, labels, 6 params, 6 m, 6 v, t) -> (loss, 6 new params, 6 new m, 6 new v)."""
    x = graphc.placeholder((None, 784), name="x")
    y = graphc.placeholder((None,), "int32", name="labels")
    shapes = [p.shape for p in weights.params]
    params = [graphc.placeholder(s, name=f"param{i}") for i, s in enumerate(shapes)]
    ms = [graphc.placeholder(s, name=f"m{i}") for i, s in enumerate(shapes)]
    vs = [graphc.placeholder(s, name=f"v{i}") for i, s in enumerate(shapes)]
    t = graphc.placeholder((), name="t")

    def loss_of(x: graphc.Value, y: graphc.Value, *params: graphc.Value) -> graphc.Value:
        log_probs = graphc.log_softmax(models.graphc_mlp_logits(x, list(params)))
        return -graphc.mean(graphc.sum(graphc.one_hot(y, 10) * log_probs, axis=1))

    loss_graph = graphc.Graph([x, y, *params], loss_of(x, y, *params), name="loss")
    gradient = graphc.grad(loss_graph, wrt=list(range(2, 8)))
    grads = gradient.to_values([x, y, *params])
    m_scale = 1.0 / (1.0 - graphc.exp(t * math.log(B1)))
    v_scale = 1.0 / (1.0 - graphc.exp(t * math.log(B2)))
    new_params, new_ms, new_vs = [], [], []
    for p, m, v, g in zip(params, ms, vs, grads):
        m = B1 * m + (1.0 - B1) * g
        v = B2 * v + (1.0 - B2) * (g * g)
        new_params.append(p - LR * (m * m_scale) / (graphc.sqrt(v * v_scale) + EPS))
        new_ms.append(m)
        new_vs.append(v)
    loss = loss_of(x, y, *params)
    outputs = [loss, *new_params, *new_ms, *new_vs]
    return graphc.Graph([x, y, *params, *ms, *vs, t], outputs, name="train_step")


class GraphcTrainer:
    """Runs the compiled step, feeding each step's outputs to the next."""

    def __init__(self, compiled: Any, weights: models.MLPWeights):
        self.compiled = compiled
        self.params = [p.copy() for p in weights.params]
        self.ms = [np.zeros_like(p) for p in self.params]
        self.vs = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        self.t += 1
        out = self.compiled(x, y, *self.params, *self.ms, *self.vs, np.float32(self.t))
        self.params, self.ms, self.vs = out[1:7], out[7:13], out[13:19]
        return float(out[0])


# --- numpy -------------------------------------------------------------------------------------


class NumpyTrainer:
    """The same step with a hand-written backward pass."""

    def __init__(self, weights: models.MLPWeights):
        self.params = [p.copy() for p in weights.params]
        self.ms = [np.zeros_like(p) for p in self.params]
        self.vs = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        w1, b1, w2, b2, w3, b3 = self.params
        h1 = np.maximum(x @ w1 + b1, 0.0)
        h2 = np.maximum(h1 @ w2 + b2, 0.0)
        z = h2 @ w3 + b3
        shifted = z - z.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(len(y))
        loss = -float(log_probs[rows, y].mean())
        dz = np.exp(log_probs)
        dz[rows, y] -= 1.0
        dz /= len(y)
        dh2 = (dz @ w3.T) * (h2 > 0)
        dh1 = (dh2 @ w2.T) * (h1 > 0)
        grads = [x.T @ dh1, dh1.sum(0), h1.T @ dh2, dh2.sum(0), h2.T @ dz, dz.sum(0)]
        return loss, grads

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        self.t += 1
        loss, grads = self.gradients(x, y)
        c1, c2 = 1.0 / (1.0 - B1**self.t), 1.0 / (1.0 - B2**self.t)
        for p, m, v, g in zip(self.params, self.ms, self.vs, grads):
            m *= B1
            m += (1.0 - B1) * g
            v *= B2
            v += (1.0 - B2) * (g * g)
            p -= LR * (m * c1) / (np.sqrt(v * c2) + EPS)
        return loss


# --- JAX and PyTorch ---------------------------------------------------------------------------


def jax_trainer(jax: Any, weights: models.MLPWeights, x: np.ndarray, y: np.ndarray) -> Any:
    """A zero-argument step function with the state kept between calls (`.params()`)."""
    jnp = jax.numpy

    def loss_fn(params: list[Any], x: Any, y: Any) -> Any:
        log_probs = jax.nn.log_softmax(models.jax_mlp_logits(jnp, params, x))
        return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1))

    def step(params: list[Any], ms: list[Any], vs: list[Any], t: Any, x: Any, y: Any) -> Any:
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        ms = [B1 * m + (1.0 - B1) * g for m, g in zip(ms, grads)]
        vs = [B2 * v + (1.0 - B2) * g * g for v, g in zip(vs, grads)]
        c1, c2 = 1.0 / (1.0 - B1**t), 1.0 / (1.0 - B2**t)
        params = [p - LR * (m * c1) / (jnp.sqrt(v * c2) + EPS) for p, m, v in zip(params, ms, vs)]
        return loss, params, ms, vs

    jitted = jax.jit(step, donate_argnums=(0, 1, 2))
    state = {
        "params": [jnp.array(p) for p in weights.params],
        "ms": [jnp.zeros(p.shape, jnp.float32) for p in weights.params],
        "vs": [jnp.zeros(p.shape, jnp.float32) for p in weights.params],
        "t": 0,
    }
    device_x, device_y = jax.device_put(x), jax.device_put(y)

    def run() -> float:
        state["t"] += 1
        t = jnp.float32(state["t"])
        loss, state["params"], state["ms"], state["vs"] = jitted(
            state["params"], state["ms"], state["vs"], t, device_x, device_y
        )
        return loss.block_until_ready()

    run.params = lambda: [np.asarray(p) for p in state["params"]]  # type: ignore[attr-defined]
    return run


def torch_trainer(torch: Any, weights: models.MLPWeights, x: np.ndarray, y: np.ndarray) -> Any:
    params = [torch.tensor(p, requires_grad=True) for p in weights.params]
    optimizer = torch.optim.Adam(params, lr=LR, betas=(B1, B2), eps=EPS)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    functional = torch.nn.functional

    def run() -> float:
        optimizer.zero_grad(set_to_none=True)
        h = functional.relu(torch.addmm(params[1], tx, params[0]))
        h = functional.relu(torch.addmm(params[3], h, params[2]))
        loss = functional.cross_entropy(torch.addmm(params[5], h, params[4]), ty)
        loss.backward()
        optimizer.step()
        return loss.item()

    run.params = lambda: [p.detach().numpy().copy() for p in params]  # type: ignore[attr-defined]
    return run


def run(settings: Settings) -> Section:
    section = Section(NAME, TITLE)
    weights = models.mlp_weights()
    batch = 16 if settings.quick else 128
    case = f"batch {batch}"
    x, y = models.flat_inputs(batch), models.labels(batch)
    compiled = graphc.compile(graphc_step(weights), threads=settings.threads)
    trainers: dict[str, Callable[[], Any]] = {}
    check = NumpyTrainer(weights)
    first_loss = check.step(x, y)
    graphc_trainer = GraphcTrainer(compiled, weights)
    trainers["graphc"] = lambda: graphc_trainer.step(x, y)
    if settings.peers.get("numpy") is not None:
        numpy_trainer = NumpyTrainer(weights)
        trainers["numpy"] = lambda: numpy_trainer.step(x, y)
    jax = settings.peers.get("jax")
    if jax is not None:
        trainers["jax"] = jax_trainer(jax, weights, x, y)
    torch = settings.peers.get("torch")
    if torch is not None:
        trainers["torch"] = torch_trainer(torch, weights, x, y)
    for name, step in trainers.items():
        check_close(f"{NAME} {name} loss", float(step()), np.float64(first_loss), rtol=1e-4)
    check_close(f"{NAME} graphc update", graphc_trainer.params[0], check.params[0], rtol=1e-4)
    for name, seconds in measure(trainers, settings).items():
        section.add(case, name, "graphc" if name == "graphc" else "peer", seconds)
    for peer in PEERS:
        if peer not in trainers:
            section.skip(case, peer, settings)
    jax_seconds, mine = section.seconds(case, "jax"), section.seconds(case, "graphc")
    section.targets.append(
        Target(
            f"{case}: graphc / JAX jit <= {TARGET}",
            mine / jax_seconds if jax_seconds and mine else None,
            TARGET,
        )
    )
    return section
