"""TF1 queue-based input pipelines: FIFOQueue, RandomShuffleQueue, PaddingFIFOQueue, QueueRunner,
Coordinator, start_queue_runners, string_input_producer / input_producer / range_input_producer /
slice_input_producer, train.batch / shuffle_batch (and *_join), and the record readers
(TFRecordReader, TextLineReader, WholeFileReader, FixedLengthRecordReader).

These are INPUT PIPELINES, NOT COMPILED COMPUTE: queue and reader ops are host ops (see
host_ops.py) that run in Python inside `Session.run`, with the blocking, closing and
cancellation semantics of TF's queues. Their state (queue contents, reader positions) lives in
the session, so two sessions have separate queues, and `Session.close()` cancels pending
enqueues and dequeues so runner threads can exit. Compiled programs see dequeued values as
ordinary fed inputs. Queue runner threads call `sess.run(enqueue_op)` in a loop, exactly as
in TF, so a training step that dequeues a batch is one host dequeue plus one native call.
"""
from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import sys
import threading
import time

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .errors import (CancelledError, DeadlineExceededError, InvalidArgumentError, OutOfRangeError)
from .host_ops import host_op
from .tensor import TensorShape

logger = logging.getLogger("fuseflow")

QUEUE_RUNNERS = "queue_runners"
LOCAL_VARIABLES = "local_variables"
_POLL = 0.05          # seconds between checks of cancellation / deadlines while blocked


def _graph():
    if not graph_mod.graph_is_active():
        raise RuntimeError("Queues are not supported when eager execution is enabled (use tf.data).")
    return graph_mod.get_default_graph()


def _host(g, op_type, inputs, attrs, specs, name):
    loc = graph_mod.user_location(g.get_name_scope())
    return g.create_op(op_type, list(inputs), attrs, specs, name=name, loc=loc)


# ============================================================================== host queue state
class _HostQueue:
    """The contents of one queue in one session (a bounded buffer with close/cancel)."""

    def __init__(self, queue, seed=None):
        self.name = queue.name
        self.capacity = queue._capacity
        self.min_after_dequeue = getattr(queue, "_min_after_dequeue", 0)
        self.shuffle = isinstance(queue, RandomShuffleQueue)
        self.padded = isinstance(queue, PaddingFIFOQueue)
        self.shapes = queue._shapes
        self.dtypes = queue._dtypes
        self.kind = type(queue).__name__
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._cancel_enqueues = False
        self._cancelled = False
        self._rng = np.random.RandomState(seed)

    # -- helpers --------------------------------------------------------------------------
    def _wait(self, ready, timeout, what):
        """Wait (holding the condition) until ready(); raise on cancellation or deadline."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._cancelled:
                raise CancelledError(None, None, f"{self.kind} '{self.name}': the session was closed while "
                                                 f"waiting to {what}")
            if ready():
                return
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlineExceededError(None, None, f"Timed out waiting to {what} {self.kind} '{self.name}'")
                self._cond.wait(min(left, _POLL))
            else:
                self._cond.wait(_POLL)

    def _check_item(self, item):
        for i, (arr, shape) in enumerate(zip(item, self.shapes)):
            if shape is not None and shape.rank is not None and not shape.is_compatible_with(arr.shape):
                raise InvalidArgumentError(None, None, f"Shape mismatch in tuple component {i}. Expected {shape}, "
                                                       f"got {list(arr.shape)}")

    # -- operations -----------------------------------------------------------------------
    def enqueue(self, item, timeout):
        self._check_item(item)
        with self._cond:
            if self._closed:
                raise CancelledError(None, None, f"{self.kind} '{self.name}' is closed.")
            self._wait(lambda: len(self._items) < self.capacity or self._closed, timeout, "enqueue into")
            if self._closed:
                raise CancelledError(None, None, f"{self.kind} '{self.name}' is closed.")
            self._items.append(item)
            self._cond.notify_all()

    def enqueue_many(self, batch, timeout):
        n = batch[0].shape[0] if batch and batch[0].ndim else None
        if n is None:
            raise InvalidArgumentError(None, None, f"enqueue_many into {self.kind} '{self.name}' needs components "
                                                   f"with a leading batch dimension")
        if any(c.ndim == 0 or c.shape[0] != n for c in batch):
            raise InvalidArgumentError(None, None, "enqueue_many: all components must have the same first dimension")
        for i in range(n):
            self.enqueue(tuple(np.asarray(c[i], dtype=c.dtype) for c in batch), timeout)

    def _available(self, n):
        keep = 0 if self._closed else self.min_after_dequeue
        return len(self._items) >= n + keep

    def _take(self, n):
        out = []
        for _ in range(n):
            if self.shuffle:
                j = self._rng.randint(len(self._items))
                self._items.rotate(-j)
                out.append(self._items.popleft())
                self._items.rotate(j)
            else:
                out.append(self._items.popleft())
        self._cond.notify_all()
        return out

    def _insufficient(self, n):
        return OutOfRangeError(None, None, f"{self.kind} '{self.name}' is closed and has insufficient elements "
                                           f"(requested {n}, current size {len(self._items)})")

    def dequeue(self, timeout):
        with self._cond:
            self._wait(lambda: self._available(1) or (self._closed and not self._items), timeout, "dequeue from")
            if not self._items:
                raise self._insufficient(1)
            return self._take(1)[0]

    def dequeue_many(self, n, timeout, up_to=False):
        with self._cond:
            if up_to:
                self._wait(lambda: self._available(n) or self._closed, timeout, "dequeue from")
                if self._closed and not self._items:
                    raise self._insufficient(n)
                k = min(n, len(self._items)) if self._closed else n
            else:
                self._wait(lambda: self._available(n) or (self._closed and len(self._items) < n), timeout,
                           "dequeue from")
                if len(self._items) < n:
                    raise self._insufficient(n)
                k = n
            items = self._take(k)
        return [self._stack([it[c] for it in items], c) for c in range(len(self.dtypes))]

    def _stack(self, parts, component):
        dtype = self.dtypes[component]
        if not parts:
            shape = self.shapes[component]
            tail = tuple(shape.as_list()) if shape is not None and shape.is_fully_defined() else ()
            return np.zeros((0,) + tail, dtype=dtype.np)
        if self.padded:
            rank = parts[0].ndim
            target = [max(p.shape[d] for p in parts) for d in range(rank)]
            fill = b"" if dtype.is_string else 0
            padded = []
            for p in parts:
                out = np.full(target, fill, dtype=dtype.np)
                out[tuple(slice(0, s) for s in p.shape)] = p
                padded.append(out)
            parts = padded
        try:
            return np.stack(parts)
        except ValueError:
            raise InvalidArgumentError(None, None, f"Shape mismatch while dequeuing a batch from {self.kind} "
                                                   f"'{self.name}': elements of different shapes "
                                                   f"(use a PaddingFIFOQueue / dynamic_pad=True)") from None

    def size(self):
        with self._cond:
            return len(self._items)

    def close(self, cancel_pending_enqueues=False):
        with self._cond:
            self._closed = True
            self._cancel_enqueues = self._cancel_enqueues or cancel_pending_enqueues
            self._cond.notify_all()

    def is_closed(self):
        return self._closed

    def cancel(self):
        """Session.close(): wake every blocked op with CancelledError."""
        with self._cond:
            self._closed = True
            self._cancelled = True
            self._cond.notify_all()


# ============================================================================== queue classes
def _as_dtypes(dtypes):
    if not isinstance(dtypes, (list, tuple)):
        dtypes = [dtypes]
    return [dt.as_dtype(d) for d in dtypes]


def _as_shapes(shapes, n):
    if shapes is None:
        return [None] * n
    if isinstance(shapes, TensorShape) or (isinstance(shapes, (list, tuple)) and shapes
                                          and not isinstance(shapes[0], (list, tuple, TensorShape))
                                          and n == 1):
        shapes = [shapes]
    shapes = [TensorShape(s) for s in shapes]
    if len(shapes) != n:
        raise ValueError(f"Queue shapes must have the same length as dtypes ({len(shapes)} vs {n})")
    return shapes


class QueueBase:
    """A queue of tuples of tensors; `enqueue`/`dequeue` build host ops (see module docstring)."""

    _default_name = "queue"

    def __init__(self, dtypes, shapes, names, name, capacity):
        g = _graph()
        self._graph = g
        self._dtypes = _as_dtypes(dtypes)
        self._shapes = _as_shapes(shapes, len(self._dtypes))
        if names is not None:
            names = [names] if isinstance(names, str) else list(names)
            if len(names) != len(self._dtypes):
                raise ValueError("Queue names must have the same length as dtypes")
        self._names = names
        self._capacity = int(capacity)
        self._queue_op = _host(g, "queue_create", [], {"queue": self}, [], name or self._default_name)
        self._name = self._queue_op.name

    # -- properties -----------------------------------------------------------------------
    @property
    def name(self):
        return self._name

    @property
    def dtypes(self):
        return list(self._dtypes)

    @property
    def shapes(self):
        return list(self._shapes)

    @property
    def names(self):
        return self._names

    @property
    def queue_ref(self):
        return self._queue_op

    def _state(self, run):
        return run.resource(("queue", id(self)), lambda: _HostQueue(self, getattr(self, "_seed", None)))

    # -- building ops ---------------------------------------------------------------------
    def _components(self, vals, many):
        from .core import convert_to_tensor
        if isinstance(vals, dict):
            if self._names is None:
                raise ValueError("Queue must have names to enqueue a dictionary")
            if set(vals) != set(self._names):
                raise ValueError(f"Keys in dictionary to enqueue {sorted(vals)} do not match names {self._names}")
            vals = [vals[k] for k in self._names]
        elif not isinstance(vals, (list, tuple)):
            vals = [vals]
        if len(vals) != len(self._dtypes):
            raise ValueError(f"Expected {len(self._dtypes)} components to enqueue, got {len(vals)}")
        out = []
        for v, d, s in zip(vals, self._dtypes, self._shapes):
            t = convert_to_tensor(v, dtype=d)
            if s is not None and s.rank is not None:
                shape = t.shape[1:] if many and t.shape.rank is not None else t.shape
                if shape.rank is not None and not s.is_compatible_with(shape):
                    raise ValueError(f"Shapes {s} and {shape} are incompatible (enqueue into queue '{self.name}')")
            out.append(t)
        return out

    def enqueue(self, vals, name=None):
        g = _graph()
        comps = self._components(vals, many=False)
        return _host(g, "queue_enqueue", comps, {"queue": self}, [], name or f"{self._name}_enqueue")

    def enqueue_many(self, vals, name=None):
        g = _graph()
        comps = self._components(vals, many=True)
        return _host(g, "queue_enqueue_many", comps, {"queue": self}, [], name or f"{self._name}_EnqueueMany")

    def _pack(self, outputs):
        if self._names is not None:
            return dict(zip(self._names, outputs))
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def dequeue(self, name=None):
        g = _graph()
        specs = [(d, s if s is not None else TensorShape(None)) for d, s in zip(self._dtypes, self._shapes)]
        op = _host(g, "queue_dequeue", [], {"queue": self}, specs, name or f"{self._name}_Dequeue")
        return self._pack(op.outputs)

    def dequeue_many(self, n, name=None):
        return self._dequeue_batch(n, name or f"{self._name}_DequeueMany", up_to=False)

    def dequeue_up_to(self, n, name=None):
        return self._dequeue_batch(n, name or f"{self._name}_DequeueUpTo", up_to=True)

    def _dequeue_batch(self, n, name, up_to):
        from .array_ops import static_value
        g = _graph()
        n_val = static_value(n)
        if n_val is None:
            raise ValueError("dequeue_many: n must be known while building the graph in fuseflow")
        n_val = int(n_val)
        lead = None if up_to else n_val
        specs = []
        for d, s in zip(self._dtypes, self._shapes):
            shape = TensorShape([lead] + s.as_list()) if s is not None and s.rank is not None else TensorShape(None)
            specs.append((d, shape))
        op = _host(g, "queue_dequeue_many", [], {"queue": self, "n": n_val, "up_to": up_to}, specs, name)
        return self._pack(op.outputs)

    def size(self, name=None):
        g = _graph()
        return _host(g, "queue_size", [], {"queue": self}, [(dt.int32, TensorShape([]))],
                     name or f"{self._name}_Size").outputs[0]

    def close(self, cancel_pending_enqueues=False, name=None):
        g = _graph()
        return _host(g, "queue_close", [], {"queue": self, "cancel": bool(cancel_pending_enqueues)}, [],
                     name or f"{self._name}_Close")

    def is_closed(self, name=None):
        g = _graph()
        return _host(g, "queue_is_closed", [], {"queue": self}, [(dt.bool_, TensorShape([]))],
                     name or f"{self._name}_IsClosed").outputs[0]


class FIFOQueue(QueueBase):
    _default_name = "fifo_queue"

    def __init__(self, capacity, dtypes, shapes=None, names=None, shared_name=None, name="fifo_queue"):
        super().__init__(dtypes, shapes, names, name, capacity)


class PaddingFIFOQueue(QueueBase):
    """A FIFO queue whose dequeue_many pads elements to the batch's largest shape."""
    _default_name = "padding_fifo_queue"

    def __init__(self, capacity, dtypes, shapes, names=None, shared_name=None, name="padding_fifo_queue"):
        super().__init__(dtypes, shapes, names, name, capacity)


class RandomShuffleQueue(QueueBase):
    """Dequeues a random element; keeps at least `min_after_dequeue` elements until closed."""
    _default_name = "random_shuffle_queue"

    def __init__(self, capacity, min_after_dequeue, dtypes, shapes=None, names=None, seed=None, shared_name=None,
                 name="random_shuffle_queue"):
        from .random_ops import get_seed
        self._min_after_dequeue = int(min_after_dequeue)
        s1, s2 = get_seed(seed)
        self._seed = None if s1 is None else (s1 * 1000003 + s2) % (2 ** 32)
        super().__init__(dtypes, shapes, names, name, capacity)


# ============================================================================== host ops
@host_op("queue_create")
def _q_create(run, op, inputs):
    return []


@host_op("queue_enqueue")
def _q_enqueue(run, op, inputs):
    q = op.attrs["queue"]
    q._state(run).enqueue(tuple(np.asarray(a) for a in inputs), run.timeout)
    return []


@host_op("queue_enqueue_many")
def _q_enqueue_many(run, op, inputs):
    q = op.attrs["queue"]
    q._state(run).enqueue_many([np.asarray(a) for a in inputs], run.timeout)
    return []


@host_op("queue_dequeue")
def _q_dequeue(run, op, inputs):
    return list(op.attrs["queue"]._state(run).dequeue(run.timeout))


@host_op("queue_dequeue_many")
def _q_dequeue_many(run, op, inputs):
    return op.attrs["queue"]._state(run).dequeue_many(op.attrs["n"], run.timeout, up_to=op.attrs["up_to"])


@host_op("queue_size")
def _q_size(run, op, inputs):
    return [np.asarray(op.attrs["queue"]._state(run).size(), np.int32)]


@host_op("queue_close")
def _q_close(run, op, inputs):
    op.attrs["queue"]._state(run).close(op.attrs["cancel"])
    return []


@host_op("queue_is_closed")
def _q_is_closed(run, op, inputs):
    return [np.asarray(op.attrs["queue"]._state(run).is_closed())]


# ============================================================================== Coordinator
class Coordinator:
    """Coordinates the termination of a set of threads (TF1 `tf.train.Coordinator`)."""

    def __init__(self, clean_stop_exception_types=None):
        if clean_stop_exception_types is None:
            clean_stop_exception_types = (OutOfRangeError,)
        self._clean_stop_exception_types = tuple(clean_stop_exception_types)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._exc_info_to_raise = None
        self._joined = False
        self._registered_threads: set = set()

    def _filter_exception(self, ex):
        ex2 = ex[1] if isinstance(ex, tuple) else ex
        if isinstance(ex2, self._clean_stop_exception_types):
            return None
        return ex

    def request_stop(self, ex=None):
        with self._lock:
            ex = self._filter_exception(ex)
            if self._joined:
                if isinstance(ex, tuple):
                    raise ex[1].with_traceback(ex[2])
                if ex is not None:
                    raise ex
            if not self._stop_event.is_set():
                if ex is not None and self._exc_info_to_raise is None:
                    if isinstance(ex, tuple):
                        self._exc_info_to_raise = ex
                    else:
                        self._exc_info_to_raise = (type(ex), ex, ex.__traceback__)
                self._stop_event.set()

    def clear_stop(self):
        with self._lock:
            self._joined = False
            self._exc_info_to_raise = None
            self._stop_event.clear()

    def should_stop(self) -> bool:
        return self._stop_event.is_set()

    @contextlib.contextmanager
    def stop_on_exception(self):
        try:
            yield
        except BaseException:
            self.request_stop(ex=sys.exc_info())

    def wait_for_stop(self, timeout=None) -> bool:
        return self._stop_event.wait(timeout)

    def register_thread(self, thread):
        with self._lock:
            self._registered_threads.add(thread)

    def join(self, threads=None, stop_grace_period_secs=120, ignore_live_threads=False):
        with self._lock:
            threads = set(threads or []) | set(self._registered_threads)
        while any(t.is_alive() for t in threads) and not self.wait_for_stop(1.0):
            pass
        wait = 0.001
        while any(t.is_alive() for t in threads) and stop_grace_period_secs >= 0.0:
            time.sleep(wait)
            stop_grace_period_secs -= wait
            wait = max(min(2 * wait, stop_grace_period_secs), 0.001)
        stragglers = [t.name for t in threads if t.is_alive()]
        with self._lock:
            self._joined = True
            self._registered_threads = set()
            if self._exc_info_to_raise:
                _, ex, tb = self._exc_info_to_raise
                raise ex.with_traceback(tb)
            if stragglers:
                if ignore_live_threads:
                    logger.info("Coordinator stopped with threads still running: %s", " ".join(stragglers))
                else:
                    raise RuntimeError("Coordinator stopped with threads still running: " + " ".join(stragglers))

    @property
    def joined(self) -> bool:
        return self._joined

    def raise_requested_exception(self):
        with self._lock:
            if self._exc_info_to_raise:
                _, ex, tb = self._exc_info_to_raise
                raise ex.with_traceback(tb)


# ============================================================================== QueueRunner
class QueueRunner:
    """Threads that run enqueue ops in a loop until the queue closes or the coordinator stops."""

    def __init__(self, queue=None, enqueue_ops=None, close_op=None, cancel_op=None,
                 queue_closed_exception_types=None, queue_runner_def=None, import_scope=None):
        if queue_runner_def is not None:
            raise ValueError("QueueRunner protos are not supported by fuseflow")
        if queue is None or not enqueue_ops:
            raise ValueError("QueueRunner needs a queue and a list of enqueue ops")
        self._queue = queue
        self._enqueue_ops = list(enqueue_ops)
        self._close_op = close_op if close_op is not None else queue.close()
        self._cancel_op = cancel_op if cancel_op is not None else queue.close(cancel_pending_enqueues=True)
        self._queue_closed_exception_types = tuple(queue_closed_exception_types or (OutOfRangeError, CancelledError))
        self._lock = threading.Lock()
        self._runs_per_session: dict = {}
        self._exceptions_raised: list = []

    @property
    def queue(self):
        return self._queue

    @property
    def enqueue_ops(self):
        return self._enqueue_ops

    @property
    def close_op(self):
        return self._close_op

    @property
    def cancel_op(self):
        return self._cancel_op

    @property
    def queue_closed_exception_types(self):
        return self._queue_closed_exception_types

    @property
    def exceptions_raised(self):
        return self._exceptions_raised

    @property
    def name(self):
        return self._queue.name

    def _run(self, sess, enqueue_op, coord=None):
        decremented = False
        try:
            while True:
                if (coord is not None and coord.should_stop()) or sess._closed:
                    break
                try:
                    sess.run(enqueue_op)
                except self._queue_closed_exception_types:
                    with self._lock:
                        self._runs_per_session[sess] -= 1
                        decremented = True
                        if self._runs_per_session[sess] == 0 and not sess._closed:
                            try:
                                sess.run(self._close_op)
                            except Exception:  # noqa: BLE001 - the queue may already be cancelled
                                pass
                    return
        except Exception as e:  # noqa: BLE001 - reported to the coordinator, as in TF
            if sess._closed:
                return
            if coord is not None:
                coord.request_stop(e)
            else:
                logger.error("Exception in QueueRunner: %s", e)
                with self._lock:
                    self._exceptions_raised.append(e)
                raise
        finally:
            if not decremented:
                with self._lock:
                    self._runs_per_session[sess] -= 1

    def _close_on_stop(self, sess, cancel_op, coord):
        coord.wait_for_stop()
        if sess._closed:
            return
        try:
            sess.run(cancel_op)
        except Exception:  # noqa: BLE001 - the session may be closing
            pass

    def create_threads(self, sess, coord=None, daemon=False, start=False):
        with self._lock:
            if self._runs_per_session.get(sess, 0) > 0:
                return []
            self._runs_per_session[sess] = len(self._enqueue_ops)
            self._exceptions_raised = []
        threads = [threading.Thread(target=self._run, args=(sess, op, coord), name=f"QueueRunnerThread-{self.name}")
                   for op in self._enqueue_ops]
        if coord is not None:
            threads.append(threading.Thread(target=self._close_on_stop, args=(sess, self._cancel_op, coord),
                                            name=f"QueueRunnerCloser-{self.name}"))
        for t in threads:
            if coord is not None:
                coord.register_thread(t)
            if daemon:
                t.daemon = True
            if start:
                t.start()
        return threads


def add_queue_runner(qr, collection=QUEUE_RUNNERS):
    graph_mod.get_default_graph().add_to_collection(collection, qr)


def start_queue_runners(sess=None, coord=None, daemon=True, start=True, collection=QUEUE_RUNNERS):
    """Start the threads of every QueueRunner in the graph's collection; returns the threads."""
    from .session import get_default_session
    if sess is None:
        sess = get_default_session()
        if sess is None:
            raise ValueError("Cannot start queue runners: No default session is registered. Use `with "
                             "sess.as_default()` or pass an explicit session to tf.start_queue_runners(sess=sess)")
    threads = []
    for qr in sess.graph.get_collection(collection):
        threads.extend(qr.create_threads(sess, coord=coord, daemon=daemon, start=start))
    return threads


# ============================================================================== producers
@host_op("random_shuffle")
def _random_shuffle(run, op, inputs):
    """A permutation along axis 0, seeded per op and advancing per run in the session."""
    counter = run.resource(("shuffle", op.id, id(op.graph)), lambda: itertools.count())
    seed = op.attrs["seed"]
    rng = np.random.RandomState(None if seed is None else (seed + 7919 * next(counter)) % (2 ** 32))
    x = inputs[0]
    return [x[rng.permutation(x.shape[0])] if x.ndim else x]


def random_shuffle(value, seed=None, name=None):
    """Shuffle along the first dimension. Runs on the host (an input-pipeline op)."""
    from .core import convert_to_tensor
    from .random_ops import get_seed
    g = _graph()
    t = convert_to_tensor(value)
    s1, s2 = get_seed(seed)
    combined = None if s1 is None else (s1 * 1000003 + s2) % (2 ** 32)
    return _host(g, "random_shuffle", [t], {"seed": combined}, [(t.dtype, t.shape)], name or "RandomShuffle").outputs[0]


@host_op("count_up_to")
def _count_up_to(run, op, inputs):
    from .variables import uninitialized_error
    var, limit = op.attrs["variable"], op.attrs["limit"]
    with run.session._lock:
        buf = run.store.buffer(var)
        if buf is None:
            raise uninitialized_error(var)
        value = int(buf)
        if value >= limit:
            raise OutOfRangeError(None, op, f"Reached limit of {limit}")
        run.store.set(var, np.asarray(value + 1, dtype=buf.dtype))
    return [np.asarray(value, dtype=buf.dtype)]


def count_up_to(ref, limit, name=None):
    """Increment `ref` until it reaches `limit` (then OutOfRangeError); returns the old value."""
    g = _graph()
    op = _host(g, "count_up_to", [], {"variable": ref, "limit": int(limit)}, [(ref.dtype, TensorShape([]))],
               name or "CountUpTo")
    return op.outputs[0]


def limit_epochs(tensor, num_epochs=None, name=None):
    """`tensor`, but only `num_epochs` times (then OutOfRangeError); needs local_variables_initializer."""
    from .array_ops import identity
    from .core import convert_to_tensor
    from .variables import VariableV1
    if num_epochs is None:
        return tensor
    if num_epochs <= 0:
        raise ValueError(f"num_epochs must be > 0 not {num_epochs}.")
    g = _graph()
    with g.name_scope(name or "limit_epochs") as scope:
        epochs = VariableV1(np.int64(0), name="epochs", trainable=False, collections=[LOCAL_VARIABLES])
        counter = count_up_to(epochs, num_epochs)
        with g.control_dependencies([counter.op]):
            return identity(convert_to_tensor(tensor), name=scope)


def input_producer(input_tensor, element_shape=None, num_epochs=None, shuffle=True, seed=None, capacity=32,
                   shared_name=None, summary_name=None, name=None, cancel_op=None):
    """A queue fed (by a QueueRunner) with the rows of `input_tensor`, once per epoch."""
    from .core import convert_to_tensor
    g = _graph()
    with g.name_scope(name or "input_producer") as scope:
        input_tensor = convert_to_tensor(input_tensor, name="input_tensor")
        shape = input_tensor.shape[1:] if input_tensor.shape.rank else TensorShape(None)
        if element_shape is not None:
            shape = TensorShape(shape).merge_with(element_shape)
        if shuffle:
            input_tensor = random_shuffle(input_tensor, seed=seed)
        input_tensor = limit_epochs(input_tensor, num_epochs)
        q = FIFOQueue(capacity=capacity, dtypes=[input_tensor.dtype], shapes=[shape], name=scope[:-1] + "/")
        enq = q.enqueue_many([input_tensor])
        add_queue_runner(QueueRunner(q, [enq], cancel_op=cancel_op))
        return q


def string_input_producer(string_tensor, num_epochs=None, shuffle=True, seed=None, capacity=32,
                          shared_name=None, name=None, cancel_op=None):
    """A queue of file names (strings) for a reader, refilled every epoch by a QueueRunner."""
    if isinstance(string_tensor, (list, tuple)) and not string_tensor:
        raise ValueError("string_input_producer requires a non-empty list of strings")
    from .core import convert_to_tensor
    t = convert_to_tensor(string_tensor, dtype=dt.string)
    return input_producer(t, TensorShape([]), num_epochs, shuffle, seed, capacity, shared_name,
                          name=name or "input_producer", cancel_op=cancel_op)


def range_input_producer(limit, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                         name=None):
    """A queue of the integers 0..limit-1 (int32), once per epoch; dequeue() gives one."""
    return input_producer(np.arange(int(limit), dtype=np.int32), TensorShape([]), num_epochs, shuffle, seed,
                          capacity, shared_name, name=name or "input_producer")


def slice_input_producer(tensor_list, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                         name=None):
    """One row (slice along axis 0) of every tensor in `tensor_list` per dequeue."""
    from .array_ops import gather
    from .core import convert_to_tensor
    g = _graph()
    tensors = [convert_to_tensor(t) for t in tensor_list]
    if not tensors:
        raise ValueError("Expected at least one tensor in slice_input_producer().")
    n = tensors[0].shape[0] if tensors[0].shape.rank else None
    if n is None:
        raise ValueError("slice_input_producer: the first dimension of the tensors must be known")
    with g.name_scope(name or "input_producer"):
        q = range_input_producer(n, num_epochs=num_epochs, shuffle=shuffle, seed=seed, capacity=capacity)
        index = q.dequeue()
        return [gather(t, index) for t in tensors]


# ============================================================================== batching
def _flat_tensors(tensors):
    from .core import convert_to_tensor
    if isinstance(tensors, dict):
        keys = sorted(tensors)
        return [convert_to_tensor(tensors[k]) for k in keys], lambda outs: dict(zip(keys, outs))
    if isinstance(tensors, (list, tuple)):
        flat = [convert_to_tensor(t) for t in tensors]
        # TF's dequeue_many returns a lone component unwrapped, so batch([x]) is a Tensor, not [Tensor]
        return flat, lambda outs: outs[0] if len(outs) == 1 else list(outs)
    return [convert_to_tensor(tensors)], lambda outs: outs[0]


def _batch_shapes(flat, shapes, enqueue_many):
    if shapes is not None:
        return [TensorShape(s) for s in shapes]
    out = []
    for t in flat:
        s = t.shape
        if enqueue_many and s.rank is not None:
            s = s[1:]
        out.append(s)
    return out


def _make_batch(tensors, batch_size, num_threads, capacity, enqueue_many, shapes, dynamic_pad,
                allow_smaller_final_batch, name, queue_factory, default_name):
    g = _graph()
    flat, repack = _flat_tensors(tensors)
    with g.name_scope(name or default_name) as scope:
        elem_shapes = _batch_shapes(flat, shapes, enqueue_many)
        if not dynamic_pad:
            for t, s in zip(flat, elem_shapes):
                if s.rank is None or not s.is_fully_defined():
                    raise ValueError(f"All shapes must be fully defined: {elem_shapes} (pass shapes= or "
                                     f"dynamic_pad=True)")
        q = queue_factory([t.dtype for t in flat], elem_shapes)
        enq = (q.enqueue_many if enqueue_many else q.enqueue)(flat)
        add_queue_runner(QueueRunner(q, [enq] * max(1, int(num_threads))))
        if allow_smaller_final_batch:
            outs = q.dequeue_up_to(batch_size, name=scope[:-1] + "/")
        else:
            outs = q.dequeue_many(batch_size, name=scope[:-1] + "/")
        outs = outs if isinstance(outs, list) else [outs]
        return repack(outs)


def batch(tensors, batch_size, num_threads=1, capacity=32, enqueue_many=False, shapes=None, dynamic_pad=False,
          allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches of `batch_size` in order (a FIFOQueue filled by `num_threads` runner threads)."""
    def factory(dtypes, shapes_):
        if dynamic_pad:
            return PaddingFIFOQueue(capacity, dtypes, shapes_, name="padding_fifo_queue")
        return FIFOQueue(capacity, dtypes, shapes_, name="fifo_queue")
    return _make_batch(tensors, batch_size, num_threads, capacity, enqueue_many, shapes, dynamic_pad,
                       allow_smaller_final_batch, name, factory, "batch")


def shuffle_batch(tensors, batch_size, capacity, min_after_dequeue, num_threads=1, seed=None, enqueue_many=False,
                  shapes=None, allow_smaller_final_batch=False, shared_name=None, name=None):
    """Random batches (a RandomShuffleQueue keeping `min_after_dequeue` elements to mix)."""
    def factory(dtypes, shapes_):
        return RandomShuffleQueue(capacity, min_after_dequeue, dtypes, shapes_, seed=seed,
                                  name="random_shuffle_queue")
    return _make_batch(tensors, batch_size, num_threads, capacity, enqueue_many, shapes, False,
                       allow_smaller_final_batch, name, factory, "shuffle_batch")


def _join(tensors_list, batch_size, capacity, enqueue_many, shapes, dynamic_pad, allow_smaller_final_batch, name,
          factory, default_name):
    g = _graph()
    flats = [_flat_tensors(t) for t in tensors_list]
    repack = flats[0][1]
    first = flats[0][0]
    with g.name_scope(name or default_name) as scope:
        elem_shapes = _batch_shapes(first, shapes, enqueue_many)
        q = factory([t.dtype for t in first], elem_shapes)
        enqs = [(q.enqueue_many if enqueue_many else q.enqueue)(f) for f, _ in flats]
        add_queue_runner(QueueRunner(q, enqs))
        outs = (q.dequeue_up_to if allow_smaller_final_batch else q.dequeue_many)(batch_size,
                                                                                 name=scope[:-1] + "/")
        return repack(outs if isinstance(outs, list) else [outs])


def batch_join(tensors_list, batch_size, capacity=32, enqueue_many=False, shapes=None, dynamic_pad=False,
               allow_smaller_final_batch=False, shared_name=None, name=None):
    """Like batch, with one enqueue thread per element of `tensors_list`."""
    def factory(dtypes, shapes_):
        return (PaddingFIFOQueue if dynamic_pad else FIFOQueue)(capacity, dtypes, shapes_)
    return _join(tensors_list, batch_size, capacity, enqueue_many, shapes, dynamic_pad, allow_smaller_final_batch,
                 name, factory, "batch_join")


def shuffle_batch_join(tensors_list, batch_size, capacity, min_after_dequeue, seed=None, enqueue_many=False,
                       shapes=None, allow_smaller_final_batch=False, shared_name=None, name=None):
    def factory(dtypes, shapes_):
        return RandomShuffleQueue(capacity, min_after_dequeue, dtypes, shapes_, seed=seed)
    return _join(tensors_list, batch_size, capacity, enqueue_many, shapes, False, allow_smaller_final_batch, name,
                 factory, "shuffle_batch_join")


# ============================================================================== readers
class ReaderBase:
    """Reads (key, value) records from the files named by a queue of file names (host op)."""

    _default_name = "Reader"

    def __init__(self, name=None):
        g = _graph()
        self._graph = g
        self._op = _host(g, "reader_create", [], {"reader": self}, [], name or self._default_name)
        self._name = self._op.name

    @property
    def reader_ref(self):
        return self._op

    @property
    def supports_serialize(self):
        return False

    def _records(self, filename):
        """Yield (key, value) pairs of one file."""
        raise TypeError(f"{type(self).__name__} does not read records")

    def _state(self, run):
        return run.resource(("reader", id(self)), lambda: _ReaderState(self))

    def read(self, queue, name=None):
        g = _graph()
        specs = [(dt.string, TensorShape([])), (dt.string, TensorShape([]))]
        op = _host(g, "reader_read", [], {"reader": self, "queue": queue}, specs, name or "ReaderReadV2")
        return op.outputs[0], op.outputs[1]

    def read_up_to(self, queue, num_records, name=None):
        g = _graph()
        specs = [(dt.string, TensorShape([None])), (dt.string, TensorShape([None]))]
        op = _host(g, "reader_read_up_to", [], {"reader": self, "queue": queue, "n": int(num_records)}, specs,
                   name or "ReaderReadUpToV2")
        return op.outputs[0], op.outputs[1]

    def num_records_produced(self, name=None):
        g = _graph()
        return _host(g, "reader_num_records", [], {"reader": self}, [(dt.int64, TensorShape([]))],
                     name or "ReaderNumRecordsProducedV2").outputs[0]

    def num_work_units_completed(self, name=None):
        g = _graph()
        return _host(g, "reader_num_work_units", [], {"reader": self}, [(dt.int64, TensorShape([]))],
                     name or "ReaderNumWorkUnitsCompletedV2").outputs[0]

    def reset(self, name=None):
        g = _graph()
        return _host(g, "reader_reset", [], {"reader": self}, [], name or "ReaderResetV2")


class _ReaderState:
    def __init__(self, reader):
        self.reader = reader
        self.records = None
        self.produced = 0
        self.completed = 0
        self.lock = threading.Lock()

    def next(self, run, queue):
        with self.lock:
            while True:
                if self.records is None:
                    item = queue._state(run).dequeue(run.timeout)
                    filename = item[0]
                    filename = filename.item() if isinstance(filename, np.ndarray) else filename
                    filename = filename.decode("utf-8") if isinstance(filename, bytes) else str(filename)
                    self.records = self.reader._records(filename)
                try:
                    key, value = next(self.records)
                except StopIteration:
                    self.records = None
                    self.completed += 1
                    continue
                self.produced += 1
                return key, value


@host_op("reader_create")
def _r_create(run, op, inputs):
    return []


def _obj(b: bytes) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = b
    return out


@host_op("reader_read")
def _r_read(run, op, inputs):
    reader, queue = op.attrs["reader"], op.attrs["queue"]
    key, value = reader._state(run).next(run, queue)
    return [_obj(key), _obj(value)]


@host_op("reader_read_up_to")
def _r_read_up_to(run, op, inputs):
    reader, queue, n = op.attrs["reader"], op.attrs["queue"], op.attrs["n"]
    state = reader._state(run)
    keys, values = [], []
    for _ in range(n):
        try:
            k, v = state.next(run, queue)
        except OutOfRangeError:
            if not keys:
                raise
            break
        keys.append(k)
        values.append(v)
    return [np.asarray(keys, dtype=object), np.asarray(values, dtype=object)]


@host_op("reader_num_records")
def _r_num_records(run, op, inputs):
    return [np.asarray(op.attrs["reader"]._state(run).produced, np.int64)]


@host_op("reader_num_work_units")
def _r_num_units(run, op, inputs):
    return [np.asarray(op.attrs["reader"]._state(run).completed, np.int64)]


@host_op("reader_reset")
def _r_reset(run, op, inputs):
    state = op.attrs["reader"]._state(run)
    with state.lock:
        state.records, state.produced, state.completed = None, 0, 0
    return []


class TFRecordReader(ReaderBase):
    """Records of TFRecord files; keys are `filename:offset`."""

    _default_name = "TFRecordReaderV2"

    def __init__(self, name=None, options=None):
        self._options = options
        super().__init__(name)

    def _records(self, filename):
        from .tfrecord import iter_records
        for offset, data in iter_records(filename, self._options, with_offsets=True):
            yield f"{filename}:{offset}".encode(), data


class TextLineReader(ReaderBase):
    """Lines of text files (without the newline); keys are `filename:line_number`."""

    _default_name = "TextLineReaderV2"

    def __init__(self, skip_header_lines=None, name=None):
        self._skip = int(skip_header_lines or 0)
        super().__init__(name)

    def _records(self, filename):
        with open(filename, "rb") as f:
            for i, line in enumerate(f, start=1):
                if i <= self._skip:
                    continue
                yield f"{filename}:{i}".encode(), line.rstrip(b"\r\n")


class WholeFileReader(ReaderBase):
    """Each file is one record: key = file name, value = contents."""

    _default_name = "WholeFileReaderV2"

    def _records(self, filename):
        with open(filename, "rb") as f:
            data = f.read()
        yield filename.encode(), data


class FixedLengthRecordReader(ReaderBase):
    """Fixed-size records after `header_bytes`, before `footer_bytes`, every `hop_bytes`."""

    _default_name = "FixedLengthRecordReaderV2"

    def __init__(self, record_bytes, header_bytes=None, footer_bytes=None, hop_bytes=None, name=None,
                 encoding=None):
        if encoding:
            raise ValueError("FixedLengthRecordReader: compressed input is not supported by fuseflow")
        self._record = int(record_bytes)
        self._header = int(header_bytes or 0)
        self._footer = int(footer_bytes or 0)
        self._hop = int(hop_bytes or 0) or self._record
        super().__init__(name)

    def _records(self, filename):
        with open(filename, "rb") as f:
            data = f.read()
        end = len(data) - self._footer
        pos, index = self._header, 0
        while pos + self._record <= end:
            yield f"{filename}:{index}".encode(), data[pos:pos + self._record]
            pos += self._hop
            index += 1


class IdentityReader(ReaderBase):
    """Each work unit (the queue's string) is one record: key = value = the string."""

    _default_name = "IdentityReaderV2"

    def _records(self, filename):
        yield filename.encode(), filename.encode()


TRAIN_EXPORTS = {
    "Coordinator": Coordinator, "QueueRunner": QueueRunner, "add_queue_runner": add_queue_runner,
    "start_queue_runners": start_queue_runners, "string_input_producer": string_input_producer,
    "input_producer": input_producer, "range_input_producer": range_input_producer,
    "slice_input_producer": slice_input_producer, "limit_epochs": limit_epochs, "batch": batch,
    "shuffle_batch": shuffle_batch, "batch_join": batch_join, "shuffle_batch_join": shuffle_batch_join,
}


def match_filenames_once(pattern, name=None):
    """`tf.train.match_filenames_once` (implemented in io_ops; exported here for tf.train)."""
    from . import io_ops
    return io_ops.match_filenames_once(pattern, name=name)


queue_runner = sys.modules[__name__]      # tf.train.queue_runner.QueueRunner etc.
TRAIN_EXPORTS["match_filenames_once"] = match_filenames_once
TRAIN_EXPORTS["queue_runner"] = queue_runner
