"""The TF2 names of `fuseflow` that come from the session/variables modules (`__all__`):
Variable, control dependencies, name_scope, errors. `fuseflow/__init__.py` star-imports this.
"""
from __future__ import annotations

import enum

from . import errors  # noqa: F401
from .control_flow import case, cond, control_dependencies, group, no_op, tuple_, with_dependencies  # noqa: F401
from .variable_scope import name_scope_v2
from .script_ops import numpy_function  # noqa: F401
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


__all__ = ["errors", "case", "cond", "control_dependencies", "group", "no_op", "tuple", "with_dependencies",
           "name_scope", "Variable", "VariableSynchronization", "VariableAggregation", "numpy_function"]
