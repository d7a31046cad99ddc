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


def _scatter_delta(ref, indices, updates):
    from .array_ops import expand_dims, scatter_nd
    from .core import convert_to_tensor
    if not ref.shape.is_fully_defined():
        raise ValueError(f"scatter ops need a variable of known shape; {ref.name} has shape {ref.shape}")
    idx = expand_dims(convert_to_tensor(indices), -1)
    upd = convert_to_tensor(updates, dtype=ref.dtype)
    return idx, upd, scatter_nd(idx, upd, ref.shape.as_list())


def scatter_add(ref, indices, updates, use_locking=False, name=None):
    """ref[indices] += updates (duplicate indices accumulate)."""
    _check(ref, "scatter_add")
    return ref.assign_add(_scatter_delta(ref, indices, updates)[2], name=name)


def scatter_sub(ref, indices, updates, use_locking=False, name=None):
    """ref[indices] -= updates (duplicate indices accumulate)."""
    _check(ref, "scatter_sub")
    return ref.assign_sub(_scatter_delta(ref, indices, updates)[2], name=name)


def scatter_update(ref, indices, updates, use_locking=True, name=None):
    """ref[indices] = updates (rows along the first axis)."""
    from .array_ops import ones_like, scatter_nd, where
    from .math_ops import greater
    _check(ref, "scatter_update")
    idx, upd, placed = _scatter_delta(ref, indices, updates)
    hit = greater(scatter_nd(idx, ones_like(upd), ref.shape.as_list()), 0)
    return ref.assign(where(hit, placed, ref.value()), name=name)


def count_up_to(ref, limit, name=None):
    """Increment `ref` and return its old value; OutOfRangeError once it reached `limit`."""
    from .queues import count_up_to as _count_up_to
    _check(ref, "count_up_to")
    return _count_up_to(ref, limit, name=name)
