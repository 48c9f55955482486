"""Results as Markdown: the machine and versions, one table per benchmark, the targets.

`write` regenerates RESULTS.md but keeps everything after `NOTES_MARKER` from the previous
file: the hand-written analysis of the misses lives there.
"""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Sequence
from pathlib import Path

import llvmlite
import llvmlite.binding as llvm
import numpy as np

import graphc
from benchmarks.harness import Section, Settings, format_seconds

NOTES_MARKER = "<!-- notes: kept when the file is regenerated -->"


def cpu_name() -> str:
    """The CPU's model name as the kernel reports it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(settings: Settings) -> list[tuple[str, str]]:
    """(what, value) lines describing the machine and software of a run."""
    major, minor, patch = llvm.llvm_version_info
    lines = [
        ("date", datetime.datetime.now().strftime("%Y-%m-%d %H:%M")),
        ("machine", f"{cpu_name()}, {os.cpu_count()} logical CPUs, {platform.machine()}"),
        ("system", platform.platform()),
        ("python", platform.python_version()),
        ("graphc", graphc.__version__),
        ("numpy", np.__version__),
        ("llvmlite / LLVM", f"{llvmlite.__version__} / {major}.{minor}.{patch}"),
    ]
    for peer in settings.peers.wanted:
        if peer == "numpy":
            continue
        version = settings.peers.versions.get(peer)
        lines.append((peer, version or settings.peers.notes.get(peer, "not used")))
    protocol = (
        f"median of {settings.repeats} repetitions of >= {settings.min_seconds * 1e3:.0f} ms, "
        f"implementations alternating; {settings.threads} thread(s) for graphc and every peer"
    )
    lines.append(("timing", protocol))
    return lines


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def section_markdown(section: Section) -> list[str]:
    lines = [f"## {section.name}: {section.title}", ""]
    lines += ["| case | implementation | time | / best peer | notes |", "|---|---|---|---|---|"]
    for row in section.rows:
        best = section.best_peer(row.case)
        ratio = row.seconds / best.seconds if best and row.seconds is not None else None
        impl = f"**{row.impl}**" if row.kind == "graphc" else row.impl
        lines.append(
            f"| {row.case} | {impl} | {format_seconds(row.seconds)} | {_ratio(ratio)} "
            f"| {row.note} |"
        )
    lines.append("")
    if section.targets:
        lines += ["| target | measured | met |", "|---|---|---|"]
        for target in section.targets:
            met = {True: "yes", False: f"**no** ({target.miss})", None: "not measured"}
            lines.append(f"| {target.text} | {_ratio(target.value)} | {met[target.met]} |")
        lines.append("")
    lines += [f"- {note}" for note in section.notes]
    if section.notes:
        lines.append("")
    return lines


def targets_markdown(sections: Sequence[Section]) -> list[str]:
    lines = ["## Targets", "", "| benchmark | target | measured | met |", "|---|---|---|---|"]
    for section in sections:
        for target in section.targets:
            met = {True: "yes", False: f"**no** ({target.miss})", None: "not measured"}
            lines.append(
                f"| {section.name} | {target.text} | {_ratio(target.value)} | {met[target.met]} |"
            )
    return lines + [""]


def render(sections: Sequence[Section], settings: Settings, command: str) -> str:
    """The whole results document (without the kept notes)."""
    lines = ["# graphc benchmark results", "", f"Produced by `{command}`.", ""]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in environment(settings)]
    lines += ["", "Times are per call; `/ best peer` divides by the fastest peer of the case.", ""]
    lines += targets_markdown(sections)
    for section in sections:
        lines += section_markdown(section)
    return "\n".join(lines).rstrip() + "\n"


def write(path: Path, text: str) -> None:
    """Write `text`, then the marker and the notes the previous file had after it."""
    notes = ""
    if path.exists():
        previous = path.read_text()
        if NOTES_MARKER in previous:
            notes = previous.split(NOTES_MARKER, 1)[1]
    path.write_text(text + "\n" + NOTES_MARKER + (notes or "\n"))
