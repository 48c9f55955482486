"""Reshaping layers owned here: ZeroPadding2D."""

from graphc.frontend.layers.reshaping.zero_padding2d import ZeroPadding2D

__all__ = ["ZeroPadding2D"]
