# --- graph mode and state: Variable, control dependencies, name_scope, errors ---------------
# (owner: session/variables engineer; TF1 names live in compat/v1.py via _v1_session_api)
from ._v2_session_api import *  # noqa: E402,F401,F403

# --- gradients and training (owner: training engineer) ----------------------------------------
from .gradients import AggregationMethod, UnconnectedGradients, gradients  # noqa: E402,F401
from .tape import GradientTape  # noqa: E402,F401
from . import train  # noqa: E402,F401

# --- TF2 user layer: fuseflow.function, tf.data, tf.summary, tf.keras, tf.nest -------------
# (keep this block last: keras modules resolve the op functions above at call time)
from . import data, nest, summary  # noqa: E402,F401
from .function import TensorSpec, function, init_scope  # noqa: E402,F401
from . import keras  # noqa: E402,F401
