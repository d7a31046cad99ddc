"""`tf.distribute` on one host CPU: every strategy has exactly one replica.

TF on a CPU-only machine gives MirroredStrategy one replica (the CPU), so a program written for
several GPUs runs unchanged: `scope()` only marks where variables are created, `run` calls the
function once, `reduce` over one replica returns the value (reduced over `axis` when given), and
distributed datasets are the datasets themselves. Multi-worker and parameter-server training
need a cluster, which fuseflow does not provide: those strategies raise when constructed.
"""
from __future__ import annotations

import contextlib
import enum


class ReduceOp(enum.Enum):
    SUM = "SUM"
    MEAN = "MEAN"


class InputContext:
    def __init__(self, num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=1):
        self.num_input_pipelines = num_input_pipelines
        self.input_pipeline_id = input_pipeline_id
        self.num_replicas_in_sync = num_replicas_in_sync

    def get_per_replica_batch_size(self, global_batch_size):
        return global_batch_size // self.num_replicas_in_sync


class ReplicaContext:
    num_replicas_in_sync = 1
    replica_id_in_sync_group = 0

    def __init__(self, strategy):
        self.strategy = strategy

    def all_reduce(self, reduce_op, value, options=None):
        return value


_stack: list = []


class Strategy:
    """One replica on the host CPU."""

    def __init__(self, devices=None, cross_device_ops=None):
        self._devices = tuple(devices) if devices else ("/job:localhost/replica:0/task:0/device:CPU:0",)
        if len(self._devices) != 1:
            raise ValueError(f"{type(self).__name__}: fuseflow runs one replica on the host CPU; got devices "
                             f"{self._devices}")

    @property
    def num_replicas_in_sync(self) -> int:
        return 1

    @property
    def extended(self):
        return self

    @property
    def worker_devices(self):
        return self._devices

    @contextlib.contextmanager
    def scope(self):
        _stack.append(self)
        try:
            yield self
        finally:
            _stack.pop()

    def run(self, fn, args=(), kwargs=None, options=None):
        with self.scope():
            return fn(*args, **(kwargs or {}))

    def reduce(self, reduce_op, value, axis=None):
        if axis is None:
            return value
        from . import _api as tf
        op = reduce_op.value if isinstance(reduce_op, ReduceOp) else str(reduce_op).upper()
        return tf.reduce_sum(value, axis=axis) if op == "SUM" else tf.reduce_mean(value, axis=axis)

    def experimental_distribute_dataset(self, dataset, options=None):
        return dataset

    def distribute_datasets_from_function(self, dataset_fn, options=None):
        return dataset_fn(InputContext())

    experimental_distribute_datasets_from_function = distribute_datasets_from_function

    def experimental_local_results(self, value):
        return (value,)

    def gather(self, value, axis):
        return value


class MirroredStrategy(Strategy):
    pass


class OneDeviceStrategy(Strategy):
    def __init__(self, device):
        super().__init__([device])


def _no_cluster(name):
    class _ClusterStrategy(Strategy):
        def __init__(self, *args, **kwargs):
            raise NotImplementedError(f"tf.distribute.{name}: fuseflow has no multi-worker / cluster runtime; use "
                                      f"MirroredStrategy (one replica on the host CPU)")
    _ClusterStrategy.__name__ = _ClusterStrategy.__qualname__ = name
    return _ClusterStrategy


MultiWorkerMirroredStrategy = _no_cluster("MultiWorkerMirroredStrategy")
ParameterServerStrategy = _no_cluster("ParameterServerStrategy")
TPUStrategy = _no_cluster("TPUStrategy")


class _Experimental:
    MultiWorkerMirroredStrategy = MultiWorkerMirroredStrategy
    ParameterServerStrategy = ParameterServerStrategy
    TPUStrategy = TPUStrategy


experimental = _Experimental()
_default = Strategy()


def get_strategy():
    return _stack[-1] if _stack else _default


def has_strategy() -> bool:
    return bool(_stack)


def in_cross_replica_context() -> bool:
    return True


def get_replica_context():
    return ReplicaContext(get_strategy())
