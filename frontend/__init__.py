
# --- TF2 user layer: fuseflow.function, tf.data, tf.summary, tf.keras, tf.nest -------------
# (keep this block last: keras modules resolve the op functions above at call time)
from . import data, nest, summary  # noqa: E402,F401
from .function import TensorSpec, function, init_scope  # noqa: E402,F401
from . import keras  # noqa: E402,F401
