"""Keras models: `Model` (subclassing, or functional `Model(inputs, outputs)`) and `Sequential`."""
from __future__ import annotations

import numpy as np

from fuseflow import nest

from .engine import InputLayer, KerasTensor, Layer, _call_context, _outer_training
from .training import TrainingMixin


class Model(TrainingMixin, Layer):
    """Subclass and define `call`, or build functionally with `Model(inputs=..., outputs=...)`."""

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", args[0] if len(args) >= 1 else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) >= 2 else None)
        super().__init__(**kwargs)
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self._reset_step_functions()
        self._functional = False
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("A functional Model needs both `inputs` and `outputs`")
            self._init_functional(inputs, outputs)

    # -- functional API -------------------------------------------------------------------
    def _init_functional(self, inputs, outputs):
        self._functional = True
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        flat_in = nest.flatten(inputs)
        for t in flat_in + nest.flatten(outputs):
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Functional Model inputs/outputs must be KerasTensors (from keras.Input and layer "
                                f"calls), got {type(t).__name__}")
        in_ids = {id(t) for t in flat_in}
        order, seen = [], set()

        def visit(t):
            node = t._keras_node
            if node is None or id(t) in in_ids or id(node) in seen:
                return
            seen.add(id(node))
            for parent in node.input_tensors:
                visit(parent)
            order.append(node)

        for t in nest.flatten(outputs):
            visit(t)
        for node in order:
            for parent in node.input_tensors:
                if parent._keras_node is None or isinstance(parent._keras_node.layer, InputLayer):
                    if id(parent) not in in_ids:
                        raise ValueError(f"Graph disconnected: {parent.name} is needed to compute the outputs but "
                                         f"is not one of the model's inputs")
        self._nodes = [n for n in order if not isinstance(n.layer, InputLayer)]
        input_layers = [t._keras_node.layer for t in flat_in if t._keras_node is not None
                        and isinstance(t._keras_node.layer, InputLayer)]
        for layer in input_layers + [n.layer for n in self._nodes]:
            self._track(layer)
        self.built = True
        # Keras: one output gives its shape, several a list of shapes (in the outputs' structure)
        self._output_shape = nest.map_structure(lambda t: tuple(t.shape.as_list()), outputs) \
            if nest.is_nested(outputs) else tuple(outputs.shape.as_list())

    @property
    def inputs(self):
        return nest.flatten(self._inputs_struct) if self._functional else None

    @property
    def outputs(self):
        return nest.flatten(self._outputs_struct) if self._functional else None

    @property
    def input(self):
        if self._functional:
            return self._inputs_struct
        return super().input

    @property
    def output(self):
        if self._functional:
            return self._outputs_struct
        return super().output

    @property
    def input_shape(self):
        if not self._functional:
            raise AttributeError(f"Model {self.name} has no defined input shape (it is not a functional model)")
        shapes = [tuple(t.shape.as_list()) for t in nest.flatten(self._inputs_struct)]
        return shapes[0] if len(shapes) == 1 else shapes

    def _run_functional(self, inputs, training=None):
        flat_in = nest.flatten(self._inputs_struct)
        if isinstance(inputs, dict) and isinstance(self._inputs_struct, dict):
            values = [inputs[k] for k in sorted(self._inputs_struct)]
        else:
            values = nest.flatten(inputs) if len(flat_in) > 1 else [inputs]
        if len(values) != len(flat_in):
            raise ValueError(f"Model {self.name} expects {len(flat_in)} input(s), got {len(values)}")
        env = {id(t): v for t, v in zip(flat_in, values)}
        for node in self._nodes:
            args = nest.map_structure(lambda a: env[id(a)] if isinstance(a, KerasTensor) else a, node.args)
            kwargs = {k: nest.map_structure(lambda a: env[id(a)] if isinstance(a, KerasTensor) else a, v)
                      for k, v in node.kwargs.items() if k != "training"}
            if training is not None and node.layer._call_takes_training:
                kwargs["training"] = training
            out = node.layer(*args, **kwargs)
            for kt, v in zip(nest.flatten(node.outputs), nest.flatten(out)):
                env[id(kt)] = v
        return nest.map_structure(lambda t: env[id(t)], self._outputs_struct) if nest.is_nested(self._outputs_struct) \
            else env[id(self._outputs_struct)]

    def call(self, inputs, training=None, mask=None):
        if self._functional:
            return self._run_functional(inputs, training=training)
        raise TypeError(f"Model {self.name}: subclasses of keras.Model must define call(), or build the model "
                        f"functionally with Model(inputs, outputs)")

    def build(self, input_shape=None):
        # Keras 3: build() on a subclassed model marks it built; sub-layers build on the first call.
        self.built = True

    # -- inspection -----------------------------------------------------------------------
    def get_layer(self, name=None, index=None):
        layers = self.layers
        if index is not None:
            if len(layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has {len(layers)} "
                                 f"layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in layers]}.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        from .summary_text import model_summary
        text = model_summary(self, line_length=line_length or 80)
        (print_fn or print)(text)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                             f"built. You can build it manually via: `{self.name}.build(batch_input_shape)`.")
        return super().count_params()

    # -- weights I/O ----------------------------------------------------------------------
    def save_weights(self, filepath, overwrite=True):
        """All weights, in `weights` order, as a numpy .npz archive at `filepath` (fuseflow's format;
        Keras 3's naming rule for the file is kept)."""
        if not str(filepath).endswith(".weights.h5"):
            raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")
        with open(filepath, "wb") as f:
            np.savez(f, *self.get_weights())

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        raise NotImplementedError("Model.save (whole-model .keras / .h5 / SavedModel files) is not supported by "
                                  "fuseflow; use model.save_weights('name.weights.h5') and rebuild the model")

    def export(self, filepath, *args, **kwargs):
        raise NotImplementedError("Model.export (SavedModel) is not supported by fuseflow")

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        if not str(filepath).endswith((".weights.h5", ".keras", ".h5", ".hdf5")):
            raise ValueError(f"File format not supported: filepath={filepath}. Keras 3 only supports V3 `.keras` "
                             f"and `.weights.h5` files, or legacy V1/V2 `.h5` files.")
        with np.load(filepath) as data:
            values = [data[f"arr_{i}"] for i in range(len(data.files))]
        self.set_weights(values)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}


class Sequential(Model):
    """A linear stack of layers."""

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._input_layer = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_from_input()

    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor):
            node = layer._keras_node
            if node is None or not isinstance(node.layer, InputLayer):
                raise ValueError("Sequential.add: only keras.Input tensors may be added, not intermediate tensors")
            layer = node.layer
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("Sequential: an Input / InputLayer must come first")
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise ValueError(f"Only instances of `keras.Layer` can be added to a Sequential model. Received: "
                             f"{layer!r} (of type {type(layer)})")
        if any(l.name == layer.name for l in self._layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name '{layer.name}' "
                             f"is already the name of a layer in this model.")
        if self._input_layer is None and not self._layers and getattr(layer, "_batch_input_shape", None) is not None:
            self._input_layer = InputLayer(batch_shape=layer._batch_input_shape)
        self._layers.append(layer)
        self.built = False
        if rebuild:
            self._maybe_build_from_input()

    def pop(self, rebuild=True):
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        self.built = False
        if rebuild:
            self._maybe_build_from_input()
        return layer

    def _maybe_build_from_input(self):
        if self._input_layer is not None and self._layers:
            self.build(self._input_layer.batch_shape)

    @property
    def layers(self) -> list:
        return list(self._layers)

    def build(self, input_shape=None):
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError("You must provide an `input_shape` argument.")
            input_shape = self._input_layer.batch_shape
        input_shape = tuple(input_shape)
        if self._input_layer is None or tuple(self._input_layer.batch_shape) != input_shape:
            self._input_layer = InputLayer(batch_shape=input_shape)
        x = self._input_layer.output_tensor
        for layer in self._layers:
            x = layer(x)
        self._build_input_shape = input_shape
        self._output_shape = tuple(x.shape.as_list())
        self.built = True

    @property
    def input_shape(self):
        if self._input_layer is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input shape yet.")
        return tuple(self._input_layer.batch_shape)

    @property
    def inputs(self):
        return [self._input_layer.output_tensor] if self._input_layer is not None else None

    def call(self, inputs, training=None, mask=None):
        x = inputs
        if training is None:
            training = _outer_training()
        with _call_context(training):
            for layer in self._layers:
                if layer._call_takes_training:
                    x = layer(x, training=training)
                else:
                    x = layer(x)
        return x

    def __call__(self, *args, **kwargs):
        if not self._layers:
            raise ValueError(f"Sequential model '{self.name}' has no layers; add some before calling it")
        if not self.built:
            inputs = args[0] if args else kwargs.get("inputs")
            if not isinstance(inputs, KerasTensor) and not nest.is_nested(inputs):
                shape = tuple(np.shape(inputs)) if not hasattr(inputs, "shape") else \
                    tuple(inputs.shape.as_list() if hasattr(inputs.shape, "as_list") else inputs.shape)
                self.built = True    # layers build themselves on this first call
                self._build_input_shape = shape
        return super().__call__(*args, **kwargs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    raise NotImplementedError("keras.models.load_model is not supported by fuseflow (whole models are not "
                              "saved); rebuild the model and call load_weights")


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    return model.save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)
