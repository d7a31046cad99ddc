"""`tf.keras`: the Keras 3 subset fuseflow implements (layers, Sequential / subclassed /
functional models, compile + fit with each training step compiled, losses, metrics,
initializers, activations, callbacks)."""
from . import (activations, backend, callbacks, constraints, datasets, initializers, layers,  # noqa: F401
               losses, metrics, models, preprocessing, regularizers, utils)
from .engine import Input, InputLayer, KerasTensor, Layer  # noqa: F401
from .models import Model, Sequential  # noqa: F401
from . import optimizers  # noqa: F401,E402  (written by the training engineer)
