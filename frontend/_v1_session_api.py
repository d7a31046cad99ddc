"""The TF1 graph-mode names of `fuseflow.compat.v1` that come from the session/variables modules:
Session, Variable, scopes, collections, control dependencies, initializers, errors,
checkpoints and queue input pipelines. `compat/v1.py` star-imports this module (`__all__`).
"""
from __future__ import annotations

import importlib
import types

from . import errors  # noqa: F401
from . import initializers_v1 as _init
from .collections_api import (GraphKeys, add_to_collection, add_to_collections, get_all_collection_keys,  # noqa: F401
                              get_collection, get_collection_ref)
from .context import disable_eager_execution, enable_eager_execution, executing_eagerly  # noqa: F401
from .control_flow import (case, cond, control_dependencies, group, no_op, tuple_, while_loop,  # noqa: F401
                           with_dependencies)  # noqa: F401
from .graph import Graph, get_default_graph, reset_default_graph  # noqa: F401
from .session import (ConfigProto, GPUOptions, GraphOptions, InteractiveSession, OptimizerOptions,  # noqa: F401
                      RunMetadata, RunOptions, Session, get_default_session)
from .placeholders import placeholder, placeholder_with_default  # noqa: F401
from . import gfile as _gfile
from . import io_ops as _io_ops
from . import queues as _queues
from . import tfrecord as _tfrecord
from .io_ops import (FixedLenFeature, FixedLenSequenceFeature, VarLenFeature, matching_files,  # noqa: F401
                     parse_example, parse_single_example, read_file, write_file)
from .io_ops import decode_raw_v1 as decode_raw  # noqa: F401
from .queues import (FIFOQueue, FixedLengthRecordReader, IdentityReader, PaddingFIFOQueue, QueueBase,  # noqa: F401
                     RandomShuffleQueue, ReaderBase, TextLineReader, TFRecordReader, WholeFileReader, random_shuffle)
from .script_ops import Print, numpy_function, py_func  # noqa: F401
from .state_ops import (assign, assign_add, assign_sub, count_up_to, scatter_add, scatter_sub,  # noqa: F401
                        scatter_update)
from .variable_scope import (AUTO_REUSE, VariableScope, get_local_variable, get_variable,  # noqa: F401
                             get_variable_scope, make_template, name_scope_v1, no_regularizer, variable_op_scope,
                             variable_scope)
from .variables import (VariableV1, all_variables, assert_variables_initialized, global_variables,  # noqa: F401
                        global_variables_initializer, initialize_all_variables, initialize_local_variables,
                        initialize_variables, is_variable_initialized, local_variables, local_variables_initializer,
                        model_variables, moving_average_variables, report_uninitialized_variables,
                        tables_initializer, trainable_variables, variables_initializer)

Variable = VariableV1
name_scope = name_scope_v1
tuple = tuple_  # noqa: A001 - TF's name


def device(device_name_or_function):
    """`tf.device`: placement is recorded on ops and otherwise ignored (fuseflow runs on the CPU)."""
    return get_default_graph().device(device_name_or_function if isinstance(device_name_or_function, str) else "")


zeros_initializer = _init.Zeros
ones_initializer = _init.Ones
constant_initializer = _init.Constant
random_normal_initializer = _init.RandomNormal
truncated_normal_initializer = _init.TruncatedNormal
random_uniform_initializer = _init.RandomUniform
variance_scaling_initializer = _init.VarianceScaling
glorot_uniform_initializer = _init.GlorotUniform
glorot_normal_initializer = _init.GlorotNormal
orthogonal_initializer = _init.Orthogonal

initializers = types.SimpleNamespace(
    zeros=_init.Zeros, ones=_init.Ones, constant=_init.Constant, random_normal=_init.RandomNormal,
    truncated_normal=_init.TruncatedNormal, random_uniform=_init.RandomUniform,
    variance_scaling=_init.VarianceScaling, glorot_uniform=_init.GlorotUniform, glorot_normal=_init.GlorotNormal,
    orthogonal=_init.Orthogonal, identity=_init.Identity, he_normal=_init.he_normal, he_uniform=_init.he_uniform,
    lecun_normal=_init.lecun_normal, lecun_uniform=_init.lecun_uniform, get=_init.get,
    global_variables=global_variables_initializer, local_variables=local_variables_initializer,
    variables=variables_initializer, Initializer=_init.Initializer)


def _optional(module_name):
    try:
        return importlib.import_module(module_name)
    except ImportError:
        return None


train = _optional("fuseflow.train")

python_io = _tfrecord.python_io
gfile = _gfile.gfile_v1
io = types.SimpleNamespace(
    gfile=_gfile.gfile_v2,
    TFRecordWriter=_tfrecord.TFRecordWriter, TFRecordOptions=_tfrecord.TFRecordOptions,
    TFRecordCompressionType=_tfrecord.TFRecordCompressionType, tf_record_iterator=_tfrecord.tf_record_iterator,
    FixedLenFeature=FixedLenFeature, FixedLenSequenceFeature=FixedLenSequenceFeature, VarLenFeature=VarLenFeature,
    parse_single_example=parse_single_example, parse_example=parse_example, decode_raw=_io_ops.decode_raw,
    read_file=read_file, write_file=write_file, matching_files=matching_files, FIFOQueue=FIFOQueue,
    RandomShuffleQueue=RandomShuffleQueue, PaddingFIFOQueue=PaddingFIFOQueue, QueueBase=QueueBase)

__all__ = [
    "errors", "GraphKeys", "add_to_collection", "add_to_collections", "get_all_collection_keys", "get_collection",
    "get_collection_ref", "disable_eager_execution", "enable_eager_execution", "executing_eagerly", "case", "cond",
    "control_dependencies", "group", "no_op", "tuple", "while_loop", "with_dependencies", "Graph", "get_default_graph",
    "reset_default_graph", "ConfigProto", "GPUOptions", "GraphOptions", "InteractiveSession", "OptimizerOptions",
    "RunMetadata", "RunOptions", "Session", "get_default_session", "assign", "assign_add", "assign_sub",
    "AUTO_REUSE", "VariableScope", "get_local_variable", "get_variable", "get_variable_scope", "no_regularizer",
    "variable_op_scope", "variable_scope", "name_scope", "Variable", "all_variables",
    "assert_variables_initialized", "global_variables", "global_variables_initializer", "initialize_all_variables",
    "initialize_local_variables", "initialize_variables", "is_variable_initialized", "local_variables",
    "local_variables_initializer", "model_variables", "moving_average_variables",
    "report_uninitialized_variables", "trainable_variables", "variables_initializer", "device",
    "zeros_initializer", "ones_initializer", "constant_initializer", "random_normal_initializer",
    "truncated_normal_initializer", "random_uniform_initializer", "variance_scaling_initializer",
    "glorot_uniform_initializer", "glorot_normal_initializer", "orthogonal_initializer", "initializers",
    "placeholder", "placeholder_with_default", "FixedLenFeature", "FixedLenSequenceFeature", "VarLenFeature",
    "matching_files", "parse_example", "parse_single_example", "read_file", "write_file", "decode_raw",
    "FIFOQueue", "FixedLengthRecordReader", "IdentityReader", "PaddingFIFOQueue", "QueueBase", "RandomShuffleQueue",
    "ReaderBase", "TextLineReader", "TFRecordReader", "WholeFileReader", "random_shuffle", "python_io", "io",
    "gfile", "Print", "numpy_function", "py_func", "make_template", "tables_initializer", "count_up_to", "scatter_add",
    "scatter_sub", "scatter_update",
] + (["train"] if train is not None else [])
