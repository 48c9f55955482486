"""The functional API with two inputs, a residual connection and two outputs.

In the spirit of the Keras functional API guide's ticket-ranking model: each support ticket
has numeric `features` (32 values) and binary `tags` (12 flags); the model predicts its
`priority` (urgent or not, a sigmoid) and its `department` (one of 3, a softmax). The features
pass a residual block (Dense + Add with a projection of the input), are concatenated with the
tags, and feed both heads. Shows:

- a model with several inputs and outputs and a layer graph that branches and merges (the
  summary's "Connected to" column);
- `compile` with one loss per output, given as dicts keyed by output name, and `loss_weights`;
- `fit`, `evaluate` and `predict` on dicts keyed by input name (and per-output targets);
- the per-output losses and metrics Keras logs (`priority_loss`, `department_accuracy`, ...).

The data is generated: the priority depends on the features and tags, the department on the
features alone, so both heads can learn their task.

Run: python examples/functional_multi_io.py           (10 epochs, a few seconds)
     GRAPHC_EXAMPLES_QUICK=1 python examples/functional_multi_io.py   (small data, 1 epoch)
"""

from __future__ import annotations

import os

import numpy as np

from graphc.frontend import Input, Model, layers, utils

FEATURES, TAGS, DEPARTMENTS = 32, 12, 3


def make_tickets(samples: int, seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Inputs and targets, keyed by the model's input and output names.

    >>> x, y = make_tickets(5, seed=0)
    >>> {k: v.shape for k, v in x.items()}, {k: v.shape for k, v in y.items()}
    ({'features': (5, 32), 'tags': (5, 12)}, {'priority': (5, 1), 'department': (5,)})
    """
    truth = np.random.default_rng(0)  # the hidden rules are the same for every split
    priority_w, priority_v = truth.normal(size=FEATURES), truth.normal(size=TAGS)
    department_w = truth.normal(size=(FEATURES, DEPARTMENTS))
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(samples, FEATURES)).astype(np.float32)
    tags = (rng.random((samples, TAGS)) < 0.3).astype(np.float32)
    urgency = np.tanh(features @ priority_w / 4) + tags @ priority_v - 0.3 * tags.sum(axis=1)
    priority = (urgency > np.median(urgency)).astype(np.float32)[:, None]
    department = np.argmax(features @ department_w, axis=1).astype(np.int32)
    return {"features": features, "tags": tags}, {"priority": priority, "department": department}


def build_model() -> Model:
    """Two inputs, a residual block on the features, two named outputs."""
    features = Input((FEATURES,), name="features")
    tags = Input((TAGS,), name="tags")
    x = layers.Dense(64, activation="relu", name="embed")(features)
    h = layers.Dense(64, activation="relu", name="block")(x)
    x = layers.Add(name="residual")([x, h])  # the residual connection: x + block(x)
    x = layers.Concatenate(name="merge")([x, tags])
    priority = layers.Dense(1, activation="sigmoid", name="priority")(x)
    department = layers.Dense(DEPARTMENTS, activation="softmax", name="department")(x)
    return Model(inputs=[features, tags], outputs=[priority, department], name="ticket_classifier")


def main(quick: bool | None = None) -> dict[str, float]:
    """Train both heads; return the test metrics as `evaluate(..., return_dict=True)` does."""
    if quick is None:
        quick = os.environ.get("GRAPHC_EXAMPLES_QUICK", "") not in ("", "0")
    utils.set_random_seed(0)
    x_train, y_train = make_tickets(400 if quick else 4000, seed=1)
    x_test, y_test = make_tickets(200 if quick else 1000, seed=2)

    model = build_model()
    model.summary()
    model.compile(
        optimizer="adam",
        loss={"priority": "binary_crossentropy", "department": "sparse_categorical_crossentropy"},
        loss_weights={"priority": 1.0, "department": 0.5},
        metrics={"priority": ["accuracy"], "department": ["accuracy"]},
    )
    history = model.fit(x_train, y_train, epochs=1 if quick else 10, batch_size=32, verbose=2)
    print("logged per epoch:", sorted(history.history))
    results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print("test:", ", ".join(f"{name} {value:.4f}" for name, value in results.items()))

    inputs = {name: array[:4] for name, array in x_test.items()}
    priority, department = model.predict(inputs, verbose=0)
    print("predict on a dict of 4 tickets:")
    print(f"  priority   {_numbers(priority[:, 0])}  true {y_test['priority'][:4, 0].astype(int)}")
    print(f"  department {department.argmax(axis=1)}  true {y_test['department'][:4]}")
    return results


def _numbers(values: np.ndarray) -> str:
    return "[" + " ".join(f"{v:.3f}" for v in values) + "]"


if __name__ == "__main__":
    main()
