"""Utilities, as `keras.utils`: seeding, serialization registration, sequence padding, image
folders as datasets, training curves."""

from graphc.frontend.utils.image_dataset import ImageDataset, image_dataset_from_directory
from graphc.frontend.utils.plot_model import model_to_dot, plot_model
from graphc.frontend.utils.plotting import plot_history
from graphc.frontend.utils.random_seed import set_random_seed
from graphc.frontend.utils.sequences import pad_sequences
from graphc.frontend.utils.serialization import (
    custom_object_scope,
    deserialize_keras_object,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)
