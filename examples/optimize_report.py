"""What the optimization passes do to two autodiff graphs, pass by pass.

Builds the gradient (reverse mode) of a 3-layer MLP's cross-entropy loss and the Hessian of
f(x1, x2) = ln(x1) + x1 * x2 - sin(x2), runs `graphc.passes.optimize` at level 2 on each with
verification on, and prints a Markdown report: the per-pass table (nodes before and after,
time, memory plan), the optimized graph, and a check that the optimized graph computes the same
values as the original under the interpreter. docs/passes.md shows this script's output, and
tests/examples/test_optimize_report.py checks that it still does (times aside).

Run: python examples/optimize_report.py [--batch 32] [--update-doc]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import graphc
from graphc.passes import optimize

LAYERS = [(784, 128), (128, 64), (64, 10)]
DOC = Path(__file__).resolve().parents[1] / "docs" / "passes.md"
#: The first line of the generated part of docs/passes.md; it runs to the next "## " heading.
FIRST_HEADING = "### Gradient of a 3-layer MLP's loss"


def mlp_loss_gradient() -> graphc.Graph:
    """d loss / d (W1, b1, W2, b2, W3, b3) for softmax cross-entropy over a batch."""
    x = graphc.placeholder((None, LAYERS[0][0]), name="x")
    labels = graphc.placeholder((None, LAYERS[-1][1]), name="labels")
    params = []
    h = x
    for i, (n_in, n_out) in enumerate(LAYERS, start=1):
        w = graphc.placeholder((n_in, n_out), name=f"W{i}")
        b = graphc.placeholder((n_out,), name=f"b{i}")
        params += [w, b]
        h = h @ w + b
        if i < len(LAYERS):
            h = graphc.relu(h)
    loss = -graphc.mean(graphc.sum(labels * graphc.log_softmax(h), axis=1))
    model = graphc.Graph([x, labels, *params], loss, name="mlp_loss")
    return graphc.grad(model, wrt=[p.name for p in params])


def scalar_hessian() -> graphc.Graph:
    x1, x2 = graphc.scalars("x1 x2")
    f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2), name="f")
    return graphc.hessian(f)


def random_arguments(graph: graphc.Graph, batch: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.uniform(0.5, 2.0, t.concrete_shape(batch)).astype(t.dtype) for t in graph.input_types
    ]


def max_difference(a: graphc.Graph, b: graphc.Graph, args: list[np.ndarray]) -> float:
    ra, rb = a(*args), b(*args)
    pairs = zip(ra, rb) if isinstance(ra, list) else [(ra, rb)]
    return max(float(np.max(np.abs(x - y), initial=0.0)) for x, y in pairs)


def report(title: str, graph: graphc.Graph, batch: int, show_level_1: bool = False) -> str:
    """The Markdown section for one graph; `show_level_1` adds the (unfused) level 1 graph."""
    optimized, stats = optimize(graph, level=2, stats=True, verify=True, batch_size=batch)
    fast = optimize(graph, level=2, fast_math=True)
    args = random_arguments(graph, batch)
    lines = [
        f"### {title}",
        "",
        f"`optimize(graph, level=2, stats=True, verify=True, batch_size={batch})`:",
        "",
        "```text",
        str(stats),
        "```",
        "",
        f"Nodes: {len(graph)} before, {len(optimized)} after (with `fast_math=True`: "
        f"{len(fast)}). Largest difference from the unoptimized graph on random inputs: "
        f"{max_difference(graph, optimized, args):.3g} (fast_math: "
        f"{max_difference(graph, fast, args):.3g}).",
        "",
    ]
    shown = [("At level 1 (before fusion):", optimize(graph, 1))] if show_level_1 else []
    for caption, result in [*shown, ("At level 2:", optimized)]:
        lines += [caption, "", "```text", result.dump(), "```", ""]
    return "\n".join(lines)


def full_report(batch: int = 32) -> str:
    """Both sections, as docs/passes.md shows them."""
    return "\n".join(
        [
            report(FIRST_HEADING.removeprefix("### "), mlp_loss_gradient(), batch),
            report("Hessian of ln(x1) + x1*x2 - sin(x2)", scalar_hessian(), batch, True),
        ]
    )


def doc_span(doc: str) -> tuple[int, int]:
    """Where the generated report sits in the text of docs/passes.md: from its first heading
    to the next level-2 heading, or to the end."""
    start = doc.index(FIRST_HEADING)
    end = doc.find("\n## ", start)
    return start, len(doc) if end < 0 else end + 1


def update_doc(batch: int = 32, path: Path = DOC) -> None:
    """Write a fresh report into docs/passes.md in place of the old one."""
    doc = path.read_text()
    start, end = doc_span(doc)
    tail = "\n" if end < len(doc) else ""
    path.write_text(doc[:start] + full_report(batch) + tail + doc[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="batch size for memory sizes")
    parser.add_argument(
        "--update-doc", action="store_true", help=f"rewrite the report in {DOC.name} instead"
    )
    args = parser.parse_args()
    if args.update_doc:
        update_doc(args.batch)
        print(f"updated {DOC}")
    else:
        print(full_report(args.batch))


if __name__ == "__main__":
    main()
