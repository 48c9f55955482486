"""mlp_infer: the MLP 784-512-256-10 (relu, relu, softmax) forward pass at batch 1 and 256.

graphc compiles the model with its weights as constants; numpy runs a hand-written forward
pass; PyTorch runs eagerly under `inference_mode`; JAX runs `jit` on a device-resident input;
ONNX Runtime runs the model exported as an ONNX graph (MatMul, Add, Relu, Softmax).
"""

from __future__ import annotations

import graphc
from benchmarks import models
from benchmarks.harness import (
    PeerModel,
    Section,
    Settings,
    Target,
    optional_import,
    run_case,
)

NAME = "mlp_infer"
TITLE = "MLP 784-512-256-10 inference (relu, softmax), float32"
PEERS = ("numpy", "torch", "jax", "onnxruntime")
TARGETS = {1: 0.8, 256: 1.0}


def peer_models(weights: models.MLPWeights, settings: Settings) -> dict[str, PeerModel]:
    """The MLP in every available peer."""
    peers = settings.peers
    found = {}
    if peers.get("numpy") is not None:
        found["numpy"] = PeerModel(lambda x: x, lambda x: models.numpy_mlp(weights, x))
    torch = peers.get("torch")
    if torch is not None:
        found["torch"] = PeerModel(torch.from_numpy, models.torch_mlp(torch, weights))
    jax = peers.get("jax")
    if jax is not None:
        jitted = models.jax_mlp(jax, weights)
        found["jax"] = PeerModel(jax.device_put, lambda x: jitted(x).block_until_ready())
    ort, onnx = peers.get("onnxruntime"), optional_import("onnx")
    if ort is not None and onnx is None:
        peers.notes["onnxruntime"] = "skipped: the onnx package (to build the graph) is missing"
    elif ort is not None:
        session = models.onnx_mlp_session(onnx, ort, weights, settings.threads)
        found["onnxruntime"] = PeerModel(lambda x: x, lambda x: session.run(None, {"x": x})[0])
    return found


def run(settings: Settings) -> Section:
    section = Section(NAME, TITLE)
    weights = models.mlp_weights()
    compiled = graphc.compile(models.graphc_mlp(weights), threads=settings.threads)
    peers = peer_models(weights, settings)
    for batch in (1, 8) if settings.quick else (1, 256):
        case = f"batch {batch}"
        x = models.flat_inputs(batch)
        want = models.numpy_mlp(weights, x)
        candidates = {"graphc": lambda x=x: compiled(x)}
        candidates.update({name: peer.call_on(x) for name, peer in peers.items()})
        run_case(section, settings, case, candidates, want, PEERS)
        if batch in TARGETS:
            section.targets.append(
                Target(
                    f"{case}: graphc / best peer <= {TARGETS[batch]}",
                    section.ratio_to_best_peer(case),
                    TARGETS[batch],
                )
            )
    return section
