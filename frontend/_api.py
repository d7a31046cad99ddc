"""The TF2 namespace behind `import fuseflow as tf` (loaded on first attribute access; see
__init__.py). Each block below is owned by one engineer and is a plain list of imports, so
additions merge easily."""
import sys as _sys

# --- dtypes, tensors and op functions (owner: ops engineer) ------------------------------------
from fuseflow.compiler.dtypes import (DType, as_dtype, bool_ as bool, float16, float32, float64, int8,  # noqa: F401
                                      int16, int32, int64, string, uint8, uint16, uint32, uint64)
from .api.types import Tensor  # noqa: E402,F401
from .core import convert_to_tensor  # noqa: E402,F401
from .tensor import TensorShape, is_tensor  # noqa: E402,F401

half = float16
double = float64
from .array_ops import (boolean_mask, broadcast_dynamic_shape, broadcast_static_shape, broadcast_to,  # noqa: F401
                        concat, constant, ensure_shape, expand_dims, eye, fill, gather, gather_nd, get_static_value,
                        identity, identity_n, meshgrid, newaxis, one_hot, ones, ones_like, pad, parallel_stack,
                        rank, repeat, reshape, reverse, roll, scatter_nd, sequence_mask, shape, shape_n, size,
                        slice, split, squeeze, stack, stop_gradient, strided_slice, tile, transpose, unique,
                        unstack, where, zeros, zeros_like)
from .math_ops import (abs, acos, acosh, add, add_n, argmax, argmin, argsort, asin, asinh, atan, atan2, atanh,  # noqa: F401
                       cast, clip_by_global_norm, clip_by_norm, clip_by_value, cos, cosh, cumsum, divide, equal, exp,
                       floor, greater, greater_equal, less, less_equal, linspace, logical_and, logical_not,
                       logical_or, matmul, maximum, minimum, multiply, negative, norm, not_equal, pow, range,
                       einsum, realdiv, reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean, reduce_min,
                       reduce_prod, reduce_sum, round, saturate_cast, scalar_mul, sigmoid, sign, sin, sinh, sort, sqrt,
                       square, subtract, tan, tanh, tensordot, truediv, truncatediv, truncatemod)

# --- graph mode and state: Variable, control dependencies, name_scope, errors ---------------
# (owner: session/variables engineer; TF1 names live in compat/v1.py via _v1_session_api)
from ._v2_session_api import *  # noqa: E402,F401,F403

# --- op namespaces: tf.dtypes, tf.math, tf.nn, tf.random, tf.strings, tf.image, tf.linalg (owner: ops engineer)
from .api import dtypes, image, linalg, math, nn, random, strings  # noqa: E402,F401
from .api.printing import print_ as print  # noqa: E402,F401
from .tensor_array import TensorArray  # noqa: E402,F401
from .api.environment import Module, config, debugging, device, executing_eagerly  # noqa: E402,F401
from .api.environment import autograph, get_logger, saved_model, test, timestamp, version  # noqa: E402,F401
from .control_flow import foldl, foldr, map_fn, scan  # noqa: E402,F401
from .api.extra_ops import einsum, histogram_fixed_width, py_function, searchsorted  # noqa: E402,F401,F811
from .script_ops import numpy_function  # noqa: E402,F401
from .api.extra_ops import (tensor_scatter_nd_add, tensor_scatter_nd_max, tensor_scatter_nd_min,  # noqa: E402,F401
                            tensor_scatter_nd_sub, tensor_scatter_nd_update, unique_with_counts)

for _name in ("dtypes", "image", "linalg", "math", "nn", "random", "strings"):
    _sys.modules[f"fuseflow.{_name}"] = globals()[_name]
del _name

# --- gradients and training (owner: training engineer) ----------------------------------------
from .gradients import AggregationMethod, UnconnectedGradients, gradients  # noqa: E402,F401
from .tape import GradientTape  # noqa: E402,F401
from .user_gradients import custom_gradient  # noqa: E402,F401
from . import train  # noqa: E402,F401

# --- TF2 user layer: fuseflow.function, tf.data, tf.summary, tf.keras, tf.nest -------------
# (keep this block last: keras modules resolve the op functions above at call time)
from . import data, nest, summary  # noqa: E402,F401
from . import distribute  # noqa: E402,F401
from .function import TensorSpec, function, init_scope  # noqa: E402,F401
from . import keras  # noqa: E402,F401
# TF 2.16+ forwards these top-level names to Keras 3 (tf.losses is keras.losses, ...)
from .keras import initializers, losses, metrics, optimizers  # noqa: E402,F401
# TF2's top-level initializers (init_ops_v2: called as init(shape, dtype)) have the Keras 3 maths
# and defaults; compat.v1 keeps its TF1 classes (initializers_v1).
zeros_initializer, ones_initializer = initializers.Zeros, initializers.Ones  # noqa: E305
constant_initializer = initializers.Constant
random_normal_initializer, random_uniform_initializer = initializers.RandomNormal, initializers.RandomUniform

# --- ahead-of-time artifacts (owner: compiler lead) -------------------------------------------
from . import aot  # noqa: E402,F401
