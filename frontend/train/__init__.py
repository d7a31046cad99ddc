"""`tf.train` (TF1): optimizers, learning-rate schedules, moving averages, the global step.

Checkpointing, queues and input pipelines also live under `tf.train` in TF; they are
implemented elsewhere (Session/Saver, queues) and re-exported here by name when present.
"""
from __future__ import annotations

import importlib

from .learning_rate_decay import (cosine_decay, cosine_decay_restarts, exponential_decay, inverse_time_decay,
                                  linear_cosine_decay, natural_exp_decay, piecewise_constant,
                                  piecewise_constant_decay, polynomial_decay)
from .moving_averages import ExponentialMovingAverage, assign_moving_average
from .optimizer import Optimizer
from .optimizers import (AdadeltaOptimizer, AdagradOptimizer, AdamOptimizer, FtrlOptimizer,
                         GradientDescentOptimizer, MomentumOptimizer, ProximalAdagradOptimizer,
                         ProximalGradientDescentOptimizer, RMSPropOptimizer)
from .training_util import (assert_global_step, create_global_step, get_global_step,
                            get_or_create_global_step, global_step)

# tf.train names implemented by other modules (checkpoints, queues, input pipelines) are
# looked up there on first use, so this package does not depend on their import order.
_ELSEWHERE = ("fuseflow.saver", "fuseflow.checkpoint", "fuseflow.checkpoints", "fuseflow.queues",
              "fuseflow.input_pipeline", "fuseflow.coordinator", "fuseflow.example", "fuseflow.host_ops",
              "fuseflow.monitored_session", "fuseflow.summary_v1", "fuseflow.graph_def")


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    for mod_name in _ELSEWHERE:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        exported = getattr(mod, "TRAIN_EXPORTS", None)
        if (exported is None or name in exported) and hasattr(mod, name):
            value = getattr(mod, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'fuseflow.train' has no attribute '{name}'")
