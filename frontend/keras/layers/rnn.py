"""Recurrent layers (Keras 3 formulas): SimpleRNN / LSTM / GRU, their cells, and the generic RNN.

Sequences are unrolled over the (static) time axis, so a recurrent model compiles into one
straight-line program (forward and backward fused by the compiler like any other graph).
"""
from __future__ import annotations

import numpy as np

import fuseflow as tf

from .. import activations, initializers, regularizers
from ..engine import Layer


def _as_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


class _Cell(Layer):
    """Base of the recurrent cells: `cell(x_t, states) -> (output, new_states)`."""

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        kwargs.pop("kernel_constraint", None)
        kwargs.pop("recurrent_constraint", None)
        kwargs.pop("bias_constraint", None)
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed

    gates = 1

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        in_dim = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(in_dim, self.gates * self.units),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, self.gates * self.units),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=self._bias_shape(), initializer=self._bias_initializer(),
                                        regularizer=self.bias_regularizer)
        self.built = True

    def get_initial_state(self, batch_size=None, dtype="float32"):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [tf.zeros([batch_size, s], dtype=dtype) for s in sizes]

    def _drop(self, x, rate, training):
        if training and rate > 0:
            return tf.nn.dropout(x, rate=rate, seed=self.seed)
        return x


class SimpleRNNCell(_Cell):
    def call(self, inputs, states, training=None):
        prev = _as_list(states)[0]
        x = self._drop(inputs, self.dropout, training)
        h = tf.matmul(x, self.kernel)
        if self.use_bias:
            h = h + self.bias
        h = h + tf.matmul(self._drop(prev, self.recurrent_dropout, training), self.recurrent_kernel)
        out = self.activation(h)
        return out, ([out] if isinstance(states, (list, tuple)) else out)


class LSTMCell(_Cell):
    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base = self.bias_initializer
        u = self.units

        def init(shape, dtype=None):
            parts = [np.asarray(base((u,), dtype=dtype)), np.ones(u), np.asarray(base((2 * u,), dtype=dtype))]
            return tf.constant(np.concatenate(parts).astype(np.dtype(dtype or "float32")))
        return init

    def call(self, inputs, states, training=None):
        h_prev, c_prev = _as_list(states)[:2]
        x = self._drop(inputs, self.dropout, training)
        z = tf.matmul(x, self.kernel) + tf.matmul(self._drop(h_prev, self.recurrent_dropout, training),
                                                  self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        zi, zf, zc, zo = tf.split(z, 4, axis=-1)
        i = self.recurrent_activation(zi)
        f = self.recurrent_activation(zf)
        c = f * c_prev + i * self.activation(zc)
        o = self.recurrent_activation(zo)
        h = o * self.activation(c)
        return h, [h, c]


class GRUCell(_Cell):
    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=None):
        h_prev = _as_list(states)[0]
        x = self._drop(inputs, self.dropout, training)
        hr = self._drop(h_prev, self.recurrent_dropout, training)
        u = self.units
        if self.use_bias:
            if self.reset_after:
                b_in, b_rec = tf.unstack(self.bias, axis=0)
            else:
                b_in, b_rec = self.bias, None
        x_all = tf.matmul(x, self.kernel)
        if self.use_bias:
            x_all = x_all + b_in
        x_z, x_r, x_h = tf.split(x_all, 3, axis=-1)
        if self.reset_after:
            rec = tf.matmul(hr, self.recurrent_kernel)
            if self.use_bias:
                rec = rec + b_rec
            r_z, r_r, r_h = tf.split(rec, 3, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            hh = self.activation(x_h + r * r_h)
        else:
            u_zr = self.recurrent_kernel[:, :2 * u]
            u_h = self.recurrent_kernel[:, 2 * u:]
            r_z, r_r = tf.split(tf.matmul(hr, u_zr), 2, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            hh = self.activation(x_h + tf.matmul(r * hr, u_h))
        h = z * h_prev + (1.0 - z) * hh
        return h, ([h] if isinstance(states, (list, tuple)) else h)


def _sizes(cell) -> list:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


class StackedRNNCells(Layer):
    """Several cells run one after another at each step; the states are the cells' states in order."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        self.cells = list(cells)
        for i, cell in enumerate(self.cells):
            setattr(self, f"cell_{i}", cell)        # track the cells' weights

    @property
    def state_size(self):
        return [s for c in self.cells for s in _sizes(c)]

    @property
    def output_size(self):
        return self.cells[-1].output_size

    def get_initial_state(self, batch_size=None, dtype="float32"):
        return [st for c in self.cells for st in c.get_initial_state(batch_size=batch_size, dtype=dtype)]

    def build(self, input_shape):
        dim = input_shape[-1]
        for cell in self.cells:
            if not cell.built:
                cell._maybe_build((input_shape[0], dim))
            dim = cell.output_size
        self.built = True

    def call(self, inputs, states, training=None):
        states = _as_list(states)
        new_states, x, k = [], inputs, 0
        for cell in self.cells:
            n = len(_sizes(cell))
            x, st = cell(x, states[k:k + n], training=training)
            new_states.extend(_as_list(st))
            k += n
        return x, new_states


class RNN(Layer):
    """Runs a cell over the time axis of [batch, time, features] inputs."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, time_major=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        if stateful:
            raise ValueError(f"{type(self).__name__}: stateful=True is not supported by fuseflow.keras")
        if time_major:
            raise ValueError(f"{type(self).__name__}: time_major=True is not supported by fuseflow.keras")
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        self.cell = cell
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)

    def build(self, input_shape):
        if not self.cell.built:
            self.cell._maybe_build((input_shape[0], input_shape[-1]))
        self.built = True

    def call(self, inputs, initial_state=None, training=None, mask=None):
        steps = inputs.shape[1]
        if steps is None:
            raise ValueError(f"{self.name}: the number of time steps must be static (got input shape {inputs.shape}); "
                             f"fuseflow unrolls recurrent layers")
        if initial_state is None:
            batch = inputs.shape[0] if inputs.shape[0] is not None else tf.shape(inputs)[0]
            states = self.cell.get_initial_state(batch_size=batch, dtype=inputs.dtype)
        else:
            states = _as_list(initial_state)
        if mask is None:
            mask = getattr(inputs, "_keras_mask", None)
        xs = tf.unstack(inputs, axis=1)
        masks = tf.unstack(tf.expand_dims(tf.cast(mask, tf.bool), -1), axis=1) if mask is not None else None
        if self.go_backwards:
            xs = xs[::-1]
            masks = masks[::-1] if masks is not None else None
        outputs = []
        for t, x_t in enumerate(xs):
            out, new_states = self.cell(x_t, states, training=training)
            new_states = _as_list(new_states)
            if masks is not None:
                # Keras: a masked step keeps the states, and outputs zeros or the previous output
                m = masks[t]
                prev = outputs[-1] if outputs and not self.zero_output_for_mask else tf.zeros_like(out)
                out = tf.where(m, out, prev)
                new_states = [tf.where(m, n, o) for n, o in zip(new_states, states)]
            states = new_states
            outputs.append(out)
        result = tf.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        if mask is not None and self.return_sequences:
            result._keras_mask = mask
        if self.return_state:
            return [result] + list(states)
        return result

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        out = (batch, steps, self.cell.output_size) if self.return_sequences else (batch, self.cell.output_size)
        if self.return_state:
            sizes = self.cell.state_size if isinstance(self.cell.state_size, (list, tuple)) else [self.cell.state_size]
            return [out] + [(batch, s) for s in sizes]
        return out

    @property
    def units(self):
        return self.cell.units


_CELL_ARGS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer", "dropout", "recurrent_dropout", "reset_after", "seed",
              "kernel_constraint", "recurrent_constraint", "bias_constraint")


def _recurrent(cell_cls):
    cell_args = _CELL_ARGS

    def __init__(self, units, **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cell_args}
        cell = cell_cls(units, **cell_kwargs, dtype=kwargs.get("dtype"))
        RNN.__init__(self, cell, **kwargs)
    return __init__


class SimpleRNN(RNN):
    __init__ = _recurrent(SimpleRNNCell)


class LSTM(RNN):
    __init__ = _recurrent(LSTMCell)


class GRU(RNN):
    __init__ = _recurrent(GRUCell)


class Bidirectional(Layer):
    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        self.forward_layer = layer
        if backward_layer is None:
            # the same configuration as the forward layer (activations, initializers, dropout, ...),
            # reading the sequence the other way
            cell = layer.cell
            cfg = {k: getattr(cell, k) for k in _CELL_ARGS if k != "units" and hasattr(cell, k)}
            backward_layer = type(layer)(cell.units, return_sequences=layer.return_sequences,
                                         go_backwards=not layer.go_backwards, **cfg)
        self.backward_layer = backward_layer
        # Keras: masked steps of a bidirectional sequence output are zeros in both directions
        for directional in (self.forward_layer, self.backward_layer):
            if hasattr(directional, "zero_output_for_mask"):
                directional.zero_output_for_mask = directional.return_sequences
        self.merge_mode = merge_mode

    def call(self, inputs, training=None):
        f = self.forward_layer(inputs, training=training)
        b = self.backward_layer(inputs, training=training)
        if self.backward_layer.return_sequences:
            b = tf.reverse(b, axis=[1])
        if self.merge_mode == "concat":
            return tf.concat([f, b], axis=-1)
        if self.merge_mode == "sum":
            return f + b
        if self.merge_mode == "mul":
            return f * b
        if self.merge_mode == "ave":
            return (f + b) / 2.0
        if self.merge_mode is None:
            return [f, b]
        raise ValueError(f"Invalid merge mode {self.merge_mode!r}")

