"""The long differential fuzz: random graphs run two ways that must agree, for N minutes.

    python benchmarks/fuzz.py --minutes 10 [--seed N] [--checks compiled,optimized,derivatives]
                              [--out fuzz-failures]

Seeds N, N+1, ... each give one graph (`graphc.fuzzing.random_graph`) and every check runs on
it in turn (`graphc.differential`): compiled code vs the interpreter, optimized vs unoptimized
graphs, and forward mode vs reverse mode vs finite differences. A failing case is minimized and
written to `--out` as `<check>-<seed>.graphc` plus a script `<check>-<seed>.py` that replays
the check. The cases run in a worker process, so a crash of native code is a finding too: the
worker is restarted after the crashing seed and the crash is written as a reproducer. At the
end a summary gives the counts per check, the primitives covered and every failure.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from graphc import differential
from graphc.fuzzing import random_graph


def graph_for(seed: int, check: str):
    """The graph a check fuzzes for `seed` (derivative checks need differentiable graphs)."""
    return random_graph(np.random.default_rng(seed), differentiable=check == "derivatives")


@dataclass
class Summary:
    """What the fuzz saw, per check."""

    checks: list[str]
    ran: collections.Counter = field(default_factory=collections.Counter)
    skipped: collections.Counter = field(default_factory=collections.Counter)
    failures: list[tuple[str, int, str, str]] = field(default_factory=list)
    primitives: collections.Counter = field(default_factory=collections.Counter)
    nodes: int = 0
    seeds: int = 0

    def report(self, seconds: float) -> str:
        lines = [
            f"fuzzed {self.seeds} seeds ({self.nodes} nodes) in {seconds:.0f} s, "
            f"{self.seeds / max(seconds, 1e-9):.1f} seeds/s",
            f"{'check':<12} {'ran':>7} {'skipped':>8} {'failed':>7}",
        ]
        failed = collections.Counter(check for check, *_ in self.failures)
        for check in self.checks:
            lines.append(
                f"{check:<12} {self.ran[check]:>7} {self.skipped[check]:>8} {failed[check]:>7}"
            )
        lines.append(
            f"primitives covered ({len(self.primitives)}): "
            + ", ".join(f"{name} {count}" for name, count in sorted(self.primitives.items()))
        )
        if not self.failures:
            lines.append("no failures")
        for check, seed, message, path in self.failures:
            first = message.splitlines()[0] if message else ""
            lines.append(f"FAILED {check} seed {seed}: {first}\n    reproducer: {path}")
        return "\n".join(lines)


def worker(start: int, checks: list[str], out: Path, connection: Connection) -> None:
    """Run seeds from `start` on, reporting each case before and after it runs."""
    seed = start
    while True:
        for check in checks:
            graph = graph_for(seed, check)
            connection.send(("start", seed, check, len(graph)))
            try:
                status = "ran" if differential.run_check(check, graph, seed) else "skipped"
                message = path = ""
            except differential.FuzzFailure as exc:
                status, message = "failed", str(exc)
                small = differential.minimize(
                    graph, lambda g, c=check, s=seed: differential.fails(c, g, s)
                )
                path = str(differential.write_reproducer(out, check, small, seed, message))
            primitives = [graph.primitive(n).name for n in graph.order]
            connection.send(("done", seed, check, status, message, path, primitives))
        seed += 1


def fuzz(minutes: float, seed: int, checks: list[str], out: Path) -> Summary:
    """Run workers until the time is up; restart one after a crash, past the crashing case."""
    summary = Summary(checks)
    deadline = time.monotonic() + minutes * 60
    context = multiprocessing.get_context("spawn")
    next_seed = seed
    while time.monotonic() < deadline:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=worker, args=(next_seed, checks, out, send), daemon=True)
        process.start()
        send.close()
        current = None
        crashed = False
        while time.monotonic() < deadline and not crashed:
            if not receive.poll(min(5.0, max(deadline - time.monotonic(), 0.01))):
                crashed = not process.is_alive()
                continue
            try:
                message = receive.recv()
            except EOFError:  # the worker died
                crashed = True
                continue
            if message[0] == "start":
                current = message[1:3]
                summary.nodes += message[3]
                continue
            _, case_seed, check, status, text, path, primitives = message
            summary.primitives.update(primitives)
            if status == "failed":
                summary.failures.append((check, case_seed, text, path))
            else:
                getattr(summary, status)[check] += 1
            if check == checks[-1]:
                summary.seeds += 1
            current = None
        process.kill()
        process.join()
        if not crashed or current is None:  # the time is up
            break
        crashed_seed, check = current
        note = f"the worker process crashed (exit code {process.exitcode}) running this check"
        graph = graph_for(crashed_seed, check)
        path = differential.write_reproducer(out, check, graph, crashed_seed, note)
        summary.failures.append((check, crashed_seed, note, str(path)))
        next_seed = crashed_seed + 1
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="time budget (default 10)")
    parser.add_argument("--seed", type=int, default=None, help="first seed (default: random)")
    parser.add_argument(
        "--checks",
        default=",".join(differential.CHECKS),
        help=f"comma-separated checks (default: {','.join(differential.CHECKS)})",
    )
    parser.add_argument("--out", default="fuzz-failures", help="where reproducers go")
    args = parser.parse_args(argv)
    checks = [c.strip() for c in args.checks.split(",") if c.strip()]
    unknown = sorted(set(checks) - set(differential.CHECKS))
    if unknown or not checks:
        parser.error(f"unknown checks {unknown}; expected some of {sorted(differential.CHECKS)}")
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    print(f"fuzzing {checks} for {args.minutes:g} min from seed {seed}", flush=True)
    start = time.monotonic()
    summary = fuzz(args.minutes, seed, checks, Path(args.out))
    print(summary.report(time.monotonic() - start))
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
