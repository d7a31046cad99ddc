"""The TF2 names of `fuseflow` that come from the session/variables modules (`__all__`):
Variable, control dependencies, name_scope, errors. `fuseflow/__init__.py` star-imports this.
"""
from __future__ import annotations

import enum

from . import errors  # noqa: F401
from .control_flow import (case, cond, control_dependencies, group, no_op, tuple_, while_loop,  # noqa: F401
                           with_dependencies)  # noqa: F401
from .variable_scope import name_scope_v2
from .script_ops import numpy_function  # noqa: F401
from . import gfile as _gfile
from . import io_ops as _io_ops
from . import tfrecord as _tfrecord
import types as _types

io = _types.SimpleNamespace(
    gfile=_gfile.gfile_v2, TFRecordWriter=_tfrecord.TFRecordWriter, TFRecordOptions=_tfrecord.TFRecordOptions,
    FixedLenFeature=_io_ops.FixedLenFeature, FixedLenSequenceFeature=_io_ops.FixedLenSequenceFeature,
    VarLenFeature=_io_ops.VarLenFeature, parse_single_example=_io_ops.parse_single_example,
    parse_example=_io_ops.parse_example, decode_raw=_io_ops.decode_raw, read_file=_io_ops.read_file,
    write_file=_io_ops.write_file, matching_files=_io_ops.matching_files)
from .variables import Variable  # noqa: F401


name_scope = name_scope_v2
tuple = tuple_  # noqa: A001 - TF's name


class VariableSynchronization(enum.Enum):
    AUTO = 0
    NONE = 1
    ON_WRITE = 2
    ON_READ = 3


class VariableAggregation(enum.Enum):
    NONE = 0
    SUM = 1
    MEAN = 2
    ONLY_FIRST_REPLICA = 3


__all__ = ["errors", "case", "cond", "control_dependencies", "group", "no_op", "tuple", "while_loop", "with_dependencies",
           "name_scope", "Variable", "VariableSynchronization", "VariableAggregation", "numpy_function", "io"]
