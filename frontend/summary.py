"""`tf.summary` (TF2): file writers and summary records in real TensorBoard event files.

A `SummaryWriter` owns one `events.out.tfevents.*` file (TFRecord frames of Event messages,
see tfevents.py). `with writer.as_default():` makes it the target of `write` / `scalar` /
`histogram` / `image` / `text`; without a default writer (or under `record_if(False)`) the
summary functions write nothing and return False, as in TF.

Summaries are written from Python (eager) code: the values are host numpy arrays.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
import time
import types

import numpy as np

from . import tfevents

_file_counter = itertools.count(1)
_state = threading.local()


def _stack() -> list:
    if not hasattr(_state, "writers"):
        _state.writers = []
        _state.step = None
        _state.record = []
    return _state.writers


# ------------------------------------------------------------------------------ writers


class SummaryWriter:
    """Writes Event records to one event file under `logdir`."""

    def __init__(self, logdir: str, max_queue: int = 10, flush_millis: int = 120000, filename_suffix: str = ".v2"):
        self._logdir = os.fspath(logdir)
        self._max_queue = max(1, int(max_queue if max_queue is not None else 10))
        self._flush_secs = (flush_millis if flush_millis is not None else 120000) / 1000.0
        self._suffix = ".v2" if filename_suffix is None else filename_suffix
        self._file = None
        self._pending = 0
        self._last_flush = time.time()
        self._lock = threading.Lock()
        self._closed = False
        self.init()

    @property
    def logdir(self) -> str:
        return self._logdir

    def init(self):
        """Create the log directory and the event file (idempotent), writing the file-version record."""
        if self._file is not None:
            return
        os.makedirs(self._logdir, exist_ok=True)
        now = time.time()
        name = (f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{os.getpid()}."
                f"{next(_file_counter)}{self._suffix}")
        self.path = os.path.join(self._logdir, name)
        self._file = open(self.path, "wb")
        self._closed = False
        self._write_record(tfevents.event(now, 0, file_version="brain.Event:2"))
        self.flush()

    def _write_record(self, event_bytes: bytes):
        with self._lock:
            if self._file is None or self._closed:
                raise RuntimeError(f"summary writer for {self._logdir} is closed")
            self._file.write(tfevents.tfrecord(event_bytes))
            self._pending += 1
            due = self._pending >= self._max_queue or time.time() - self._last_flush >= self._flush_secs
        if due:
            self.flush()

    def write_summary(self, summary_bytes: bytes, step: int, wall_time: float = None):
        self._write_record(tfevents.event(time.time() if wall_time is None else wall_time, int(step),
                                          summary_bytes=summary_bytes))

    def write_event(self, event_bytes: bytes):
        self._write_record(event_bytes)

    @contextlib.contextmanager
    def as_default(self, step=None):
        """Make this the default writer (and optionally set the default step) inside the block."""
        stack = _stack()
        stack.append(self)
        old_step = _state.step
        if step is not None:
            _state.step = step
        try:
            yield self
        finally:
            stack.pop()
            if step is not None:
                _state.step = old_step
            self.flush()

    def set_as_default(self, step=None):
        """Make this the default writer for the rest of the thread (TF's non-context form)."""
        _stack().append(self)
        if step is not None:
            _state.step = step

    def flush(self):
        with self._lock:
            if self._file is not None and not self._closed:
                self._file.flush()
                self._pending = 0
                self._last_flush = time.time()

    def close(self):
        self.flush()
        with self._lock:
            if self._file is not None and not self._closed:
                self._file.close()
            self._closed = True

    def __repr__(self):
        return f"<SummaryWriter logdir={self._logdir!r}>"


class _NoopWriter:
    """`create_noop_writer()`: a default writer that records nothing."""

    @contextlib.contextmanager
    def as_default(self, step=None):
        stack = _stack()
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def set_as_default(self, step=None):
        _stack().append(self)

    def init(self):
        pass

    def flush(self):
        pass

    def close(self):
        pass


def create_file_writer(logdir, max_queue=None, flush_millis=None, filename_suffix=None, name=None,
                       experimental_trackable=False, experimental_mesh=None) -> SummaryWriter:
    return SummaryWriter(logdir, max_queue=max_queue, flush_millis=flush_millis, filename_suffix=filename_suffix)


def create_noop_writer() -> _NoopWriter:
    return _NoopWriter()


def _default_writer():
    stack = _stack()
    return stack[-1] if stack else None


def flush(writer=None, name=None):
    writer = writer if writer is not None else _default_writer()
    if writer is not None:
        writer.flush()


# ------------------------------------------------------------------------------ recording conditions / step


@contextlib.contextmanager
def record_if(condition):
    """Record summaries inside the block only while `condition` (a bool, tensor or callable) holds."""
    _stack()
    _state.record.append(condition)
    try:
        yield
    finally:
        _state.record.pop()


def _recording() -> bool:
    _stack()
    for cond in _state.record:
        value = cond() if callable(cond) else cond
        if not bool(np.asarray(value)):
            return False
    return True


def should_record_summaries() -> bool:
    w = _default_writer()
    return w is not None and not isinstance(w, _NoopWriter) and _recording()


def _get_step():
    _stack()
    return _state.step


def _set_step(step):
    _stack()
    _state.step = step


experimental = types.SimpleNamespace(get_step=_get_step, set_step=_set_step)


def _resolve_step(step) -> int:
    if step is None:
        step = _get_step()
    if step is None:
        raise ValueError("No step set. Please specify one either through the `step` argument or through "
                         "tf.summary.experimental.set_step()")
    if hasattr(step, "numpy"):
        step = step.numpy()
    elif hasattr(step, "read_value"):
        step = np.asarray(step.read_value())
    return int(np.asarray(step))


def _host_array(value) -> np.ndarray:
    from .tensor import EagerTensor, Tensor
    if callable(value) and not isinstance(value, (np.ndarray, EagerTensor)) and not hasattr(value, "numpy"):
        value = value()
    if isinstance(value, Tensor):
        raise TypeError(f"tf.summary (TF2) writes from eager code or inside fuseflow.function; {value.name} "
                        f"belongs to a TF1 graph: use tf.compat.v1.summary and a FileWriter there")
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    if isinstance(value, str):
        return np.asarray(value.encode("utf-8"), dtype=object)
    if isinstance(value, bytes):
        return np.asarray(value, dtype=object)
    if isinstance(value, (list, tuple)) and value and isinstance(np.ravel(value)[0], (str, bytes)):
        return np.asarray([v.encode("utf-8") if isinstance(v, str) else v for v in np.ravel(value)],
                          dtype=object).reshape(np.shape(value))
    arr = np.asarray(value)
    if arr.dtype == np.float64 and not isinstance(value, (np.ndarray, np.generic)):
        arr = arr.astype(np.float32)           # Python floats are float32 tensors, as in TF
    elif arr.dtype == np.int64 and not isinstance(value, (np.ndarray, np.generic)):
        arr = arr.astype(np.int32)
    return arr


def _is_tensorlike(v) -> bool:
    """Symbolic tensors and variables (their values exist only when the compiled function runs)."""
    from .tensor import Tensor
    return isinstance(v, Tensor) or (hasattr(v, "_as_tensor") and hasattr(v, "assign"))


def _result(ok: bool):
    from .tensor import EagerTensor
    return EagerTensor(np.asarray(bool(ok)))


def _metadata_bytes(metadata) -> bytes:
    if metadata is None:
        return b""
    if isinstance(metadata, (bytes, bytearray)):
        return bytes(metadata)
    if hasattr(metadata, "SerializeToString"):
        return metadata.SerializeToString()
    raise TypeError(f"summary metadata must be serialized SummaryMetadata bytes, got {type(metadata).__name__}")


# ------------------------------------------------------------------------------ summary ops


def write(tag, tensor, step=None, metadata=None, name=None):
    """Write `tensor` under `tag` at `step` to the default writer; returns whether it was written.

    Inside a `fuseflow.function`, symbolic values and steps become outputs of the compiled
    program and the record is written on the host after every call."""
    return _write(tag, tensor, step, _metadata_bytes(metadata), None)


def _write(tag, data, step, meta: bytes, transform):
    """write() with an optional host-side `transform(array) -> array` (the plugin summaries)."""
    writer = _default_writer()
    if writer is None or isinstance(writer, _NoopWriter) or not _recording():
        return _result(False)
    if step is None:
        step = _get_step()
    if step is None:
        _resolve_step(None)          # raises TF's "No step set" error

    def emit(arr, step_value):
        if transform is not None:
            arr = transform(arr)
        value = tfevents.summary_value(str(tag), tensor=tfevents.tensor_proto(arr), metadata=meta or None)
        writer.write_summary(tfevents.summary([value]), step_value)

    return _on_host(emit, data, step)


def _on_host(fn, data, step):
    """Call `fn(data array, step int)` now, or after every call of the function being traced."""
    from .function import inside_function
    if not inside_function():
        fn(_host_array(data), _resolve_step(step))
        return _result(True)
    from .core import convert_to_tensor
    from .graph import get_default_graph
    slots, tensors = [], []          # ("tensor", index into the callback arrays) | ("python", value)
    for v in (data, step):
        if _is_tensorlike(v):
            slots.append(("tensor", len(tensors)))
            tensors.append(convert_to_tensor(v))
        else:
            slots.append(("python", v))

    def callback(arrays):
        d, st = (arrays[v] if kind == "tensor" else v for kind, v in slots)
        fn(_host_array(d), _resolve_step(st))

    get_default_graph().add_host_callback(tensors, callback)
    return convert_to_tensor(True)


def _plugin_write(name, data, step, plugin, description, data_class, transform):
    meta = tfevents.summary_metadata(plugin, description=description or "", data_class=data_class)
    return _write(name, data, step, meta, transform)


def scalar(name, data, step=None, description=None):
    """TensorBoard's scalar summary: a float32 scalar tensor tagged for the scalars plugin."""
    def to_scalar(arr):
        if arr.size != 1 or arr.ndim:
            raise ValueError(f"tf.summary.scalar '{name}': data must be a scalar, got shape {list(arr.shape)}")
        return arr.astype(np.float32)
    return _plugin_write(name, data, step, "scalars", description, tfevents.DATA_CLASS_SCALAR, to_scalar)


def histogram(name, data, step=None, buckets=None, description=None):
    """TensorBoard's histogram summary: a [buckets, 3] float64 tensor (left, right, count)."""
    k = 30 if buckets is None else int(buckets)

    def to_table(arr):
        v = arr.astype(np.float64).reshape(-1)
        if v.size == 0 or k == 0:
            return np.zeros((0, 3), np.float64)
        lo, hi = float(v.min()), float(v.max())
        edges = np.linspace(lo - 0.5, hi + 0.5, k + 1) if lo == hi else np.linspace(lo, hi, k + 1)
        counts, _ = np.histogram(v, bins=edges)
        return np.stack([edges[:-1], edges[1:], counts.astype(np.float64)], axis=1)
    return _plugin_write(name, data, step, "histograms", description, tfevents.DATA_CLASS_TENSOR, to_table)


def image(name, data, step=None, max_outputs=3, description=None):
    """TensorBoard's image summary: [width, height, png, png, ...] strings for up to max_outputs images."""
    def to_pngs(arr):
        if arr.ndim != 4 or arr.shape[-1] not in (1, 2, 3, 4):
            raise ValueError(f"tf.summary.image '{name}': data must be [k, h, w, c] with c in 1..4, got "
                             f"{list(arr.shape)}")
        if arr.dtype.kind == "f":
            arr = np.clip(np.round(arr * 255.0), 0, 255)
        arr = arr.astype(np.uint8)[:max_outputs]
        h, w = arr.shape[1], arr.shape[2]
        strings = [str(w).encode(), str(h).encode()] + [tfevents.encode_png(img) for img in arr]
        return np.asarray(strings, dtype=object)
    return _plugin_write(name, data, step, "images", description, tfevents.DATA_CLASS_BLOB_SEQUENCE, to_pngs)


def text(name, data, step=None, description=None):
    """TensorBoard's text summary: a string tensor for the text plugin."""
    def to_strings(arr):
        if arr.dtype != object:
            arr = np.asarray([str(x).encode() for x in arr.reshape(-1)], dtype=object).reshape(arr.shape)
        return arr
    return _plugin_write(name, data, step, "text", description, tfevents.DATA_CLASS_TENSOR, to_strings)


# ------------------------------------------------------------------------------ tracing
_trace = {"on": False}


def trace_on(graph=True, profiler=False, profiler_outdir=None):
    """Starts recording the graphs of functions called from now on (TF). fuseflow keeps no
    exportable GraphDef, so trace_export warns and writes nothing; the calls themselves work."""
    if profiler:
        raise NotImplementedError("tf.summary.trace_on(profiler=True): fuseflow has no profiler")
    _trace["on"] = bool(graph)


def trace_off():
    _trace["on"] = False


def trace_export(name, step=None, profiler_outdir=None):
    import warnings
    if not _trace["on"]:
        warnings.warn("Cannot export trace because tracing was not enabled.", stacklevel=2)
        return
    _trace["on"] = False
    warnings.warn(f"tf.summary.trace_export({name!r}): fuseflow does not export traced graphs; no graph "
                  f"summary was written", RuntimeWarning, stacklevel=2)
