"""The Keras `Layer` base class, symbolic `KerasTensor`s (for `Input` and functional models) and
the call context that carries `training` from a model down to its layers (Keras 3 semantics).

Weights are fuseflow Variables created on first call (`build`) inside `init_scope`, so a layer
first called while a `fuseflow.function` is being traced still creates its variables once,
eagerly. Sub-layers and variables assigned as attributes are tracked, in assignment order.
"""
from __future__ import annotations

import contextlib
import inspect
import re
import threading

import numpy as np

import fuseflow as tf
from fuseflow import nest
from fuseflow.function import FuncGraph, init_scope
from fuseflow.tensor import EagerTensor, Tensor, TensorShape

from . import backend, initializers, regularizers

# ------------------------------------------------------------------------------ names

_uids: dict = {}
_uid_lock = threading.Lock()


def to_snake_case(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name(prefix: str) -> str:
    """Keras naming: dense, dense_1, dense_2, ... per prefix."""
    with _uid_lock:
        n = _uids.get(prefix, 0)
        _uids[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_uids():
    with _uid_lock:
        _uids.clear()


# ------------------------------------------------------------------------------ call context

_ctx = threading.local()


def _training_stack() -> list:
    if not hasattr(_ctx, "training"):
        _ctx.training = []
    return _ctx.training


_KERAS_VARIABLE = []


def _keras_variable_class():
    """fuseflow's Variable with Keras 3's naming: `name` is the bare weight name ('kernel', no ':0')
    and `path` is 'layer_name/kernel'."""
    if not _KERAS_VARIABLE:
        class KerasVariable(tf.Variable):
            @property
            def name(self) -> str:
                return self._op_name

            @property
            def path(self) -> str:
                return getattr(self, "_keras_path", self._op_name)

        _KERAS_VARIABLE.append(KerasVariable)
    return _KERAS_VARIABLE[0]


@contextlib.contextmanager
def _call_context(training):
    stack = _training_stack()
    stack.append(training)
    try:
        yield
    finally:
        stack.pop()


def _outer_training():
    for t in reversed(_training_stack()):
        if t is not None:
            return t
    return None


# ------------------------------------------------------------------------------ KerasTensor


class KerasTensor:
    """A symbolic placeholder for functional model construction: shape, dtype and the layer call
    that produced it."""

    def __init__(self, shape, dtype="float32", name=None, node=None):
        from fuseflow.compiler import dtypes as dt
        self.shape = TensorShape(shape)
        self.dtype = dt.as_dtype(dtype)
        self.name = name or auto_name("keras_tensor")
        self._keras_node = node            # the Node that produced this tensor (None for Input)

    @property
    def ndim(self):
        return self.shape.rank

    def _spec(self):
        from fuseflow.function import TensorSpec
        return TensorSpec(self.shape, self.dtype)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"KerasTensor {self.name} is symbolic (a functional-model input); it has no value. "
                        f"Apply Keras layers to it, or call the model on real data.")

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor cannot be used as a Python bool")

    # Operators on symbolic tensors record an op layer in the functional graph (as Keras 3 does).
    def _op(self, name, fn, other=None, reverse=False, binary=True):
        if not binary:
            return _TensorOpLayer(fn, name)(self)
        if isinstance(other, KerasTensor):
            pair = [other, self] if reverse else [self, other]
            return _TensorOpLayer(lambda ab: fn(ab[0], ab[1]), name)(pair)
        if reverse:
            return _TensorOpLayer(lambda a: fn(other, a), name)(self)
        return _TensorOpLayer(lambda a: fn(a, other), name)(self)

    def __add__(self, o): return self._op("add", lambda a, b: a + b, o)
    def __radd__(self, o): return self._op("add", lambda a, b: a + b, o, reverse=True)
    def __sub__(self, o): return self._op("subtract", lambda a, b: a - b, o)
    def __rsub__(self, o): return self._op("subtract", lambda a, b: a - b, o, reverse=True)
    def __mul__(self, o): return self._op("multiply", lambda a, b: a * b, o)
    def __rmul__(self, o): return self._op("multiply", lambda a, b: a * b, o, reverse=True)
    def __truediv__(self, o): return self._op("divide", lambda a, b: a / b, o)
    def __rtruediv__(self, o): return self._op("divide", lambda a, b: a / b, o, reverse=True)
    def __pow__(self, o): return self._op("power", lambda a, b: a ** b, o)
    def __matmul__(self, o): return self._op("matmul", lambda a, b: tf.matmul(a, b), o)
    def __neg__(self): return self._op("negative", lambda a: -a, binary=False)
    def __getitem__(self, key): return self._op("get_item", lambda a: a[key], binary=False)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, sparse=False, name={self.name}>"


class Node:
    """One layer call in a functional graph: the layer, its (structured) arguments, its outputs."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs

    @property
    def input_tensors(self) -> list:
        return [x for x in nest.flatten((self.args, self.kwargs)) if isinstance(x, KerasTensor)]


def _has_keras_tensor(structure) -> bool:
    return any(isinstance(x, KerasTensor) for x in nest.flatten(structure))


# ------------------------------------------------------------------------------ helpers


def _shape_tuple(x):
    shape = x.shape if hasattr(x, "shape") else np.shape(x)
    shape = TensorShape(shape)
    return None if shape.rank is None else tuple(shape.as_list())


def _input_shapes(inputs):
    if nest.is_nested(inputs):
        return nest.map_structure(_shape_tuple, inputs) if not isinstance(inputs, list) else \
            [_shape_tuple(x) for x in inputs]
    return _shape_tuple(inputs)


def _is_variable(x) -> bool:
    from fuseflow.function import _is_variable as isvar
    return isvar(x)


# ------------------------------------------------------------------------------ Layer

_LAYER_KWARGS = {"input_shape", "input_dim", "batch_input_shape", "batch_size", "dtype", "name", "trainable",
                 "autocast", "activity_regularizer", "dynamic", "input_dtype"}


class Layer:
    """Base class of Keras layers and models."""

    input_spec = None            # Keras' optional input check; fuseflow's layers validate in build/call
    supports_masking = False

    def __init__(self, *args, trainable=True, name=None, dtype=None, autocast=True, activity_regularizer=None,
                 **kwargs):
        unknown = set(kwargs) - _LAYER_KWARGS
        if unknown:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                            f"{ {k: kwargs[k] for k in sorted(unknown)} }")
        self._init_tracking()
        self.name = name or auto_name(to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.built = False
        dtype = getattr(dtype, "name", dtype)
        self._dtype = str(dtype) if dtype is not None else backend.floatx()
        self.autocast = autocast
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._activity_losses: list = []
        shape = kwargs.get("batch_input_shape")
        if shape is None and kwargs.get("input_shape") is not None:
            shape = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
        if shape is None and kwargs.get("input_dim") is not None:
            shape = (kwargs.get("batch_size"), kwargs["input_dim"])
        self._batch_input_shape = tuple(shape) if shape is not None else None
        try:
            params = inspect.signature(self.call).parameters
            self._call_takes_training = "training" in params or any(
                p.kind == p.VAR_KEYWORD for p in params.values())
            positional = [n for n, p in params.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            # index of `training` among the arguments after `inputs` (layer(x, True) passes it positionally)
            self._training_position = positional.index("training") - 1 if "training" in positional[1:] else None
        except (TypeError, ValueError):
            self._call_takes_training = False
            self._training_position = None
        self._output_shape = None
        self._inbound_nodes: list = []

    def _init_tracking(self):
        if "_layers" not in self.__dict__:
            object.__setattr__(self, "_layers", [])
            object.__setattr__(self, "_trainable_variables", [])
            object.__setattr__(self, "_non_trainable_variables", [])
            object.__setattr__(self, "_regularized", [])

    # -- attribute tracking ---------------------------------------------------------------
    def __setattr__(self, name, value):
        if not name.startswith("_") or name in ("_trainable",):
            self._init_tracking()
            self._track(value)
        object.__setattr__(self, name, value)

    def _track(self, value):
        if isinstance(value, Layer):
            if value is not self and not any(l is value for l in self._layers):
                self._layers.append(value)
        elif _is_variable(value):
            lst = self._trainable_variables if getattr(value, "trainable", True) else self._non_trainable_variables
            if not any(v is value for v in self._trainable_variables + self._non_trainable_variables):
                lst.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                if isinstance(v, Layer) or _is_variable(v):
                    self._track(v)
        elif isinstance(value, dict):
            for v in value.values():
                if isinstance(v, Layer) or _is_variable(v):
                    self._track(v)

    # -- properties -----------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    @property
    def dtype(self):
        return self._dtype

    @property
    def compute_dtype(self):
        return self._dtype

    @property
    def variable_dtype(self):
        return self._dtype

    @property
    def input_dtype(self):
        return self._dtype

    @property
    def layers(self) -> list:
        return list(self._layers)

    def _flatten_layers(self, include_self=True, recursive=True):
        if include_self:
            yield self
        for layer in self._layers:
            yield layer
            if recursive:
                yield from layer._flatten_layers(include_self=False, recursive=True)

    @staticmethod
    def _dedup(vs):
        seen, out = set(), []
        for v in vs:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    @property
    def weights(self) -> list:
        out = list(self._trainable_variables) + list(self._non_trainable_variables)
        for layer in self._layers:
            out.extend(layer.weights)
        return self._dedup(out)

    @property
    def variables(self) -> list:
        return self.weights

    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        out = list(self._trainable_variables)
        for layer in self._layers:
            out.extend(layer.trainable_weights)
        return self._dedup(out)

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list:
        if not self.trainable:
            return self.weights
        out = list(self._non_trainable_variables)
        for layer in self._layers:
            out.extend(layer.non_trainable_weights)
        return self._dedup(out)

    non_trainable_variables = non_trainable_weights

    @property
    def losses(self) -> list:
        out = list(self._activity_losses)
        for var, reg in self._regularized:
            out.append(reg(var))
        for layer in self._layers:
            out.extend(layer.losses)
        return out

    def add_loss(self, loss):
        self._activity_losses.append(loss)

    # -- weights --------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none", overwrite_with_gradient=False,
                   name=None, **kwargs):
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = getattr(dtype, "name", dtype) or self._dtype
        if initializer is None:
            from fuseflow.compiler import dtypes as dt
            initializer = "glorot_uniform" if dt.as_dtype(dtype).is_floating else "zeros"
        init = initializers.get(initializer)
        with init_scope():
            value = init(shape, dtype=dtype)
            var = _keras_variable_class()(value, trainable=trainable, name=name or "variable", dtype=dtype)
        try:
            var._keras_path = f"{self.name}/{name or 'variable'}"
            var.regularizer = regularizer
            from . import constraints as constraints_mod
            var.constraint = constraints_mod.get(constraint)
        except AttributeError:
            pass
        if trainable:
            self._trainable_variables.append(var)
        else:
            self._non_trainable_variables.append(var)
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._regularized.append((var, reg))
        return var

    def get_weights(self) -> list:
        return [np.array(v.numpy()) for v in self.weights]

    def set_weights(self, weights):
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of "
                             f"length {len(weights)}, but the layer was expecting {len(params)} weights.")
        for v, w in zip(params, weights):
            w = np.asarray(w.numpy() if hasattr(w, "numpy") else w)
            expected = tuple(v.shape.as_list()) if hasattr(v.shape, "as_list") else tuple(v.shape)
            if tuple(w.shape) != expected:
                raise ValueError(f"Layer {self.name} weight shape {expected} is not compatible with provided "
                                 f"weight shape {tuple(w.shape)}.")
            v.assign(w)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                             f"built. You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(int(np.prod(v.shape.as_list() if hasattr(v.shape, "as_list") else v.shape))
                       for v in self.weights))

    # -- build / call ---------------------------------------------------------------------
    def build(self, input_shape=None):
        self.built = True

    def _maybe_build(self, input_shapes):
        if self.built:
            return
        with init_scope():
            self.build(input_shapes)
        self.built = True
        if "_ff_deferred_restore" in self.__dict__:      # a checkpoint restored before the weights existed
            from fuseflow.checkpoint import apply_deferred_restore
            apply_deferred_restore(self)

    def call(self, inputs, *args, **kwargs):
        return inputs

    def _convert_input(self, x):
        if isinstance(x, (Tensor, EagerTensor)) or _is_variable(x):
            t = tf.convert_to_tensor(x) if _is_variable(x) else x
        elif isinstance(x, (np.ndarray, np.generic, float, int, list)) and not isinstance(x, bool):
            arr = np.asarray(x)
            if arr.dtype.kind == "f" and self.autocast:
                arr = arr.astype(np.dtype(self._dtype) if self._dtype in ("float16", "float32", "float64")
                                 else np.float32)
            t = tf.convert_to_tensor(arr)
        else:
            return x
        if self.autocast and t.dtype.is_floating and t.dtype.name != self._dtype and \
                self._dtype in ("float16", "float32", "float64"):
            t = tf.cast(t, self._dtype)
        return t

    def _convert_inputs(self, inputs):
        """A dict, or a list/tuple of tensors, is a multi-input structure; anything else is one tensor."""
        if isinstance(inputs, dict) or (isinstance(inputs, (list, tuple)) and inputs and all(
                isinstance(x, (Tensor, EagerTensor, np.ndarray)) or _is_variable(x) for x in inputs)):
            return nest.map_structure(self._convert_input, inputs)
        return self._convert_input(inputs)

    def __call__(self, *args, **kwargs):
        if args:
            inputs, rest = args[0], args[1:]
        elif "inputs" in kwargs:
            inputs, rest = kwargs.pop("inputs"), ()
        else:
            raise TypeError(f"{self.name}: a layer is called with its inputs as the first argument")
        if _has_keras_tensor((inputs, rest, kwargs)):
            return self._symbolic_call(inputs, rest, kwargs)
        inputs = self._convert_inputs(inputs)
        pos = getattr(self, "_training_position", None)
        if pos is not None and len(rest) > pos:
            kwargs["training"] = rest[pos]
            rest = rest[:pos] + rest[pos + 1:]
        training = kwargs.pop("training", None)
        if training is None:
            training = _outer_training()
        if training is not None and not isinstance(training, bool):
            training = bool(np.asarray(training.numpy() if hasattr(training, "numpy") else training))
        self._maybe_build(_input_shapes(inputs))
        if self._call_takes_training:
            kwargs["training"] = training
        self._activity_losses = []
        with _call_context(training):
            outputs = self.call(inputs, *rest, **kwargs)
        if "_ff_deferred_restore" in self.__dict__:      # a checkpoint restored before the layers existed
            from fuseflow.checkpoint import apply_deferred_restore
            apply_deferred_restore(self)
        first = nest.flatten(outputs)[0] if outputs is not None else None
        if self._output_shape is None and hasattr(first, "shape"):
            self._output_shape = _shape_tuple(first)
        if self.activity_regularizer is not None:
            for o in nest.flatten(outputs):
                # Keras 3 adds the regularizer's value as is (tf.keras 2 divided it by the batch size)
                self._activity_losses.append(self.activity_regularizer(o))
        return outputs

    # -- shapes / symbolic calls ----------------------------------------------------------
    def compute_output_shape(self, input_shape):
        """Default: trace `call` on placeholders of the input shapes and read the static shapes."""
        specs = _shapes_to_specs(input_shape, self._dtype)
        out = self._trace_call(specs, {})
        return nest.map_structure(lambda t: tuple(t.shape.as_list()), out) if nest.is_nested(out) else \
            tuple(out.shape.as_list())

    def compute_output_spec(self, input_specs, kwargs):
        """Output (shape, dtype) structure for symbolic inputs: compute_output_shape when a layer
        defines it, else a trace of `call` in a scratch graph."""
        if type(self).compute_output_shape is not Layer.compute_output_shape and not kwargs:
            shapes = nest.map_structure(lambda s: tuple(s.shape.as_list()), input_specs) \
                if nest.is_nested(input_specs) else tuple(input_specs.shape.as_list())
            out_shape = self.compute_output_shape(shapes)
            dtype = nest.flatten(input_specs)[0].dtype if not self.autocast else self._dtype
            if isinstance(out_shape, list) or (isinstance(out_shape, tuple) and out_shape
                                               and isinstance(out_shape[0], (tuple, list))):
                return [KerasTensor(s, dtype) for s in out_shape]
            return KerasTensor(out_shape, dtype)
        out = self._trace_call(input_specs, kwargs)
        return nest.map_structure(lambda t: KerasTensor(t.shape, t.dtype), out) if nest.is_nested(out) else \
            KerasTensor(out.shape, out.dtype)

    def _trace_call(self, specs, kwargs):
        g = FuncGraph(f"{self.name}_shape")
        with g.as_default():
            phs = nest.map_structure(lambda s: g.placeholder(s.dtype, s.shape, "input"), specs) \
                if nest.is_nested(specs) else g.placeholder(specs.dtype, specs.shape, "input")
            # symbolic keyword arguments (an RNN's initial_state=[Input, Input]) get placeholders too
            kw = {k: nest.map_structure(lambda x: g.placeholder(x.dtype, x.shape, k) if isinstance(x, KerasTensor)
                                        else x, v) for k, v in kwargs.items()}
            if self._call_takes_training and "training" not in kw:
                kw["training"] = _outer_training()
            with _call_context(kw.get("training")):
                return self.call(phs, **kw)

    def _symbolic_call(self, inputs, rest, kwargs):
        in_specs = nest.map_structure(lambda x: x._spec() if isinstance(x, KerasTensor) else x, inputs) \
            if nest.is_nested(inputs) else inputs._spec()
        self._maybe_build(nest.map_structure(lambda s: tuple(s.shape.as_list()), in_specs)
                          if nest.is_nested(in_specs) else tuple(in_specs.shape.as_list()))
        call_kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        outputs = self.compute_output_spec(in_specs, call_kwargs)
        node = Node(self, (inputs,) + tuple(rest), dict(kwargs), outputs)
        for o in nest.flatten(outputs):
            o._keras_node = node
        self._inbound_nodes.append(node)
        first = nest.flatten(outputs)[0]
        self._output_shape = tuple(first.shape.as_list())
        return outputs

    @property
    def output_shape(self):
        if self._output_shape is None:
            raise AttributeError(f"The layer {self.name} has never been called and thus has no defined output "
                                 f"shape.")
        return self._output_shape

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no input to return.")
        return self._inbound_nodes[0].args[0]

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} has no inbound nodes.")
        return self._inbound_nodes[0].outputs

    # -- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _shapes_to_specs(shapes, dtype):
    from fuseflow.function import TensorSpec

    def is_shape(s):
        return s is None or (isinstance(s, (tuple, list, TensorShape)) and all(
            d is None or isinstance(d, (int, np.integer)) for d in s))

    def conv(s):
        if is_shape(s):
            return TensorSpec(s, dtype)
        if isinstance(s, dict):
            return {k: conv(v) for k, v in s.items()}
        return type(s)(conv(x) for x in s) if isinstance(s, tuple) else [conv(x) for x in s]

    return conv(shapes)


class _TensorOpLayer(Layer):
    """A tensor operation applied to KerasTensors inside a functional model."""

    def __init__(self, fn, op_name):
        super().__init__(name=auto_name(op_name))
        self.fn = fn

    def call(self, inputs):
        return self.fn(inputs)


# ------------------------------------------------------------------------------ Input


class InputLayer(Layer):
    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
                 input_tensor=None, input_shape=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        if batch_shape is None:
            shape = shape if shape is not None else input_shape
            if shape is None:
                raise ValueError("You must pass a `shape` argument to Input / InputLayer.")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self._batch_shape = tuple(batch_shape)
        self.built = True
        self.output_tensor = KerasTensor(self._batch_shape, self._dtype, name=self.name)
        self.output_tensor._keras_node = Node(self, (), {}, self.output_tensor)
        self._inbound_nodes.append(self.output_tensor._keras_node)
        self._output_shape = self._batch_shape

    @property
    def batch_shape(self):
        return self._batch_shape

    def call(self, inputs, *args, **kwargs):
        return inputs


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """`keras.Input`: a symbolic KerasTensor to build functional models from."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name)
    return layer.output_tensor
