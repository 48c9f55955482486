"""cnn_infer: conv3x3(32)-relu-maxpool2-conv3x3(64)-relu-maxpool2-flatten-dense(10), 28x28x1.

graphc compiles the model with its weights as constants (NHWC, HWIO); numpy runs an im2col
forward pass; PyTorch runs eagerly on NCHW images (its native layout, transposed once before
timing); JAX runs `jit` with NHWC convolutions on a device-resident input.
"""

from __future__ import annotations

import numpy as np

import graphc
from benchmarks import models
from benchmarks.harness import PeerModel, Section, Settings, Target, run_case

NAME = "cnn_infer"
TITLE = "CNN conv3x3(32)-relu-pool-conv3x3(64)-relu-pool-dense(10) on 28x28x1, float32"
PEERS = ("numpy", "torch", "jax")
TARGET = 1.0


def peer_models(weights: models.CNNWeights, settings: Settings) -> dict[str, PeerModel]:
    """The CNN in every available peer."""
    peers = settings.peers
    found = {}
    if peers.get("numpy") is not None:
        found["numpy"] = PeerModel(lambda x: x, lambda x: models.numpy_cnn(weights, x))
    torch = peers.get("torch")
    if torch is not None:

        def to_nchw(x: np.ndarray) -> object:
            return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

        found["torch"] = PeerModel(to_nchw, models.torch_cnn(torch, weights))
    jax = peers.get("jax")
    if jax is not None:
        jitted = models.jax_cnn(jax, weights)
        found["jax"] = PeerModel(jax.device_put, lambda x: jitted(x).block_until_ready())
    return found


def run(settings: Settings) -> Section:
    section = Section(NAME, TITLE)
    weights = models.cnn_weights()
    compiled = graphc.compile(models.graphc_cnn(weights), threads=settings.threads)
    peers = peer_models(weights, settings)
    for batch in (1, 4) if settings.quick else (1, 64):
        case = f"batch {batch}"
        x = models.mnist_like(batch)
        want = models.numpy_cnn(weights, x)
        candidates = {"graphc": lambda x=x: compiled(x)}
        candidates.update({name: peer.call_on(x) for name, peer in peers.items()})
        run_case(section, settings, case, candidates, want, PEERS)
        section.targets.append(
            Target(
                f"{case}: graphc / best peer <= {TARGET}",
                section.ratio_to_best_peer(case),
                TARGET,
            )
        )
    return section
