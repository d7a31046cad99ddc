"""`tf.compat.v1.summary`: TF1 summary ops and `FileWriter`.

`scalar` / `histogram` / `image` / `text` add a graph op whose value is a serialized `Summary`
protobuf (a string scalar), collected under `GraphKeys.SUMMARIES`; `merge` / `merge_all`
concatenate them (a Summary has one repeated field, so concatenated serializations are a
valid merged message). The Session computes the tensors natively and runs these ops on the
host (host_ops.py). `FileWriter.add_summary(bytes, global_step)` appends them to a real
TensorBoard event file; `add_graph` writes a GraphDef of the frontend graph.
"""
from __future__ import annotations

import os
import socket
import struct
import threading
import time

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import tfevents
from .host_ops import host_op
from .tensor import EagerTensor, Tensor, TensorShape

SUMMARIES = "summaries"


# ------------------------------------------------------------------------------ serialized values


def _scalar_value(tag, arr):
    arr = np.asarray(arr)
    if arr.size != 1:
        raise ValueError(f"tf.summary.scalar '{tag}': the tensor must be a scalar, got shape {list(arr.shape)}")
    return tfevents.summary_value(tag, simple_value=float(arr.reshape(())))


def _histogram_value(tag, arr):
    return tfevents.summary_value(tag, histo=tfevents.histogram_proto(np.asarray(arr)))


def _image_values(tag, arr, max_outputs):
    arr = np.asarray(arr)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
        raise ValueError(f"tf.summary.image '{tag}': images must be [batch, height, width, 1|3|4], got "
                         f"{list(arr.shape)}")
    if arr.dtype.kind == "f":
        # TF1 rescales float images so the largest magnitude maps to 255 (or keeps [0, 1] scaled).
        peak = np.abs(arr).max() if arr.size else 0.0
        lo = arr.min() if arr.size else 0.0
        if lo >= 0:
            arr = arr * (255.0 / peak if peak > 1.0 else 255.0)
        else:
            arr = (arr * (127.0 / peak if peak else 1.0)) + 128.0
        arr = np.clip(np.round(arr), 0, 255)
    arr = arr.astype(np.uint8)[:max_outputs]
    n = arr.shape[0]
    out = []
    for i, img in enumerate(arr):
        name = f"{tag}/image" if n == 1 else f"{tag}/image/{i}"
        out.append(tfevents.summary_value(name, image=tfevents.image_proto(img.shape[0], img.shape[1], img.shape[2],
                                                                           tfevents.encode_png(img))))
    return out


def _text_value(tag, arr):
    arr = np.asarray(arr)
    if arr.dtype != object:
        arr = np.asarray([str(x).encode() for x in arr.reshape(-1)], dtype=object).reshape(arr.shape)
    meta = tfevents.summary_metadata("text")
    return tfevents.summary_value(tag, tensor=tfevents.tensor_proto(arr), metadata=meta)


def serialize(op_type: str, attrs: dict, arrays: list) -> bytes:
    """The serialized Summary a summary op produces from its input values."""
    tag = attrs.get("tag", "")
    if op_type == "summary_scalar":
        values = [_scalar_value(tag, arrays[0])]
    elif op_type == "summary_histogram":
        values = [_histogram_value(tag, arrays[0])]
    elif op_type == "summary_image":
        values = _image_values(tag, arrays[0], attrs["max_outputs"])
    elif op_type == "summary_text":
        values = [_text_value(tag, arrays[0])]
    elif op_type == "summary_merge":
        return b"".join(_as_bytes(x) for x in arrays)
    else:
        raise ValueError(f"unknown summary op {op_type}")
    return tfevents.summary(values)


def _run_summary_op(run, op, inputs):
    return [np.asarray(serialize(op.ir_op, op.attrs, inputs), dtype=object)]


for _op_type in ("summary_scalar", "summary_histogram", "summary_image", "summary_text", "summary_merge"):
    host_op(_op_type)(_run_summary_op)


def _as_bytes(x) -> bytes:
    x = np.asarray(x)
    v = x.reshape(-1)[0] if x.size else b""
    return v if isinstance(v, bytes) else bytes(v)


# ------------------------------------------------------------------------------ graph ops


def _graph_mode() -> bool:
    from .graph import graph_is_active
    return graph_is_active()


def _summary_op(op_type, name, inputs, attrs, collections, family=None):
    """Record the summary op in the default graph (or, eagerly, compute its bytes at once)."""
    from .core import convert_to_tensor
    from .graph import get_default_graph, user_location
    tag = name if family is None else f"{family}/{name}"
    if not _graph_mode():
        arrays = [np.asarray(convert_to_tensor(x)._value) for x in inputs]
        return EagerTensor(np.asarray(serialize(op_type, dict(attrs, tag=tag), arrays), dtype=object), dt.string)
    g = get_default_graph()
    scope = g.get_name_scope()
    full_tag = f"{scope}/{tag}" if scope and op_type != "summary_merge" else tag
    with g.as_default():
        tensors = [convert_to_tensor(x) for x in inputs]
    op = g.create_op(op_type, tensors, dict(attrs, tag=full_tag), [(dt.string, TensorShape([]))],
                     name=name.replace(":", "_") if name else "Summary", loc=user_location(scope))
    out = op.outputs[0]
    for key in (collections if collections is not None else [SUMMARIES]):
        g.add_to_collection(key, out)
    return out


def scalar(name, tensor, collections=None, family=None):
    return _summary_op("summary_scalar", name, [tensor], {}, collections, family)


def histogram(name, values, collections=None, family=None):
    return _summary_op("summary_histogram", name, [values], {}, collections, family)


def image(name, tensor, max_outputs=3, collections=None, family=None):
    return _summary_op("summary_image", name, [tensor], {"max_outputs": int(max_outputs)}, collections, family)


def text(name, tensor, collections=None):
    return _summary_op("summary_text", name, [tensor], {}, collections)


def merge(inputs, collections=None, name=None):
    inputs = list(inputs)
    if not inputs:
        raise ValueError("tf.summary.merge: no summaries to merge")
    return _summary_op("summary_merge", name or "Merge/MergeSummary", inputs, {}, collections or [])


def merge_all(key=SUMMARIES, scope=None, name=None):
    from .graph import get_default_graph
    items = get_default_graph().get_collection(key, scope)
    if not items:
        return None
    return merge(items, name=name)


# ------------------------------------------------------------------------------ Summary protos (tf.Summary)


class Summary:
    """`tf.compat.v1.Summary(value=[Summary.Value(tag=..., simple_value=...)])`, serializable."""

    class Value:
        def __init__(self, tag="", simple_value=None, image=None, histo=None, tensor=None, metadata=None, node_name=""):
            self.tag = tag
            self.simple_value = simple_value
            self.image = image
            self.histo = histo
            self.tensor = tensor
            self.metadata = metadata
            self.node_name = node_name

        def SerializeToString(self) -> bytes:
            def ser(x):
                return x.SerializeToString() if hasattr(x, "SerializeToString") else x
            return tfevents.summary_value(self.tag, simple_value=self.simple_value, image=ser(self.image),
                                          histo=ser(self.histo), tensor=ser(self.tensor), metadata=ser(self.metadata))

    class Image:
        def __init__(self, height=0, width=0, colorspace=0, encoded_image_string=b""):
            self.height, self.width, self.colorspace = height, width, colorspace
            self.encoded_image_string = encoded_image_string

        def SerializeToString(self) -> bytes:
            return tfevents.image_proto(self.height, self.width, self.colorspace, self.encoded_image_string)

    class Histo:
        """HistogramProto fields (a parsed histogram summary)."""

        def __init__(self, min=0.0, max=0.0, num=0.0, sum=0.0, sum_squares=0.0,  # noqa: A002 - proto names
                     bucket_limit=(), bucket=()):
            self.min, self.max, self.num, self.sum, self.sum_squares = min, max, num, sum, sum_squares
            self.bucket_limit, self.bucket = list(bucket_limit), list(bucket)

        def SerializeToString(self) -> bytes:
            return (tfevents.f_double(1, self.min) + tfevents.f_double(2, self.max) + tfevents.f_double(3, self.num)
                    + tfevents.f_double(4, self.sum) + tfevents.f_double(5, self.sum_squares)
                    + tfevents.f_packed_doubles(6, self.bucket_limit) + tfevents.f_packed_doubles(7, self.bucket))

    def __init__(self, value=None):
        self.value = list(value or [])

    def SerializeToString(self) -> bytes:
        return tfevents.summary([v.SerializeToString() for v in self.value])

    # -- parsing (protobuf wire format: Summary.value = 1; Value.tag = 1, simple_value = 2, image = 4,
    # histo = 5, node_name = 7, tensor = 8, metadata = 9)
    def ParseFromString(self, data) -> int:
        self.value = [_parse_value(bytes(v)) for field, _, v in tfevents.decode_message(_as_bytes(data))
                      if field == 1]
        return len(data)

    def MergeFromString(self, data) -> int:
        values = self.value
        self.ParseFromString(data)
        self.value = values + self.value
        return len(data)

    @classmethod
    def FromString(cls, data):
        out = cls()
        out.ParseFromString(data)
        return out

    def __repr__(self):
        return f"Summary(value={[v.tag for v in self.value]})"


def _f64(raw) -> float:
    return struct.unpack("<d", raw)[0]


def _parse_value(data: bytes):
    v = Summary.Value()
    v.simple_value = 0.0
    v.node_name = ""
    for field, wire, raw in tfevents.decode_message(data):
        if field == 1:
            v.tag = raw.decode("utf-8")
        elif field == 2 and wire == 5:
            v.simple_value = struct.unpack("<f", raw)[0]
        elif field == 4:
            img = {f: val for f, _, val in tfevents.decode_message(raw)}
            v.image = Summary.Image(img.get(1, 0), img.get(2, 0), img.get(3, 0), bytes(img.get(4, b"")))
        elif field == 5:
            h = Summary.Histo()
            for f, w, val in tfevents.decode_message(raw):
                if f in (1, 2, 3, 4, 5):
                    setattr(h, ("min", "max", "num", "sum", "sum_squares")[f - 1], _f64(val))
                elif f in (6, 7):
                    xs = list(struct.unpack(f"<{len(val) // 8}d", val)) if w == 2 else [_f64(val)]
                    (h.bucket_limit if f == 6 else h.bucket).extend(xs)
            v.histo = h
        elif field == 7:
            v.node_name = raw.decode("utf-8")
        elif field == 8:
            v.tensor = bytes(raw)
        elif field == 9:
            v.metadata = bytes(raw)
    return v


class Event:
    """A parsed event-file record (tensorflow.Event): wall_time, step, file_version, graph_def, summary."""

    def __init__(self):
        self.wall_time = 0.0
        self.step = 0
        self.file_version = ""
        self.graph_def = b""
        self.summary = Summary()
        self._fields = set()

    def HasField(self, name) -> bool:
        return name in self._fields

    @classmethod
    def FromString(cls, data):
        ev = cls()
        for field, _, raw in tfevents.decode_message(bytes(data)):
            if field == 1:
                ev.wall_time = _f64(raw)
                ev._fields.add("wall_time")
            elif field == 2:
                ev.step = raw if raw < 2 ** 63 else raw - 2 ** 64
                ev._fields.add("step")
            elif field == 3:
                ev.file_version = raw.decode("utf-8")
                ev._fields.add("file_version")
            elif field == 4:
                ev.graph_def = bytes(raw)
                ev._fields.add("graph_def")
            elif field == 5:
                ev.summary = Summary.FromString(raw)
                ev._fields.add("summary")
        return ev


def summary_iterator(path):
    """Yield the Events of an event file (tf.compat.v1.train.summary_iterator)."""
    with open(path, "rb") as f:
        raw = f.read()
    for record in tfevents.read_tfrecords(raw):
        yield Event.FromString(record)


TRAIN_EXPORTS = {"summary_iterator": summary_iterator}


# ------------------------------------------------------------------------------ GraphDef


def graph_def_bytes(graph) -> bytes:
    """A GraphDef (NodeDef name/op/inputs/device) of a frontend graph, for TensorBoard's graph view."""
    nodes = []
    for op in graph.get_operations():
        node = tfevents.f_bytes(1, op.name) + tfevents.f_bytes(2, op.type)
        for t in op.inputs:
            node += tfevents.f_bytes(3, t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}")
        for c in op.control_inputs:
            node += tfevents.f_bytes(3, f"^{c.name}")
        if op.device:
            node += tfevents.f_bytes(4, op.device)
        nodes.append(tfevents.f_bytes(1, node))
    versions = tfevents.f_bytes(4, tfevents.f_varint(1, 27))
    return b"".join(nodes) + versions


# ------------------------------------------------------------------------------ FileWriter


class FileWriter:
    """TF1's event file writer: `add_summary(serialized Summary, global_step)`, `add_graph`, `flush`."""

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None, filename_suffix=None,
                 session=None):
        self._logdir = os.fspath(logdir)
        os.makedirs(self._logdir, exist_ok=True)
        self._max_queue = max(1, int(max_queue))
        self._flush_secs = float(flush_secs)
        self._suffix = filename_suffix or ""
        self._lock = threading.Lock()
        self._file = None
        self._open()
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def _open(self):
        now = time.time()
        name = f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}{self._suffix}"
        self.path = os.path.join(self._logdir, name)
        if os.path.exists(self.path):
            self.path += f".{os.getpid()}.{id(self)}"
        self._file = open(self.path, "wb")
        self._pending = 0
        self._last_flush = now
        self._closed = False
        self._write(tfevents.event(now, 0, file_version="brain.Event:2"))

    def _write(self, event_bytes: bytes):
        with self._lock:
            if self._closed:
                raise RuntimeError(f"FileWriter for {self._logdir} is closed (call reopen() first)")
            self._file.write(tfevents.tfrecord(event_bytes))
            self._pending += 1
            due = self._pending >= self._max_queue or time.time() - self._last_flush >= self._flush_secs
        if due:
            self.flush()

    def get_logdir(self) -> str:
        return self._logdir

    def add_summary(self, summary, global_step=None):
        if isinstance(summary, (EagerTensor, np.ndarray)):
            summary = _as_bytes(np.asarray(summary._value if isinstance(summary, EagerTensor) else summary))
        elif hasattr(summary, "SerializeToString"):
            summary = summary.SerializeToString()
        elif isinstance(summary, Tensor):
            raise TypeError("FileWriter.add_summary expects the evaluated summary (sess.run(merged)), not the "
                            f"symbolic tensor {summary.name}")
        step = 0 if global_step is None else int(np.asarray(global_step))
        self._write(tfevents.event(time.time(), step, summary_bytes=bytes(summary)))

    def add_event(self, event):
        self._write(event if isinstance(event, (bytes, bytearray)) else event.SerializeToString())

    def add_graph(self, graph, global_step=None, graph_def=None):
        if graph_def is not None:
            data = graph_def if isinstance(graph_def, (bytes, bytearray)) else graph_def.SerializeToString()
        else:
            data = graph_def_bytes(graph)
        self._write(tfevents.event(time.time(), int(global_step or 0), graph_def=bytes(data)))

    def add_session_log(self, session_log, global_step=None):
        """Session logs (START/STOP/CHECKPOINT) carry no data fuseflow produces; accepted and ignored."""

    def add_run_metadata(self, run_metadata, tag, global_step=None):
        """Run metadata (step stats) is not collected by fuseflow; accepted and ignored."""

    def flush(self):
        with self._lock:
            if self._file is not None and not self._closed:
                self._file.flush()
                self._pending = 0
                self._last_flush = time.time()

    def close(self):
        self.flush()
        with self._lock:
            if not self._closed:
                self._file.close()
                self._closed = True

    def reopen(self):
        if self._closed:
            self._open()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FileWriterCache:
    _cache: dict = {}

    @staticmethod
    def get(logdir):
        w = FileWriterCache._cache.get(logdir)
        if w is None:
            w = FileWriterCache._cache[logdir] = FileWriter(logdir)
        return w

    @staticmethod
    def clear():
        for w in FileWriterCache._cache.values():
            w.close()
        FileWriterCache._cache.clear()


# TF2 names that tf.compat.v1.summary also exposes
from .summary import (create_file_writer, create_noop_writer, experimental, flush, record_if,  # noqa: E402,F401
                      should_record_summaries, write)
