"""Merging layers: combine a list of tensors (Add, Concatenate, Dot, ...)."""

from graphc.frontend.layers.merging.add import Add, add
from graphc.frontend.layers.merging.average import Average, average
from graphc.frontend.layers.merging.base_merge import Merge
from graphc.frontend.layers.merging.concatenate import Concatenate, concatenate
from graphc.frontend.layers.merging.dot import Dot, dot
from graphc.frontend.layers.merging.maximum import Maximum, maximum
from graphc.frontend.layers.merging.minimum import Minimum, minimum
from graphc.frontend.layers.merging.multiply import Multiply, multiply
from graphc.frontend.layers.merging.subtract import Subtract, subtract
