"""`fuseflow.compat.v1`: TensorFlow 1.x's API (`import fuseflow.compat.v1 as tf`).

Each block below is owned by one engineer and only adds names.
"""
# ==================================================================== op functions (owner: ops engineer)
# Created minimally by the session/variables engineer: the op modules' public names.
from fuseflow.math_ops import *  # noqa: F401,F403,E402
from fuseflow.array_ops import *  # noqa: F401,F403,E402
from fuseflow.nn_ops import *  # noqa: F401,F403,E402

# ==================================================================== graph mode: sessions, variables, scopes,
# collections, control flow, checkpoints, queues (owner: session/variables engineer)
from fuseflow._v1_session_api import *  # noqa: F401,F403,E402

# ==================================================================== gradients, optimizers, schedules,
# moving averages, regularizers (owner: training engineer)
from fuseflow.gradients import AggregationMethod, UnconnectedGradients, gradients  # noqa: F401,E402
from fuseflow.tape import GradientTape  # noqa: F401,E402
from fuseflow import train  # noqa: F401,E402
from fuseflow import regularizers as _regularizers  # noqa: E402


class _ContribLayers:
    """`tf.contrib.layers` regularizers (contrib is gone from TF 2; the seeds still use these)."""
    l1_regularizer = staticmethod(_regularizers.l1_regularizer)
    l2_regularizer = staticmethod(_regularizers.l2_regularizer)
    l1_l2_regularizer = staticmethod(_regularizers.l1_l2_regularizer)
    sum_regularizer = staticmethod(_regularizers.sum_regularizer)
    apply_regularization = staticmethod(_regularizers.apply_regularization)


class _Contrib:
    layers = _ContribLayers


contrib = _Contrib

# ==================================================================== TF1 summaries, tf.data, keras
# (owner: user-layer engineer)
from fuseflow import summary_v1 as summary  # noqa: E402
from fuseflow.summary_v1 import Summary  # noqa: F401,E402
from fuseflow import data, keras, nest  # noqa: F401,E402
