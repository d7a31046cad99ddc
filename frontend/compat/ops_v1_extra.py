"""TF1 top-level op names that are compositions of existing ops: hessians, py_function,
invert_permutation, reverse_sequence, clip_by_average_norm, space_to_depth / depth_to_space,
TF1's rank-limited diag / diag_part."""
from __future__ import annotations

import numpy as np


def _tf():
    import fuseflow.compat.v1 as tf
    return tf


def hessians(ys, xs, name="hessians", colocate_gradients_with_ops=False, gate_gradients=False,
             aggregation_method=None):
    """d^2 sum(ys) / dx^2 for each x in xs, shaped x.shape + x.shape (x must have a static shape)."""
    tf = _tf()
    single = not isinstance(xs, (list, tuple))
    xs = [xs] if single else list(xs)
    out = []
    with tf.name_scope(name):
        for x in xs:
            shape = x.shape.as_list() if x.shape.ndims is not None else None
            if shape is None or any(d is None for d in shape):
                raise ValueError(f"tf.hessians needs a fully defined shape for {x.name}, got {x.shape}")
            n = int(np.prod(shape)) if shape else 1
            grad, = tf.gradients(ys, [x], aggregation_method=aggregation_method)
            if grad is None:
                out.append(None)
                continue
            flat = tf.reshape(grad, [n])
            rows = []
            for i in range(n):
                row, = tf.gradients(flat[i], [x])
                rows.append(tf.reshape(row, [n]) if row is not None else tf.zeros([n], dtype=x.dtype))
            out.append(tf.reshape(tf.stack(rows), shape + shape))
    return out


def py_function(func, inp, Tout, name=None):  # noqa: N803 - TF's argument name
    """Run `func` eagerly on the values of `inp` (as EagerTensors) when the graph runs."""
    tf = _tf()
    from fuseflow.data import _eager_values
    from fuseflow.tensor import EagerTensor

    def call(*arrays):
        with _eager_values():
            args = [tf.convert_to_tensor(a) for a in arrays]
            result = func(*args)
        if isinstance(result, (list, tuple)):
            return [r._value if isinstance(r, EagerTensor) else r for r in result]
        return result._value if isinstance(result, EagerTensor) else result
    return tf.py_func(call, inp, Tout, name=name or "EagerPyFunc")


def invert_permutation(x, name=None):
    """y[x[i]] = i for a permutation x of 0..n-1."""
    tf = _tf()
    with tf.name_scope(name, "InvertPermutation", [x]):
        x = tf.convert_to_tensor(x)
        if x.dtype not in (tf.int32, tf.int64):
            raise TypeError(f"invert_permutation: x must be int32 or int64, got {x.dtype.name}")
        n = tf.size(x, out_type=x.dtype)
        return tf.scatter_nd(tf.expand_dims(x, 1), tf.range(n, dtype=x.dtype), tf.expand_dims(n, 0))


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None, name=None, seq_dim=None,  # noqa: A002
                     batch_dim=None):
    """Reverse the first seq_lengths[b] entries along `seq_axis` of each batch entry b."""
    tf = _tf()
    seq_axis = seq_dim if seq_axis is None else seq_axis
    batch_axis = (batch_dim if batch_dim is not None else 0) if batch_axis is None else batch_axis
    if seq_axis is None:
        raise ValueError("reverse_sequence: seq_axis is required")
    with tf.name_scope(name, "ReverseSequence", [input, seq_lengths]):
        x = tf.convert_to_tensor(input)
        rank = x.shape.ndims
        if rank is None:
            raise ValueError("reverse_sequence needs an input of known rank")
        seq_axis %= rank
        batch_axis %= rank
        # move batch to axis 0 and the sequence to axis 1, reverse with a batched gather, move back
        perm = [batch_axis, seq_axis] + [a for a in range(rank) if a not in (batch_axis, seq_axis)]
        xt = tf.transpose(x, perm)
        lengths = tf.cast(tf.convert_to_tensor(seq_lengths), tf.int32)
        t = tf.shape(xt)[1]
        pos = tf.range(t)[None, :]
        lens = lengths[:, None]
        src = tf.where(pos < lens, lens - 1 - pos, tf.ones_like(lens) * pos)
        b = tf.shape(xt)[0]
        batch_idx = tf.tile(tf.range(b)[:, None], tf.stack([1, t]))
        gathered = tf.gather_nd(xt, tf.stack([batch_idx, src], axis=-1))
        inverse = list(np.argsort(perm))
        return tf.transpose(gathered, inverse)


def clip_by_average_norm(t, clip_norm, name=None):
    """t * clip_norm / max(l2norm(t) / num_elements, clip_norm) (TF1)."""
    tf = _tf()
    with tf.name_scope(name, "clip_by_average_norm", [t, clip_norm]):
        t = tf.convert_to_tensor(t)
        n = tf.cast(tf.size(t), t.dtype)
        l2norm_inv = tf.rsqrt(tf.reduce_sum(t * t))
        clip = tf.cast(clip_norm, t.dtype)
        return tf.identity(t * clip * tf.minimum(l2norm_inv * n, 1.0 / clip))


def _static_nhwc(x, op):
    shape = x.shape.as_list() if x.shape.ndims == 4 else None
    if shape is None or any(d is None for d in shape[1:]):
        raise ValueError(f"{op} needs a 4-D NHWC input with static height, width and depth, got {x.shape}")
    return shape


def space_to_depth(input, block_size, name=None, data_format="NHWC"):  # noqa: A002
    tf = _tf()
    if data_format != "NHWC":
        raise NotImplementedError(f"fuseflow's tf.space_to_depth supports NHWC only, got {data_format}")
    with tf.name_scope(name, "SpaceToDepth", [input]):
        x = tf.convert_to_tensor(input)
        _, h, w, c = _static_nhwc(x, "space_to_depth")
        bs = int(block_size)
        if h % bs or w % bs:
            raise ValueError(f"space_to_depth: height and width ({h}, {w}) must be divisible by {bs}")
        y = tf.reshape(x, [-1, h // bs, bs, w // bs, bs, c])
        y = tf.transpose(y, [0, 1, 3, 2, 4, 5])
        return tf.reshape(y, [-1, h // bs, w // bs, bs * bs * c])


def depth_to_space(input, block_size, name=None, data_format="NHWC"):  # noqa: A002
    tf = _tf()
    if data_format != "NHWC":
        raise NotImplementedError(f"fuseflow's tf.depth_to_space supports NHWC only, got {data_format}")
    with tf.name_scope(name, "DepthToSpace", [input]):
        x = tf.convert_to_tensor(input)
        _, h, w, c = _static_nhwc(x, "depth_to_space")
        bs = int(block_size)
        if c % (bs * bs):
            raise ValueError(f"depth_to_space: depth {c} must be divisible by {bs * bs}")
        y = tf.reshape(x, [-1, h, w, bs, bs, c // (bs * bs)])
        y = tf.transpose(y, [0, 1, 3, 2, 4, 5])
        return tf.reshape(y, [-1, h * bs, w * bs, c // (bs * bs)])


def diag(diagonal, name=None):
    """TF1's tf.diag for a vector: the square matrix with it on the diagonal."""
    tf = _tf()
    d = tf.convert_to_tensor(diagonal)
    if d.shape.ndims != 1:
        raise NotImplementedError(f"fuseflow's tf.diag supports 1-D diagonals only, got rank {d.shape.ndims}")
    return tf.matrix_diag(d, name=name)


def diag_part(input, name=None):  # noqa: A002
    """TF1's tf.diag_part for a square matrix: its diagonal."""
    tf = _tf()
    x = tf.convert_to_tensor(input)
    if x.shape.ndims != 2:
        raise NotImplementedError(f"fuseflow's tf.diag_part supports matrices only, got rank {x.shape.ndims}")
    return tf.matrix_diag_part(x, name=name)


def _host_linalg(op_name, np_fn, x, out_shape, name):
    """A dense linear-algebra op computed by numpy (LAPACK) on the host when the graph runs.
    No gradient is defined for it (tf.gradients gives None through it)."""
    tf = _tf()
    x = tf.convert_to_tensor(x)
    if x.dtype not in (tf.float32, tf.float64):
        raise TypeError(f"{op_name}: input must be float32 or float64, got {x.dtype.name}")
    if x.shape.ndims is not None and x.shape.ndims < 2:
        raise ValueError(f"{op_name}: input must be at least 2-D, got shape {x.shape}")
    if tf.executing_eagerly():
        return tf.convert_to_tensor(np_fn(x.numpy()).astype(x.dtype.as_numpy_dtype))
    out = tf.py_func(lambda a: np.asarray(np_fn(a), dtype=a.dtype), [x], x.dtype, name=name or op_name)
    out.set_shape(out_shape(x.shape))
    return out


def _invert(a):
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        from fuseflow.errors import InvalidArgumentError
        raise InvalidArgumentError(None, None, "Input is not invertible.") from None


def matrix_inverse(input, adjoint=False, name=None):  # noqa: A002
    fn = (lambda a: _invert(np.conj(np.swapaxes(a, -1, -2)))) if adjoint else _invert
    return _host_linalg("MatrixInverse", fn, input, lambda s: s, name)


def matrix_determinant(input, name=None):  # noqa: A002
    return _host_linalg("MatrixDeterminant", np.linalg.det, input,
                        lambda s: s[:-2] if s.ndims is not None else s, name)
