"""The TF2 names of `fuseflow` that come from the session/variables modules (`__all__`):
Variable, control dependencies, name_scope, errors. `fuseflow/__init__.py` star-imports this.
"""
from __future__ import annotations

import enum

from . import errors  # noqa: F401
from .control_flow import case, cond, control_dependencies, group, no_op, tuple_, with_dependencies  # noqa: F401
from .dtypes import *  # noqa: F401,F403 (TF's dtype names; no other module exports them yet)
from . import dtypes as _dtypes
from .variable_scope import name_scope_v2
from .variables import Variable  # noqa: F401
from . import random_ops as _random_ops
import types as _types

random = _types.SimpleNamespace(
    normal=_random_ops.normal, uniform=_random_ops.uniform, truncated_normal=_random_ops.truncated_normal,
    set_seed=_random_ops.set_seed, get_seed=_random_ops.get_seed)

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


__all__ = list(_dtypes.__all__) + ["errors", "case", "cond", "control_dependencies", "group", "no_op", "tuple", "with_dependencies",
           "name_scope", "Variable", "VariableSynchronization", "VariableAggregation", "random"]
