"""graphc.frontend: Keras' model-building API on graphc graphs.

Paste Keras model code and change the import:

>>> from graphc.frontend import Input, Model, Sequential, layers
>>> model = Sequential([layers.Input((784,)), layers.Dense(64, activation="relu"),
...                     layers.Dense(10)])
>>> model.count_params()
50890

Symbolic tensors are graphc Values, so every graphc op works on them; `model.graph` is the
inference graph and `model.predict` runs it compiled.
"""

from graphc.frontend import (
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    utils,
)
from graphc.frontend.layers import Input, InputSpec, Layer
from graphc.frontend.models import Model, Sequential
from graphc.frontend.variables import Variable
