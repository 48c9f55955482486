"""`SavingMixin`: the `save`, `save_weights` and `load_weights` methods of `Model`.

The methods forward to `model_file` and `weights_file`, imported when called: those modules
rebuild models from configs, so they import the model classes this mixin is a base of.
"""

from __future__ import annotations

import os


class SavingMixin:
    """Keras' saving methods for models.

    >>> import os, tempfile
    >>> from graphc.frontend import Sequential, layers, models
    >>> model = Sequential([layers.Input((3,)), layers.Dense(2)], name="saved")
    >>> path = os.path.join(tempfile.mkdtemp(), "saved.graphc")
    >>> model.save(path)
    >>> models.load_model(path).name
    'saved'
    """

    def save(
        self, filepath: str | os.PathLike, overwrite: bool = True, include_optimizer: bool = True
    ) -> None:
        """Save architecture, weights, Lambda graphs and training state to one file
        (see `graphc.frontend.saving.save_model`)."""
        from graphc.frontend.saving.model_file import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath: str | os.PathLike, overwrite: bool = True) -> None:
        """Save the weights alone (see `graphc.frontend.saving.save_weights`)."""
        from graphc.frontend.saving.weights_file import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(
        self, filepath: str | os.PathLike, by_name: bool = False, skip_mismatch: bool = False
    ) -> None:
        """Load weights from a weights file or a model file, by layer order or by layer name
        (see `graphc.frontend.saving.load_weights`)."""
        from graphc.frontend.saving.weights_file import load_weights

        load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)
