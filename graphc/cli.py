"""The `graphc` command line: demo, bench, dump, diff, compile, summary and predict.

Sub-commands live in one table, `COMMANDS`: each names a function that adds its arguments to
an argparse sub-parser and a function that runs it and returns the exit code. Adding a command
is one entry. Errors graphc raises on purpose (`GraphcError`) and file errors are reported as
one line on stderr with exit code 2, never as a traceback: they are the user's to fix, not bugs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import graphc
from graphc import diff_command, model_commands
from graphc.archive import atomic_output
from graphc.errors import GraphcError, InputError

#: Exit code for errors the user can fix (bad file, bad arguments), as argparse uses.
USAGE_ERROR = 2


@dataclass(frozen=True)
class Command:
    """One sub-command: `add_arguments(parser)` declares it, `run(args) -> exit code` runs it."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --- graphc demo and graphc bench --------------------------------------------------------------


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--epochs", type=int, metavar="N", help="training epochs (default 8, 4 with --quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="the smallest run: less data, shorter timings"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="where to save the model and sample images (default: a new temporary folder)",
    )


def run_demo(args: argparse.Namespace) -> int:
    from graphc import demo

    if args.epochs is not None and args.epochs < 1:
        raise InputError(f"--epochs must be at least 1, got {args.epochs}")
    settings = (demo.Settings.quick if args.quick else demo.Settings.full)(args.epochs)
    demo.run(settings, args.out)
    return 0


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    from graphc import bench

    parser.add_argument(
        "--quick", action="store_true", help="small batches and short timings (a smoke test)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="threads for every library that takes a thread count (default 1)",
    )
    parser.add_argument(
        "--peers",
        default=",".join(bench.PEERS),
        metavar="LIST",
        help=f"libraries to compare with, comma-separated (default {','.join(bench.PEERS)}; "
        "missing ones are skipped with a note)",
    )


def run_bench(args: argparse.Namespace) -> int:
    from graphc import bench

    bench.run(bench.parse_peers(args.peers), threads=args.threads, quick=args.quick)
    return 0


# --- graphc dump -------------------------------------------------------------------------------

DUMP_FORMATS = ("text", "dot", "svg", "png")
PICTURE_FORMATS = ("svg", "png")


STAGES = ("graph", "optimized", "llvm", "llvm-opt", "asm")


def add_dump_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", help="a graph saved with Graph.save, or a model (model.save: its inference graph)"
    )
    parser.add_argument(
        "--stage",
        choices=STAGES,
        default="graph",
        help="what to show: the graph as saved (default), after graphc.optimize, the LLVM IR as "
        "generated (llvm) or optimized (llvm-opt), or the assembly (asm)",
    )
    parser.add_argument(
        "--level", type=int, choices=(0, 1, 2), default=2, help="optimization level (optimized)"
    )
    parser.add_argument(
        "--dump-after",
        metavar="PASS",
        help="with --stage optimized: print the graph after PASS (a pass name, or 'all')",
    )
    parser.add_argument(
        "--stats", action="store_true", help="with --stage optimized: print per-pass statistics"
    )
    parser.add_argument(
        "--format",
        choices=DUMP_FORMATS,
        help="text (default), Graphviz dot, or a picture (svg/png, needs Graphviz); "
        "without it, the extension of -o decides",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write to OUT instead of stdout (pictures default to FILE with a new extension)",
    )


def dump_format(fmt: str | None, output: str | None) -> str:
    """The format asked for, or the one the output's extension names, else text.

    >>> dump_format(None, "g.svg"), dump_format(None, None), dump_format("dot", "g.txt")
    ('svg', 'text', 'dot')
    """
    if fmt:
        return fmt
    suffix = Path(output).suffix.lstrip(".").lower() if output else ""
    return suffix if suffix in DUMP_FORMATS[1:] else "text"


def run_dump(args: argparse.Namespace) -> int:
    _check_dump_flags(args)
    graph = model_commands.load_inference_graph(args.file)
    if args.stage in ("llvm", "llvm-opt", "asm"):
        from graphc.backend.commands import stage_text  # loads llvmlite only here

        _write_text(stage_text(graph, args.stage), args.output)
        return 0
    if args.stage == "optimized":
        graph, report = graphc.optimize(
            graph, level=args.level, dump_after=args.dump_after, stats=True
        )
        if args.stats:
            print(report)
    fmt = dump_format(args.format, args.output)
    if fmt in PICTURE_FORMATS:
        output = args.output or str(Path(args.file).with_suffix("." + fmt))
        print(f"wrote {graph.render(output, format=fmt)}")
        return 0
    _write_text(graph.dump() if fmt == "text" else graph.to_dot(), args.output)
    return 0


def _check_dump_flags(args: argparse.Namespace) -> None:
    """--dump-after and --stats describe the optimizer's passes, and --format a graph: refuse
    them at stages they do not apply to rather than ignore them."""
    machine_code = args.stage in ("llvm", "llvm-opt", "asm")
    if machine_code and dump_format(args.format, None) != "text":
        raise InputError(
            f"--format {args.format} applies to --stage graph or optimized; --stage "
            f"{args.stage} prints text"
        )
    if args.stage == "optimized":
        return
    given = [
        flag for flag, on in [("--dump-after", args.dump_after), ("--stats", args.stats)] if on
    ]
    if given:
        verb = "needs" if len(given) == 1 else "need"
        raise InputError(
            f"{' and '.join(given)} {verb} --stage optimized (the stage is {args.stage})"
        )


def _write_text(text: str, output: str | None) -> None:
    if output:
        with atomic_output(output) as out:
            out.write((text + "\n").encode())
    else:
        print(text)


def add_compile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", help="a graph saved with Graph.save, or a model (model.save: its inference graph)"
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="an object file (.o) or shared library (.so, needs cc); a C header (.h) and the "
        "weights (.bin) are written next to it",
    )
    parser.add_argument("-O", "--opt-level", type=int, choices=(0, 1, 2, 3), default=3)
    parser.add_argument("--fast-math", action="store_true", help="allow reassociation etc.")


def run_compile(args: argparse.Namespace) -> int:
    from graphc.backend.commands import compile_file

    for path in compile_file(
        args.file, args.output, opt_level=args.opt_level, fast_math=args.fast_math
    ):
        print(f"wrote {path}")
    return 0


# --- the command table and the entry point -----------------------------------------------------

COMMANDS: tuple[Command, ...] = (
    Command(
        "demo",
        "a short tour: train, compile, time and save a model",
        add_demo_arguments,
        run_demo,
    ),
    Command(
        "bench",
        "time compiled models against numpy, PyTorch, JAX, ONNX Runtime",
        add_bench_arguments,
        run_bench,
    ),
    Command("dump", "print or draw a saved graph", add_dump_arguments, run_dump),
    Command(
        "diff",
        "differentiate an expression in every mode and compare",
        diff_command.add_arguments,
        diff_command.run,
    ),
    Command(
        "compile",
        "compile a saved graph or model to a .o or .so with a C header",
        add_compile_arguments,
        run_compile,
    ),
    Command(
        "summary",
        "print a saved model's layers (or a graph's signature)",
        model_commands.add_summary_arguments,
        model_commands.run_summary,
    ),
    Command(
        "predict",
        "run a saved model on a .npy/.npz file of samples",
        model_commands.add_predict_arguments,
        model_commands.run_predict,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphc",
        description="graphc, a symbolic computation-graph compiler. Start with `graphc demo`.",
    )
    parser.add_argument("--version", action="version", version=f"graphc {graphc.__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `graphc` command line; return the exit code.

    >>> main(["dump", "no-such-file.graphc"])
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command | None = getattr(args, "command", None)
    if command is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    try:
        return command.run(args)
    except BrokenPipeError:  # `graphc dump big.graphc | head`: the reader left, nothing is wrong
        _silence_stdout()
        return 0
    except GraphcError as exc:
        return _fail(command, str(exc))
    except OSError as exc:
        return _fail(command, _describe_os_error(exc))


def _fail(command: Command, message: str) -> int:
    one_line = " ".join(line.strip() for line in message.splitlines() if line.strip())
    print(f"graphc {command.name}: error: {one_line}", file=sys.stderr)
    return USAGE_ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (e.g. captured in tests): nothing to do
        pass


def _describe_os_error(exc: OSError) -> str:
    if exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)
