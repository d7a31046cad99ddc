"""`tf.train` (TF1): optimizers, learning-rate schedules, moving averages, the global step.

Checkpointing, queues and input pipelines also live under `tf.train` in TF; they are
implemented elsewhere (Session/Saver, queues) and re-exported here by name when present.
"""
from __future__ import annotations

import importlib

from .learning_rate_decay import (cosine_decay, exponential_decay, inverse_time_decay, natural_exp_decay,
                                  piecewise_constant, piecewise_constant_decay, polynomial_decay)
from .moving_averages import ExponentialMovingAverage, assign_moving_average
from .optimizer import Optimizer
from .optimizers import (AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer,
                         RMSPropOptimizer)
from .training_util import (assert_global_step, create_global_step, get_global_step,
                            get_or_create_global_step, global_step)

# Names of tf.train that other modules implement: looked up lazily so this package does not
# depend on them being present (or on their import order).
_ELSEWHERE = ("fuseflow.saver", "fuseflow.checkpoint", "fuseflow.queues", "fuseflow.input", "fuseflow.session",
              "fuseflow.coordinator", "fuseflow.example", "fuseflow.tfrecord", "fuseflow.data")


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    for mod_name in _ELSEWHERE:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        train_ns = getattr(mod, "TRAIN_EXPORTS", None)
        if train_ns is not None and name in train_ns:
            return train_ns[name] if isinstance(train_ns, dict) else getattr(mod, name)
    raise AttributeError(f"module 'fuseflow.train' has no attribute '{name}'")
