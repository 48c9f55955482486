"""docs/passes.md shows what examples/optimize_report.py prints, times aside.

When a pass changes what it does to the two report graphs, this test fails until the report in
the doc is regenerated: `python examples/optimize_report.py --update-doc` (then reread the
paragraph above the report, which describes the rows).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "optimize_report.py"
TABLE_HEADER = re.compile(r"^pass\s+nodes before\s+nodes after\s+time \(ms\)\s+notes$")
TABLE_ROW = re.compile(r"^(?P<pass>.+?) +(?P<before>\d+) +(?P<after>\d+) +\d+\.\d+(?P<notes>.*)$")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_optimize_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def without_times(text: str) -> list[str]:
    """The report's lines with the time column of its pass tables removed (and the table
    columns' padding, whose width follows the times)."""
    lines, in_table = [], False
    for line in text.rstrip("\n").splitlines():
        if TABLE_HEADER.match(line):
            in_table = True
            line = "pass | nodes before | nodes after | notes"
        elif in_table and line.startswith("```"):
            in_table = False
        elif in_table and set(line) <= {"-", " "}:
            line = "---"
        elif in_table:
            row = TABLE_ROW.match(line)
            assert row, f"not a row of the pass table: {line!r}"
            notes = row["notes"].strip()
            line = f"{row['pass']} | {row['before']} | {row['after']} | {notes}"
        lines.append(line)
    return lines


def test_times_are_all_that_is_ignored():
    row = "fold (round 2)                69           69       0.60  no change"
    slower = "fold (round 2)                69           69    1234.56  no change"
    assert without_times(f"{row}\n") == [row]  # outside a table nothing changes
    header = "pass  nodes before  nodes after  time (ms)  notes"
    assert without_times(f"{header}\n{row}") == without_times(f"{header}\n{slower}")
    assert without_times(f"{header}\n{row}") != without_times(f"{header}\n{row[:-2]}")


def test_the_doc_shows_the_scripts_report():
    script = load_script()
    doc = script.DOC.read_text()
    start, end = script.doc_span(doc)
    expected = without_times(script.full_report(batch=32))
    assert without_times(doc[start:end]) == expected, (
        "docs/passes.md's report is out of date: run python examples/optimize_report.py "
        "--update-doc"
    )
