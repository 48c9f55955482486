"""compile_time: seconds from a model definition to a callable, for the MLP and the CNN.

graphc: build the graph (weights as constants) and `graphc.compile` it with the disk cache
off (a cold compile; the warm row reads the object code from the cache instead). graphc
compiles its GEMM micro-kernels once per process (`graphc.backend.ukernels`), so the cold rows
are a model's own compile in a process that has compiled before; the "first in a process" row
is the MLP compiled in a new process, kernels included (imports not counted). JAX: trace,
lower and compile a new `jit` function at batch 1. ONNX Runtime: create an InferenceSession
from the serialized MLP. PyTorch eager has no compile step.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import graphc
from benchmarks import models
from benchmarks.harness import Section, Settings, Target, optional_import, time_once
from graphc.backend.cache import CACHE_ENV

NAME = "compile_time"
TITLE = "model to callable, seconds"
MLP_TARGET = 0.5


def _median(fn: Callable[[], Any], times: int) -> float:
    return statistics.median(time_once(fn)[0] for _ in range(times))


@contextmanager
def cache_directory(path: str) -> Iterator[None]:
    """Point graphc's disk cache at `path` meanwhile, so the warm rows read a known cache."""
    saved = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = path
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = saved


_FIRST_COMPILE = """
import time, graphc
from benchmarks import models
graph = models.graphc_mlp(models.mlp_weights())
start = time.perf_counter()
graphc.compile(graph, cache=False)
print(time.perf_counter() - start)
"""


def _first_compile_seconds() -> float:
    """The MLP's cold compile in a new process, GEMM micro-kernels included (median of 3)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", _FIRST_COMPILE],
                capture_output=True,
                text=True,
                check=True,
                env=env,
                cwd=root,
            ).stdout
        )
        for _ in range(3)
    ]
    return statistics.median(runs)


def _graphc_builds(quick: bool) -> dict[str, Callable[[bool], Any]]:
    """Per model, a build with or without the disk cache (the MLP only with --quick)."""
    mlp, cnn = models.mlp_weights(), models.cnn_weights()
    builds = {"MLP": lambda cache: graphc.compile(models.graphc_mlp(mlp), cache=cache)}
    if not quick:
        builds["CNN"] = lambda cache: graphc.compile(models.graphc_cnn(cnn), cache=cache)
    return builds


def _jax_builds(jax: Any) -> dict[str, Callable[[], Any]]:
    mlp, cnn = models.mlp_weights(), models.cnn_weights()
    x_mlp, x_cnn = models.flat_inputs(1), models.mnist_like(1)
    return {
        "MLP": lambda: models.jax_mlp(jax, mlp).lower(x_mlp).compile(),
        "CNN": lambda: models.jax_cnn(jax, cnn).lower(x_cnn).compile(),
    }


def run(settings: Settings) -> Section:
    section = Section(NAME, TITLE)
    times = 1 if settings.quick else 3
    jax = settings.peers.get("jax")
    ort, onnx = settings.peers.get("onnxruntime"), optional_import("onnx")
    jax_builds = _jax_builds(jax) if jax is not None else {}
    with tempfile.TemporaryDirectory() as cache_dir, cache_directory(cache_dir):
        for model, build in _graphc_builds(settings.quick).items():
            cold = _median(lambda build=build: build(False), times)
            section.add(model, "graphc", "graphc", cold)
            build(True)  # fill the cache
            warm = _median(lambda build=build: build(True), times)
            section.add(model, "graphc (from cache)", "graphc", warm)
            if model in jax_builds:
                section.add(model, "jax", "peer", _median(jax_builds[model], times))
            else:
                section.skip(model, "jax", settings)
    if ort is not None and onnx is not None:
        weights = models.mlp_weights()
        seconds = _median(
            lambda: models.onnx_mlp_session(onnx, ort, weights, settings.threads), times
        )
        section.add("MLP", "onnxruntime", "peer", seconds, "build graph + InferenceSession")
    else:
        section.skip("MLP", "onnxruntime", settings)
    if not settings.quick:
        section.add("MLP", "graphc (first in a process)", "graphc", _first_compile_seconds())
    section.notes.append("PyTorch eager runs without a compile step.")
    section.targets.append(
        Target(f"MLP: graphc seconds < {MLP_TARGET}", section.seconds("MLP", "graphc"), MLP_TARGET)
    )
    return section
