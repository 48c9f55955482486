"""Models: functional `Model(inputs, outputs)`, `Sequential`, subclassed `Model`."""

from graphc.frontend.models.cloning import clone_model, model_from_config, model_from_json
from graphc.frontend.models.functional import Functional
from graphc.frontend.models.model import Model
from graphc.frontend.models.sequential import Sequential
from graphc.frontend.saving.model_file import load_model, save_model
