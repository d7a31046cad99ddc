"""`tf.train.Checkpoint` and `tf.train.CheckpointManager` (TF2 object-based checkpoints).

Values are keyed by the object path from the checkpoint's keyword arguments, the way TF
names them (`model/dense1/kernel/.ATTRIBUTES/VARIABLE_VALUE`), and written in fuseflow's
checkpoint file format (see saver.py), so `tf.train.latest_checkpoint`, `list_variables` and
`load_variable` read them. Paths follow public attributes of Keras layers / models; a layer's
own weights are keyed by their short names; optimizer variables by creation order.

Restoring is deferred where TF defers it: values for a model whose layers are not built yet
(a fresh subclassed model) are assigned right after its first call builds them, and optimizer
slots right after the optimizer builds them.
"""
from __future__ import annotations

import os

import numpy as np

from . import saver as saver_mod

_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def _is_variable(x) -> bool:
    from .function import _is_variable as isvar
    return isvar(x)


def _is_layer(x) -> bool:
    from .keras.engine import Layer
    return isinstance(x, Layer)


def _is_optimizer(x) -> bool:
    from .keras.optimizers import Optimizer
    return isinstance(x, Optimizer)


def _short_name(var) -> str:
    name = getattr(var, "name", "") or ""
    name = name.split(":")[0]
    return name.rsplit("/", 1)[-1] or "variable"


def _children(obj):
    """(edge name, child) pairs of a trackable object."""
    if isinstance(obj, Checkpoint):
        return list(obj._objects.items())
    if isinstance(obj, (list, tuple)):
        return [(str(i), c) for i, c in enumerate(obj)]
    if isinstance(obj, dict):
        return [(str(k), c) for k, c in obj.items()]
    if _is_optimizer(obj):
        return [(f"_variables/{i}", v) for i, v in enumerate(obj.variables)]
    out, seen = [], set()

    def add(name, child):
        if id(child) not in seen and _trackable(child):
            seen.add(id(child))
            out.append((name, child))

    if _is_layer(obj):
        for name, child in list(vars(obj).items()):
            if not name.startswith("_"):
                add(name, child)
        taken = {n for n, _ in out}
        for v in list(obj._trainable_variables) + list(obj._non_trainable_variables):
            name = _short_name(v)
            while name in taken:
                name += "_"
            taken.add(name)
            add(name, v)
        for i, layer in enumerate(getattr(obj, "_layers", [])):
            add(f"layer-{i}", layer)
        return out
    if hasattr(obj, "variables") and not _is_variable(obj):       # metrics and other variable holders
        for i, v in enumerate(obj.variables):
            add(f"variables/{i}", v)
    return out


def _trackable(x) -> bool:
    if _is_variable(x) or _is_layer(x) or _is_optimizer(x) or isinstance(x, Checkpoint):
        return True
    if isinstance(x, (list, tuple, dict)):
        items = x.values() if isinstance(x, dict) else x
        return any(_trackable(c) for c in items)
    from .keras.metrics import Metric
    return isinstance(x, Metric)


def _walk(obj, prefix, out, seen):
    """Fill out[path] = variable for every variable under `obj`."""
    if _is_variable(obj):
        out.setdefault(prefix, obj)
        return
    if id(obj) in seen:
        return
    seen.add(id(obj))
    for name, child in _children(obj):
        _walk(child, f"{prefix}/{name}" if prefix else name, out, seen)


def _variables_of(obj) -> dict:
    out: dict = {}
    _walk(obj, "", out, set())
    return out


def _assign(var, value):
    from .function import init_scope
    value = np.asarray(value)
    dtype = getattr(var.dtype, "as_numpy_dtype", None)
    if dtype is not None and value.dtype != object:
        value = value.astype(dtype)
    with init_scope():
        var.assign(value)


def _needs_deferral(obj) -> bool:
    return (_is_layer(obj) and not obj.built) or (_is_optimizer(obj) and not obj.built)


def _restore_into(obj, prefix, values: dict, used: set):
    """Assign values under `prefix` to `obj`'s variables; defer unbuilt layers / optimizers."""
    if _is_variable(obj):
        key = prefix + _SUFFIX
        if key in values:
            _assign(obj, values[key])
            used.add(key)
        return
    pending = {k[len(prefix) + 1:] if prefix else k: v for k, v in values.items()
               if (k.startswith(prefix + "/") if prefix else True)}
    if _is_optimizer(obj):
        for path, var in _variables_of(obj).items():
            key = f"{prefix}/{path}{_SUFFIX}"
            if key in values:
                _assign(var, values[key])
                used.add(key)
    if _is_layer(obj):
        # sublayers first: an unbuilt one keeps its own pending values and takes them when it builds
        for name, child in _children(obj):
            _restore_into(child, f"{prefix}/{name}", values, used)
    if _is_layer(obj) or _is_optimizer(obj):
        leftover = {k: v for k, v in pending.items() if f"{prefix}/{k}" not in used}
        if leftover:
            obj.__dict__["_ff_deferred_restore"] = leftover
            used.update(f"{prefix}/{k}" for k in leftover)
        return
    for name, child in _children(obj):
        _restore_into(child, f"{prefix}/{name}" if prefix else name, values, used)


def apply_deferred_restore(obj):
    """Called once `obj` (a Keras layer after its first call, an optimizer after build) has
    created its variables: assign the values a restore left pending."""
    pending = obj.__dict__.pop("_ff_deferred_restore", None)
    if not pending:
        return
    left = {}
    current = _variables_of(obj)
    for key, value in pending.items():
        path = key[:-len(_SUFFIX)] if key.endswith(_SUFFIX) else key
        var = current.get(path)
        if var is not None:
            _assign(var, value)
        else:
            left[key] = value
    if left and _is_optimizer(obj):
        obj.__dict__["_ff_deferred_restore"] = left     # slots of variables not built yet


class CheckpointLoadStatus:
    """What `Checkpoint.restore` returns: checks on how the values matched the objects."""

    def __init__(self, unmatched_values, unmatched_variables):
        self._unmatched_values = sorted(unmatched_values)
        self._unmatched_variables = sorted(unmatched_variables)

    def assert_consumed(self):
        if self._unmatched_values or self._unmatched_variables:
            raise AssertionError(f"Unresolved object in checkpoint: {self._unmatched_values[:5]}; variables not "
                                 f"restored: {self._unmatched_variables[:5]}")
        return self

    def assert_existing_objects_matched(self):
        if self._unmatched_variables:
            raise AssertionError(f"Some objects had no checkpointed value: {self._unmatched_variables[:5]}")
        return self

    def assert_nontrivial_match(self):
        return self

    def expect_partial(self):
        return self

    def run_restore_ops(self, session=None):
        return None

    def initialize_or_restore(self, session=None):
        return None


class InitializationOnlyStatus(CheckpointLoadStatus):
    """`restore(None)`: nothing to restore (variables keep their initial values)."""

    def __init__(self):
        super().__init__([], [])

    def assert_consumed(self):
        raise AssertionError("No checkpoint specified (save_path=None); nothing is being restored.")

    assert_existing_objects_matched = assert_consumed
    assert_nontrivial_match = assert_consumed


class Checkpoint:
    """`tf.train.Checkpoint(**trackables)`: save / write / restore / read."""

    def __init__(self, root=None, **kwargs):
        from .variables import Variable
        objects = dict(kwargs)
        if root is not None:
            objects = {**{n: c for n, c in _children(root)}, **objects}
        for name, obj in objects.items():
            if not _trackable(obj) and obj is not None:
                raise ValueError(f"`Checkpoint` was expecting a trackable object (an object derived from "
                                 f"`Trackable`), got {obj!r}. If you believe this object should be trackable "
                                 f"(i.e. it is part of the TensorFlow Python API and manages state), please "
                                 f"open an issue.")
        self._objects = objects
        from .function import init_scope
        with init_scope():
            self._save_counter = Variable(np.int64(0), name="save_counter", trainable=False)

    def __getattr__(self, name):
        objects = self.__dict__.get("_objects", {})
        if name in objects:
            return objects[name]
        raise AttributeError(f"'Checkpoint' object has no attribute '{name}'")

    @property
    def save_counter(self):
        return self._save_counter

    def _values(self) -> dict:
        values = {path + _SUFFIX: np.asarray(v.numpy()) for path, v in _variables_of(self).items()}
        values["save_counter" + _SUFFIX] = np.asarray(self._save_counter.numpy())
        return values

    def write(self, file_prefix, options=None):
        file_prefix = os.fspath(file_prefix)
        saver_mod.write_checkpoint(file_prefix, self._values())
        return file_prefix

    def save(self, file_prefix, options=None):
        from .function import init_scope
        with init_scope():
            self._save_counter.assign_add(np.int64(1))
        path = self.write(f"{os.fspath(file_prefix)}-{int(self._save_counter.numpy())}")
        save_dir = os.path.dirname(path) or "."
        state = saver_mod.get_checkpoint_state(save_dir)
        previous = [p for p in (state.all_model_checkpoint_paths if state else []) if p != os.path.abspath(path)
                    and os.path.exists(p + ".index")]
        saver_mod.update_checkpoint_state(save_dir, path, previous + [path])
        return path

    def read(self, save_path, options=None):
        return self._restore(save_path, with_counter=False)

    def restore(self, save_path, options=None):
        return self._restore(save_path, with_counter=True)

    def _restore(self, save_path, with_counter):
        if save_path is None:
            return InitializationOnlyStatus()
        save_path = os.fspath(save_path)
        if os.path.isdir(save_path):
            latest = saver_mod.latest_checkpoint(save_path)
            if latest is None:
                raise saver_mod.NotFoundError(None, None, f"Failed to find any matching files for {save_path}")
            save_path = latest
        values = saver_mod.read_checkpoint(save_path)
        used: set = set()
        counter_key = "save_counter" + _SUFFIX
        if with_counter and counter_key in values:
            _assign(self._save_counter, values[counter_key])
        used.add(counter_key)
        for name, obj in self._objects.items():
            _restore_into(obj, name, values, used)
        existing = {p + _SUFFIX for p in _variables_of(self)}
        return CheckpointLoadStatus([k for k in values if k not in used], [k for k in existing if k not in values])


class CheckpointManager:
    """`tf.train.CheckpointManager`: numbered saves in one directory, keeping the newest `max_to_keep`."""

    def __init__(self, checkpoint, directory, max_to_keep, keep_checkpoint_every_n_hours=None,
                 checkpoint_name="ckpt", step_counter=None, checkpoint_interval=None, init_fn=None):
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError(f"CheckpointManager expects a tf.train.Checkpoint, got {type(checkpoint).__name__}")
        if max_to_keep is not None and max_to_keep <= 0:
            raise ValueError(f"Expected a positive integer or `None` for `max_to_keep`, got {max_to_keep}.")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._prefix = os.path.join(self._directory, checkpoint_name)
        self._step_counter = step_counter
        self._checkpoint_interval = checkpoint_interval
        self._init_fn = init_fn
        self._last_step = None
        state = saver_mod.get_checkpoint_state(self._directory)
        self._maybe_delete = []
        if state is not None:
            self._maybe_delete = [p for p in state.all_model_checkpoint_paths if os.path.exists(p + ".index")]
            if state.model_checkpoint_path and state.model_checkpoint_path not in self._maybe_delete and \
                    os.path.exists(state.model_checkpoint_path + ".index"):
                self._maybe_delete.append(state.model_checkpoint_path)

    @property
    def directory(self):
        return self._directory

    @property
    def checkpoint(self):
        return self._checkpoint

    @property
    def checkpoints(self) -> list:
        return list(self._maybe_delete)

    @property
    def latest_checkpoint(self):
        return saver_mod.latest_checkpoint(self._directory)

    @property
    def checkpoint_interval(self):
        return self._checkpoint_interval

    def save(self, checkpoint_number=None, check_interval=True, options=None):
        if self._checkpoint_interval is not None and check_interval:
            if self._step_counter is None:
                raise ValueError("`step_counter` should be passed if `checkpoint_interval` is not None.")
            step = int(np.asarray(self._step_counter.numpy() if hasattr(self._step_counter, "numpy")
                                  else self._step_counter))
            if self._last_step is not None and step < self._last_step + self._checkpoint_interval:
                return None
            self._last_step = step
        from .function import init_scope
        with init_scope():
            self._checkpoint.save_counter.assign_add(np.int64(1))
        if checkpoint_number is None:
            checkpoint_number = int(self._checkpoint.save_counter.numpy())
        else:
            checkpoint_number = int(np.asarray(checkpoint_number.numpy() if hasattr(checkpoint_number, "numpy")
                                               else checkpoint_number))
        path = self._checkpoint.write(f"{self._prefix}-{checkpoint_number}")
        path_abs = os.path.abspath(path)
        self._maybe_delete = [p for p in self._maybe_delete if os.path.abspath(p) != path_abs] + [path]
        if self._max_to_keep is not None:
            while len(self._maybe_delete) > self._max_to_keep:
                old = self._maybe_delete.pop(0)
                for f in (old + ".index", old + saver_mod._DATA_SUFFIX):
                    if os.path.exists(f):
                        os.remove(f)
        saver_mod.update_checkpoint_state(self._directory, path, list(self._maybe_delete))
        return path

    def restore_or_initialize(self):
        latest = self.latest_checkpoint
        if latest is not None:
            self._checkpoint.restore(latest)
            return latest
        if self._init_fn is not None:
            self._init_fn()
        return None


TRAIN_EXPORTS = {"Checkpoint": Checkpoint, "CheckpointManager": CheckpointManager}
