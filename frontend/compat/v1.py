"""`fuseflow.compat.v1`: TensorFlow 1.x's API (`import fuseflow.compat.v1 as tf`).

Each block below is owned by one engineer and only adds names.
"""
# ==================================================================== op functions (owner: ops engineer)
# TF1 signatures: reduction_indices= / keep_dims=, graph-mode tf.constant padding, TF1 tf.where, ...
from fuseflow.compiler.dtypes import (DType, as_dtype, bool_ as bool, float16, float32, float64, int8,  # noqa: F401,E402
                                      int16, int32, int64, string, uint8, uint16, uint32, uint64)
from fuseflow.api.types import Tensor  # noqa: F401,E402
from fuseflow.core import convert_to_tensor  # noqa: F401,E402
from fuseflow.tensor import Dimension, TensorShape, is_tensor  # noqa: F401,E402
from fuseflow.array_ops import (boolean_mask, broadcast_dynamic_shape, broadcast_static_shape,  # noqa: F401,E402
                                broadcast_to, concat, constant_v1 as constant, ensure_shape,
                                expand_dims_v1 as expand_dims, eye, fill, gather_nd, gather_v1 as gather,
                                get_static_value, identity, identity_n, matrix_band_part, matrix_diag,
                                matrix_diag_part, matrix_transpose, meshgrid, newaxis, one_hot, ones,
                                ones_like_v1 as ones_like, pad_v1 as pad, parallel_stack, rank, repeat, reshape,
                                reverse, reverse_v2, roll, scatter_nd, segment_sum, sequence_mask, shape_n,
                                shape_v1 as shape, size_v1 as size, slice, split, squeeze_v1 as squeeze, stack,
                                stop_gradient, strided_slice, tile, trace, transpose_v1 as transpose,
                                unique, unsorted_segment_sum, unstack, where as where_v2, where_v1 as where, zeros,
                                zeros_like_v1 as zeros_like)
from fuseflow.math_ops import (abs, accumulate_n, acos, acosh, add, add_n, arg_max, arg_min,  # noqa: F401,E402
                               argmax_v1 as argmax, argmin_v1 as argmin, argsort, asin, asinh, atan, atan2, atanh, cast,
                               ceil, clip_by_global_norm, clip_by_norm, clip_by_value, cos, cosh,
                               count_nonzero_v1 as count_nonzero, cumprod, cumsum, div, div_no_nan, divide, einsum, equal,
                               erf, erfc, exp, expm1, floor, floordiv, floormod, global_norm, greater,
                               greater_equal, is_finite, is_inf, is_nan, less, less_equal, lin_space,
                               linspace_v1 as linspace, log, log1p, log_sigmoid, logical_and, logical_not,
                               logical_or, logical_xor, matmul, maximum, minimum, mod, multiply, negative,
                               norm_v1 as norm, not_equal, pow, range, realdiv, reciprocal,
                               reduce_all_v1 as reduce_all, reduce_any_v1 as reduce_any,
                               reduce_logsumexp_v1 as reduce_logsumexp, reduce_max_v1 as reduce_max,
                               reduce_mean_v1 as reduce_mean, reduce_min_v1 as reduce_min,
                               reduce_prod_v1 as reduce_prod, reduce_sum_v1 as reduce_sum, rint, round, rsqrt,
                               saturate_cast, scalar_mul, sigmoid, sign, sin, sinh, sort, sqrt, square,
                               squared_difference, subtract, tan, tanh, tensordot, to_double, to_float, to_int32,
                               to_int64, truediv, truncatediv, truncatemod)
from fuseflow.random_ops import (random_normal, random_uniform, set_random_seed,  # noqa: F401,E402
                                 truncated_normal)
from fuseflow.string_ops import as_string, reduce_join, string_join, string_to_number, substr  # noqa: F401,E402

half = float16
double = float64

# ==================================================================== graph mode: sessions, variables, scopes,
# collections, control flow, checkpoints, queues (owner: session/variables engineer)
from fuseflow._v1_session_api import *  # noqa: F401,F403,E402

# ==================================================================== op namespaces (owner: ops engineer)
from fuseflow.api import dtypes, image_v1 as image, linalg, math_v1 as math, nn_v1 as nn  # noqa: F401,E402
from fuseflow.api import random_v1 as random, strings  # noqa: F401,E402

# ==================================================================== gradients, optimizers, schedules,
# moving averages, regularizers (owner: training engineer)
from fuseflow.gradients import AggregationMethod, UnconnectedGradients, gradients  # noqa: F401,E402
from fuseflow.tape import GradientTape  # noqa: F401,E402
from fuseflow.user_gradients import custom_gradient  # noqa: F401,E402
from fuseflow import train  # noqa: F401,E402
# `tf.contrib` (layers.l2_regularizer, slim, ...) does not exist in TF 2.x's compat.v1: reaching it
# is an AttributeError there, and so it is here. The regularizers live in `fuseflow.regularizers`.

# ==================================================================== TF1 summaries, tf.data, keras
# (owner: user-layer engineer)
from fuseflow import summary_v1 as summary  # noqa: E402
from fuseflow.summary_v1 import Summary  # noqa: F401,E402
from fuseflow import data, keras, nest  # noqa: F401,E402

# ==================================================================== TF1 losses and metrics (owner: TF1 compat engineer)
from fuseflow.compat import losses_v1 as losses  # noqa: E402
from fuseflow.compat import metrics_v1 as metrics  # noqa: E402
from fuseflow.check_ops import (Assert, assert_equal, assert_greater, assert_greater_equal,  # noqa: F401,E402
                                assert_integer, assert_less, assert_less_equal, assert_near, assert_negative,
                                assert_non_negative, assert_non_positive, assert_none_equal, assert_positive,
                                assert_rank, assert_rank_at_least, assert_scalar, assert_type, check_numerics,
                                is_numeric_tensor, verify_tensor_all_finite)
import types as _types  # noqa: E402
from fuseflow import check_ops as _check_ops  # noqa: E402

debugging = _types.SimpleNamespace(
    Assert=Assert, assert_equal=assert_equal, assert_greater=assert_greater,
    assert_greater_equal=assert_greater_equal, assert_integer=assert_integer, assert_less=assert_less,
    assert_less_equal=assert_less_equal, assert_near=assert_near, assert_negative=assert_negative,
    assert_non_negative=assert_non_negative, assert_non_positive=assert_non_positive,
    assert_none_equal=assert_none_equal, assert_positive=assert_positive, assert_rank=assert_rank,
    assert_rank_at_least=assert_rank_at_least, assert_scalar=assert_scalar, assert_type=assert_type,
    assert_all_finite=verify_tensor_all_finite, check_numerics=check_numerics, is_finite=is_finite,
    is_inf=is_inf, is_nan=is_nan, is_numeric_tensor=is_numeric_tensor)
from fuseflow.control_flow import foldl, foldr, map_fn, scan  # noqa: F401,E402
from fuseflow.api.random_v1 import multinomial  # noqa: F401,E402
from fuseflow.compat.platform_v1 import app, flags, logging  # noqa: F401,E402
from fuseflow.compat.keras_legacy_v1 import layers  # noqa: F401,E402
from fuseflow.compat.ops_v1_extra import (clip_by_average_norm, depth_to_space, diag, diag_part,  # noqa: F401,E402
                                          hessians, invert_permutation, py_function, reverse_sequence,
                                          space_to_depth)
from fuseflow.function import init_scope  # noqa: F401,E402

# TF1 top-level aliases of tf.math / tf.linalg functions
confusion_matrix = math.confusion_matrix
bincount = math.bincount
segment_max = math.segment_max
segment_mean = math.segment_mean
segment_min = math.segment_min
segment_prod = math.segment_prod
unsorted_segment_max = math.unsorted_segment_max
unsorted_segment_mean = math.unsorted_segment_mean
unsorted_segment_min = math.unsorted_segment_min
unsorted_segment_prod = math.unsorted_segment_prod
unsorted_segment_sqrt_n = math.unsorted_segment_sqrt_n
from fuseflow.compat.ops_v1_extra import matrix_determinant, matrix_inverse  # noqa: E402
matrix_solve = linalg.solve
from fuseflow.summary_v1 import Event  # noqa: F401,E402
from fuseflow.io_ops import decode_csv  # noqa: F401,E402
from fuseflow.graph_def import GraphDef, NodeDef, write_graph as _write_graph  # noqa: F401,E402
io.write_graph = _write_graph
from fuseflow.compat.random_host_v1 import random_gamma, random_poisson  # noqa: F401,E402
random_crop = image.random_crop
from fuseflow.state_ops import (scatter_div, scatter_max, scatter_min, scatter_mul, scatter_nd_add,  # noqa: F401,E402
                                scatter_nd_sub, scatter_nd_update)
from fuseflow.sparse_v1 import (SparseTensor, SparseTensorValue, sparse, sparse_add,  # noqa: F401,E402
                                sparse_placeholder, sparse_reduce_sum, sparse_tensor_dense_matmul,
                                sparse_tensor_to_dense, sparse_to_dense)
from fuseflow.tensor_array import TensorArray  # noqa: F401,E402
from fuseflow.check_ops import add_check_numerics_ops  # noqa: F401,E402
