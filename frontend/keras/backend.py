"""`tf.keras.backend`: the few global settings Keras layers consult."""
from __future__ import annotations

_settings = {"epsilon": 1e-7, "floatx": "float32", "image_data_format": "channels_last"}


def epsilon() -> float:
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    _settings["epsilon"] = float(value)


def floatx() -> str:
    return _settings["floatx"]


def set_floatx(value: str) -> None:
    _settings["floatx"] = str(value)


def image_data_format() -> str:
    return _settings["image_data_format"]


def set_image_data_format(value: str) -> None:
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"image_data_format must be 'channels_last' or 'channels_first', got {value!r}")
    _settings["image_data_format"] = value


def clear_session(free_memory=True) -> None:
    """Reset Keras' automatic layer names (dense, dense_1, ...)."""
    from .engine import reset_uids
    reset_uids()


def backend() -> str:
    return "tensorflow"


def get_value(x):
    import numpy as np
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def set_value(x, value):
    x.assign(value)


def int_shape(x):
    return tuple(x.shape.as_list()) if hasattr(x.shape, "as_list") else tuple(x.shape)
