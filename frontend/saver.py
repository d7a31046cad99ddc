"""`tf.train.Saver` and checkpoint files (fuseflow's own format), `latest_checkpoint`,
`get_checkpoint_state`, `checkpoint_exists`, `list_variables`, `load_variable`.

A checkpoint with prefix P is two files:
    P.index                   JSON: {"format": "fuseflow-checkpoint", "version": 1,
                                     "variables": {name: {"dtype", "shape"}}}
    P.data-00000-of-00001     the values, a numpy .npz archive keyed by variable name
plus, unless write_meta_graph=False, P.meta: a JSON description of the graph (op names, types,
inputs, variables) for inspection; `import_meta_graph` rebuilds the graph only in the process
that wrote the file (from an in-memory snapshot of the graph, see below).
The directory's `checkpoint` file uses TF's text format, so `latest_checkpoint` and
`get_checkpoint_state` read either TF's or our files:
    model_checkpoint_path: "model.ckpt-100"
    all_model_checkpoint_paths: "model.ckpt-90"
Variables are saved under their op names (`layer/weights`), or the keys of a `var_list` dict.
Values are read from / written to the session's variable store (no graph ops run).
"""
from __future__ import annotations

import io
import json
import os
import re
import time

import numpy as np

from . import graph as graph_mod
from .errors import InvalidArgumentError, NotFoundError

_FORMAT = "fuseflow-checkpoint"
_DATA_SUFFIX = ".data-00000-of-00001"


# ============================================================================== the checkpoint file
def _index_path(prefix):
    return prefix + ".index"


def _data_path(prefix):
    return prefix + _DATA_SUFFIX


def _atomic_write(path, data: bytes):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_checkpoint(prefix, values: dict):
    """Write {name: np.ndarray} as checkpoint `prefix`."""
    buf = io.BytesIO()
    arrays = {}
    meta = {}
    for name, arr in values.items():
        arr = np.asarray(arr)
        meta[name] = {"dtype": "string" if arr.dtype == object else arr.dtype.name, "shape": list(arr.shape)}
        arrays[name] = arr
    np.savez(buf, **{f"v{i}": a for i, a in enumerate(arrays.values())})
    index = {"format": _FORMAT, "version": 1, "variables": meta, "keys": {n: f"v{i}" for i, n in enumerate(arrays)}}
    d = os.path.dirname(prefix)
    if d:
        os.makedirs(d, exist_ok=True)
    _atomic_write(_data_path(prefix), buf.getvalue())
    _atomic_write(_index_path(prefix), json.dumps(index, indent=1).encode())


def _read_index(prefix):
    path = _index_path(prefix)
    if not os.path.exists(path):
        raise NotFoundError(None, None, f"Failed to find any matching files for {prefix}")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        index = json.loads(raw)
    except ValueError:
        raise InvalidArgumentError(None, None, f"{path} is not a fuseflow checkpoint index (TensorFlow's binary "
                                               f"checkpoints cannot be read by fuseflow)") from None
    if index.get("format") != _FORMAT:
        raise InvalidArgumentError(None, None, f"{path} is not a fuseflow checkpoint index")
    return index


def read_checkpoint(prefix) -> dict:
    """{name: np.ndarray} of checkpoint `prefix`."""
    index = _read_index(prefix)
    with np.load(_data_path(prefix), allow_pickle=True) as data:
        return {name: data[key] for name, key in index["keys"].items()}


def checkpoint_exists(checkpoint_prefix) -> bool:
    return os.path.exists(_index_path(checkpoint_prefix))


def list_variables(ckpt_dir_or_file) -> list:
    """[(name, shape)] of a checkpoint (a prefix or a directory with a `checkpoint` file)."""
    prefix = _resolve(ckpt_dir_or_file)
    meta = _read_index(prefix)["variables"]
    return sorted((name, list(m["shape"])) for name, m in meta.items())


def load_variable(ckpt_dir_or_file, name) -> np.ndarray:
    values = read_checkpoint(_resolve(ckpt_dir_or_file))
    if name not in values:
        raise NotFoundError(None, None, f"Key {name} not found in checkpoint")
    return values[name]


def load_checkpoint(ckpt_dir_or_file):
    return CheckpointReader(_resolve(ckpt_dir_or_file))


class CheckpointReader:
    """`tf.train.NewCheckpointReader`: has_tensor / get_tensor / get_variable_to_shape_map."""

    def __init__(self, prefix):
        self._prefix = prefix
        self._values = read_checkpoint(prefix)

    def has_tensor(self, name) -> bool:
        return name in self._values

    def get_tensor(self, name):
        if name not in self._values:
            raise NotFoundError(None, None, f"Key {name} not found in checkpoint")
        return self._values[name]

    def get_variable_to_shape_map(self) -> dict:
        return {n: list(v.shape) for n, v in self._values.items()}

    def get_variable_to_dtype_map(self) -> dict:
        return {n: v.dtype for n, v in self._values.items()}


NewCheckpointReader = CheckpointReader


def _resolve(ckpt_dir_or_file):
    if os.path.isdir(ckpt_dir_or_file):
        latest = latest_checkpoint(ckpt_dir_or_file)
        if latest is None:
            raise NotFoundError(None, None, f"Unsuccessful TensorSliceReader constructor: Failed to find any matching "
                                            f"files for {ckpt_dir_or_file}")
        return latest
    return ckpt_dir_or_file


# ============================================================================== the `checkpoint` file
class CheckpointState:
    def __init__(self, model_checkpoint_path, all_model_checkpoint_paths, all_model_checkpoint_timestamps=None,
                 last_preserved_timestamp=None):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)
        self.all_model_checkpoint_timestamps = list(all_model_checkpoint_timestamps or [])
        self.last_preserved_timestamp = last_preserved_timestamp

    def __repr__(self):
        lines = [f'model_checkpoint_path: "{self.model_checkpoint_path}"']
        lines += [f'all_model_checkpoint_paths: "{p}"' for p in self.all_model_checkpoint_paths]
        return "\n".join(lines) + "\n"


def _state_file(save_dir, latest_filename=None):
    return os.path.join(save_dir, latest_filename or "checkpoint")


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The CheckpointState in `checkpoint_dir` (relative paths made absolute), or None."""
    path = _state_file(checkpoint_dir, latest_filename)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        text = f.read()
    fields = re.findall(r'^(\w+):\s*"((?:[^"\\]|\\.)*)"', text, flags=re.M)
    model = None
    paths = []
    for key, value in fields:
        value = value.encode("utf-8").decode("unicode_escape")
        if key == "model_checkpoint_path":
            model = value
        elif key == "all_model_checkpoint_paths":
            paths.append(value)
    if model is None:
        raise ValueError(f"Invalid checkpoint state loaded from {checkpoint_dir}")

    def absolute(p):
        return p if os.path.isabs(p) else os.path.join(checkpoint_dir, p)
    return CheckpointState(absolute(model), [absolute(p) for p in paths])


def update_checkpoint_state(save_dir, model_checkpoint_path, all_model_checkpoint_paths=None, latest_filename=None,
                            all_model_checkpoint_timestamps=None, last_preserved_timestamp=None):
    all_paths = list(all_model_checkpoint_paths or [])
    if not all_paths or all_paths[-1] != model_checkpoint_path:
        all_paths.append(model_checkpoint_path)

    def relative(p):
        # TF: with a relative save_dir, relative paths are written relative to it.
        return os.path.relpath(p, save_dir or ".") if not os.path.isabs(save_dir or ".") and not os.path.isabs(p) else p
    lines = [f'model_checkpoint_path: "{relative(model_checkpoint_path)}"']
    lines += [f'all_model_checkpoint_paths: "{relative(p)}"' for p in all_paths]
    if save_dir:
        os.makedirs(save_dir, exist_ok=True)
    _atomic_write(_state_file(save_dir, latest_filename), ("\n".join(lines) + "\n").encode("utf-8"))


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint recorded in `checkpoint_dir`, or None."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state and state.model_checkpoint_path and checkpoint_exists(state.model_checkpoint_path):
        return state.model_checkpoint_path
    return None


# ============================================================================== Saver
def _name_of(var) -> str:
    return var._op_name if hasattr(var, "_op_name") else var.name.split(":")[0]


def _var_dict(var_list):
    from .variables import Variable
    if var_list is None:
        g = graph_mod.get_default_graph()
        var_list = g.get_collection("variables") + g.get_collection("saveable_objects")
        if not var_list:
            raise ValueError("No variables to save")
    if isinstance(var_list, dict):
        items = dict(var_list)
    else:
        items = {}
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"Saver: {v!r} is not a variable")
            name = _name_of(v)
            if name in items and items[name] is not v:
                raise ValueError(f"At least two variables have the same name: {name}")
            items[name] = v
    for name, v in items.items():
        if not isinstance(v, Variable):
            raise TypeError(f"Saver: value for key {name!r} is not a variable: {v!r}")
    return items


class Saver:
    """Saves and restores variables (TF1 `tf.train.Saver`; see the module doc for the file format)."""

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False, saver_def=None,
                 builder=None, defer_build=False, allow_empty=False, write_version=2, pad_step_number=False,
                 save_relative_paths=False, filename=None):
        self._var_list_arg = var_list
        self._vars = None if defer_build else self._collect(allow_empty)
        self._allow_empty = allow_empty
        self._max_to_keep = max_to_keep
        self._keep_every_n_hours = keep_checkpoint_every_n_hours
        self._pad_step_number = pad_step_number
        self._last_checkpoints: list = []          # [(prefix, timestamp)]
        self._next_keep_time = time.time() + keep_checkpoint_every_n_hours * 3600
        self._filename = filename
        if graph_mod.graph_is_active():
            g = graph_mod.get_default_graph()
            with g.name_scope(name or "save"):    # TF builds its save ops under `save`: reserve the name
                pass
            g.add_to_collection("savers", self)

    def _collect(self, allow_empty=False):
        try:
            return _var_dict(self._var_list_arg)
        except ValueError:
            if allow_empty:
                return {}
            raise

    def build(self):
        if self._vars is None:
            self._vars = self._collect(self._allow_empty)

    def _variables(self):
        self.build()
        return self._vars

    @property
    def last_checkpoints(self) -> list:
        return [p for p, _ in self._last_checkpoints]

    def set_last_checkpoints(self, last_checkpoints):
        self._last_checkpoints = [(p, None) for p in last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time):
        self._last_checkpoints = list(last_checkpoints_with_time)

    def recover_last_checkpoints(self, checkpoint_paths):
        self._last_checkpoints = [(p, None) for p in checkpoint_paths if checkpoint_exists(p)]

    # -- save -----------------------------------------------------------------------------
    def save(self, sess, save_path, global_step=None, latest_filename=None, meta_graph_suffix="meta",
             write_meta_graph=True, write_state=True, strip_default_attrs=False, save_debug_info=False):
        if sess is None:
            raise TypeError("Saver.save: a session is required")
        if global_step is not None:
            step = global_step
            if not isinstance(step, (int, np.integer)):
                step = int(np.asarray(sess.run(step) if not isinstance(step, (float, np.floating)) else step))
            prefix = f"{save_path}-{int(step):08d}" if self._pad_step_number else f"{save_path}-{int(step)}"
        else:
            prefix = save_path
        save_dir = os.path.dirname(prefix)
        if save_dir and not os.path.isdir(save_dir):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")
        values = {}
        for name, var in self._variables().items():
            buf = sess._store.buffer(var)
            if buf is None:
                from .variables import uninitialized_error
                raise uninitialized_error(var)
            values[name] = np.array(buf, copy=True)
        write_checkpoint(prefix, values)
        if write_meta_graph:
            self.export_meta_graph(f"{prefix}.{meta_graph_suffix}", sess=sess)
        self._record(prefix, save_dir or ".", latest_filename, write_state)
        return prefix

    def _record(self, prefix, save_dir, latest_filename, write_state):
        self._last_checkpoints = [(p, t) for p, t in self._last_checkpoints if p != prefix]
        self._last_checkpoints.append((prefix, time.time()))
        if self._max_to_keep and self._max_to_keep > 0:
            while len(self._last_checkpoints) > self._max_to_keep:
                old, stamp = self._last_checkpoints.pop(0)
                if stamp is not None and stamp > self._next_keep_time:
                    self._next_keep_time += self._keep_every_n_hours * 3600
                    continue
                for path in (_index_path(old), _data_path(old), old + ".meta"):
                    if os.path.exists(path):
                        os.remove(path)
        if write_state:
            update_checkpoint_state(save_dir, prefix, self.last_checkpoints, latest_filename)

    def export_meta_graph(self, filename=None, collection_list=None, as_text=False, export_scope=None,
                          clear_devices=False, clear_extraneous_savers=False, strip_default_attrs=False,
                          save_debug_info=False, sess=None):
        """Write a JSON description of the graph (ops, their inputs, variables); not importable."""
        g = graph_mod.get_default_graph() if sess is None else sess.graph
        desc = {
            "format": "fuseflow-graph-description",
            "ops": [{"name": op.name, "type": op.type, "inputs": [t.name for t in op.inputs],
                     "control_inputs": [c.name for c in op.control_inputs]} for op in g.get_operations()],
            "variables": {n: {"dtype": v.dtype.name, "shape": v.shape.as_list() if v.shape.rank is not None else None}
                          for n, v in self._variables().items()},
        }
        if filename:
            _atomic_write(filename, json.dumps(desc, indent=1).encode("utf-8"))
            _remember_graph(filename, g)
        return desc

    # -- restore --------------------------------------------------------------------------
    def restore(self, sess, save_path):
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        if not checkpoint_exists(save_path):
            # TF1's Saver.restore checks the prefix first and raises ValueError (not NotFoundError)
            raise ValueError(f"The passed save_path is not a valid checkpoint: {save_path}")
        values = read_checkpoint(save_path)
        for name, var in self._variables().items():
            if name not in values:
                raise NotFoundError(None, None, f"Key {name} not found in checkpoint {save_path}")
            arr = values[name]
            if var.dtype.is_string:
                arr = np.asarray(arr, dtype=object)
            elif arr.dtype != var.dtype.np:
                raise InvalidArgumentError(None, None, f"tensor_name = {name}; expected dtype {var.dtype.name} does not "
                                                       f"equal original dtype {arr.dtype.name}")
            shape = var.shape
            if var._validate_shape and shape.rank is not None and not shape.is_compatible_with(arr.shape):
                raise InvalidArgumentError(None, None, f"Assign requires shapes of both tensors to match. lhs shape= "
                                                       f"{shape.as_list()} rhs shape= {list(arr.shape)} ({name})")
            sess._store.set(var, np.array(arr, copy=True, order="C"))


# The .meta file on disk is a description only; the graph itself is kept in memory for this
# process: export_meta_graph snapshots the graph object (a deep copy, reused while the graph is
# unchanged) under the file's path, and import_meta_graph copies that snapshot into the current
# default graph -- the TF1 "save, then restore into a new graph" program, run in one script.
_GRAPH_STATE_SKIP = ("_lock", "_name_stack", "_control_stack", "_device_stack", "_variable_scope_stack")
_snapshots: dict = {}          # abspath of .meta -> (source graph id, _last_id, op count, snapshot Graph)


def _copy_graph_state(source, target):
    import copy
    state = {k: v for k, v in source.__dict__.items() if k not in _GRAPH_STATE_SKIP}
    target.__dict__.update(copy.deepcopy(state, {id(source): target}))


def _remember_graph(filename, g):
    key = os.path.abspath(filename)
    for snap_key, (gid, last_id, n_ops, snap) in list(_snapshots.items()):
        if gid == id(g) and last_id == g._last_id and n_ops == len(g._operations):
            _snapshots[key] = (gid, last_id, n_ops, snap)       # unchanged since the last save
            return
    snap = graph_mod.Graph()
    try:
        _copy_graph_state(g, snap)
    except Exception:       # a graph holding uncopyable state (threads, generators): saving must not fail
        _snapshots.pop(key, None)
        return
    _snapshots[key] = (id(g), g._last_id, len(g._operations), snap)


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **kwargs):
    """Recreate the graph saved next to a checkpoint (`model.ckpt-100.meta`) in the default graph
    and return a Saver for its variables (then `saver.restore(sess, prefix)`). Works for .meta files
    written earlier by this process; fuseflow's .meta on disk cannot rebuild a graph by itself."""
    path = os.path.abspath(os.fspath(meta_graph_or_file))
    entry = _snapshots.get(path)
    if entry is None:
        if not os.path.exists(path):
            raise OSError(f"File {meta_graph_or_file} does not exist.")
        raise NotImplementedError(
            f"tf.train.import_meta_graph({meta_graph_or_file!r}): fuseflow can import a .meta file only in the "
            f"process that wrote it (its .meta files describe the graph but cannot rebuild it); rebuild the "
            f"graph in Python and restore the variables with tf.train.Saver().restore")
    if import_scope:
        raise NotImplementedError("tf.train.import_meta_graph(import_scope=...) is not supported by fuseflow")
    target = graph_mod.get_default_graph()
    if target.get_operations():
        raise NotImplementedError(
            "tf.train.import_meta_graph into a graph that already has operations is not supported by fuseflow; "
            "import it into a fresh graph (tf.reset_default_graph() or `with tf.Graph().as_default():`)")
    _copy_graph_state(entry[3], target)
    return Saver()


TRAIN_EXPORTS = {
    "import_meta_graph": import_meta_graph,
    "Saver": Saver, "latest_checkpoint": latest_checkpoint, "get_checkpoint_state": get_checkpoint_state,
    "checkpoint_exists": checkpoint_exists, "update_checkpoint_state": update_checkpoint_state,
    "list_variables": list_variables, "load_variable": load_variable, "load_checkpoint": load_checkpoint,
    "NewCheckpointReader": NewCheckpointReader, "CheckpointState": CheckpointState,
}
