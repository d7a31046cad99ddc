"""`tf.compat.v1.random`."""
from .random import *  # noqa: F401,F403 - the namespace re-exports tf.random
from ..random_ops import get_seed, set_random_seed
