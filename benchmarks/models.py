"""The benchmark models, written once per library: the MLP and the CNN, with fixed weights.

Every implementation of a model computes the same function on the same float32 weights, so
the benchmarks check that the results agree (`harness.run_case`) before timing anything.

- MLP 784-512-256-10: relu, relu, softmax.
- CNN on 28x28x1: conv3x3(32, valid)-relu-maxpool2-conv3x3(64, valid)-relu-maxpool2-flatten
  -dense(10) (logits, no softmax). Images are NHWC; PyTorch, whose convolutions are NCHW,
  gets the same images transposed and the kernels as OIHW.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import graphc

MLP_SIZES = (784, 512, 256, 10)
CNN_CLASSES = 10


@dataclass(frozen=True)
class MLPWeights:
    """Weights (in, out) and biases of the three dense layers."""

    kernels: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    @property
    def params(self) -> list[np.ndarray]:
        """W1, b1, W2, b2, W3, b3."""
        return [p for pair in zip(self.kernels, self.biases) for p in pair]


def mlp_weights(seed: int = 0) -> MLPWeights:
    """He-initialized float32 weights and small random biases."""
    rng = np.random.default_rng(seed)
    kernels, biases = [], []
    for fan_in, fan_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
        scale = math.sqrt(2.0 / fan_in)
        kernels.append((rng.standard_normal((fan_in, fan_out)) * scale).astype(np.float32))
        biases.append((rng.standard_normal(fan_out) * 0.01).astype(np.float32))
    return MLPWeights(tuple(kernels), tuple(biases))


@dataclass(frozen=True)
class CNNWeights:
    """HWIO kernels and biases of the two convolutions, and the dense layer."""

    conv1: np.ndarray
    bias1: np.ndarray
    conv2: np.ndarray
    bias2: np.ndarray
    dense: np.ndarray
    bias3: np.ndarray


def cnn_weights(seed: int = 0) -> CNNWeights:
    rng = np.random.default_rng(seed)

    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)

    def bias(n: int) -> np.ndarray:
        return (rng.standard_normal(n) * 0.01).astype(np.float32)

    return CNNWeights(
        he((3, 3, 1, 32), 9),
        bias(32),
        he((3, 3, 32, 64), 288),
        bias(64),
        he((5 * 5 * 64, CNN_CLASSES), 1600),
        bias(CNN_CLASSES),
    )


def mnist_like(batch: int, seed: int = 1) -> np.ndarray:
    """Random images shaped like MNIST (NHWC, float32 in [0, 1))."""
    return np.random.default_rng(seed).random((batch, 28, 28, 1), dtype=np.float32)


def flat_inputs(batch: int, seed: int = 1) -> np.ndarray:
    return mnist_like(batch, seed).reshape(batch, 784)


def labels(batch: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 10, batch).astype(np.int32)


# --- graphc ------------------------------------------------------------------------------------


def graphc_mlp_logits(x: graphc.Value, params: list[Any]) -> graphc.Value:
    """The MLP's logits with graphc ops; `params` are Values or arrays (W1, b1, ..., b3)."""
    h = x
    for layer in range(3):
        h = h @ params[2 * layer] + params[2 * layer + 1]
        if layer < 2:
            h = graphc.relu(h)
    return h


def graphc_mlp(weights: MLPWeights) -> graphc.Graph:
    """The inference graph: weights are constants, the batch is symbolic."""
    x = graphc.placeholder((None, 784), name="x")
    params = [graphc.constant(p) for p in weights.params]
    return graphc.Graph([x], graphc.softmax(graphc_mlp_logits(x, params)), name="mlp")


def graphc_cnn(weights: CNNWeights) -> graphc.Graph:
    x = graphc.placeholder((None, 28, 28, 1), name="images")
    h = graphc.conv2d(x, graphc.constant(weights.conv1)) + graphc.constant(weights.bias1)
    h = graphc.max_pool2d(graphc.relu(h), 2)
    h = graphc.conv2d(h, graphc.constant(weights.conv2)) + graphc.constant(weights.bias2)
    h = graphc.max_pool2d(graphc.relu(h), 2)
    h = graphc.reshape(h, (None, 5 * 5 * 64))
    logits = h @ graphc.constant(weights.dense) + graphc.constant(weights.bias3)
    return graphc.Graph([x], logits, name="cnn")


# --- numpy -------------------------------------------------------------------------------------


def numpy_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_mlp(weights: MLPWeights, x: np.ndarray) -> np.ndarray:
    (w1, w2, w3), (b1, b2, b3) = weights.kernels, weights.biases
    h = np.maximum(x @ w1 + b1, 0.0)
    h = np.maximum(h @ w2 + b2, 0.0)
    return numpy_softmax(h @ w3 + b3)


def _numpy_conv_valid(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """NHWC x HWIO, stride 1, no padding, as one matmul over the im2col patches."""
    kh, kw, cin, cout = kernel.shape
    patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    n, oh, ow = patches.shape[:3]  # patches: (n, oh, ow, cin, kh, kw)
    columns = patches.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * cin)
    return (columns @ kernel.reshape(kh * kw * cin, cout)).reshape(n, oh, ow, cout)


def _numpy_maxpool2(x: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    return x[:, : 2 * h2, : 2 * w2].reshape(n, h2, 2, w2, 2, c).max(axis=(2, 4))


def numpy_cnn(weights: CNNWeights, x: np.ndarray) -> np.ndarray:
    h = _numpy_maxpool2(np.maximum(_numpy_conv_valid(x, weights.conv1) + weights.bias1, 0.0))
    h = _numpy_maxpool2(np.maximum(_numpy_conv_valid(h, weights.conv2) + weights.bias2, 0.0))
    return h.reshape(len(x), -1) @ weights.dense + weights.bias3


# --- PyTorch -----------------------------------------------------------------------------------


def torch_mlp(torch: Any, weights: MLPWeights) -> Any:
    """A no-grad eager forward function on torch tensors."""
    ws = [torch.from_numpy(w) for w in weights.kernels]
    bs = [torch.from_numpy(b) for b in weights.biases]
    functional = torch.nn.functional

    def forward(x: Any) -> Any:
        with torch.inference_mode():
            h = functional.relu(torch.addmm(bs[0], x, ws[0]))
            h = functional.relu(torch.addmm(bs[1], h, ws[1]))
            return torch.softmax(torch.addmm(bs[2], h, ws[2]), dim=1)

    return forward


def torch_cnn(torch: Any, weights: CNNWeights) -> Any:
    """Eager forward on NCHW tensors; the dense kernel's rows follow graphc's NHWC flattening."""
    functional = torch.nn.functional

    def oihw(kernel: np.ndarray) -> Any:
        return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))

    k1, k2 = oihw(weights.conv1), oihw(weights.conv2)
    b1, b2 = torch.from_numpy(weights.bias1), torch.from_numpy(weights.bias2)
    # graphc flattens (h, w, c); NCHW flattens (c, h, w): permute the dense rows to match.
    dense = weights.dense.reshape(5, 5, 64, CNN_CLASSES).transpose(2, 0, 1, 3)
    w3 = torch.from_numpy(np.ascontiguousarray(dense.reshape(1600, CNN_CLASSES)))
    b3 = torch.from_numpy(weights.bias3)

    def forward(x: Any) -> Any:
        with torch.inference_mode():
            h = functional.max_pool2d(functional.relu(functional.conv2d(x, k1, b1)), 2)
            h = functional.max_pool2d(functional.relu(functional.conv2d(h, k2, b2)), 2)
            return torch.addmm(b3, h.flatten(1), w3)

    return forward


# --- JAX ---------------------------------------------------------------------------------------


def jax_mlp_logits(jnp: Any, params: list[Any], x: Any) -> Any:
    h = x
    for layer in range(3):
        h = h @ params[2 * layer] + params[2 * layer + 1]
        if layer < 2:
            h = jnp.maximum(h, 0.0)
    return h


def jax_mlp(jax: Any, weights: MLPWeights) -> Any:
    """A jitted forward function closing over device-resident weights."""
    params = [jax.device_put(p) for p in weights.params]

    @jax.jit
    def forward(x: Any) -> Any:
        return jax.nn.softmax(jax_mlp_logits(jax.numpy, params, x), axis=1)

    return forward


def jax_cnn(jax: Any, weights: CNNWeights) -> Any:
    lax = jax.lax
    k1, b1 = jax.device_put(weights.conv1), jax.device_put(weights.bias1)
    k2, b2 = jax.device_put(weights.conv2), jax.device_put(weights.bias2)
    w3, b3 = jax.device_put(weights.dense), jax.device_put(weights.bias3)
    dims = ("NHWC", "HWIO", "NHWC")

    def pool(h: Any) -> Any:
        return lax.reduce_window(h, -jax.numpy.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    @jax.jit
    def forward(x: Any) -> Any:
        h = lax.conv_general_dilated(x, k1, (1, 1), "VALID", dimension_numbers=dims) + b1
        h = pool(jax.numpy.maximum(h, 0.0))
        h = lax.conv_general_dilated(h, k2, (1, 1), "VALID", dimension_numbers=dims) + b2
        h = pool(jax.numpy.maximum(h, 0.0))
        return h.reshape(h.shape[0], -1) @ w3 + b3

    return forward


# --- ONNX Runtime ------------------------------------------------------------------------------


def onnx_mlp_session(onnx: Any, ort: Any, weights: MLPWeights, threads: int) -> Any:
    """An InferenceSession of the MLP, built as an ONNX graph with `onnx.helper`."""
    helper, TensorProto = onnx.helper, onnx.TensorProto
    initializers, nodes = [], []
    previous = "x"
    for layer, (w, b) in enumerate(zip(weights.kernels, weights.biases)):
        initializers.append(onnx.numpy_helper.from_array(w, f"w{layer}"))
        initializers.append(onnx.numpy_helper.from_array(b, f"b{layer}"))
        nodes.append(helper.make_node("MatMul", [previous, f"w{layer}"], [f"m{layer}"]))
        nodes.append(helper.make_node("Add", [f"m{layer}", f"b{layer}"], [f"a{layer}"]))
        previous = f"a{layer}"
        if layer < 2:
            nodes.append(helper.make_node("Relu", [previous], [f"r{layer}"]))
            previous = f"r{layer}"
    nodes.append(helper.make_node("Softmax", [previous], ["y"], axis=1))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 784])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
