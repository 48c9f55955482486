"""What every benchmark shares: settings, optional peers, side-by-side timing, result rows.

Timing protocol (`measure`): every implementation of a case is warmed up, then calibrated to
a number of calls lasting at least `Settings.min_seconds`; the repetitions then alternate
between implementations (the order rotates each round), so slow drifts of a shared machine
affect all of them alike, and each reports the median time per call over `Settings.repeats`
repetitions. Each repetition starts after a pause (`SETTLE_SECONDS`) in which the previous
library's spinning threads go to sleep.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphc.bench import time_calls

#: Optional peers, by the name used on the command line, and the module each imports.
PEER_MODULES = {
    "numpy": "numpy",
    "torch": "torch",
    "jax": "jax",
    "onnxruntime": "onnxruntime",
    "sympy": "sympy",
}


class Peers:
    """The peer libraries of this run, imported on first use; a missing one is a note.

    Args:
        wanted: peer names to use (None: all of `PEER_MODULES`).
        threads: threads each peer may use, set when the peer is imported.
    """

    def __init__(self, wanted: Iterable[str] | None, threads: int):
        names = list(PEER_MODULES) if wanted is None else list(wanted)
        unknown = sorted(set(names) - set(PEER_MODULES))
        if unknown:
            raise ValueError(f"unknown peers {unknown}; choose from {sorted(PEER_MODULES)}")
        self.wanted = names
        self.threads = threads
        self.notes: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        self._modules: dict[str, Any] = {}

    def get(self, name: str) -> Any | None:
        """The peer's module, or None (with a note saying why) when it is not available."""
        if name in self._modules:
            return self._modules[name]
        module = None
        if name not in self.wanted:
            self.notes[name] = "not selected (--peers)"
        else:
            if name == "jax":
                os.environ.setdefault("JAX_PLATFORMS", "cpu")
            try:
                module = importlib.import_module(PEER_MODULES[name])
            except ImportError as exc:
                self.notes[name] = f"skipped: not installed ({exc.name}); pip install -e .[bench]"
            else:
                self.versions[name] = getattr(module, "__version__", "?")
                if name == "torch":
                    module.set_num_threads(self.threads)
        self._modules[name] = module
        return module


@dataclass
class Settings:
    """How a run measures.

    Attributes:
        quick: tiny sizes and few repetitions (a smoke test of the benchmark code).
        repeats: repetitions per measurement; the median is reported.
        min_seconds: each repetition runs enough calls to last at least this long.
        threads: threads for graphc (`graphc.compile(threads=...)`) and every peer.
        peers: the optional peer libraries.
    """

    quick: bool
    repeats: int
    min_seconds: float
    threads: int
    peers: Peers


#: Pause before each repetition: thread pools keep spinning for a while after their last call
#: (OpenBLAS's threads for 2^28 cycles, about 0.1 s; ONNX Runtime's, XLA's and graphc's for
#: less) and would otherwise take a core from the library timed next (measured here: graphc's
#: MLP at batch 256 took 2.5 ms after PyTorch's calls and 4.0 ms after numpy's).
SETTLE_SECONDS = 0.12


def measure(candidates: dict[str, Callable[[], Any]], settings: Settings) -> dict[str, float]:
    """Median seconds per call of each candidate, timed side by side (see module docstring):
    `graphc bench`'s timing loop, with this suite's repetitions and settle pause."""
    return time_calls(candidates, settings.repeats, settings.min_seconds, SETTLE_SECONDS)


@dataclass(frozen=True)
class PeerModel:
    """A peer's model: `prepare` converts an input once, before timing; `forward` is timed."""

    prepare: Callable[[Any], Any]
    forward: Callable[[Any], Any]

    def call_on(self, x: Any) -> Callable[[], Any]:
        """The timed call on input `x`."""
        prepared = self.prepare(x)
        return lambda: self.forward(prepared)


def optional_import(name: str) -> Any | None:
    """A module, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def check_close(name: str, got: Any, want: np.ndarray, rtol: float = 2e-3) -> None:
    """Fail loudly when an implementation disagrees with the reference (relative to its max)."""
    got = np.asarray(got, dtype=np.float64)
    scale = max(float(np.max(np.abs(want))), 1e-30)
    error = float(np.max(np.abs(got - want))) / scale
    if not error <= rtol:
        raise AssertionError(f"{name}: results differ from the reference by {error:.2e}")


def run_case(
    section: Section,
    settings: Settings,
    case: str,
    candidates: dict[str, Callable[[], Any]],
    want: np.ndarray,
    peers: Iterable[str],
) -> None:
    """Check every candidate against `want`, time them side by side, record the rows.

    `candidates` holds "graphc" and the available peers; the other `peers` are recorded as
    skipped, with the reason.
    """
    for name, call in candidates.items():
        check_close(f"{section.name} {case} {name}", call(), want)
    for name, seconds in measure(candidates, settings).items():
        section.add(case, name, "graphc" if name == "graphc" else "peer", seconds)
    for peer in peers:
        if peer not in candidates:
            section.skip(case, peer, settings)


def time_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by one call, and its result (for one-off costs such as compiling)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@dataclass
class Row:
    """One implementation's result in one case.

    Attributes:
        case: e.g. "batch 1".
        impl: "graphc", a peer's name, or a reference ("copy floor").
        kind: "graphc", "peer" (competes for best peer) or "reference" (shown, not compared).
        seconds: median time per call (None when the implementation is skipped).
        note: extra facts, e.g. "210 GFLOP/s", or why it was skipped.
    """

    case: str
    impl: str
    kind: str
    seconds: float | None
    note: str = ""


@dataclass
class Target:
    """A target of the issue, checked on this run's numbers.

    `value` is the measured quantity (a ratio or seconds); the target is met when
    `value <= limit` (or `>=` with `at_least`).
    """

    text: str
    value: float | None
    limit: float
    at_least: bool = False

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    @property
    def miss(self) -> str:
        """By how much the target is missed ("" when met or unmeasured)."""
        if self.met is not False or self.value is None:
            return ""
        factor = self.limit / self.value if self.at_least else self.value / self.limit
        return f"{factor:.2f}x off"


@dataclass
class Section:
    """One benchmark's results."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, case: str, impl: str, kind: str, seconds: float | None, note: str = "") -> None:
        self.rows.append(Row(case, impl, kind, seconds, note))

    def seconds(self, case: str, impl: str) -> float | None:
        for row in self.rows:
            if row.case == case and row.impl == impl:
                return row.seconds
        return None

    def best_peer(self, case: str) -> Row | None:
        """The fastest peer row of a case."""
        peers = [r for r in self.rows if r.case == case and r.kind == "peer" and r.seconds]
        return min(peers, key=lambda r: r.seconds) if peers else None

    def ratio_to_best_peer(self, case: str, impl: str = "graphc") -> float | None:
        best, mine = self.best_peer(case), self.seconds(case, impl)
        if best is None or mine is None:
            return None
        return mine / best.seconds

    def skip(self, case: str, peer: str, settings: Settings) -> None:
        """Record a peer that is not available in this run."""
        self.add(case, peer, "peer", None, settings.peers.notes.get(peer, "skipped"))


def format_seconds(seconds: float | None) -> str:
    """Human units: 12.3 us, 4.56 ms, 1.23 s.

    >>> format_seconds(0.0000123), format_seconds(0.00456), format_seconds(None)
    ('12.3 us', '4.56 ms', '-')
    """
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"
