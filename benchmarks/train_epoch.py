"""Epoch time of `model.fit`: graphc against Keras 3 (JAX backend) and PyTorch.

The workload of the issue (`--model mlp`, the default): MLP 784-128(relu)-Dropout(0.2)-
10(softmax) on 60000 synthetic MNIST-shaped samples, batch 32 (1875 steps per epoch),
Adam(1e-3), sparse categorical cross-entropy of the softmax probabilities, with accuracy
tracked — the same model, data, batch order policy (reshuffled every epoch) and per-step work
in every framework. `--model cnn` trains conv3x3(32)-maxpool2-conv3x3(64)-maxpool2-dense(10)
on 28x28x1 images the same way.

- graphc: `model.fit(...)`, one compiled native function per training step (on every core,
  as its models run by default);
- Keras 3 on JAX: `model.fit(...)` (XLA-compiled train step, every core);
- PyTorch: the idiomatic eager loop (zero_grad, forward, loss, backward, Adam step), with the
  loss computed as Keras does from probabilities (clipped log, negative log-likelihood) and
  the loss and accuracy accumulated per batch as `fit` does, subnormals flushed to zero; the
  MLP on one thread, its fastest setting here (on 2 shared cores, two threads mostly wait for
  each other, and Adam's decaying momentum slots turn subnormal after a few hundred steps),
  the CNN on every core, NCHW.

Each framework runs in its own subprocess. The first epoch includes compilation (graphc,
Keras) and is reported separately; the epoch time is the median of the following epochs.
Peers that are not installed are skipped with a note (Keras needs `keras>=3` and `jax`).

Run: python benchmarks/train_epoch.py [--model mlp|cnn] [--epochs 4] [--samples 60000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH = 32
FEATURES, HIDDEN, CLASSES = 784, 128, 10
IMAGE = (28, 28, 1)
EPSILON = 1e-7  # Keras' backend epsilon

#: The workloads: the issue's MLP, and a small CNN (Keras' MNIST convnet example without dropout).
TITLES = {
    "mlp": f"MLP {FEATURES}-{HIDDEN}-Dropout(0.2)-{CLASSES}",
    "cnn": "CNN conv3x3(32)-maxpool2-conv3x3(64)-maxpool2-dense(10) on 28x28x1",
}


def make_data(model: str, samples: int):
    import numpy as np

    rng = np.random.default_rng(0)
    shape = (FEATURES,) if model == "mlp" else IMAGE
    x = rng.random((samples, *shape), dtype=np.float32)
    y = rng.integers(0, CLASSES, samples).astype(np.int64)
    return x, y


def keras_layers(layers, model: str) -> list:
    """The model's layers in a Keras-compatible API (graphc's frontend or Keras itself)."""
    if model == "mlp":
        return [
            layers.Input((FEATURES,)),
            layers.Dense(HIDDEN, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    return [
        layers.Input(IMAGE),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(CLASSES, activation="softmax"),
    ]


def run_graphc(model: str, epochs: int, samples: int) -> list[float]:
    from graphc.frontend import Sequential, layers, losses, optimizers, utils

    utils.set_random_seed(0)
    x, y = make_data(model, samples)
    net = Sequential(keras_layers(layers, model))
    net.compile(
        optimizer=optimizers.Adam(1e-3),
        loss=losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return [_timed(lambda: net.fit(x, y, batch_size=BATCH, verbose=0)) for _ in range(epochs)]


def run_keras(model: str, epochs: int, samples: int) -> list[float]:
    os.environ["KERAS_BACKEND"] = "jax"
    import keras

    keras.utils.set_random_seed(0)
    x, y = make_data(model, samples)
    net = keras.Sequential(keras_layers(keras.layers, model))
    net.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return [_timed(lambda: net.fit(x, y, batch_size=BATCH, verbose=0)) for _ in range(epochs)]


def torch_model(torch, model: str):
    nn = torch.nn
    if model == "mlp":
        return nn.Sequential(
            nn.Linear(FEATURES, HIDDEN),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(HIDDEN, CLASSES),
            nn.Softmax(dim=1),
        )
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, CLASSES),
        nn.Softmax(dim=1),
    )


def run_torch(model: str, epochs: int, samples: int) -> list[float]:
    import torch

    torch.manual_seed(0)
    # the MLP's steps are too small to share: one thread, as graphc's step; the CNN's use them
    torch.set_num_threads(1 if model == "mlp" else os.cpu_count() or 1)
    torch.set_flush_denormal(True)  # as XLA and graphc's compiled step
    x_np, y_np = make_data(model, samples)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    if model == "cnn":
        x = x.permute(0, 3, 1, 2).contiguous()  # NCHW, PyTorch's layout
    net = torch_model(torch, model)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def loss_fn(probabilities, labels):
        # Keras' sparse cross-entropy from probabilities: clip to [eps, 1 - eps], then log.
        clipped = probabilities.clamp(EPSILON, 1 - EPSILON)
        return torch.nn.functional.nll_loss(torch.log(clipped), labels)

    def epoch() -> None:
        net.train()
        order = torch.randperm(samples)
        total_loss, correct = torch.zeros(()), torch.zeros(())
        for start in range(0, samples, BATCH):
            index = order[start : start + BATCH]
            xb, yb = x[index], y[index]
            optimizer.zero_grad()
            probabilities = net(xb)
            loss = loss_fn(probabilities, yb)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                total_loss += loss.detach() * len(yb)
                correct += (probabilities.argmax(1) == yb).sum()
        float(total_loss / samples), float(correct / samples)

    return [_timed(epoch) for _ in range(epochs)]


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


RUNNERS = {"graphc": run_graphc, "keras": run_keras, "torch": run_torch}
LABELS = {"graphc": "graphc (compiled step)", "keras": "Keras 3 (JAX)", "torch": "PyTorch"}
REQUIRES = {"graphc": ["graphc"], "keras": ["keras", "jax"], "torch": ["torch"]}


def _version(name: str) -> str:
    module = __import__(name)
    return getattr(module, "__version__", "?")


def child(name: str, model: str, epochs: int, samples: int) -> None:
    """Run one framework and print its epoch times as JSON on the last line."""
    times = RUNNERS[name](model, epochs, samples)
    versions = {module: _version(module) for module in REQUIRES[name]}
    print(json.dumps({"times": times, "versions": versions}))


def missing(name: str) -> list[str]:
    import importlib.util

    return [m for m in REQUIRES[name] if importlib.util.find_spec(m) is None]


def measure(name: str, model: str, epochs: int, samples: int) -> dict | str:
    """Epoch times from a subprocess, or the reason the peer was skipped."""
    absent = missing(name)
    if absent:
        return f"skipped: {', '.join(absent)} not installed"
    command = [sys.executable, __file__, "--child", name, "--model", model]
    command += ["--epochs", str(epochs), "--samples", str(samples)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed: {last}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: dict[str, dict | str], model: str, epochs: int, samples: int) -> None:
    steps = -(-samples // BATCH)
    print(
        f"{TITLES[model]}, {samples} samples, batch {BATCH} "
        f"({steps} steps/epoch), Adam, sparse CE + accuracy, {epochs} epochs, "
        f"{os.cpu_count()} CPU cores"
    )
    header = f"{'framework':<26}{'first epoch':>13}{'epoch (median)':>16}{'best':>9}"
    print(header + f"{'per step':>11}{'time vs graphc':>16}")
    print("-" * (len(header) + 27))
    reference = results.get("graphc")
    base = statistics.median(reference["times"][1:]) if isinstance(reference, dict) else None
    notes = []
    for name, result in results.items():
        if isinstance(result, str):
            print(f"{LABELS[name]:<26}{result}")
            continue
        times = result["times"]
        steady = times[1:] or times
        median = statistics.median(steady)
        speedup = f"{median / base:.2f}x" if base else "-"
        print(
            f"{LABELS[name]:<26}{times[0]:>12.2f}s{median:>15.2f}s{min(steady):>8.2f}s"
            f"{median / steps * 1e6:>9.0f}us{speedup:>16}"
        )
        notes.append(", ".join(f"{m} {v}" for m, v in result["versions"].items()))
    print("versions: " + "; ".join(notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per framework (>= 2)")
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--model", choices=sorted(TITLES), default="mlp")
    parser.add_argument("--only", choices=sorted(RUNNERS), action="append")
    parser.add_argument("--child", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.model, args.epochs, args.samples)
        return
    names = args.only or list(RUNNERS)
    epochs = max(args.epochs, 2)
    results = {name: measure(name, args.model, epochs, args.samples) for name in names}
    report(results, args.model, epochs, args.samples)


if __name__ == "__main__":
    main()
