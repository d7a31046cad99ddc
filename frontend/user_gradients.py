"""`tf.custom_gradient`: a function whose gradient is given by the user's grad_fn.

    @tf.custom_gradient
    def log1pexp(x):
        e = tf.exp(x)
        def grad(dy):
            return dy * (1 - 1 / (1 + e))
        return tf.math.log(1 + e), grad

Eagerly, `f` runs with the active GradientTapes paused (its ops are not recorded); each tape
records one opaque call from the tensor arguments to the outputs, and `tape.gradient` applies
grad_fn there (tape.py, `_gradient_through_customs`). Variables read inside `f` are passed to
grad_fn as `variables=` (which must then return their gradients too), as in TF.

Compiled gradients (tf.function, tf.gradients in TF1 graphs) have no Python callbacks, so a
custom_gradient call while a graph is built raises NeedsEagerExecution: a tf.function using
it runs op by op (with a warning), which is where the tape applies grad_fn.
"""
from __future__ import annotations

import functools
import inspect

from . import nest
from .needs_eager import NeedsEagerExecution


def custom_gradient(f=None):
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        from . import graph as graph_mod
        from . import tape as tape_mod
        from .core import convert_to_tensor
        from .tensor import EagerTensor
        if graph_mod.graph_is_active():
            raise NeedsEagerExecution("tf.custom_gradient", "tf.custom_gradient: fuseflow applies a custom grad_fn "
                                                            "on the eager GradientTape only (compiled gradients "
                                                            "cannot call back into Python)")
        # TF converts the positional arguments to tensors (reading variables, which the tapes note)
        args = nest.map_structure(lambda a: a if a is None else convert_to_tensor(a), args)
        recording = [tp for tp in tape_mod._active() if tp._recording]
        if not recording:
            return f(*args, **kwargs)[0]
        with tape_mod.GradientTape(watch_accessed_variables=True) as inner:
            for tp in recording:
                tp._recording = False
            try:
                y, grad_fn = f(*args, **kwargs)
            finally:
                for tp in recording:
                    tp._recording = True
        variables = list(inner.watched_variables())
        if variables and not _accepts_variables(grad_fn):
            raise TypeError("If using @custom_gradient with a function that uses variables, then grad_fn must "
                            "accept a keyword argument 'variables'.")
        inputs = [a for a in nest.flatten(args) if isinstance(a, EagerTensor)]
        # fresh output tensors: the tapes map each output to this call (f may return an input)
        flat_y = [EagerTensor(t._value, t.dtype) if isinstance(t, EagerTensor) else t for t in nest.flatten(y)]
        outputs = [t for t in flat_y if isinstance(t, EagerTensor)]
        for tp in recording:
            tp._record_custom(inputs, outputs, grad_fn, variables)
        return nest.pack_sequence_as(y, flat_y) if nest.is_nested(y) else flat_y[0]
    return wrapped


def _accepts_variables(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "variables" or p.kind is p.VAR_KEYWORD for p in params)
