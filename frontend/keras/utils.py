"""`tf.keras.utils`: small helpers."""
from __future__ import annotations

import random

import numpy as np


def to_categorical(x, num_classes=None):
    """Keras 3: a tensor gives a float32 one_hot tensor; anything else a float64 numpy array."""
    import fuseflow
    if fuseflow.is_tensor(x):
        if num_classes is None:
            num_classes = int(np.max(x.numpy())) + 1
        if x.shape.rank is not None and x.shape.rank > 1 and x.shape[-1] == 1:
            x = fuseflow.squeeze(x, axis=-1)
        return fuseflow.one_hot(fuseflow.cast(x, fuseflow.int64), int(num_classes))
    x = np.asarray(x, dtype=np.int64)
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    n = int(num_classes) if num_classes is not None else int(x.max()) + 1
    out = np.zeros((x.size, n))
    out[np.arange(x.size), x] = 1.0
    return out.reshape(shape + (n,))


def set_random_seed(seed):
    """Seed Python, numpy, Keras' initializers and fuseflow's global random seed."""
    from . import initializers
    random.seed(seed)
    np.random.seed(seed)
    initializers.set_seed(seed)
    import fuseflow
    set_seed = getattr(getattr(fuseflow, "random", None), "set_seed", None)
    if set_seed is not None:
        set_seed(seed)


def normalize(x, axis=-1, order=2):
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    norm[norm == 0] = 1
    return x / norm
