"""Model.compile / fit / evaluate / predict.

Each training step (forward, loss, backward through GradientTape, optimizer update, metric
updates) is ONE `fuseflow.function`: its input signature has a None batch dimension, so the
step compiles once to native code and serves every batch, the last partial one included.
`compile(run_eagerly=True)` runs the same step op by op instead (for debugging).
"""
from __future__ import annotations

import sys
import time

import numpy as np

import fuseflow as tf
from fuseflow import nest
from fuseflow.data import Dataset
from fuseflow.function import Function, TensorSpec
from fuseflow.tensor import EagerTensor, TensorShape

from . import callbacks as callbacks_mod
from . import losses as losses_mod
from . import metrics as metrics_mod


def _optimizers():
    from . import optimizers
    return optimizers


# ------------------------------------------------------------------------------ data


def _to_array(x):
    if isinstance(x, EagerTensor):
        return x.numpy()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return np.asarray(x.numpy())
    arr = np.asarray(x)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return arr


def _num_samples(x) -> int:
    leaves = [l for l in nest.flatten(x) if l is not None]
    if not leaves:
        raise ValueError("fit/evaluate/predict got no input data")
    return int(np.shape(leaves[0])[0])


def _take(x, idx):
    if x is None:
        return None
    return nest.map_structure(lambda a: a[idx], x) if nest.is_nested(x) else x[idx]


def _unpack(element):
    """Dataset elements: x | (x,) | (x, y) | (x, y, sample_weight)."""
    if isinstance(element, tuple) and not hasattr(type(element), "_fields"):
        if len(element) == 1:
            return element[0], None, None
        if len(element) == 2:
            return element[0], element[1], None
        if len(element) == 3:
            return element
    return element, None, None


class DataHandler:
    """Batches of (x, y, sample_weight) from arrays/tensors or a Dataset, per epoch."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
        self.steps = steps
        if isinstance(x, Dataset):
            if y is not None:
                raise ValueError("`y` argument is not supported when using a dataset as input (the dataset "
                                 "yields (x, y) pairs).")
            self.dataset = x
            self.n = None
        else:
            self.dataset = None
            self.x = nest.map_structure(_to_array, x) if nest.is_nested(x) else _to_array(x)
            self.y = None if y is None else (nest.map_structure(_to_array, y) if nest.is_nested(y) else _to_array(y))
            self.sw = None if sample_weight is None else _to_array(sample_weight)
            self.n = _num_samples(self.x)
            sizes = {name: sorted({int(np.shape(a)[0]) for a in nest.flatten(v) if a is not None and np.ndim(a)})
                     for name, v in (("x", self.x), ("y", self.y), ("sample_weight", self.sw)) if v is not None}
            if len({n for ns in sizes.values() for n in ns}) > 1:  # batches would index past the shorter
                raise ValueError("Data cardinality is ambiguous: " + " ".join(
                    f"{name} sizes: {', '.join(map(str, ns))}" for name, ns in sizes.items()) +
                    ". Make sure all arrays contain the same number of samples.")
            self.batch_size = int(batch_size or 32)
            self.shuffle = shuffle

    def num_steps(self):
        if self.steps is not None:
            return int(self.steps)
        if self.dataset is not None:
            n = self.dataset.cardinality_value()
            return n if n >= 0 else None
        return -(-self.n // self.batch_size)

    def batches(self):
        if self.dataset is not None:
            for i, el in enumerate(self.dataset):
                if self.steps is not None and i >= self.steps:
                    return
                yield _unpack(el)
            return
        order = np.random.permutation(self.n) if self.shuffle else np.arange(self.n)
        steps = self.num_steps()
        for s in range(steps):
            idx = order[s * self.batch_size:(s + 1) * self.batch_size]
            if self.shuffle:
                yield _take(self.x, idx), _take(self.y, idx), _take(self.sw, idx)
            else:
                sl = slice(s * self.batch_size, (s + 1) * self.batch_size)
                yield _take(self.x, sl), _take(self.y, sl), _take(self.sw, sl)


def _batch_spec(x):
    """A TensorSpec structure with a None batch dimension (one compiled step for every batch size)."""
    def spec(a):
        if a is None:
            return None
        shape = list(np.shape(a)) if not hasattr(a, "shape") else list(TensorShape(a.shape).as_list())
        dtype = a.dtype if isinstance(a, EagerTensor) else np.asarray(a).dtype
        return TensorSpec([None] + shape[1:], dtype)
    return nest.map_structure(spec, x) if nest.is_nested(x) else spec(x)


def _batch_size_of(x) -> int:
    return int(np.shape(nest.flatten(x)[0])[0])


# ------------------------------------------------------------------------------ the mixin


class TrainingMixin:
    """compile / fit / evaluate / predict for keras Model."""

    run_eagerly = False          # predict() works before compile(), as in Keras

    # -- compile --------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        self.optimizer = _resolve_optimizer(optimizer)
        self.loss = loss
        self._loss_fn = self._resolve_loss(loss)
        self._loss_weights = loss_weights
        self._metric_ids = list(metrics or []) if not isinstance(metrics, dict) else metrics
        self._compiled_metrics = None            # resolved on the first batch (needs y/y_pred shapes)
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self.run_eagerly = bool(run_eagerly)
        self.compiled = True
        self._reset_step_functions()

    def _reset_step_functions(self):
        self._step_fns = {}
        self.train_function = None
        self.test_function = None
        self.predict_function = None

    def _resolve_loss(self, loss):
        if loss is None:
            return None
        if isinstance(loss, (list, tuple)):
            return [losses_mod.get(l) for l in loss]
        if isinstance(loss, dict):
            return {k: losses_mod.get(v) for k, v in loss.items()}
        return losses_mod.get(loss)

    def _require_compiled(self, what):
        if not getattr(self, "compiled", False):
            raise ValueError("You must call `compile()` before using the model.")   # Keras 3's error

    # -- metrics --------------------------------------------------------------------------
    def _ensure_metrics(self, y, y_pred):
        if self._compiled_metrics is not None:
            return
        from fuseflow.function import init_scope
        out = []
        with init_scope():
            ids = self._metric_ids
            if isinstance(ids, dict):
                ids = [m for v in ids.values() for m in (v if isinstance(v, (list, tuple)) else [v])]
            yt = None if y is None else nest.flatten(y)[0]
            yp = nest.flatten(y_pred)[0]
            yt_shape = None if yt is None else tuple(TensorShape(yt.shape).as_list())
            yp_shape = tuple(TensorShape(yp.shape).as_list())
            for m in ids:
                out.append(metrics_mod.resolve_accuracy(m, yt_shape, yp_shape, loss=self.loss))
        self._compiled_metrics = out

    @property
    def metrics(self) -> list:
        tracker = getattr(self, "_loss_tracker", None)
        return ([tracker] if tracker is not None else []) + list(getattr(self, "_compiled_metrics", None) or [])

    @property
    def metrics_names(self) -> list:
        # Keras 3 groups the compiled metrics under one 'compile_metrics' entry
        if not getattr(self, "compiled", False):
            return []
        return ["loss"] + (["compile_metrics"] if self._metric_ids else [])

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _update_metrics(self, y, y_pred, sample_weight):
        self._ensure_metrics(y, y_pred)
        if y is None:
            return
        yt, yp = nest.flatten(y), nest.flatten(y_pred)
        for m in self._compiled_metrics:
            m.update_state(yt[0], yp[0], sample_weight=sample_weight)

    def _logs(self) -> dict:
        """Metric results keyed by name, in sorted key order: Keras 3 passes every logs dict
        through pythonify_logs, which sorts (history keys 'accuracy', 'loss', 'val_accuracy', ...)."""
        logs = {}
        for m in self.metrics:
            r = m.result()
            logs[m.name] = float(np.asarray(r.numpy() if hasattr(r, "numpy") else r))
        return dict(sorted(logs.items()))

    @staticmethod
    def _logs_as_list(logs):
        """evaluate / train_on_batch without return_dict: 'loss' first, then the others sorted
        (Keras 3's _flatten_metrics_in_order); one value is returned bare."""
        values = ([logs["loss"]] if "loss" in logs else []) + [v for k, v in sorted(logs.items()) if k != "loss"]
        return values[0] if len(values) == 1 else values

    # -- loss -----------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        fn = self._loss_fn
        total = None
        if fn is not None:
            if isinstance(fn, list):
                ys, ps = nest.flatten(y), nest.flatten(y_pred)
                weights = self._loss_weights or [1.0] * len(fn)
                terms = [w * f(a, b, sample_weight) if isinstance(f, losses_mod.Loss) else w * tf.reduce_mean(f(a, b))
                         for f, a, b, w in zip(fn, ys, ps, weights)]
            elif isinstance(fn, dict):
                weights = self._loss_weights or {}
                terms = [weights.get(k, 1.0) * _apply_loss(f, y[k], y_pred[k], sample_weight) for k, f in fn.items()]
            else:
                terms = [_apply_loss(fn, y, y_pred, sample_weight)]
            total = tf.add_n(terms) if len(terms) > 1 else terms[0]
        reg = self.losses
        if reg:
            reg_total = tf.add_n([tf.convert_to_tensor(r) for r in reg]) if len(reg) > 1 else tf.convert_to_tensor(reg[0])
            total = reg_total if total is None else total + reg_total
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    # -- steps ----------------------------------------------------------------------------
    def train_step(self, data):
        x, y, sample_weight = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
        variables = self.trainable_variables
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])
        self._track_loss(loss, x)
        self._update_metrics(y, y_pred, sample_weight)
        return loss

    def test_step(self, data):
        x, y, sample_weight = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._track_loss(loss, x)
        self._update_metrics(y, y_pred, sample_weight)
        return loss

    def _track_loss(self, loss, x):
        """The epoch loss is the mean of batch losses weighted by batch size (Keras 3's loss tracker)."""
        first = tf.convert_to_tensor(nest.flatten(x)[0])
        batch = first.shape[0] if first.shape.rank and first.shape[0] is not None else tf.shape(first)[0]
        self._loss_tracker.update_state(loss, sample_weight=tf.cast(batch, loss.dtype))

    def predict_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        return self(x, training=False)

    def _step_function(self, kind, example):
        """The compiled (or eager) function running one batch of `kind` ('train'/'test'/'predict')."""
        x, y, sw = example
        if "_step_fns" not in self.__dict__:
            self._reset_step_functions()
        present = tuple(i for i, part in enumerate((x, y, sw)) if part is not None and (kind != "predict" or i == 0))
        fn = self._step_fns.get((kind, present))
        if fn is not None:
            return fn
        step = {"train": self.train_step, "test": self.test_step, "predict": self.predict_step}[kind]

        def run(*parts):
            full = [None, None, None]
            for i, p in zip(present, parts):
                full[i] = p
            return step(tuple(full)) if kind != "predict" else step(full[0])

        if self.run_eagerly:
            compiled = run
        else:
            compiled = Function(run, input_signature=[_batch_spec((x, y, sw)[i]) for i in present],
                                name=f"{kind}_step", shared_batch_dim=True)

        def fn(*batch):
            return compiled(*[batch[i] for i in present])

        fn.compiled = compiled
        self._step_fns[(kind, present)] = fn
        setattr(self, f"{kind}_function", fn)
        return fn

    def _build_for(self, x):
        """Create every variable before a step is traced: build unbuilt layers with an eager call on
        the first batch (Keras 3's symbolic build uses that batch's shape, so `summary()` of a model
        without an Input shows e.g. (64, 100, 64)), and let the optimizer create its slots."""
        if not self.built or any(not l.built for l in self._flatten_layers()):
            from fuseflow.function import init_scope
            with init_scope():
                self(x, training=False)
        opt = getattr(self, "optimizer", None)
        build = getattr(opt, "build", None)
        if build is not None and not getattr(opt, "built", True):
            build(self.trainable_variables)

    # -- fit ------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        self._require_compiled("fit")
        if validation_split and validation_data is None:
            if isinstance(x, Dataset):
                raise ValueError("`validation_split` is only supported for tensors or NumPy arrays")
            n = _num_samples(x)
            split = int(n * (1.0 - validation_split))
            xa = nest.map_structure(_to_array, x) if nest.is_nested(x) else _to_array(x)
            ya = None if y is None else _to_array(y)
            validation_data = (_take(xa, slice(split, None)), _take(ya, slice(split, None)))
            x, y = _take(xa, slice(0, split)), _take(ya, slice(0, split))
            if sample_weight is not None:
                sample_weight = _to_array(sample_weight)[:split]
        if class_weight is not None:
            x, y, sample_weight = _apply_class_weight(x, y, sample_weight, class_weight)
        handler = DataHandler(x, y, sample_weight, batch_size, shuffle=shuffle, steps=steps_per_epoch)
        verbose = 1 if verbose == "auto" else int(verbose)
        history = callbacks_mod.History()
        steps = handler.num_steps()
        cbs = callbacks_mod.CallbackList(list(callbacks or []) + [history], self,
                                         {"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        cbs.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            t0 = time.time()
            n_steps = 0
            for step, batch in enumerate(handler.batches()):
                cbs.on_train_batch_begin(step)
                xb, yb, swb = batch
                self._build_for(xb)
                fn = self._step_function("train", batch)
                loss = fn(xb, yb, swb)
                n_steps += 1
                cbs.on_train_batch_end(step, {"loss": float(np.asarray(loss))})
                if self.stop_training:
                    break
            logs = self._logs()
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                vx, vy, vsw = _unpack(tuple(validation_data)) if isinstance(validation_data, (tuple, list)) \
                    else (validation_data, None, None)
                val = self.evaluate(vx, vy, sample_weight=vsw, batch_size=validation_batch_size or batch_size,
                                    steps=validation_steps, verbose=0, return_dict=True, _internal=True)
                logs.update({f"val_{k}": v for k, v in val.items()})
            cbs.on_epoch_end(epoch, logs)
            if verbose:
                _print_progress(n_steps, time.time() - t0, logs, verbose)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        self.history = history
        history.model = self
        return history

    # -- evaluate -------------------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, _internal=False, **kwargs):
        self._require_compiled("evaluate")
        handler = DataHandler(x, y, sample_weight, batch_size, shuffle=False, steps=steps)
        self.reset_metrics()
        cbs = callbacks_mod.CallbackList(callbacks, self, {"steps": handler.num_steps()})
        cbs.on_test_begin()
        t0 = time.time()
        n_steps = 0
        for step, batch in enumerate(handler.batches()):
            cbs.on_test_batch_begin(step)
            xb = batch[0]
            self._build_for(xb)
            self._step_function("test", batch)(*batch)
            n_steps += 1
            cbs.on_test_batch_end(step)
        logs = self._logs()
        cbs.on_test_end(logs)
        verbose = 1 if verbose == "auto" else int(verbose)
        if verbose and not _internal:
            _print_progress(n_steps, time.time() - t0, logs, verbose)
        if return_dict:
            return logs
        return self._logs_as_list(logs)

    # -- predict --------------------------------------------------------------------------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        handler = DataHandler(x, None, None, batch_size, shuffle=False, steps=steps)
        outputs = []
        for batch in handler.batches():
            xb = batch[0]
            self._build_for(xb)
            fn = self._step_function("predict", (xb, None, None))
            out = fn(xb, None, None)
            outputs.append(nest.map_structure(lambda t: np.asarray(t), out) if nest.is_nested(out) else np.asarray(out))
        if not outputs:
            raise ValueError("predict: the input produced no batches")
        if nest.is_nested(outputs[0]):
            return nest.map_structure(lambda *xs: np.concatenate(xs, axis=0), *outputs)
        return np.concatenate(outputs, axis=0)

    # -- single batches -------------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        self._require_compiled("train_on_batch")
        self.reset_metrics()
        batch = (nest.map_structure(_to_array, x) if nest.is_nested(x) else _to_array(x),
                 None if y is None else _to_array(y), None if sample_weight is None else _to_array(sample_weight))
        self._build_for(batch[0])
        self._step_function("train", batch)(*batch)
        logs = self._logs()
        if return_dict:
            return logs
        return self._logs_as_list(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        return self.evaluate(x, y, sample_weight=sample_weight, batch_size=_num_samples(x), verbose=0,
                             return_dict=return_dict)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=_num_samples(x), verbose=0)


def _class_weights_for(y, class_weight) -> np.ndarray:
    """Keras: each sample weighs class_weight[its class] (sparse labels, or the argmax of one-hot rows)."""
    y = np.asarray(y)
    labels = y.reshape(-1) if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1) else np.argmax(y, axis=-1)
    table = {int(k): float(v) for k, v in class_weight.items()}
    return np.asarray([table.get(int(c), 1.0) for c in labels], np.float32)


def _apply_class_weight(x, y, sample_weight, class_weight):
    if isinstance(x, Dataset):
        def add_weights(*element):
            xb, yb, swb = _unpack(element if len(element) > 1 else element[0])
            w = _class_weights_for(np.asarray(yb), class_weight)
            if swb is not None:
                w = w * np.asarray(swb, np.float32).reshape(w.shape)
            return xb, yb, w
        return x.map(add_weights), None, None
    if y is None:
        raise ValueError("`class_weight` needs targets `y`")
    w = _class_weights_for(_to_array(y), class_weight)
    if sample_weight is not None:
        w = w * _to_array(sample_weight).astype(np.float32).reshape(w.shape)
    return x, y, w


_OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
                    "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "ftrl": "Ftrl"}


def _resolve_optimizer(optimizer):
    if not isinstance(optimizer, str):
        return optimizer
    opt = _optimizers()
    if hasattr(opt, "get"):
        return opt.get(optimizer)
    cls = getattr(opt, _OPTIMIZER_NAMES.get(optimizer.lower(), optimizer), None)
    if cls is None:
        raise ValueError(f"Could not interpret optimizer identifier: {optimizer!r}")
    return cls()


def _apply_loss(fn, y, y_pred, sample_weight):
    if isinstance(fn, losses_mod.Loss):
        return fn(y, y_pred, sample_weight=sample_weight)
    # Keras 3 wraps a plain loss function in LossFunctionWrapper, which aligns the ranks first
    values = fn(*losses_mod.squeeze_or_expand_to_same_rank(y, y_pred))
    return losses_mod._reduce(tf.convert_to_tensor(values), sample_weight, "sum_over_batch_size")


def _print_progress(steps, seconds, logs, verbose):
    per_step = seconds / max(steps, 1)
    timing = f"{int(round(seconds))}s {per_step * 1000:.0f}ms/step"
    values = " - ".join(f"{k}: {v:.4f}" for k, v in sorted(logs.items()))
    bar = "━" * 20
    line = f"{steps}/{steps} {bar} {timing}" if verbose == 1 else f"{steps}/{steps} - {timing}"
    print(line + (f" - {values}" if values else ""), file=sys.stdout)
