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


def _scatter_nd_delta(ref, indices, updates):
    """(hit mask, updates placed in a ref-shaped tensor) for index tuples along ref's leading axes."""
    from .array_ops import ones_like, scatter_nd
    from .core import convert_to_tensor
    from .math_ops import greater
    if not ref.shape.is_fully_defined():
        raise ValueError(f"scatter ops need a variable of known shape; {ref.name} has shape {ref.shape}")
    idx = convert_to_tensor(indices)
    upd = convert_to_tensor(updates, dtype=ref.dtype)
    shape = ref.shape.as_list()
    return greater(scatter_nd(idx, ones_like(upd), shape), 0), scatter_nd(idx, upd, shape)


def scatter_nd_update(ref, indices, updates, use_locking=True, name=None):
    """ref[indices[i]] = updates[i] for index tuples indices[i] (unique indices)."""
    from .array_ops import where
    _check(ref, "scatter_nd_update")
    hit, placed = _scatter_nd_delta(ref, indices, updates)
    return ref.assign(where(hit, placed, ref.value()), name=name)


def scatter_nd_add(ref, indices, updates, use_locking=False, name=None):
    _check(ref, "scatter_nd_add")
    return ref.assign_add(_scatter_nd_delta(ref, indices, updates)[1], name=name)


def scatter_nd_sub(ref, indices, updates, use_locking=False, name=None):
    _check(ref, "scatter_nd_sub")
    return ref.assign_sub(_scatter_nd_delta(ref, indices, updates)[1], name=name)


def _scatter_combine(fn_name, combine):
    def scatter(ref, indices, updates, use_locking=False, name=None):
        """ref[indices] = combine(ref[indices], updates) along the first axis (unique indices)."""
        from .array_ops import expand_dims, where
        from .core import convert_to_tensor
        _check(ref, fn_name)
        hit, placed = _scatter_nd_delta(ref, expand_dims(convert_to_tensor(indices), -1), updates)
        current = ref.value()
        return ref.assign(where(hit, combine(current, placed), current), name=name)
    scatter.__name__ = fn_name
    return scatter


def _mul(a, b):
    from .math_ops import multiply
    return multiply(a, b)


def _div(a, b):
    from .math_ops import divide
    return divide(a, b)


def _max(a, b):
    from .math_ops import maximum
    return maximum(a, b)


def _min(a, b):
    from .math_ops import minimum
    return minimum(a, b)


scatter_mul = _scatter_combine("scatter_mul", _mul)
scatter_div = _scatter_combine("scatter_div", _div)
scatter_max = _scatter_combine("scatter_max", _max)
scatter_min = _scatter_combine("scatter_min", _min)
