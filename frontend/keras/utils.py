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


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Keras' pad_sequences: a (samples, maxlen) array, sequences cut and padded at the 'pre' or
    'post' end (default: both at the front)."""
    lengths, sample_shape = [], ()
    for s in sequences:
        if not hasattr(s, "__len__"):
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {s}")
        lengths.append(len(s))
        if len(s) and not sample_shape:
            sample_shape = np.asarray(s).shape[1:]
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    out = np.full((len(sequences), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or maxlen == 0:
            continue
        if truncating == "pre":
            kept = s[-maxlen:]
        elif truncating == "post":
            kept = s[:maxlen]
        else:
            raise ValueError(f'Truncating type "{truncating}" not understood')
        kept = np.asarray(kept, dtype=dtype)
        if padding == "post":
            out[i, :len(kept)] = kept
        elif padding == "pre":
            out[i, -len(kept):] = kept
        else:
            raise ValueError(f'Padding type "{padding}" not understood')
    return out
