"""`tf.TensorArray` (TF2 and compat.v1): a list of tensors, one per written index.

Graph-mode loops are unrolled while the graph is built (tf.while_loop, Python loops in a
fuseflow.function), so the indices a program writes are known then; the array is a value object
over already-built tensors, and stack/gather/concat are ordinary ops on them.

Write semantics follow TF: while building a graph every write returns a new TensorArray and
leaves the old one as it was (TF's flow: `ta = ta.write(i, x)`); executing eagerly, writes
modify the array in place and return it (TF's eager TensorArray), so `ta.write(i, x)` without
reassignment also works there. Writing an index twice, or past a fixed size, is an error.

An index only known at run time: reads and gathers become a gather from the stacked array;
writes cannot be compiled (`NeedsEagerExecution`: a fuseflow.function then runs op by op, a
TF1 graph gets a NotImplementedError naming the method).
"""
from __future__ import annotations

import numpy as np

from .needs_eager import NeedsEagerExecution


def _tf():
    import fuseflow.compat.v1 as tf
    return tf


def _building_graph() -> bool:
    from .graph import graph_is_active
    return graph_is_active()


class TensorArray:
    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None, colocate_with_first_write_call=True,
                 name=None, _elems=None):
        tf = _tf()
        self._dtype = tf.as_dtype(dtype)
        self._dynamic = bool(dynamic_size)
        self._infer_shape = infer_shape
        self._element_shape = tf.TensorShape(element_shape) if element_shape is not None else tf.TensorShape(None)
        if _elems is not None:
            self._elems = list(_elems)
        else:
            n = 0 if size is None else self._static_int(size, "size")
            self._elems = [None] * n
        self._name = name or "TensorArray"

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _static_int(value, what):
        v = _tf().get_static_value(value) if not isinstance(value, (int, np.integer)) else value
        if v is None:
            raise NeedsEagerExecution(f"TensorArray.{what}",
                                      f"tf.TensorArray.{what}: the value must be known while the program is built "
                                      f"(fuseflow unrolls loops), got a run-time tensor")
        return int(np.asarray(v))

    def _updated(self, elems, element_shape):
        """The array after a write: a new one while building a graph, this one (modified) eagerly."""
        if _building_graph():
            out = TensorArray(self._dtype, dynamic_size=self._dynamic, infer_shape=self._infer_shape,
                              element_shape=element_shape, name=self._name, _elems=elems)
            return out
        self._elems = list(elems)
        self._element_shape = element_shape
        return self

    def _merged_shape(self, shape):
        if not self._infer_shape:
            return self._element_shape
        if not self._element_shape.is_compatible_with(shape):
            raise ValueError(f"Inconsistent shapes: saw {shape} but expected {self._element_shape}")
        return self._element_shape.merge_with(shape)

    def _element(self, i, what):
        if not 0 <= i < len(self._elems):
            raise _tf().errors.InvalidArgumentError(
                None, None, f"Tried to read from index {i} but array size is: {len(self._elems)}")
        e = self._elems[i]
        if e is None:
            if self._element_shape.is_fully_defined():
                return _tf().zeros(self._element_shape, dtype=self._dtype)
            raise _tf().errors.InvalidArgumentError(
                None, None, f"TensorArray {self._name}: Could not read from TensorArray index {i} because it has "
                            f"not yet been written to.")
        return e

    # -- properties ------------------------------------------------------------------------
    @property
    def dtype(self):
        return self._dtype

    @property
    def element_shape(self):
        return self._element_shape

    @property
    def dynamic_size(self):
        return self._dynamic

    @property
    def flow(self):
        return _tf().constant(0.0)

    @property
    def handle(self):
        return None

    def size(self, name=None):
        return _tf().constant(len(self._elems), dtype=_tf().int32, name=name)

    def identity(self):
        return TensorArray(self._dtype, dynamic_size=self._dynamic, infer_shape=self._infer_shape,
                           element_shape=self._element_shape, name=self._name, _elems=self._elems)

    def close(self, name=None):
        if not _building_graph():
            self._elems = []
            return None
        return _tf().no_op(name=name)

    def mark_used(self):
        pass

    # -- element access ----------------------------------------------------------------------
    def write(self, index, value, name=None):
        tf = _tf()
        i = self._static_int(index, "write")
        value = tf.convert_to_tensor(value, dtype=self._dtype)
        if value.dtype != self._dtype:
            raise TypeError(f"TensorArray dtype is {self._dtype.name} but Op is trying to write dtype "
                            f"{value.dtype.name}")
        if i < 0:
            raise tf.errors.InvalidArgumentError(None, None, f"Tried to write to index {i} but the index is negative")
        elems = list(self._elems)
        if i >= len(elems):
            if not self._dynamic:
                raise tf.errors.InvalidArgumentError(
                    None, None, f"Tried to write to index {i} but array is not resizeable and size is: {len(elems)}")
            elems.extend([None] * (i + 1 - len(elems)))
        if elems[i] is not None:
            raise tf.errors.InvalidArgumentError(
                None, None, f"Could not write to TensorArray index {i} because it has already been written to.")
        elems[i] = value
        return self._updated(elems, self._merged_shape(value.shape))

    def read(self, index, name=None):
        tf = _tf()
        i = tf.get_static_value(index) if not isinstance(index, (int, np.integer)) else index
        if i is None:
            return tf.gather(self.stack(), index, name=name)
        return tf.identity(self._element(int(i), "read"), name=name)

    def stack(self, name=None):
        tf = _tf()
        if not self._elems:
            if self._element_shape.is_fully_defined():
                return tf.zeros([0] + self._element_shape.as_list(), dtype=self._dtype, name=name)
            raise tf.errors.InvalidArgumentError(None, None, "TensorArray has size zero, but element shape is not "
                                                             "fully defined; cannot stack it")
        return tf.stack([self._element(i, "stack") for i in range(len(self._elems))], name=name)

    def gather(self, indices, name=None):
        return _tf().gather(self.stack(), indices, name=name)

    def concat(self, name=None):
        return _tf().concat([self._element(i, "concat") for i in range(len(self._elems))], 0, name=name)

    def unstack(self, value, name=None):
        tf = _tf()
        value = tf.convert_to_tensor(value, dtype=self._dtype)
        n = value.shape.as_list()[0] if value.shape.ndims else None
        if n is None:
            raise NeedsEagerExecution("TensorArray.unstack",
                                      "tf.TensorArray.unstack: the leading dimension must be known while the "
                                      "program is built (fuseflow unrolls loops)")
        if not self._dynamic and self._elems and n > len(self._elems):
            raise tf.errors.InvalidArgumentError(
                None, None, f"Could not scatter {n} elements into a TensorArray of size {len(self._elems)}")
        return self._updated(tf.unstack(value, num=n), self._merged_shape(value.shape[1:]))

    def scatter(self, indices, value, name=None):
        tf = _tf()
        idx = tf.get_static_value(tf.convert_to_tensor(indices))
        if idx is None:
            raise NeedsEagerExecution("TensorArray.scatter",
                                      "tf.TensorArray.scatter: the indices must be known while the program is built")
        value = tf.convert_to_tensor(value, dtype=self._dtype)
        out = self
        for k, i in enumerate(np.ravel(idx)):
            out = out.write(int(i), value[k])
        return out

    def split(self, value, lengths, name=None):
        tf = _tf()
        lens = tf.get_static_value(tf.convert_to_tensor(lengths))
        if lens is None:
            raise NeedsEagerExecution("TensorArray.split",
                                      "tf.TensorArray.split: the lengths must be known while the program is built")
        parts = tf.split(tf.convert_to_tensor(value, dtype=self._dtype), [int(v) for v in np.ravel(lens)])
        return self._updated(parts, self._element_shape)

    def __repr__(self):
        return f"<TensorArray {self._name} size={len(self._elems)} dtype={self._dtype.name}>"
