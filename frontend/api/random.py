"""`tf.random` (TF2)."""
from ..random_ops import (normal, set_seed, stateless_random_normal as stateless_normal,
                          stateless_random_uniform as stateless_uniform,
                          stateless_truncated_normal, truncated_normal, uniform)
from .extra_ops import categorical, random_shuffle as shuffle
from .extra_ops import Generator, get_global_generator, set_global_generator
