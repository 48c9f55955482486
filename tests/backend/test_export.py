"""Ahead-of-time export: object files, shared libraries, the C header, called from C."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph, ukernels
from graphc.errors import GraphcError

pytestmark = pytest.mark.backend

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")

C_PROGRAM = r"""
#include <string.h>
#include "model.h"

int main(int argc, char **argv) {
    void *args[GRAPHC_NUM_ARGS];
    void *weights;
    if (graphc_load_weights(argv[1], args, &weights) != 0) return 3;
    int64_t batch = 3;
    float x[3 * 4];
    for (int i = 0; i < 3 * 4; i++) x[i] = (float)i / 4.0f - 1.0f;
    float probabilities[3 * 2];
    int64_t labels[3];
    size_t workspace_bytes = (size_t)(graphc_workspace_size(batch) + 64) / 64 * 64;
    void *workspace = aligned_alloc(64, workspace_bytes);
    args[0] = x;
    args[GRAPHC_FIRST_OUTPUT] = probabilities;
    args[GRAPHC_FIRST_OUTPUT + 1] = labels;
    args[GRAPHC_WORKSPACE_ARG] = workspace;
    graphc_main(args, batch);
    for (int i = 0; i < 3 * 2; i++) printf("%.9g\n", probabilities[i]);
    for (int i = 0; i < 3; i++) printf("%lld\n", (long long)labels[i]);
    free(workspace);
    free(weights);
    return 0;
}
"""


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    x = graphc.placeholder((None, 4), name="x")
    w = graphc.constant(rng.standard_normal((4, 2)).astype(np.float32), name="dense/kernel")
    b = graphc.constant(rng.standard_normal(2).astype(np.float32), name="dense/bias")
    logits = x @ w + b
    graph = graphc.Graph([x], [graphc.softmax(logits, axis=-1), graphc.argmax(logits, axis=-1)])
    return compile_graph(graph)


def expected(model) -> list[str]:
    x = (np.arange(12, dtype=np.float32) / 4 - 1).reshape(3, 4)
    probabilities, labels = model.graph(x)
    return probabilities.reshape(-1).tolist() + labels.tolist()


def check_output(stdout: str, want: list) -> None:
    values = [float(v) for v in stdout.split()]
    np.testing.assert_allclose(values, want, rtol=1e-5)


def test_object_file_header_and_weights(model, tmp_path: Path) -> None:
    written = model.export(tmp_path / "model.o")
    assert [p.name for p in written] == ["model.o", "model.h", "model.bin"]
    exported = (tmp_path / "model.o").read_bytes()
    assert ukernels.symbols_in(model.object_code)  # the JIT code calls the shared kernels
    assert exported == model.standalone_object_code() and not ukernels.symbols_in(exported)
    header = (tmp_path / "model.h").read_text()
    assert "void graphc_main(void **args, int64_t batch);" in header
    assert 'args[0]: input 0 "x": float[N, 4]' in header
    assert "args[1]: output 0: float[N, 2]" in header
    assert "args[2]: output 1: int64_t[N]" in header
    assert 'weight 0 "dense/kernel": float[4, 2], bytes 0..32' in header
    assert (tmp_path / "model.bin").stat().st_size == 64 + 8


def test_exported_files_are_readable_as_open_would_make_them(model, tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        written = model.export(tmp_path / "model.o")
    finally:
        os.umask(old_umask)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {
        "model.o": 0o644,
        "model.h": 0o644,
        "model.bin": 0o644,
    }


@needs_cc
@pytest.mark.parametrize("suffix", [".o", ".so"])
def test_a_c_program_calls_the_exported_model(model, tmp_path: Path, suffix: str) -> None:
    library = tmp_path / f"model{suffix}"
    model.export(library)
    (tmp_path / "main.c").write_text(C_PROGRAM)
    command = ["cc", "-std=c11", "-o", str(tmp_path / "main"), str(tmp_path / "main.c")]
    command += [str(library), "-lm", f"-Wl,-rpath,{tmp_path}"]
    subprocess.run(command, check=True, capture_output=True, cwd=tmp_path)
    run = subprocess.run(
        [str(tmp_path / "main"), str(tmp_path / "model.bin")],
        capture_output=True,
        text=True,
        check=True,
    )
    check_output(run.stdout, expected(model))


@needs_cc
def test_a_model_without_weights_needs_no_bin_file(tmp_path: Path) -> None:
    x = graphc.placeholder((None,), "float64", name="x")
    f = compile_graph(graphc.Graph([x], graphc.exp(x) * 2.0))
    assert [p.name for p in f.export(tmp_path / "plain.so")] == ["plain.so", "plain.h"]
    (tmp_path / "main.c").write_text(
        '#include "plain.h"\n'
        "int main(void) {\n"
        "    void *args[GRAPHC_NUM_ARGS]; void *weights; double x[2] = {0.0, 1.0}, y[2];\n"
        '    if (graphc_load_weights("unused", args, &weights) != 0) return 3;\n'
        "    char workspace[64]; args[0] = x; args[1] = y; args[2] = workspace;\n"
        '    graphc_main(args, 2); printf("%.17g %.17g\\n", y[0], y[1]); return 0;\n'
        "}\n"
    )
    exe = tmp_path / "main"
    subprocess.run(
        [
            "cc",
            "-o",
            str(exe),
            str(tmp_path / "main.c"),
            str(tmp_path / "plain.so"),
            f"-Wl,-rpath,{tmp_path}",
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    np.testing.assert_allclose([float(v) for v in out.split()], [2.0, 2 * np.e], rtol=1e-15)


def test_a_shared_library_needs_a_linker(
    model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC", "no-such-compiler-anywhere")
    with pytest.raises(GraphcError, match=r"C compiler/linker .* \.o"):
        model.export(tmp_path / "model.so")
    assert not (tmp_path / "model.so").exists()


def test_other_suffixes_are_refused(model, tmp_path: Path) -> None:
    with pytest.raises(GraphcError, match=r"must end in \.o .* or \.so"):
        model.export(tmp_path / "model.dll")
