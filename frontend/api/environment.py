"""TF2 names about the execution environment: tf.config, tf.device, tf.executing_eagerly,
tf.debugging, tf.Module, tf.test / tf.version / tf.get_logger / tf.autograph / tf.saved_model.
fuseflow runs on one CPU device; GPU queries answer "none"."""
from __future__ import annotations

import contextlib
import re
import types
from collections import namedtuple

import numpy as np

from .. import check_ops, math_ops
from ..context import executing_eagerly  # noqa: F401  (re-exported as tf.executing_eagerly)

PhysicalDevice = namedtuple("PhysicalDevice", ["name", "device_type"])
LogicalDevice = namedtuple("LogicalDevice", ["name", "device_type"])
_CPU = PhysicalDevice("/physical_device:CPU:0", "CPU")
_CPU_LOGICAL = LogicalDevice("/device:CPU:0", "CPU")


def list_physical_devices(device_type=None):
    return [_CPU] if device_type is None or str(device_type).upper() == "CPU" else []


def list_logical_devices(device_type=None):
    return [_CPU_LOGICAL] if device_type is None or str(device_type).upper() == "CPU" else []


def set_memory_growth(device, enable):
    if getattr(device, "device_type", None) != "GPU":
        raise ValueError("Cannot set memory growth on non-GPU and non-Pluggable devices")


def get_memory_growth(device):
    raise ValueError("No matching device found for memory growth (fuseflow has no GPU)")


def set_visible_devices(devices, device_type=None):
    devices = devices if isinstance(devices, (list, tuple)) else [devices]
    if any(getattr(d, "device_type", "CPU") != "CPU" for d in devices):
        raise ValueError("fuseflow runs on the CPU only; only CPU devices can be made visible")


def get_visible_devices(device_type=None):
    return list_physical_devices(device_type)


def run_functions_eagerly(run_eagerly):
    if run_eagerly:
        raise NotImplementedError("tf.config.run_functions_eagerly(True) is not supported by fuseflow: "
                                  "fuseflow.function always compiles (call the Python function directly to "
                                  "debug it eagerly)")


def functions_run_eagerly():
    return False


def _threads(n=None):
    return 0


_experimental = types.SimpleNamespace(
    list_physical_devices=list_physical_devices, list_logical_devices=list_logical_devices,
    set_memory_growth=set_memory_growth, get_memory_growth=get_memory_growth,
    set_visible_devices=set_visible_devices, get_visible_devices=get_visible_devices,
    enable_op_determinism=lambda: None)
config = types.SimpleNamespace(
    list_physical_devices=list_physical_devices, list_logical_devices=list_logical_devices,
    set_visible_devices=set_visible_devices, get_visible_devices=get_visible_devices,
    run_functions_eagerly=run_functions_eagerly, functions_run_eagerly=functions_run_eagerly,
    experimental=_experimental,
    threading=types.SimpleNamespace(get_inter_op_parallelism_threads=_threads,
                                    get_intra_op_parallelism_threads=_threads,
                                    set_inter_op_parallelism_threads=_threads,
                                    set_intra_op_parallelism_threads=_threads))

_DEVICE = re.compile(r"^(/job:[^/]+)?(/replica:\d+)?(/task:\d+)?(/device:)?/?((cpu|gpu|CPU|GPU|XLA_CPU)(:\d+|:\*)?)?$")


@contextlib.contextmanager
def device(device_name):
    """Placement scope. fuseflow executes everything on the CPU (TF's soft placement: a GPU
    request with no GPU also runs on the CPU)."""
    if device_name is not None and not isinstance(device_name, str):
        raise RuntimeError("tf.device does not support functions when eager execution is enabled.")
    if device_name and not _DEVICE.match(device_name):
        raise ValueError(f"Unknown attribute: '{device_name}' in '{device_name}'")
    yield


debugging = types.SimpleNamespace(
    Assert=check_ops.Assert, assert_equal=check_ops.assert_equal, assert_greater=check_ops.assert_greater,
    assert_greater_equal=check_ops.assert_greater_equal, assert_integer=check_ops.assert_integer,
    assert_less=check_ops.assert_less, assert_less_equal=check_ops.assert_less_equal,
    assert_near=check_ops.assert_near, assert_negative=check_ops.assert_negative,
    assert_non_negative=check_ops.assert_non_negative, assert_non_positive=check_ops.assert_non_positive,
    assert_none_equal=check_ops.assert_none_equal, assert_positive=check_ops.assert_positive,
    assert_rank=check_ops.assert_rank, assert_rank_at_least=check_ops.assert_rank_at_least,
    assert_scalar=check_ops.assert_scalar, assert_type=check_ops.assert_type,
    assert_all_finite=check_ops.verify_tensor_all_finite, check_numerics=check_ops.check_numerics,
    is_numeric_tensor=check_ops.is_numeric_tensor, is_finite=math_ops.is_finite, is_inf=math_ops.is_inf,
    is_nan=math_ops.is_nan)


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


class Module:
    """tf.Module: a named container whose variables and submodules are found by walking its
    attributes (sorted by attribute name, through lists, tuples and dicts, as TF does)."""

    def __init__(self, name=None):
        if name is None:
            name = _snake(type(self).__name__)
        elif not re.match(r"^[A-Za-z_][A-Za-z0-9_.\-]*$", name):
            raise ValueError(f"'{name}' is not a valid module name. Module names must be valid Python "
                             f"identifiers (e.g. a valid class name).")
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def name_scope(self):
        from .. import _api
        return _api.name_scope(self._name)

    def _flatten(self, predicate):
        seen, out = {id(self)}, []

        def walk_attrs(module):
            attrs = vars(module)
            for key in sorted(attrs):
                walk(attrs[key])

        def walk(value):
            if isinstance(value, Module):
                if id(value) in seen:
                    return
                seen.add(id(value))
                if predicate(value):
                    out.append(value)
                walk_attrs(value)
            elif isinstance(value, dict):
                for key in sorted(value, key=str):
                    walk(value[key])
            elif isinstance(value, (list, tuple)):
                for v in value:
                    walk(v)
            elif id(value) not in seen and predicate(value):
                seen.add(id(value))
                out.append(value)

        walk_attrs(self)
        return out

    @property
    def variables(self):
        from ..variables import Variable
        return tuple(self._flatten(lambda o: isinstance(o, Variable)))

    @property
    def trainable_variables(self):
        from ..variables import Variable
        return tuple(self._flatten(lambda o: isinstance(o, Variable) and o.trainable))

    @property
    def non_trainable_variables(self):
        from ..variables import Variable
        return tuple(self._flatten(lambda o: isinstance(o, Variable) and not o.trainable))

    @property
    def submodules(self):
        return tuple(self._flatten(lambda o: isinstance(o, Module)))

    @classmethod
    def with_name_scope(cls, method):
        def wrapped(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)
        return wrapped


# ----------------------------------------------------------------------- small TF2 namespaces
def get_logger():
    import logging
    return logging.getLogger("tensorflow")


def timestamp(name=None):
    import time
    from ..core import convert_to_tensor
    return convert_to_tensor(np.float64(time.time()))


def _no_savedmodel(*args, **kwargs):
    raise NotImplementedError("tf.saved_model is not supported by fuseflow (use Model.save_weights, or "
                              "fuseflow's AOT artifacts for deployment)")


saved_model = types.SimpleNamespace(save=_no_savedmodel, load=_no_savedmodel, contains_saved_model=lambda d: False)
version = types.SimpleNamespace(VERSION="2.21.0", GIT_VERSION="fuseflow", COMPILER_VERSION="llvmlite",
                                GRAPH_DEF_VERSION=1994)
test = types.SimpleNamespace(is_gpu_available=lambda cuda_only=False, min_cuda_compute_capability=None: False,
                             is_built_with_cuda=lambda: False, is_built_with_gpu_support=lambda: False,
                             gpu_device_name=lambda: "")


def _do_not_convert(func=None):
    return func if func is not None else (lambda f: f)


def _to_code(*args, **kwargs):
    raise NotImplementedError("tf.autograph.to_code: fuseflow has no AutoGraph")


autograph = types.SimpleNamespace(
    set_verbosity=lambda level, alsologtostdout=False: None,
    experimental=types.SimpleNamespace(do_not_convert=_do_not_convert),
    to_code=_to_code,
)
