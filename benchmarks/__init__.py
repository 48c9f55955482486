"""graphc's benchmark suite against its peers; run it with `python -m benchmarks`.

One module per benchmark, each with `NAME`, `TITLE` and `run(settings) -> Section`; see
README.md for what each measures and RESULTS.md for the latest run.
"""

BENCHMARKS = (
    "mlp_infer",
    "cnn_infer",
    "mlp_train_step",
    "gelu",
    "sgemm",
    "sym_grad",
    "compile_time",
)
