"""Normalization layers: BatchNormalization and LayerNormalization."""

from graphc.frontend.layers.normalization.batch_normalization import BatchNormalization
from graphc.frontend.layers.normalization.layer_normalization import LayerNormalization

__all__ = ["BatchNormalization", "LayerNormalization"]
