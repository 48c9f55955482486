"""Training: the `Trainer` mixin behind `Model.compile/fit/evaluate/...`, and the pieces a
custom `train_step` uses (`gradients`, `record_metric`).

>>> import numpy as np
>>> from graphc.frontend import Sequential, layers
>>> model = Sequential([layers.Input((2,)), layers.Dense(1, kernel_initializer="zeros")])
>>> model.compile(optimizer="sgd", loss="mse", jit_compile=False)
>>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=0)
>>> history.epoch, history.history["loss"][0] > history.history["loss"][1]
([0, 1], True)
"""

from graphc.frontend.trainer.data import pack_x_y_sample_weight, unpack_x_y_sample_weight
from graphc.frontend.trainer.gradients import gradients
from graphc.frontend.trainer.progbar import Progbar, ProgbarLogger
from graphc.frontend.trainer.step import record_metric
from graphc.frontend.trainer.trainer import Trainer
