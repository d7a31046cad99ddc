"""A minimal TF1 `tf.SparseTensor`: (indices, values, dense_shape) tensors, densified for compute.

fuseflow has no sparse kernels; the ops here (sparse_tensor_to_dense, sparse_to_dense,
sparse_reduce_sum, sparse_tensor_dense_matmul, sparse_add with a dense operand) scatter the
values into a dense tensor first, which gives TF's results. `sess.run(sparse_tensor)` returns a
`SparseTensorValue`, as in TF: the Session rebuilds fetched namedtuples with their type, and
building a SparseTensor from arrays gives a SparseTensorValue.
"""
from __future__ import annotations

import collections

import numpy as np

SparseTensorValue = collections.namedtuple("SparseTensorValue", ["indices", "values", "dense_shape"])


def _tf():
    import fuseflow.compat.v1 as tf
    return tf


def _is_value(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


class SparseTensor(collections.namedtuple("SparseTensor", ["indices", "values", "dense_shape"])):
    """indices [N, rank] int64, values [N], dense_shape [rank] int64."""

    def __new__(cls, indices, values, dense_shape):
        if _is_value(indices) and _is_value(values) and _is_value(dense_shape):
            return SparseTensorValue(indices, values, dense_shape)      # a fetched result
        tf = _tf()
        with tf.name_scope(None, "SparseTensor", []):
            idx = tf.cast(tf.convert_to_tensor(indices), tf.int64)
            vals = tf.convert_to_tensor(values)
            shape = tf.cast(tf.convert_to_tensor(dense_shape), tf.int64)
        if idx.shape.ndims is not None and idx.shape.ndims != 2:
            raise ValueError(f"SparseTensor indices must be a matrix, got shape {idx.shape}")
        return super().__new__(cls, idx, vals, shape)

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def shape(self):
        tf = _tf()
        static = tf.get_static_value(self.dense_shape)
        if static is not None:
            return tf.TensorShape([int(d) for d in np.ravel(static)])
        n = self.dense_shape.shape.as_list()[0] if self.dense_shape.shape.ndims == 1 else None
        return tf.TensorShape([None] * n if n is not None else None)

    def get_shape(self):
        return self.shape

    @property
    def graph(self):
        return self.values.graph

    def eval(self, feed_dict=None, session=None):
        from .session import get_default_session
        sess = session or get_default_session()
        return sess.run(self, feed_dict=feed_dict)

    def __repr__(self):
        return f"SparseTensor(indices={self.indices!r}, values={self.values!r}, dense_shape={self.dense_shape!r})"


def _check_sparse(sp, fn):
    if not isinstance(sp, SparseTensor):
        raise TypeError(f"{fn}: expected a SparseTensor, got {type(sp).__name__}")


def sparse_tensor_to_dense(sp_input, default_value=None, validate_indices=True, name=None):
    tf = _tf()
    _check_sparse(sp_input, "sparse_tensor_to_dense")
    dense = getattr(sp_input, "_dense", None)
    if dense is not None:           # every position is set (a parsed VarLenFeature): the values
        return tf.identity(dense, name=name)
    with tf.name_scope(name, "SparseToDense", [sp_input.values]):
        placed = tf.scatter_nd(sp_input.indices, sp_input.values, sp_input.dense_shape)
        if default_value is None or (not isinstance(default_value, type(placed)) and np.all(default_value == 0)):
            return placed
        hit = tf.scatter_nd(sp_input.indices, tf.ones_like(sp_input.values, dtype=tf.int32), sp_input.dense_shape)
        default = tf.cast(tf.convert_to_tensor(default_value), placed.dtype)
        return tf.where(hit > 0, placed, tf.zeros_like(placed) + default)


def sparse_to_dense(sparse_indices, output_shape, sparse_values, default_value=0, validate_indices=True, name=None):
    """TF1: dense[sparse_indices[i]] = sparse_values[i] (a scalar value is used for every index)."""
    tf = _tf()
    with tf.name_scope(name, "SparseToDense", [sparse_indices, sparse_values]):
        idx = tf.cast(tf.convert_to_tensor(sparse_indices), tf.int64)
        if idx.shape.ndims == 0:
            idx = tf.reshape(idx, [1, 1])
        elif idx.shape.ndims == 1:
            idx = tf.expand_dims(idx, 1)
        vals = tf.convert_to_tensor(sparse_values)
        if vals.shape.ndims == 0:
            vals = tf.fill(tf.shape(idx)[:1], vals)
        shape = tf.cast(tf.reshape(tf.convert_to_tensor(output_shape), [-1]), tf.int64)
        return sparse_tensor_to_dense(SparseTensor(idx, vals, shape), default_value)


def sparse_reduce_sum(sp_input, axis=None, keepdims=None, reduction_axes=None, keep_dims=None, name=None):
    tf = _tf()
    axis = reduction_axes if axis is None else axis
    keepdims = keep_dims if keepdims is None else keepdims
    return tf.reduce_sum(sparse_tensor_to_dense(sp_input), axis=axis, keepdims=bool(keepdims), name=name)


def sparse_tensor_dense_matmul(sp_a, b, adjoint_a=False, adjoint_b=False, name=None):
    tf = _tf()
    return tf.matmul(sparse_tensor_to_dense(sp_a), b, transpose_a=adjoint_a, transpose_b=adjoint_b, name=name)


def sparse_add(a, b, threshold=0, thresh=None, name=None):
    """A sparse operand plus a dense one (the dense result TF gives); two sparse operands are not
    supported (their sum's sparsity pattern depends on the values)."""
    tf = _tf()
    if isinstance(a, SparseTensor) and isinstance(b, SparseTensor):
        raise NotImplementedError("fuseflow's tf.sparse.add does not support adding two SparseTensors")
    sp, dense = (a, b) if isinstance(a, SparseTensor) else (b, a)
    _check_sparse(sp, "sparse_add")
    return tf.add(sparse_tensor_to_dense(sp), dense, name=name)


def sparse_placeholder(dtype, shape=None, name=None):
    raise NotImplementedError("tf.sparse_placeholder is not supported by fuseflow: feed dense values, or build "
                              "the SparseTensor from placeholders for its indices, values and dense_shape")


def var_len_sparse(values):
    """The SparseTensor TF's parse_single_example gives a VarLenFeature: indices [[0], [1], ...]."""
    tf = _tf()
    n = tf.cast(tf.shape(values)[0], tf.int64)
    indices = tf.expand_dims(tf.range(n, dtype=tf.int64), 1)
    sp = SparseTensor(indices, values, tf.reshape(n, [1]))
    sp._dense = values
    return sp


class _SparseNamespace:
    SparseTensor = SparseTensor
    SparseTensorValue = SparseTensorValue
    to_dense = staticmethod(sparse_tensor_to_dense)
    reduce_sum = staticmethod(sparse_reduce_sum)
    sparse_dense_matmul = staticmethod(sparse_tensor_dense_matmul)
    matmul = staticmethod(sparse_tensor_dense_matmul)
    add = staticmethod(sparse_add)
    placeholder = staticmethod(sparse_placeholder)


sparse = _SparseNamespace
