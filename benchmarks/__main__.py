"""Run the benchmark suite: `python -m benchmarks` (see README.md for the options)."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from benchmarks import BENCHMARKS
from benchmarks.harness import PEER_MODULES, Peers, Settings
from benchmarks.report import render, section_markdown, write

RESULTS = Path(__file__).with_name("RESULTS.md")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 repetitions")
    parser.add_argument("--only", help=f"comma-separated benchmarks from {', '.join(BENCHMARKS)}")
    parser.add_argument(
        "--peers", help=f"comma-separated peers from {', '.join(PEER_MODULES)} (default: all)"
    )
    parser.add_argument("--repeats", type=int, help="repetitions per measurement (default 7)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every library")
    parser.add_argument(
        "--output",
        help="where to write the Markdown results (default: benchmarks/RESULTS.md, or "
        "nowhere with --quick); '-' writes nowhere",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmarks {unknown}; choose from {', '.join(BENCHMARKS)}")
        return 2
    peers = Peers(args.peers.split(",") if args.peers else None, args.threads)
    settings = Settings(
        quick=args.quick,
        repeats=args.repeats or (2 if args.quick else 7),
        min_seconds=0.002 if args.quick else 0.05,
        threads=args.threads,
        peers=peers,
    )
    sections = []
    for name in names:
        start = time.perf_counter()
        section = importlib.import_module(f"benchmarks.{name}").run(settings)
        sections.append(section)
        print("\n".join(section_markdown(section)))
        print(f"({name}: {time.perf_counter() - start:.1f} s)\n", flush=True)
    command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
    output = args.output or ("-" if args.quick else str(RESULTS))
    if output != "-":
        write(Path(output), render(sections, settings, command.strip()))
        print(f"results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
