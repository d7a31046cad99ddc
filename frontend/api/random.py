"""`tf.random` (TF2)."""
from ..random_ops import (normal, set_seed, stateless_random_normal as stateless_normal,
                          stateless_random_uniform as stateless_uniform,
                          stateless_truncated_normal, truncated_normal, uniform)
from .extra_ops import categorical, random_shuffle as shuffle
from .extra_ops import Generator, get_global_generator, set_global_generator
from ..compat.random_host_v1 import random_gamma as gamma  # noqa: E402,F401


def poisson(shape, lam, dtype="float32", seed=None, name=None):
    """TF2 argument order (shape first); TF1's tf.random_poisson takes lam first."""
    from ..compat.random_host_v1 import random_poisson
    return random_poisson(lam, shape, dtype=dtype, seed=seed, name=name)
