"""Saving and loading models: `save_model` / `load_model` (architecture, weights, training
state and Lambda graphs in one `.graphc` file) and `save_weights` / `load_weights`.

Files are zips of JSON and `.npy` arrays (see `graphc.archive`); they never hold pickles or
code, are written atomically and are validated when read. docs/saving.md has the details.
"""

from graphc.frontend.saving.mixin import SavingMixin
from graphc.frontend.saving.model_file import load_model, save_model
from graphc.frontend.saving.weights_file import load_weights, save_weights
