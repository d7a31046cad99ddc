"""`tf.compat.v1.random`."""
import numpy as np

from .random import *  # noqa: F401,F403 - the namespace re-exports tf.random
from ..random_ops import get_seed, set_random_seed
from ..queues import random_shuffle as shuffle  # noqa: F401


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """Samples [batch, num_samples] class indices from unnormalized log-probabilities `logits`
    [batch, classes] (int64 by default). Drawn with the Gumbel-max trick,
    argmax(logits + Gumbel noise), which samples exactly softmax(logits); the random stream
    differs from TF's, so only the distribution (not the values) matches."""
    from .. import math_ops, array_ops
    from ..core import convert_to_tensor
    from ..random_ops import random_uniform
    from fuseflow.compiler import dtypes as _dt
    logits = convert_to_tensor(logits)
    if logits.shape.ndims is not None and logits.shape.ndims != 2:
        raise ValueError(f"logits should be a matrix, got shape {logits.shape}")
    out_dtype = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    if out_dtype not in (_dt.int32, _dt.int64):
        raise TypeError(f"categorical: dtype must be int32 or int64, got {out_dtype.name}")
    shape = array_ops.shape_v1(logits)
    noise_shape = array_ops.stack([shape[0], num_samples, shape[1]])
    tiny = float(np.finfo(logits.dtype.as_numpy_dtype).tiny)
    u = random_uniform(noise_shape, minval=tiny, maxval=1.0, dtype=logits.dtype, seed=seed)
    gumbel = math_ops.negative(math_ops.log(math_ops.negative(math_ops.log(u))))
    scores = math_ops.add(array_ops.expand_dims_v1(logits, 1), gumbel)
    return math_ops.argmax_v1(scores, axis=2, output_type=out_dtype, name=name or "Multinomial")


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """TF1's name of `categorical`."""
    return categorical(logits, num_samples, dtype=output_dtype, seed=seed, name=name)
from ..compat.random_host_v1 import random_gamma as gamma, random_poisson as poisson  # noqa: F401,E402
