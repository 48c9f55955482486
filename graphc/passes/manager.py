"""The pass manager: named passes, pipelines, verification between passes, dumps, statistics.

A pass is a pure function `Graph -> Graph` registered under a short name (`"simplify"`); an
analysis pass (memory planning) computes a result about the graph instead, kept in the report.
A pipeline is a list of stages: pass names, plain `Graph -> Graph` callables, or
`fixed_point(...)` groups that repeat until a whole round changes nothing. Passes return their
input graph object itself when they change nothing, which is how the manager sees a fixed point.

`PassManager.run` returns the final graph and a `PassReport`, one row per pass run (nodes before
and after, time, notes), printable as a table; a fixed-point group that still changed the graph
in its last allowed round says so in the notes of its last row. Every pass must keep the
graph's signature (the number and types of its inputs and outputs), which the manager checks
after each pass, naming the pass that broke it. In debug mode (`verify=True`) every graph
between passes is also checked in full (`graphc.passes.verify.verify_graph`), so a broken pass
is named at once.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from graphc.errors import GraphError
from graphc.graph import Graph
from graphc.passes.verify import verify_graph, verify_signature


@dataclass(frozen=True)
class PassInfo:
    """A registered pass.

    Attributes:
        name: the short name used in pipelines, `dump_after` and reports.
        fn: `fn(graph, **options) -> Graph`, or for an analysis `-> (result, note)`.
        description: one line for listings.
        options: the manager options the pass takes as keyword arguments.
        analysis: True when the pass computes a result instead of a new graph.
    """

    name: str
    fn: Callable[..., Any]
    description: str
    options: tuple[str, ...] = ()
    analysis: bool = False


#: Every registered pass by name.
PASSES: dict[str, PassInfo] = {}


def register_pass(
    name: str,
    fn: Callable[..., Any],
    description: str,
    *,
    options: Sequence[str] = (),
    analysis: bool = False,
) -> PassInfo:
    """Register `fn` as the pass `name`; pipelines and `dump_after` refer to it by name.

    >>> from graphc.passes import PASSES
    >>> PASSES["simplify"].options
    ('fast_math', 'fold_limit')
    """
    if name in PASSES:
        raise GraphError(f"register_pass: a pass named {name!r} is already registered")
    info = PassInfo(name, fn, description, tuple(options), analysis)
    PASSES[name] = info
    return info


@dataclass(frozen=True)
class FixedPoint:
    """A pipeline stage: run `stages` in order, again and again, until a round changes nothing."""

    stages: tuple[str | Callable[[Graph], Graph], ...]
    max_rounds: int = 4


def fixed_point(*stages: str | Callable[[Graph], Graph], max_rounds: int = 4) -> FixedPoint:
    """Group passes to repeat until none of them changes the graph (at most `max_rounds`).

    >>> fixed_point("fold", "simplify", "cse").stages
    ('fold', 'simplify', 'cse')
    """
    return FixedPoint(tuple(stages), max_rounds)


Stage = str | Callable[[Graph], Graph] | FixedPoint


def pipeline_for(level: int, *, inference: bool = False) -> list[Stage]:
    """The standard pipeline of an optimization level.

    Level 0 only removes dead code; level 1 adds constant folding, exact algebraic
    simplification and common-subexpression elimination, repeated to a fixed point (plus the
    inference rewrites when `inference`); level 2 adds fusion and memory planning, the stages
    that prepare a graph for execution.

    >>> pipeline_for(2)
    ['dce', FixedPoint(stages=('fold', 'simplify', 'cse'), max_rounds=4), 'fuse', 'memory']
    """
    if level not in (0, 1, 2):
        raise GraphError(f"optimize: level must be 0, 1 or 2, got {level!r}")
    if level == 0:
        return ["dce"]
    core = ("inference",) if inference else ()
    pipeline: list[Stage] = ["dce", fixed_point(*core, "fold", "simplify", "cse")]
    if level == 2:
        pipeline += ["fuse", "memory"]
    return pipeline


@dataclass(frozen=True)
class PassRow:
    """One pass run: its name, the node counts around it, its time and a note."""

    name: str
    nodes_before: int
    nodes_after: int
    seconds: float
    changed: bool
    note: str = ""


@dataclass
class PassReport:
    """What a pipeline did, pass by pass; `str()` is a table.

    Attributes:
        rows: one row per pass run, in order.
        results: analysis results by pass name (`results["memory"]` is the `MemoryPlan`).
    """

    rows: list[PassRow] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(r.seconds for r in self.rows)

    @property
    def memory_plan(self) -> Any:
        """The memory plan when the pipeline planned memory, else None."""
        return self.results.get("memory")

    def __str__(self) -> str:
        header = ["pass", "nodes before", "nodes after", "time (ms)", "notes"]
        lines = [
            [
                r.name,
                str(r.nodes_before),
                str(r.nodes_after),
                f"{r.seconds * 1e3:.2f}",
                r.note or ("" if r.changed else "no change"),
            ]
            for r in self.rows
        ]
        if self.rows:
            lines.append(
                [
                    "total",
                    str(self.rows[0].nodes_before),
                    str(self.rows[-1].nodes_after),
                    f"{self.total_seconds * 1e3:.2f}",
                    "",
                ]
            )
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
        align = [str.ljust, str.rjust, str.rjust, str.rjust, str.ljust]
        text = [
            "  ".join(fmt(cell, w) for cell, w, fmt in zip(row, widths, align)).rstrip()
            for row in [header, *lines]
        ]
        text.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(text)


class PassManager:
    """Runs a pipeline of passes with options, verification, dumps and statistics.

    Args:
        pipeline: stages: pass names, `Graph -> Graph` callables, `fixed_point(...)` groups.
        verify: check the graph before the first pass and after every pass (debug mode).
        dump_after: a pass name, a list of them, or "all": print the graph after those passes.
        out: where dumps go (default: standard output).
        **options: pass options (`fast_math`, `fold_limit`, `batch_size`), given to the passes
            that declare them.

    >>> import graphc
    >>> x = graphc.placeholder((3,), name="x")
    >>> g = graphc.Graph([x], (x * 1.0) - 0.0)
    >>> result, report = PassManager(["simplify"]).run(g)
    >>> len(g), len(result), report.rows[0].name
    (5, 1, 'simplify')
    """

    def __init__(
        self,
        pipeline: Sequence[Stage],
        *,
        verify: bool = False,
        dump_after: str | Sequence[str] | None = None,
        out: TextIO | None = None,
        **options: Any,
    ):
        self.pipeline = list(pipeline)
        self.verify = verify
        self.out = out
        self.options = options
        names = _stage_names(self.pipeline)
        self.dump_after = _dump_selection(dump_after, names)
        known = {opt for info in PASSES.values() for opt in info.options}
        unknown = sorted(set(options) - known)
        if unknown:
            raise GraphError(
                f"PassManager: unknown option(s) {', '.join(unknown)}; the passes take "
                f"{', '.join(sorted(known))}"
            )

    def run(self, graph: Graph) -> tuple[Graph, PassReport]:
        """Run the pipeline on `graph` (which is not modified); return the result and report."""
        report = PassReport()
        if self.verify:
            _verify(graph, "before the first pass")
        for stage in self.pipeline:
            graph, _ = self._run_stage(stage, graph, report, label="")
        return graph, report

    def _run_stage(
        self, stage: Stage, graph: Graph, report: PassReport, label: str
    ) -> tuple[Graph, bool]:
        if isinstance(stage, FixedPoint):
            changed_any = changed = False
            for round_index in range(stage.max_rounds):
                changed = False
                suffix = f" (round {round_index + 1})" if round_index else ""
                for inner in stage.stages:
                    graph, inner_changed = self._run_stage(inner, graph, report, suffix)
                    changed = changed or inner_changed
                changed_any = changed_any or changed
                if not changed:
                    break
            else:
                if changed and report.rows:  # stopped by max_rounds, not by a quiet round
                    _add_note(report, f"did not converge in {stage.max_rounds} rounds")
            return graph, changed_any
        info = _resolve(stage)
        kwargs = {k: self.options[k] for k in info.options if k in self.options}
        start = time.perf_counter()
        note = ""
        if info.analysis:
            result, note = info.fn(graph, **kwargs)
            report.results[info.name] = result
            new = graph
        else:
            new = info.fn(graph, **kwargs)
        seconds = time.perf_counter() - start
        if not isinstance(new, Graph):
            raise GraphError(f"pass {info.name} returned a {type(new).__name__}, not a Graph")
        changed = new is not graph
        report.rows.append(PassRow(info.name + label, len(graph), len(new), seconds, changed, note))
        if self.verify and changed:
            _verify(new, f"after pass {info.name}")
        if changed:
            try:
                verify_signature(graph, new)
            except GraphError as exc:
                raise GraphError(f"pass {info.name} changed the graph's signature: {exc}") from exc
        if info.name in self.dump_after:
            print(f"# after {info.name}{label}: {len(new)} nodes", file=self.out or sys.stdout)
            print(new.dump(), file=self.out or sys.stdout)
        return new, changed


def optimize(
    graph: Graph,
    level: int = 1,
    *,
    passes: Sequence[Stage] | None = None,
    fast_math: bool = False,
    inference: bool = False,
    dump_after: str | Sequence[str] | None = None,
    stats: bool = False,
    verify: bool = False,
    batch_size: int = 1,
) -> Graph | tuple[Graph, PassReport]:
    """Optimize a graph; the result computes the same values (see each pass for "same").

    Args:
        graph: the graph to optimize; it is not modified.
        level: 0 (dead-code elimination only), 1 (default: + constant folding, exact algebraic
            simplification, common-subexpression elimination, to a fixed point) or 2 (+ fusion
            of elementwise ops and epilogues, memory planning: for execution).
        passes: an explicit pipeline (pass names, callables, `fixed_point(...)`) instead of
            `level`'s.
        fast_math: also apply rewrites that change floating-point results (exp(log x) -> x,
            reassociation, x * 0 -> 0).
        inference: the graph only serves inference: remove dropout masks and fold
            batch-normalization scales into the preceding matmul/conv weights (which rounds
            differently).
        dump_after: a pass name, a list of them, or "all": print the graph after those passes.
        stats: also return the `PassReport` (per-pass node counts, times, memory plan).
        verify: check the graph between passes (debug mode).
        batch_size: the batch size memory sizes are reported for.

    Returns:
        The optimized graph, or `(graph, report)` when `stats` is true.

    >>> import graphc
    >>> x = graphc.placeholder((None, 3), name="x")
    >>> g = graphc.Graph([x], graphc.exp(-(-x)) * 1.0)
    >>> print(optimize(g).dump())
    graph(%0 x: f32[None,3]) {
      %1 = exp %0 : f32[None,3]
      return %1
    }
    """
    pipeline = list(passes) if passes is not None else pipeline_for(level, inference=inference)
    options: dict[str, Any] = {"fast_math": fast_math, "batch_size": batch_size}
    manager = PassManager(pipeline, verify=verify, dump_after=dump_after, **options)
    result, report = manager.run(graph)
    return (result, report) if stats else result


def _resolve(stage: str | Callable[[Graph], Graph]) -> PassInfo:
    if isinstance(stage, str):
        if stage not in PASSES:
            raise GraphError(
                f"optimize: unknown pass {stage!r}; the passes are {', '.join(sorted(PASSES))}"
            )
        return PASSES[stage]
    if callable(stage):
        return PassInfo(getattr(stage, "__name__", "pass"), stage, "a user pass")
    raise GraphError(
        f"optimize: a pipeline stage must be a pass name, a Graph -> Graph callable or a "
        f"fixed_point(...) group, got {type(stage).__name__}"
    )


def _stage_names(pipeline: Sequence[Stage]) -> list[str]:
    names: list[str] = []
    for stage in pipeline:
        if isinstance(stage, FixedPoint):
            names += _stage_names(stage.stages)
        else:
            names.append(_resolve(stage).name)
    return names


def _dump_selection(dump_after: str | Sequence[str] | None, names: list[str]) -> set[str]:
    if dump_after is None:
        return set()
    if dump_after == "all":
        return set(names)
    wanted = [dump_after] if isinstance(dump_after, str) else list(dump_after)
    missing = [w for w in wanted if w not in names]
    if missing:
        raise GraphError(
            f"optimize: dump_after names {', '.join(map(repr, missing))}, which the pipeline "
            f"does not run; it runs {', '.join(dict.fromkeys(names))}"
        )
    return set(wanted)


def _add_note(report: PassReport, note: str) -> None:
    """Append `note` to the last row's notes (after "no change" when that is what it says)."""
    row = report.rows[-1]
    current = row.note or ("" if row.changed else "no change")
    combined = f"{current}; {note}" if current else note
    report.rows[-1] = dataclasses.replace(row, note=combined)


def _verify(graph: Graph, when: str) -> None:
    try:
        verify_graph(graph)
    except GraphError as exc:
        raise GraphError(f"verify {when}: {exc}") from exc
