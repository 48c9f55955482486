"""Configs written by Keras 3 itself (`keras.Model.to_json()`), made readable by graphc.

Keras writes a few keys for features graphc does not have (quantization, LoRA, batch
renormalization, the axes of a VarianceScaling initializer), and writes them even when the
feature is off. `from_keras_config` drops such a key when it holds the "off" value and
refuses a config that turns the feature on. It also turns Keras' form of a plain function
(`{"class_name": "function", "config": "my_fn"}`) into the name graphc looks up. Only
objects Keras wrote are touched: they carry a "module" key, which graphc's own configs lack.
"""

from __future__ import annotations

from typing import Any

_OFF = object()  # the key is dropped whatever its value (it only matters with another key on)

#: Keras-only config keys: the value that means "feature off", and what the feature is.
KERAS_ONLY_KEYS: dict[str, tuple[Any, str]] = {
    "quantization_config": (None, "quantized layers"),
    "lora_rank": (None, "LoRA"),
    "lora_alpha": (None, "LoRA"),
    "input_axes": (None, "VarianceScaling over chosen axes"),
    "output_axes": (None, "VarianceScaling over chosen axes"),
    "renorm": (False, "batch renormalization"),
    "renorm_clipping": (_OFF, "batch renormalization"),
    "renorm_momentum": (_OFF, "batch renormalization"),
}


def from_keras_config(config: Any) -> Any:
    """`config` with the Keras-only keys of every Keras-written object removed.

    Args:
        config: a serialized object (`{"class_name", "config", ...}`), as nested JSON data.

    Returns:
        The same data, translated; graphc's own configs come back unchanged.

    Raises:
        ValueError: a Keras-only key turns its feature on (e.g. `lora_rank=4`).

    >>> from_keras_config({"module": "keras.initializers", "class_name": "GlorotUniform",
    ...                    "config": {"seed": None, "input_axes": None, "output_axes": None}})
    {'module': 'keras.initializers', 'class_name': 'GlorotUniform', 'config': {'seed': None}}
    """
    if isinstance(config, list):
        return [from_keras_config(item) for item in config]
    if not isinstance(config, dict):
        return config
    if "module" in config and config.get("class_name") == "function":
        return config.get("config")  # a function, by (registered) name
    translated = {key: from_keras_config(value) for key, value in config.items()}
    inner = translated.get("config")
    if "module" in config and isinstance(inner, dict):
        translated["config"] = _drop_keras_only(inner, config["class_name"])
    return translated


def _drop_keras_only(config: dict[str, Any], class_name: str) -> dict[str, Any]:
    kept = {}
    for key, value in config.items():
        if key not in KERAS_ONLY_KEYS:
            kept[key] = value
            continue
        off, feature = KERAS_ONLY_KEYS[key]
        if off is not _OFF and value != off:
            who = f"{class_name} {config['name']!r}" if "name" in config else class_name
            raise ValueError(
                f"{who}: graphc does not support {feature}; the Keras config has "
                f"{key}={value!r} (only {key}={off!r} can be loaded)"
            )
    return kept
