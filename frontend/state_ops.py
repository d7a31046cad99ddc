"""`tf.assign`, `tf.assign_add`, `tf.assign_sub` (TF1 function forms of the Variable methods).

Each returns the variable's new value as a tensor (running it runs the assignment), as TF's
resource-variable assignments do when `read_value=True`.
"""
from __future__ import annotations

from .variables import Variable, is_variable_initialized  # noqa: F401 (re-exported)


def _check(ref, fn):
    if not isinstance(ref, Variable):
        raise TypeError(f"tf.{fn}: ref must be a tf.Variable, got {type(ref).__name__} {ref!r}")


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    _check(ref, "assign")
    return ref.assign(value, use_locking=use_locking, name=name)


def assign_add(ref, value, use_locking=None, name=None):
    _check(ref, "assign_add")
    return ref.assign_add(value, use_locking=use_locking, name=name)


def assign_sub(ref, value, use_locking=None, name=None):
    _check(ref, "assign_sub")
    return ref.assign_sub(value, use_locking=use_locking, name=name)
