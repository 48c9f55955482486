"""gelu: tanh-form GELU on 4M floats, against the memory-bandwidth floor of a plain copy.

gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). graphc fuses the whole formula
into one loop whose tanh is inline polynomial code (graphc.backend.vecmath), so each element
is read and written once; the floor is `np.copyto` of the same 16 MiB into a preallocated
array. "graphc (out=)" writes into a preallocated array too, which is what the floor is
compared with; the plain call allocates its result, like the peers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import graphc
from benchmarks.harness import Section, Settings, Target, check_close, measure

NAME = "gelu"
TITLE = "tanh-form GELU on 4M float32 (fusion + vector math)"
PEERS = ("numpy", "torch", "jax")
FLOOR_TARGET = 1.5
PEER_TARGET = 1.0
C = math.sqrt(2.0 / math.pi)


def numpy_gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(C * (x + 0.044715 * (x * x * x))))


def peer_calls(settings: Settings, x: np.ndarray) -> dict[str, Callable[[], Any]]:
    peers = settings.peers
    calls: dict[str, Callable[[], Any]] = {}
    if peers.get("numpy") is not None:
        calls["numpy"] = lambda: numpy_gelu(x)
    torch = peers.get("torch")
    if torch is not None:
        tx = torch.from_numpy(x)
        calls["torch"] = lambda: torch.nn.functional.gelu(tx, approximate="tanh")
    jax = peers.get("jax")
    if jax is not None:
        jitted = jax.jit(lambda v: jax.nn.gelu(v, approximate=True))
        dx = jax.device_put(x)
        calls["jax"] = lambda: jitted(dx).block_until_ready()
    return calls


def run(settings: Settings) -> Section:
    section = Section(NAME, TITLE)
    size = 1 << 16 if settings.quick else 1 << 22
    case = f"{size} floats"
    x = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    want = numpy_gelu(x.astype(np.float64))
    v = graphc.placeholder((None,), name="x")
    compiled = graphc.compile(
        graphc.Graph([v], graphc.gelu(v, approximate=True)), threads=settings.threads
    )
    out, copy = np.empty_like(x), np.empty_like(x)
    candidates: dict[str, Callable[[], Any]] = {
        "graphc": lambda: compiled(x),
        "graphc (out=)": lambda: compiled(x, out=out),
        "copy floor": lambda: np.copyto(copy, x),
    }
    peers = peer_calls(settings, x)
    candidates.update(peers)
    for name, call in candidates.items():
        if name != "copy floor":
            check_close(f"{NAME} {name}", np.asarray(call()), want, rtol=1e-5)
    kinds = {"graphc": "graphc", "graphc (out=)": "graphc", "copy floor": "reference"}
    for name, seconds in measure(candidates, settings).items():
        section.add(case, name, kinds.get(name, "peer"), seconds, _bandwidth(size, seconds))
    for peer in PEERS:
        if peer not in peers:
            section.skip(case, peer, settings)
    floor, fused = section.seconds(case, "copy floor"), section.seconds(case, "graphc (out=)")
    section.targets += [
        Target(
            f"graphc (out=) / copy floor <= {FLOOR_TARGET}",
            fused / floor if fused and floor else None,
            FLOOR_TARGET,
        ),
        Target(
            f"graphc / best peer <= {PEER_TARGET}",
            section.ratio_to_best_peer(case),
            PEER_TARGET,
        ),
    ]
    return section


def _bandwidth(size: int, seconds: float) -> str:
    """Read + write traffic per second, for comparison with the copy."""
    return f"{2 * 4 * size / seconds / 1e9:.1f} GB/s effective"
