"""TF2 ops composed from fuseflow's primitives (segment reductions other than sum, tensor scatters,
random shuffle / categorical) and a few host-only ones (unique_with_counts, small linalg) that have
no compiled kernel.

Host-only ops compute with numpy on eager values; they refuse graph tensors and active
GradientTapes with an error naming the op instead of producing a value with no gradient."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from fuseflow.compiler import dtypes as dt

from .. import array_ops, math_ops, random_ops
from ..core import convert_to_tensor
from ..needs_eager import NeedsEagerExecution, tracing_function
from ..tensor import EagerTensor, Tensor


# ----------------------------------------------------------------------- host-only helpers
def _host_values(op_name, *tensors):
    from .. import tape
    ts = [convert_to_tensor(t) for t in tensors]
    if any(isinstance(t, Tensor) for t in ts):
        raise NeedsEagerExecution(op_name, f"{op_name} runs on the host in fuseflow and cannot be compiled into a "
                                           f"graph; call it eagerly")
    if any(tp._recording for tp in tape._active()):
        raise NotImplementedError(f"{op_name} runs on the host in fuseflow and has no gradient; compute it "
                                  f"outside the GradientTape (or under tape.stop_recording())")
    return ts


def unique_with_counts(x, out_idx=dt.int32, name=None):
    """(y, idx, count): unique values in order of first occurrence, positions, occurrences."""
    y, idx = array_ops.unique(x, out_idx=out_idx)
    out_idx = dt.as_dtype(out_idx)
    counts = np.bincount(np.asarray(idx.numpy()), minlength=int(y.shape[0])).astype(out_idx.np)
    return namedtuple("UniqueWithCounts", ["y", "idx", "count"])(y, idx, EagerTensor(counts, out_idx))


def _square_matrices(op_name, t):
    if t.shape.rank is None or t.shape.rank < 2 or t.shape[-1] != t.shape[-2]:
        raise ValueError(f"{op_name}: input must be a (batch of) square matrices, got shape {t.shape}")
    if not t.dtype.is_floating:
        raise TypeError(f"{op_name}: expected a float tensor, got {t.dtype.name}")


def matrix_inverse(input, adjoint=False, name=None):
    (t,) = _host_values("tf.linalg.inv", input)
    _square_matrices("tf.linalg.inv", t)
    a = np.asarray(t.numpy())
    if adjoint:
        a = np.swapaxes(a, -1, -2)
    try:
        out = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        from ..errors import InvalidArgumentError
        raise InvalidArgumentError(None, None, "Input is not invertible.") from None
    return EagerTensor(out.astype(a.dtype), t.dtype)


def matrix_determinant(input, name=None):
    (t,) = _host_values("tf.linalg.det", input)
    _square_matrices("tf.linalg.det", t)
    a = np.asarray(t.numpy())
    return EagerTensor(np.asarray(np.linalg.det(a)).astype(a.dtype), t.dtype)


def matrix_solve(matrix, rhs, adjoint=False, name=None):
    m, r = _host_values("tf.linalg.solve", matrix, rhs)
    _square_matrices("tf.linalg.solve", m)
    a, b = np.asarray(m.numpy()), np.asarray(r.numpy())
    if adjoint:
        a = np.swapaxes(a, -1, -2)
    try:
        out = np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        from ..errors import InvalidArgumentError
        raise InvalidArgumentError(None, None, "Input matrix is not invertible.") from None
    return EagerTensor(out.astype(a.dtype), m.dtype)


# ----------------------------------------------------------------------- segment reductions
def _segment_onehot(data, segment_ids, num_segments):
    """data flattened to [N, rest...] and a [N, S] bool membership matrix."""
    data = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids)
    k = ids.shape.rank
    if k is None:
        raise ValueError("segment ops: segment_ids must have a known rank")
    rest = data.shape.as_list()[k:]
    flat = array_ops.reshape(data, [-1] + rest) if k != 1 else data
    flat_ids = array_ops.reshape(ids, [-1]) if k != 1 else ids
    member = math_ops.equal(array_ops.expand_dims(flat_ids, 1),
                            math_ops.range(num_segments, dtype=flat_ids.dtype))
    return flat, member, len(rest)


def _num_sorted_segments(op_name, segment_ids):
    ids = array_ops.get_static_value(convert_to_tensor(segment_ids))
    if ids is None:
        raise ValueError(f"{op_name}: segment_ids must be known while building the graph (they fix the output "
                         f"size); use the unsorted_segment_* op with num_segments")
    ids = np.asarray(ids).ravel()
    if ids.size and np.any(np.diff(ids) < 0):
        raise ValueError(f"{op_name}: segment_ids must be sorted")
    return int(ids.max()) + 1 if ids.size else 0


def _masked_reduce(data, segment_ids, num_segments, kind):
    flat, member, n_rest = _segment_onehot(data, segment_ids, int(num_segments))
    m = array_ops.reshape(member, member.shape.as_list() + [1] * n_rest)       # [N, S, 1...]
    x = array_ops.expand_dims(flat, 1)                                          # [N, 1, rest...]
    np_dt = flat.dtype.np
    if kind == "max":
        fill = np.finfo(np_dt).min if flat.dtype.is_floating else np.iinfo(np_dt).min
    elif kind == "min":
        fill = np.finfo(np_dt).max if flat.dtype.is_floating else np.iinfo(np_dt).max
    else:
        fill = 1
    filled = array_ops.where(m, x, array_ops.constant(np.asarray(fill, np_dt)))      # [N, S, rest...]
    reduce = {"max": math_ops.reduce_max, "min": math_ops.reduce_min, "prod": math_ops.reduce_prod}[kind]
    return reduce(filled, axis=0), math_ops.reduce_any(member, axis=0)


def unsorted_segment_max(data, segment_ids, num_segments, name=None):
    """Empty segments hold the dtype's lowest value (TF)."""
    return _masked_reduce(data, segment_ids, num_segments, "max")[0]


def unsorted_segment_min(data, segment_ids, num_segments, name=None):
    """Empty segments hold the dtype's largest value (TF)."""
    return _masked_reduce(data, segment_ids, num_segments, "min")[0]


def unsorted_segment_prod(data, segment_ids, num_segments, name=None):
    return _masked_reduce(data, segment_ids, num_segments, "prod")[0]


def _counts(data, segment_ids, num_segments):
    data = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids)
    ones = array_ops.ones_like(ids, dtype=data.dtype)
    c = array_ops.unsorted_segment_sum(ones, ids, num_segments)
    return array_ops.reshape(c, c.shape.as_list() + [1] * (data.shape.rank - ids.shape.rank))


def unsorted_segment_mean(data, segment_ids, num_segments, name=None):
    """Sum / count; empty segments give 0 (TF)."""
    data = convert_to_tensor(data)
    s = array_ops.unsorted_segment_sum(data, segment_ids, num_segments)
    return s / math_ops.maximum(_counts(data, segment_ids, num_segments), array_ops.ones([], data.dtype))


def unsorted_segment_sqrt_n(data, segment_ids, num_segments, name=None):
    data = convert_to_tensor(data)
    s = array_ops.unsorted_segment_sum(data, segment_ids, num_segments)
    return s / math_ops.sqrt(math_ops.maximum(_counts(data, segment_ids, num_segments), array_ops.ones([], data.dtype)))


def _sorted(fn_unsorted, empty_zero):
    def op(data, segment_ids, name=None):
        n = _num_sorted_segments(f"tf.math.{fn_unsorted.__name__.replace('unsorted_', '')}", segment_ids)
        out, present = (_masked_reduce(data, segment_ids, n, fn_unsorted.__name__.rsplit("_", 1)[1])
                        if empty_zero else (fn_unsorted(data, segment_ids, n), None))
        if present is None:
            return out
        present = array_ops.reshape(present, present.shape.as_list() + [1] * (out.shape.rank - 1))
        return array_ops.where(present, out, array_ops.zeros_like(out))
    op.__name__ = fn_unsorted.__name__.replace("unsorted_", "")
    return op


segment_max = _sorted(unsorted_segment_max, True)     # empty segments of the sorted ops give 0 (TF)
segment_min = _sorted(unsorted_segment_min, True)
segment_prod = _sorted(unsorted_segment_prod, False)
segment_mean = _sorted(unsorted_segment_mean, False)


# ----------------------------------------------------------------------- tensor scatters
def tensor_scatter_nd_add(tensor, indices, updates, name=None):
    t = convert_to_tensor(tensor)
    return t + array_ops.scatter_nd(indices, math_ops.cast(updates, t.dtype), t.shape.as_list())


def tensor_scatter_nd_sub(tensor, indices, updates, name=None):
    t = convert_to_tensor(tensor)
    return t - array_ops.scatter_nd(indices, math_ops.cast(updates, t.dtype), t.shape.as_list())


def _hit_mask(t, indices, updates):
    u = convert_to_tensor(updates)
    hits = array_ops.scatter_nd(indices, array_ops.ones_like(u, dtype=dt.int32), t.shape.as_list())
    return math_ops.greater(hits, 0), hits


def _unique_indices(op_name, indices):
    idx = array_ops.get_static_value(convert_to_tensor(indices))
    if idx is None:
        raise NotImplementedError(f"{op_name}: fuseflow needs indices known while building the graph")
    idx = np.asarray(idx)
    rows = idx.reshape(-1, idx.shape[-1]) if idx.ndim else idx.reshape(1, 1)
    if len({tuple(r) for r in rows.tolist()}) != len(rows):
        raise NotImplementedError(f"{op_name}: repeated indices are not supported by fuseflow")


def tensor_scatter_nd_update(tensor, indices, updates, name=None):
    """`tensor` with the slices at `indices` replaced by `updates` (indices must be distinct)."""
    t = convert_to_tensor(tensor)
    _unique_indices("tf.tensor_scatter_nd_update", indices)
    hit, _ = _hit_mask(t, indices, updates)
    new = array_ops.scatter_nd(indices, math_ops.cast(updates, t.dtype), t.shape.as_list())
    return array_ops.where(hit, new, t)


def _scatter_extreme(op_name, pick, tensor, indices, updates):
    t = convert_to_tensor(tensor)
    _unique_indices(op_name, indices)
    hit, _ = _hit_mask(t, indices, updates)
    new = array_ops.scatter_nd(indices, math_ops.cast(updates, t.dtype), t.shape.as_list())
    return array_ops.where(hit, pick(t, new), t)


def tensor_scatter_nd_max(tensor, indices, updates, name=None):
    return _scatter_extreme("tf.tensor_scatter_nd_max", math_ops.maximum, tensor, indices, updates)


def tensor_scatter_nd_min(tensor, indices, updates, name=None):
    return _scatter_extreme("tf.tensor_scatter_nd_min", math_ops.minimum, tensor, indices, updates)


# ----------------------------------------------------------------------- random
def random_shuffle(value, seed=None, name=None):
    """A uniformly random permutation along axis 0 (the order of sorted uniform keys)."""
    v = convert_to_tensor(value)
    if v.shape.rank == 0:
        raise ValueError("tf.random.shuffle: value must be at least 1-D")
    keys = random_ops.uniform(array_ops.shape(v)[:1], seed=seed)
    return array_ops.gather(v, math_ops.argsort(keys))


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """Samples class indices by the Gumbel-max trick: argmax(logits + Gumbel noise)."""
    lg = convert_to_tensor(logits)
    if lg.shape.rank != 2:
        raise ValueError(f"tf.random.categorical: logits must be 2-D [batch, classes], got {lg.shape}")
    out_dtype = dt.as_dtype(dtype or dt.int64)
    lg = math_ops.cast(lg, dt.float32)
    shape = array_ops.stack([array_ops.shape(lg)[0], int(num_samples), array_ops.shape(lg)[1]])
    u = random_ops.uniform(shape, minval=np.finfo(np.float32).tiny, maxval=1.0, seed=seed)
    gumbel = -math_ops.log(-math_ops.log(u))
    return math_ops.argmax(array_ops.expand_dims(lg, 1) + gumbel, axis=-1, output_type=out_dtype)


# ----------------------------------------------------------------------- batched gather_nd
def gather_nd_batched(params, indices, batch_dims):
    """gather_nd with leading batch dims: each index row gets its batch coordinates prepended, then
    a plain gather_nd picks the elements (TF's definition of batch_dims)."""
    p = convert_to_tensor(params)
    idx = convert_to_tensor(indices)
    n = int(batch_dims)
    shape = idx.shape.as_list() if idx.shape.rank is not None else None
    if shape is None or None in shape:
        raise NotImplementedError("tf.gather_nd with batch_dims needs indices of a static shape in fuseflow")
    if n < 0 or n >= len(shape):
        raise ValueError(f"tf.gather_nd: batch_dims={n} must be in [0, rank(indices) - 1]")
    if p.shape.as_list()[:n] != shape[:n]:
        raise ValueError(f"tf.gather_nd: batch dimensions differ: params {p.shape} vs indices {idx.shape}")
    lead = shape[:-1]
    coords = []
    for j in range(n):
        r = math_ops.range(shape[j], dtype=idx.dtype)
        r = array_ops.reshape(r, [1] * j + [shape[j]] + [1] * (len(lead) - j - 1) + [1])
        coords.append(array_ops.broadcast_to(r, lead + [1]))
    return array_ops.gather_nd(p, array_ops.concat(coords + [idx], axis=-1))


# ----------------------------------------------------------------------- tf.random.Generator
class Generator:
    """A seeded stream of random numbers: each draw is a stateless draw keyed by (seed, counter),
    and the counter advances, so one seed gives one reproducible sequence (not TF's Philox
    numbers). Draws are eager-only: inside fuseflow.function the counter could not advance."""

    def __init__(self, seed: int, counter: int = 0):
        self._seed = int(seed) & 0x7FFFFFFF
        self._counter = int(counter)

    @classmethod
    def from_seed(cls, seed, alg=None):
        return cls(int(np.asarray(seed)))

    @classmethod
    def from_non_deterministic_state(cls, alg=None):
        return cls(int(np.random.SeedSequence().entropy % (2 ** 31)))

    def reset_from_seed(self, seed):
        self._seed, self._counter = int(np.asarray(seed)) & 0x7FFFFFFF, 0

    def _next_seed(self, what):
        from ..graph import graph_is_active
        if graph_is_active():
            raise NeedsEagerExecution(f"tf.random.Generator.{what}",
                                      f"tf.random.Generator.{what} cannot be compiled into a graph by fuseflow (the "
                                      f"generator's state cannot advance there); draw eagerly")
        seed = [self._seed, self._counter]
        self._counter += 1
        return seed

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=dt.float32, name=None):
        return random_ops.stateless_random_normal(shape, self._next_seed("normal"), mean, stddev, dtype)

    def uniform(self, shape, minval=0, maxval=None, dtype=dt.float32, name=None):
        return random_ops.stateless_random_uniform(shape, self._next_seed("uniform"), minval, maxval, dtype)

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=dt.float32, name=None):
        return random_ops.stateless_truncated_normal(shape, self._next_seed("truncated_normal"), mean, stddev,
                                                     dtype)

    def make_seeds(self, count=1):
        draws = self.uniform([2, count], minval=0, maxval=2 ** 31 - 1, dtype=dt.int64)
        return draws

    def split(self, count=1):
        return [Generator(int(s)) for s in np.asarray(self.uniform([count], 0, 2 ** 31 - 1, dt.int64).numpy())]


_global_generator = []


def get_global_generator():
    if not _global_generator:
        _global_generator.append(Generator.from_non_deterministic_state())
    return _global_generator[0]


def set_global_generator(generator):
    _global_generator[:] = [generator]


# ----------------------------------------------------------------------- tf.py_function
def py_function(func, inp, Tout, name=None):  # noqa: N803 - TF's argument name
    """Calls `func` on eager tensors: at once in eager code, when the graph runs otherwise."""
    from ..data import _eager_values
    from ..script_ops import py_func
    if tracing_function():
        raise NeedsEagerExecution("tf.py_function", "tf.py_function cannot be compiled by fuseflow (compiled "
                                                    "programs cannot call back into Python)")

    def call(*arrays):
        with _eager_values():
            result = func(*[convert_to_tensor(a) for a in arrays])
        unwrap = (lambda r: r._value if isinstance(r, EagerTensor) else r)
        return [unwrap(r) for r in result] if isinstance(result, (list, tuple)) else unwrap(result)
    return py_func(call, inp, Tout, name=name or "EagerPyFunc")


# ----------------------------------------------------------------------- small compositions
def polyval(coeffs, x, name=None):
    """coeffs[0] * x^(n-1) + ... + coeffs[n-1], by Horner's rule (TF's order of evaluation)."""
    x = convert_to_tensor(x)
    if not isinstance(coeffs, (list, tuple)):
        raise ValueError(f"Argument coeffs must be list type found {type(coeffs)}.")
    if not coeffs:
        return array_ops.zeros_like(x)
    out = convert_to_tensor(coeffs[0], dtype=x.dtype)
    for c in coeffs[1:]:
        out = out * x + convert_to_tensor(c, dtype=x.dtype)
    return out * array_ops.ones_like(x) if out.shape.rank == 0 and x.shape.rank else out


def cross(a, b, name=None):
    """Pairwise cross product of vectors along the last axis (size 3)."""
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    if a.shape.rank is None or a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError(f"tf.linalg.cross: the last dimension must be 3, got {a.shape} and {b.shape}")
    a0, a1, a2 = array_ops.unstack(a, axis=-1)
    b0, b1, b2 = array_ops.unstack(b, axis=-1)
    return array_ops.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def searchsorted(sorted_sequence, values, side="left", out_type=dt.int32, name=None):
    """For each value, the index where it would be inserted into the sorted innermost dimension:
    the count of entries < value ('left') or <= value ('right')."""
    seq, vals = convert_to_tensor(sorted_sequence), convert_to_tensor(values)
    if side not in ("left", "right"):
        raise ValueError(f"side must be either 'right' or 'left'.  Saw: {side}.")
    if seq.shape.rank is None or vals.shape.rank != seq.shape.rank:
        raise ValueError("tf.searchsorted: sorted_sequence and values must have the same rank")
    s = array_ops.expand_dims(seq, -2)                   # [..., 1, N]
    v = array_ops.expand_dims(vals, -1)                  # [..., M, 1]
    hit = math_ops.less(s, v) if side == "left" else math_ops.less_equal(s, v)
    return math_ops.cast(math_ops.reduce_sum(math_ops.cast(hit, dt.int64), axis=-1), out_type)


def histogram_fixed_width(values, value_range, nbins=100, dtype=dt.int32, name=None):
    """Counts of `values` in `nbins` equal bins over value_range (values outside go to the end bins)."""
    v = array_ops.reshape(convert_to_tensor(values), [-1])
    rng = math_ops.cast(convert_to_tensor(value_range), v.dtype)
    lo, hi = rng[0], rng[1]
    n = int(nbins)
    scaled = (v - lo) / (hi - lo)
    idx = math_ops.cast(math_ops.floor(scaled * float(n)), dt.int32)
    idx = math_ops.minimum(math_ops.maximum(idx, 0), n - 1)
    counts = math_ops.reduce_sum(array_ops.one_hot(idx, n, dtype=dt.int32), axis=0)
    return math_ops.cast(counts, dtype)


# ----------------------------------------------------------------------- einsum front end
def einsum(equation, *inputs, **kwargs):
    """tf.einsum: '...' is spelled out with fresh letters and an index repeated within one operand
    ('ii', 'bii->bi') becomes that operand's diagonal; the rest is math_ops.einsum."""
    name = kwargs.pop("name", None)
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
        inputs = tuple(inputs[0])
    ts = [convert_to_tensor(t) for t in inputs]
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ts):
        raise ValueError(f"einsum: equation {equation!r} names {len(terms)} operands, got {len(ts)}")
    if "..." in eq:
        free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in eq]
        ranks = []
        for term, t in zip(terms, ts):
            if "..." in term:
                if t.shape.rank is None:
                    raise ValueError("einsum: operands with '...' need a known rank")
                ranks.append(t.shape.rank - (len(term) - 3))
        width = max(ranks) if ranks else 0
        ell = "".join(free[:width])
        terms = [term.replace("...", ell[width - (t.shape.rank - (len(term) - 3)):]) if "..." in term else term
                 for term, t in zip(terms, ts)]
        if arrow:
            out = out.replace("...", ell)
        else:
            counts = {}
            for c in "".join(terms):
                counts[c] = counts.get(c, 0) + 1
            out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
            arrow = "->"
    if not arrow:
        counts = {}
        for c in "".join(terms):
            counts[c] = counts.get(c, 0) + 1
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    new_terms, new_ts = [], []
    for term, t in zip(terms, ts):
        while len(set(term)) != len(term):
            c = next(ch for ch in term if term.count(ch) > 1)
            i = term.index(c)
            j = term.index(c, i + 1)
            if t.shape[i] is not None and t.shape[j] is not None and t.shape[i] != t.shape[j]:
                raise ValueError(f"einsum: repeated index {c!r} has different sizes in {term!r}: {t.shape}")
            rest = [k for k in range(len(term)) if k not in (i, j)]
            t = array_ops.transpose(t, rest + [i, j])
            from ..array_ops import matrix_diag_part
            t = matrix_diag_part(t)
            term = "".join(term[k] for k in rest) + c
        new_terms.append(term)
        new_ts.append(t)
    return math_ops.einsum(",".join(new_terms) + "->" + out, *new_ts, name=name)


# ----------------------------------------------------------------------- more tf.math / tf.nn
def reciprocal_no_nan(x, name=None):
    x = convert_to_tensor(x)
    return math_ops.div_no_nan(array_ops.ones_like(x), x)


def xlog1py(x, y, name=None):
    """x * log1p(y), 0 where x == 0."""
    x, y = convert_to_tensor(x), convert_to_tensor(y)
    return array_ops.where(math_ops.equal(x, 0), array_ops.zeros_like(x * y), x * math_ops.log1p(y))


def is_non_decreasing(x, name=None):
    x = array_ops.reshape(convert_to_tensor(x), [-1])
    return math_ops.reduce_all(math_ops.less_equal(x[:-1], x[1:]))


def is_strictly_increasing(x, name=None):
    x = array_ops.reshape(convert_to_tensor(x), [-1])
    return math_ops.reduce_all(math_ops.less(x[:-1], x[1:]))


def invert_permutation(x, name=None):
    """y[x[i]] = i."""
    x = convert_to_tensor(x)
    n = x.shape[0]
    if n is None:
        raise ValueError("tf.math.invert_permutation: the length must be known")
    return array_ops.scatter_nd(array_ops.expand_dims(x, 1), math_ops.range(n, dtype=x.dtype), [n])


def cumulative_logsumexp(x, axis=0, exclusive=False, reverse=False, name=None):
    """log(cumsum(exp(x))) computed around the maximum along `axis` for stability."""
    x = convert_to_tensor(x)
    m = array_ops.stop_gradient(math_ops.reduce_max(x, axis=axis, keepdims=True))
    s = math_ops.cumsum(math_ops.exp(x - m), axis=axis, exclusive=exclusive, reverse=reverse)
    return math_ops.log(s) + m


def normalize(tensor, ord="euclidean", axis=None, name=None):
    """(tensor / norm, norm) with the norm kept as a broadcastable dimension (tf.linalg.normalize)."""
    t = convert_to_tensor(tensor)
    n = math_ops.norm(t, ord=ord, axis=axis, keepdims=True)
    return t / n, n


def sufficient_statistics(x, axes, shift=None, keepdims=False, name=None):
    x = convert_to_tensor(x)
    axes = [axes] if isinstance(axes, int) else list(axes)
    counts = 1
    for a in axes:
        counts *= x.shape[a]
    count = convert_to_tensor(np.asarray(counts, x.dtype.np))
    m_ss = math_ops.reduce_sum(x if shift is None else x - shift, axis=axes, keepdims=keepdims)
    v_ss = math_ops.reduce_sum(math_ops.square(x if shift is None else x - shift), axis=axes, keepdims=keepdims)
    return count, m_ss, v_ss, shift


def normalize_moments(counts, mean_ss, variance_ss, shift, name=None):
    divisor = math_ops.reciprocal(convert_to_tensor(counts))
    shifted_mean = mean_ss * divisor
    mean = shifted_mean + shift if shift is not None else shifted_mean
    variance = variance_ss * divisor - math_ops.square(shifted_mean)
    return mean, variance


def weighted_moments(x, axes, frequency_weights, keepdims=False, name=None):
    """Frequency-weighted mean and variance over `axes` (TF's formula)."""
    x = convert_to_tensor(x)
    w = math_ops.cast(convert_to_tensor(frequency_weights), x.dtype)
    axes = [axes] if isinstance(axes, int) else list(axes)
    weighted_sum = math_ops.reduce_sum(w * x, axis=axes, keepdims=True)
    sum_w = math_ops.reduce_sum(w * array_ops.ones_like(x), axis=axes, keepdims=True)
    mean = math_ops.div_no_nan(weighted_sum, sum_w)
    var = math_ops.div_no_nan(math_ops.reduce_sum(w * math_ops.squared_difference(x, mean), axis=axes,
                                                     keepdims=True), sum_w)
    if not keepdims:
        mean, var = array_ops.squeeze(mean, axes), array_ops.squeeze(var, axes)
    return mean, var


def convolution(input, filters, strides=None, padding="VALID", data_format=None, dilations=None, name=None):
    """tf.nn.convolution for 1-D and 2-D inputs (NWC / NHWC)."""
    from .. import nn_ops
    x = convert_to_tensor(input)
    if x.shape.rank == 3:
        return nn_ops.conv1d(x, filters, stride=strides or 1, padding=padding, data_format=data_format or "NWC",
                             dilations=dilations)
    if x.shape.rank == 4:
        return nn_ops.conv2d(x, filters, strides=strides or 1, padding=padding, data_format=data_format or "NHWC",
                             dilations=dilations)
    raise NotImplementedError(f"tf.nn.convolution: {x.shape.rank - 2}-D convolutions are not supported by "
                              f"fuseflow (1-D and 2-D are)")


def conv_transpose(input, filters, output_shape, strides, padding="SAME", data_format=None, dilations=None,
                   name=None):
    from .. import nn_ops
    x = convert_to_tensor(input)
    if x.shape.rank != 4:
        raise NotImplementedError("tf.nn.conv_transpose: only 2-D (NHWC) transposed convolutions are supported by "
                                  "fuseflow")
    return nn_ops.conv2d_transpose(x, filters, output_shape, strides, padding=padding,
                                   data_format=data_format or "NHWC", dilations=dilations)


def pool(input, window_shape, pooling_type, strides=None, padding="VALID", data_format=None, dilations=None,
         name=None):
    """tf.nn.pool for 1-D and 2-D windows ('MAX' or 'AVG'), without dilation."""
    from .. import nn_ops
    if dilations is not None and any(int(d) != 1 for d in np.ravel(dilations)):
        raise NotImplementedError("tf.nn.pool: dilated pooling is not supported by fuseflow")
    window = list(np.ravel(window_shape).astype(int))
    stride = list(np.ravel(strides).astype(int)) if strides is not None else [1] * len(window)
    kind = str(pooling_type).upper()
    if kind not in ("MAX", "AVG"):
        raise ValueError(f"tf.nn.pool: pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}")
    if len(window) == 2:
        fn = nn_ops.max_pool2d if kind == "MAX" else nn_ops.avg_pool2d
        return fn(input, window, stride, padding)
    if len(window) == 1:
        from .nn import avg_pool1d, max_pool1d
        return (max_pool1d if kind == "MAX" else avg_pool1d)(input, window, stride, padding)
    raise NotImplementedError(f"tf.nn.pool: {len(window)}-D pooling is not supported by fuseflow")


# ----------------------------------------------------------------------- host-only decompositions
def _host_unary(op_name, fn):
    def op(input, *args, **kwargs):
        (t,) = _host_values(op_name, input)
        if not t.dtype.is_floating:
            raise TypeError(f"{op_name}: expected a float tensor, got {t.dtype.name}")
        a = np.asarray(t.numpy())
        out = fn(a, *args, **{k: v for k, v in kwargs.items() if k != "name"})
        if isinstance(out, tuple):
            return tuple(EagerTensor(np.asarray(o).astype(a.dtype), t.dtype) for o in out)
        return EagerTensor(np.asarray(out).astype(a.dtype), t.dtype)
    op.__name__ = op_name.rsplit(".", 1)[-1]
    return op


def _svd(a, full_matrices=False, compute_uv=True):
    if not compute_uv:
        return np.linalg.svd(a, compute_uv=False)
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return s, u, np.swapaxes(vh, -1, -2)          # TF returns (s, u, v) with a = u diag(s) v^T


def _slogdet(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign, logdet


cholesky = _host_unary("tf.linalg.cholesky", np.linalg.cholesky)
qr = _host_unary("tf.linalg.qr", lambda a, full_matrices=False: np.linalg.qr(a, mode="complete" if full_matrices
                                                                                  else "reduced"))
svd = _host_unary("tf.linalg.svd", _svd)
eigh = _host_unary("tf.linalg.eigh", np.linalg.eigh)
eigvalsh = _host_unary("tf.linalg.eigvalsh", np.linalg.eigvalsh)
slogdet = _host_unary("tf.linalg.slogdet", _slogdet)
logdet = _host_unary("tf.linalg.logdet", lambda a: np.linalg.slogdet(a)[1])
pinv = _host_unary("tf.linalg.pinv", lambda a, rcond=None: np.linalg.pinv(a) if rcond is None
                   else np.linalg.pinv(a, rcond=rcond))
