"""`tf.data`: a host-side input pipeline.

A `Dataset` is a re-iterable description of a stream of elements; each element is a nested
structure (tuples, dicts, namedtuples) of numpy arrays internally and of EagerTensors when
iterated. Transformations (batch, shuffle, map, repeat, ...) are small generator-producing
classes; `map` calls the user's function on EagerTensors (a `fuseflow.function` passed to
it runs compiled). As in TF, Python lists inside elements are tensors, not structure.
"""
from __future__ import annotations

import itertools
from typing import Callable, Optional

import numpy as np

from . import nest
from .tensor import EagerTensor, Tensor, TensorShape

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


# ------------------------------------------------------------------------------ element helpers


def _to_numpy(x) -> np.ndarray:
    """A leaf value as a numpy array, with TF's conversion rules for Python values."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, EagerTensor):
        return np.asarray(x._value)
    if isinstance(x, Tensor):
        raise TypeError("tf.data runs on the host: build datasets from concrete values, not symbolic "
                        f"tensors ({x.name})")
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    if hasattr(x, "read_value"):
        return np.asarray(x.read_value())
    from .core import convert_to_tensor
    with _eager_values():          # a Python value converts to a value, not a graph constant
        return np.asarray(convert_to_tensor(x)._value)


def _structure(value):
    """Normalize an element: tuples/dicts/namedtuples stay structure, everything else is a leaf array."""
    if isinstance(value, dict):
        return type(value)((k, _structure(v)) for k, v in value.items()) if type(value) is not dict else \
            {k: _structure(v) for k, v in value.items()}
    if isinstance(value, tuple):
        items = [_structure(v) for v in value]
        return type(value)(*items) if hasattr(type(value), "_fields") else tuple(items)
    return _to_numpy(value)


def _map_leaves(fn, structure):
    return nest.map_structure(fn, structure) if nest.is_nested(structure) else fn(structure)


def _to_eager(structure):
    return _map_leaves(lambda a: EagerTensor(np.asarray(a), _dtype_of(a)), structure)


def _dtype_of(arr: np.ndarray):
    from fuseflow.compiler import dtypes as dt
    arr = np.asarray(arr)
    return dt.string if arr.dtype == object else dt.from_numpy(arr.dtype)


def _spec_of(structure, batch_dim=False):
    from .function import TensorSpec
    return _map_leaves(lambda a: TensorSpec(np.shape(a), _dtype_of(a)), structure)


def _row(a: np.ndarray, i: int) -> np.ndarray:
    """a[i] as an array (indexing a 1-D object array gives the bare element)."""
    v = a[i]
    return v if isinstance(v, np.ndarray) else np.asarray(v, dtype=a.dtype)


def _call(fn, element):
    """TF's calling convention for map/filter/flat_map: tuples are unpacked into arguments.
    The function runs eagerly on the element's values even in TF1 graph mode (where the
    pipeline is driven by a Session host op), so its ops compute instead of recording."""
    args = _to_eager(element)
    with _eager_values():
        if isinstance(element, tuple) and not hasattr(type(element), "_fields"):
            return fn(*args)
        return fn(args)


class _eager_values:
    """Temporarily execute eagerly: no default graph, eager mode on (restored on exit)."""

    def __enter__(self):
        from . import context, graph
        self._eager = context._state["eager"]
        self._stack = list(graph._graph_stack)
        context._state["eager"] = True
        graph._graph_stack.clear()

    def __exit__(self, *exc):
        from . import context, graph
        context._state["eager"] = self._eager
        graph._graph_stack[:] = self._stack
        return False


# ------------------------------------------------------------------------------ Dataset


class Dataset:
    """Base class: subclasses implement `_iterate(epoch)` yielding numpy-structured elements."""

    # -- iteration ------------------------------------------------------------------------
    def _iterate(self, epoch: int):
        raise TypeError(f"{type(self).__name__} does not produce elements")

    def _elements(self):
        epoch = self._epochs = getattr(self, "_epochs", -1) + 1
        return self._iterate(epoch)

    def __iter__(self):
        if _graph_mode():
            raise RuntimeError("`iter(dataset)` is only supported in eager mode (TF1 code: feed batches "
                               "from `dataset.as_numpy_iterator()` into placeholders)")
        return OwnedIterator(self)

    def as_numpy_iterator(self):
        return NumpyIterator(self)

    def __bool__(self):
        return True

    def __len__(self):
        n = self.cardinality_value()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return n

    def cardinality_value(self) -> int:
        return UNKNOWN_CARDINALITY

    def cardinality(self):
        return EagerTensor(np.asarray(self.cardinality_value(), np.int64))

    @property
    def element_spec(self):
        for el in self._iterate(0):
            return _spec_of(el)
        raise ValueError("element_spec of an empty dataset with an unknown structure")

    # -- sources --------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors, name=None) -> "Dataset":
        if _has_symbolic(tensors):
            return _FedSource(tensors, slices=True)
        return _TensorSlices(tensors)

    @staticmethod
    def from_tensors(tensors, name=None) -> "Dataset":
        if _has_symbolic(tensors):
            return _FedSource(tensors, slices=False)
        return _Tensors(tensors)

    @staticmethod
    def range(*args, dtype=None, name=None) -> "Dataset":
        return _Range(*args, dtype=dtype)

    @staticmethod
    def zip(*datasets, name=None) -> "Dataset":
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, dict)):
            datasets = datasets[0]
        return _Zip(datasets)

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None, output_signature=None,
                       name=None) -> "Dataset":
        return _Generator(generator, args or (), output_signature, output_types)

    @staticmethod
    def list_files(file_pattern, shuffle=None, seed=None, name=None) -> "Dataset":
        return _list_files(file_pattern, shuffle=shuffle, seed=seed)

    # -- transformations ------------------------------------------------------------------
    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None,
              name=None) -> "Dataset":
        return _Batch(self, int(batch_size), bool(drop_remainder))

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False,
                     name=None) -> "Dataset":
        return _Batch(self, int(batch_size), bool(drop_remainder), padded=True, padded_shapes=padded_shapes,
                      padding_values=padding_values)

    def unbatch(self, name=None) -> "Dataset":
        return _Unbatch(self)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None) -> "Dataset":
        return _Shuffle(self, int(buffer_size), seed, bool(reshuffle_each_iteration))

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None) -> "Dataset":
        return _Map(self, map_func)

    def filter(self, predicate, name=None) -> "Dataset":
        return _Filter(self, predicate)

    def flat_map(self, map_func, name=None) -> "Dataset":
        return _FlatMap(self, map_func)

    def repeat(self, count=None, name=None) -> "Dataset":
        return _Repeat(self, None if count is None or int(count) < 0 else int(count))

    def take(self, count, name=None) -> "Dataset":
        return _Take(self, int(count))

    def skip(self, count, name=None) -> "Dataset":
        return _Skip(self, int(count))

    def prefetch(self, buffer_size, name=None) -> "Dataset":
        return self  # elements are produced on demand on the host; there is nothing to overlap

    def cache(self, filename="", name=None) -> "Dataset":
        return _Cache(self)

    def concatenate(self, dataset, name=None) -> "Dataset":
        return _Concat(self, dataset)

    def enumerate(self, start=0, name=None) -> "Dataset":
        return _Zip((_Range(int(start), None, dtype="int64"), self))

    def apply(self, transformation_func) -> "Dataset":
        return transformation_func(self)

    def take_while(self, predicate, name=None) -> "Dataset":
        return _TakeWhile(self, predicate)

    def shard(self, num_shards, index, name=None) -> "Dataset":
        n, i = int(num_shards), int(index)
        if n <= 0 or not 0 <= i < n:
            raise ValueError(f"shard: num_shards must be positive and 0 <= index < num_shards (got {n}, {i})")
        return _Zip((_Range(0, None, dtype="int64"), self)).filter(lambda k, el: tf_equal_mod(k, n, i)) \
            .map(lambda k, el: el)

    def interleave(self, map_func, cycle_length=None, block_length=None, num_parallel_calls=None,
                   deterministic=None, name=None) -> "Dataset":
        return _Interleave(self, map_func, cycle_length, block_length)

    def with_options(self, options, name=None) -> "Dataset":
        return self

    def options(self):
        return Options()

    def reduce(self, initial_state, reduce_func):
        state = _to_eager(_structure(initial_state))
        for el in self._elements():
            args = _to_eager(el)
            state = reduce_func(state, *args) if isinstance(el, tuple) else reduce_func(state, args)
        return state

    # -- TF1 iterators ------------------------------------------------------------------
    def make_one_shot_iterator(self):
        return make_one_shot_iterator(self)

    def make_initializable_iterator(self, shared_name=None):
        return make_initializable_iterator(self)

    def __repr__(self):
        try:
            spec = self.element_spec
        except (ValueError, TypeError):
            spec = "?"
        return f"<{type(self).__name__.lstrip('_')}Dataset element_spec={spec}>"


def _graph_mode() -> bool:
    from .graph import graph_is_active
    return graph_is_active()


class Options:
    """`tf.data.Options`: accepted and ignored (there is one host thread producing elements)."""

    def __init__(self):
        self.experimental_deterministic = True
        self.deterministic = True


class OwnedIterator:
    """`iter(dataset)`: yields elements as EagerTensors; `get_next()` / `next()` as in TF."""

    def __init__(self, dataset: Dataset):
        self._it = dataset._elements()
        self.element_spec = None

    def __iter__(self):
        return self

    def __next__(self):
        return _to_eager(next(self._it))

    def get_next(self):
        return next(self)

    def get_next_as_optional(self):
        raise TypeError("Iterator.get_next_as_optional is not supported by fuseflow.data; use next()")

    next = __next__


class NumpyIterator:
    def __init__(self, dataset: Dataset):
        self._it = dataset._elements()

    def __iter__(self):
        return self

    def __next__(self):
        return _map_leaves(lambda a: a.copy() if a.ndim else a[()], next(self._it))

    next = __next__


# ------------------------------------------------------------------------------ sources


class _TensorSlices(Dataset):
    def __init__(self, tensors):
        self._data = _structure(tensors)
        leaves = nest.flatten(self._data)
        if not leaves:
            raise ValueError("from_tensor_slices: the structure has no tensors")
        for a in leaves:
            if a.ndim == 0:
                raise ValueError(f"from_tensor_slices: a component is a scalar (shape []); every component "
                                 f"needs a leading dimension to slice")
        n = leaves[0].shape[0]
        if any(a.shape[0] != n for a in leaves):
            raise ValueError("from_tensor_slices: all components must have the same size in their first "
                             f"dimension, got {[a.shape[0] for a in leaves]}")
        self._n = n

    def _iterate(self, epoch):
        for i in range(self._n):
            yield _map_leaves(lambda a: _row(a, i), self._data)

    def cardinality_value(self):
        return self._n

    @property
    def element_spec(self):
        from .function import TensorSpec
        return _map_leaves(lambda a: TensorSpec(a.shape[1:], _dtype_of(a)), self._data)


class _Tensors(Dataset):
    def __init__(self, tensors):
        self._data = _structure(tensors)

    def _iterate(self, epoch):
        yield self._data

    def cardinality_value(self):
        return 1


class _Range(Dataset):
    def __init__(self, *args, dtype=None):
        if not args or len(args) > 3:
            raise TypeError(f"Dataset.range takes 1 to 3 positional arguments, got {len(args)}")
        vals = [int(np.asarray(_to_numpy(a))) if a is not None else None for a in args]
        if len(vals) == 1:
            self._start, self._stop, self._step = 0, vals[0], 1
        else:
            self._start, self._stop = vals[0], vals[1]
            self._step = vals[2] if len(vals) == 3 else 1
        if self._step == 0:
            raise ValueError("Dataset.range: step must not be 0")
        from fuseflow.compiler import dtypes as dt
        self._np_dtype = dt.as_dtype(dtype).np if dtype is not None else np.int64

    def _iterate(self, epoch):
        counter = itertools.count(self._start, self._step) if self._stop is None else \
            range(self._start, self._stop, self._step)
        for v in counter:
            yield np.asarray(v, dtype=self._np_dtype)

    def cardinality_value(self):
        if self._stop is None:
            return INFINITE_CARDINALITY
        return len(range(self._start, self._stop, self._step))

    @property
    def element_spec(self):
        from .function import TensorSpec
        return TensorSpec([], _dtype_of(np.zeros((), self._np_dtype)))


class _Generator(Dataset):
    def __init__(self, generator, args, signature, output_types):
        self._gen = generator
        self._args = tuple(args)
        self._signature = signature
        self._types = output_types

    def _convert(self, value, spec):
        if spec is None:
            return _structure(value)
        if nest.is_nested(spec):
            flat = [self._convert(v, s) for v, s in zip(nest.flatten(value), nest.flatten(spec))]
            return _structure(nest.pack_sequence_as(spec, flat))
        from fuseflow.compiler import dtypes as dt
        dtype = getattr(spec, "dtype", spec)
        return np.asarray(_to_numpy(value), dtype=dt.as_dtype(dtype).np)

    def _iterate(self, epoch):
        spec = self._signature if self._signature is not None else self._types
        for v in self._gen(*self._args):
            yield self._convert(v, spec)

    @property
    def element_spec(self):
        if self._signature is not None:
            return self._signature
        return super().element_spec


def _filenames(filenames) -> list:
    names = filenames
    if isinstance(names, Dataset):
        names = [v for v in names.as_numpy_iterator()]
    arr = _to_numpy(names) if not isinstance(names, (str, bytes)) else np.asarray(names, dtype=object)
    out = []
    for v in np.ravel(arr).tolist():
        out.append(v.decode("utf-8") if isinstance(v, bytes) else str(v))
    return out


class TFRecordDataset(Dataset):
    """The records (scalar strings) of TFRecord files, file after file."""

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None, name=None):
        self._files = _filenames(filenames)
        self._compression = compression_type

    def _iterate(self, epoch):
        from .tfrecord import iter_records
        for path in self._files:
            for record in iter_records(path, self._compression):
                yield np.asarray(record, dtype=object)

    @property
    def element_spec(self):
        from .function import TensorSpec
        return TensorSpec([], "string")


class TextLineDataset(Dataset):
    """The lines (without line endings) of text files, file after file."""

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None, name=None):
        self._files = _filenames(filenames)
        self._compression = (compression_type or "").upper()

    def _iterate(self, epoch):
        import gzip
        import zlib
        for path in self._files:
            with open(path, "rb") as f:
                raw = f.read()
            if self._compression == "GZIP":
                raw = gzip.decompress(raw)
            elif self._compression == "ZLIB":
                raw = zlib.decompress(raw)
            for line in raw.splitlines():
                yield np.asarray(line, dtype=object)

    @property
    def element_spec(self):
        from .function import TensorSpec
        return TensorSpec([], "string")


def _list_files(file_pattern, shuffle=None, seed=None, name=None) -> Dataset:
    """`Dataset.list_files`: the matching file names (shuffled unless shuffle=False, as in TF)."""
    import glob
    patterns = _filenames(file_pattern)
    files = sorted({f for p in patterns for f in glob.glob(p)})
    if not files:
        raise ValueError(f"No files matched pattern: {', '.join(patterns)}")
    ds = _TensorSlices(np.asarray([f.encode("utf-8") for f in files], dtype=object))
    return ds.shuffle(len(files), seed=seed) if shuffle is None or shuffle else ds


# ------------------------------------------------------------------------------ transformations


class _Unary(Dataset):
    def __init__(self, source: Dataset):
        self._source = source

    def cardinality_value(self):
        return self._source.cardinality_value()


class _Batch(_Unary):
    def __init__(self, source, batch_size, drop_remainder, padded=False, padded_shapes=None,
                 padding_values=None):
        super().__init__(source)
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self._n = batch_size
        self._drop = drop_remainder
        self._padded = padded
        self._padded_shapes = padded_shapes
        self._padding_values = padding_values

    def _stack(self, items):
        if not self._padded:
            try:
                return nest.map_structure(lambda *xs: np.stack(xs), *items) if nest.is_nested(items[0]) \
                    else np.stack(items)
            except ValueError as e:
                raise ValueError(f"Dataset.batch: elements of a batch have different shapes ({e}); use "
                                 f"padded_batch") from None
        flat_items = [nest.flatten(it) for it in items]
        shapes = nest.flatten(self._padded_shapes) if self._padded_shapes is not None else [None] * len(flat_items[0])
        pads = nest.flatten(self._padding_values) if self._padding_values is not None else [None] * len(flat_items[0])
        out = []
        for j in range(len(flat_items[0])):
            comps = [f[j] for f in flat_items]
            target = [max(c.shape[k] for c in comps) for k in range(comps[0].ndim)]
            if shapes[j] is not None:
                target = [t if s is None or s == -1 else int(s) for t, s in zip(target, list(TensorShape(shapes[j])))]
            fill = 0 if pads[j] is None else np.asarray(_to_numpy(pads[j]))
            arr = np.full([len(comps)] + target, fill, dtype=comps[0].dtype)
            for i, c in enumerate(comps):
                arr[(i,) + tuple(slice(0, d) for d in c.shape)] = c
            out.append(arr)
        return nest.pack_sequence_as(items[0], out) if nest.is_nested(items[0]) else out[0]

    def _iterate(self, epoch):
        buf = []
        for el in self._source._iterate(epoch):
            buf.append(el)
            if len(buf) == self._n:
                yield self._stack(buf)
                buf = []
        if buf and not self._drop:
            yield self._stack(buf)

    def cardinality_value(self):
        n = self._source.cardinality_value()
        if n < 0:
            return n
        return n // self._n if self._drop else -(-n // self._n)

    @property
    def element_spec(self):
        from .function import TensorSpec
        batch = self._n if self._drop else None
        inner = self._source.element_spec
        return _map_leaves(lambda s: TensorSpec([batch] + (s.shape.as_list() if s.shape.rank is not None else []),
                                                s.dtype), inner)


class _Unbatch(_Unary):
    def _iterate(self, epoch):
        for el in self._source._iterate(epoch):
            leaves = nest.flatten(el)
            for i in range(leaves[0].shape[0]):
                yield _map_leaves(lambda a: _row(a, i), el)

    def cardinality_value(self):
        return UNKNOWN_CARDINALITY


class _Shuffle(_Unary):
    """TF's buffered shuffle: fill a buffer, emit a random slot, refill that slot from the source."""

    _fresh_seeds = itertools.count(1)

    def __init__(self, source, buffer_size, seed, reshuffle):
        super().__init__(source)
        if buffer_size <= 0 and buffer_size != AUTOTUNE:
            raise ValueError(f"Dataset.shuffle: buffer_size must be positive, got {buffer_size}")
        self._size = buffer_size if buffer_size > 0 else 1024
        self._reshuffle = reshuffle
        self._seed = _shuffle_seed(seed)

    def _iterate(self, epoch):
        rng = np.random.RandomState(np.random.SeedSequence([self._seed, epoch if self._reshuffle else 0])
                                    .generate_state(1)[0])
        buf = []
        for el in self._source._iterate(epoch):
            if len(buf) < self._size:
                buf.append(el)
                continue
            i = rng.randint(len(buf))
            yield buf[i]
            buf[i] = el
        while buf:
            i = rng.randint(len(buf))
            buf[i], buf[-1] = buf[-1], buf[i]
            yield buf.pop()

    @property
    def element_spec(self):
        return self._source.element_spec


def _shuffle_seed(seed) -> int:
    """TF's seed rules: (global seed, op seed) when either is set, else a fresh random seed."""
    from .random_ops import get_seed
    s1, s2 = get_seed(seed)
    if s1 is None:
        return int(np.random.SeedSequence().entropy % (2 ** 31))
    return int(np.random.SeedSequence([s1, s2]).generate_state(1)[0])


class _Map(_Unary):
    def __init__(self, source, fn: Callable):
        super().__init__(source)
        self._fn = fn

    def _iterate(self, epoch):
        for el in self._source._iterate(epoch):
            out = _call(self._fn, el)
            # TF converts a list returned by a map function to a tuple (structure, not one tensor)
            yield _structure(tuple(out) if isinstance(out, list) else out)


class _Filter(_Unary):
    def __init__(self, source, predicate):
        super().__init__(source)
        self._pred = predicate

    def _iterate(self, epoch):
        for el in self._source._iterate(epoch):
            keep = _call(self._pred, el)
            if bool(np.asarray(_to_numpy(keep))):
                yield el

    def cardinality_value(self):
        return UNKNOWN_CARDINALITY

    @property
    def element_spec(self):
        return self._source.element_spec


def tf_equal_mod(k, n, i):
    from .math_ops import equal, floormod
    return equal(floormod(k, n), i)


class _TakeWhile(_Unary):
    def __init__(self, source, predicate):
        super().__init__(source)
        self._pred = predicate

    def _iterate(self, epoch):
        for el in self._source._iterate(epoch):
            if not bool(np.asarray(_to_numpy(_call(self._pred, el)))):
                return
            yield el

    def cardinality_value(self):
        return UNKNOWN_CARDINALITY

    @property
    def element_spec(self):
        return self._source.element_spec


class _Interleave(_Unary):
    """TF's interleave: a cycle of `cycle_length` slots visited in turn, `block_length` elements taken
    from a slot before moving on; an empty slot takes the next input element's dataset when the
    cycle reaches it, and an exhausted one is emptied and skipped (TF's InterleaveDataset order).
    cycle_length=None means the CPU count, as in TF."""

    def __init__(self, source, fn, cycle_length, block_length):
        import os
        super().__init__(source)
        self._fn = fn
        self._cycle = os.cpu_count() or 1 if cycle_length is None or int(cycle_length) < 0 else int(cycle_length)
        self._block = 1 if block_length is None else int(block_length)

    def _iterate(self, epoch):
        outer = self._source._iterate(epoch)
        slots = [None] * self._cycle
        index, block, open_count, end_of_input = 0, 0, 0, False

        def advance():
            return (index + 1) % self._cycle

        while not end_of_input or open_count > 0:
            it = slots[index]
            if it is not None:
                el = next(it, _EXHAUSTED)
                if el is not _EXHAUSTED:
                    block += 1
                    if block == self._block:
                        block, index = 0, advance()
                    yield el
                    continue
                slots[index] = None
                open_count -= 1
                block, index = 0, advance()
            elif not end_of_input:
                el = next(outer, _EXHAUSTED)
                if el is _EXHAUSTED:
                    end_of_input = True
                    continue
                inner = _call(self._fn, el)
                if not isinstance(inner, Dataset):
                    raise TypeError(f"interleave: the function must return a Dataset, got {type(inner).__name__}")
                slots[index] = iter(inner._iterate(epoch))
                open_count += 1
            else:
                block, index = 0, advance()

    def cardinality_value(self):
        return UNKNOWN_CARDINALITY

    @property
    def element_spec(self):
        raise ValueError("interleave: the element_spec of an interleaved dataset is known only by iterating it")


_EXHAUSTED = object()


class _FlatMap(_Unary):
    def __init__(self, source, fn):
        super().__init__(source)
        self._fn = fn

    def _iterate(self, epoch):
        for el in self._source._iterate(epoch):
            inner = _call(self._fn, el)
            if not isinstance(inner, Dataset):
                raise TypeError(f"flat_map: the function must return a Dataset, got {type(inner).__name__}")
            yield from inner._iterate(epoch)

    def cardinality_value(self):
        return UNKNOWN_CARDINALITY


class _Repeat(_Unary):
    def __init__(self, source, count: Optional[int]):
        super().__init__(source)
        self._count = count

    def _iterate(self, epoch):
        rounds = itertools.count() if self._count is None else range(self._count)
        for r in rounds:
            produced = False
            for el in self._source._iterate(epoch * 1000003 + r if self._count != 1 else epoch):
                produced = True
                yield el
            if not produced:
                return

    def cardinality_value(self):
        n = self._source.cardinality_value()
        if self._count is None:
            return 0 if n == 0 else INFINITE_CARDINALITY
        return n * self._count if n >= 0 else n

    @property
    def element_spec(self):
        return self._source.element_spec


class _Take(_Unary):
    def __init__(self, source, count):
        super().__init__(source)
        self._count = count

    def _iterate(self, epoch):
        if self._count < 0:
            yield from self._source._iterate(epoch)
            return
        yield from itertools.islice(self._source._iterate(epoch), self._count)

    def cardinality_value(self):
        n = self._source.cardinality_value()
        if self._count < 0:
            return n
        if n == INFINITE_CARDINALITY:
            return self._count
        return min(n, self._count) if n >= 0 else n

    @property
    def element_spec(self):
        return self._source.element_spec


class _Skip(_Unary):
    def __init__(self, source, count):
        super().__init__(source)
        self._count = count

    def _iterate(self, epoch):
        it = self._source._iterate(epoch)
        if self._count < 0:
            return
        yield from itertools.islice(it, self._count, None)

    def cardinality_value(self):
        n = self._source.cardinality_value()
        if n < 0:
            return n
        return 0 if self._count < 0 else max(0, n - self._count)

    @property
    def element_spec(self):
        return self._source.element_spec


class _Cache(_Unary):
    """Memoizes the first complete pass; later passes replay it (a partial pass is not kept)."""

    def __init__(self, source):
        super().__init__(source)
        self._cached = None

    def _iterate(self, epoch):
        if self._cached is not None:
            yield from self._cached
            return
        items = []
        for el in self._source._iterate(epoch):
            items.append(el)
            yield el
        self._cached = items

    @property
    def element_spec(self):
        return self._source.element_spec


class _Zip(Dataset):
    def __init__(self, datasets):
        self._datasets = datasets
        for d in nest.flatten(datasets) if not isinstance(datasets, dict) else datasets.values():
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip expects datasets, got {type(d).__name__}")

    def _parts(self):
        if isinstance(self._datasets, dict):
            return list(self._datasets.items())
        return list(enumerate(self._datasets))

    def _iterate(self, epoch):
        parts = self._parts()
        iters = [d._iterate(epoch) for _, d in parts]
        for items in zip(*iters):
            if isinstance(self._datasets, dict):
                yield {k: v for (k, _), v in zip(parts, items)}
            else:
                yield tuple(items)

    def cardinality_value(self):
        ns = [d.cardinality_value() for _, d in self._parts()]
        finite = [n for n in ns if n >= 0]
        if finite:
            return min(finite)
        return UNKNOWN_CARDINALITY if UNKNOWN_CARDINALITY in ns else INFINITE_CARDINALITY

    @property
    def element_spec(self):
        if isinstance(self._datasets, dict):
            return {k: d.element_spec for k, d in self._datasets.items()}
        return tuple(d.element_spec for d in self._datasets)


class _Concat(Dataset):
    def __init__(self, a, b):
        self._a, self._b = a, b

    def _iterate(self, epoch):
        yield from self._a._iterate(epoch)
        yield from self._b._iterate(epoch)

    def cardinality_value(self):
        a, b = self._a.cardinality_value(), self._b.cardinality_value()
        if a == INFINITE_CARDINALITY or b == INFINITE_CARDINALITY:
            return INFINITE_CARDINALITY
        if a < 0 or b < 0:
            return UNKNOWN_CARDINALITY
        return a + b

    @property
    def element_spec(self):
        return self._a.element_spec


# ------------------------------------------------------------------------------ tf.data namespace


class _Experimental:
    AUTOTUNE = AUTOTUNE
    INFINITE_CARDINALITY = INFINITE_CARDINALITY
    UNKNOWN_CARDINALITY = UNKNOWN_CARDINALITY

    @staticmethod
    def cardinality(dataset):
        return dataset.cardinality()


experimental = _Experimental()
Iterator = OwnedIterator


# ------------------------------------------------------------------------------ TF1 fed sources
# TF1 builds datasets from placeholders and feeds them when the initializable iterator's
# initializer runs: `sess.run(it.initializer, {x: data})`. The initializer host op receives the
# fed values and binds them (by tensor) while the pipeline produces elements.

_FED: dict = {}          # id(symbolic tensor) -> value bound for the pipeline now running


def _has_symbolic(structure) -> bool:
    return any(isinstance(x, Tensor) for x in nest.flatten(structure))


class _FedSource(Dataset):
    """from_tensor_slices / from_tensors over graph tensors, read when the iterator is initialized."""

    def __init__(self, tensors, slices: bool):
        self._template = tensors
        self._leaves = nest.flatten(tensors)
        self._slices = slices
        self._symbolic = [t for t in self._leaves if isinstance(t, Tensor)]
        for t in self._symbolic:
            if slices and t.shape.ndims == 0:
                raise ValueError("from_tensor_slices: a component is a scalar (shape []); every component "
                                 "needs a leading dimension to slice")

    def _values(self):
        values = []
        for leaf in self._leaves:
            if isinstance(leaf, Tensor):
                if id(leaf) not in _FED:
                    raise TypeError(f"tf.data: the dataset reads the graph tensor {leaf.name}; run it through "
                                    f"an initializable iterator (sess.run(iterator.initializer, feed_dict=...))")
                values.append(np.asarray(_FED[id(leaf)]))
            else:
                values.append(_to_numpy(leaf))
        return values

    def _iterate(self, epoch):
        values = self._values()
        data = _structure(nest.pack_sequence_as(self._template, values) if nest.is_nested(self._template)
                          else values[0])
        if not self._slices:
            yield data
            return
        leaves = nest.flatten(data)
        n = leaves[0].shape[0]
        if any(a.shape[0] != n for a in leaves):
            raise ValueError("from_tensor_slices: all components must have the same size in their first "
                             f"dimension, got {[a.shape[0] for a in leaves]}")
        for i in range(n):
            yield _map_leaves(lambda a: _row(a, i), data)

    def cardinality_value(self):
        return UNKNOWN_CARDINALITY

    @property
    def element_spec(self):
        from .function import TensorSpec

        def spec(leaf):
            if isinstance(leaf, Tensor):
                dims = leaf.shape.as_list() if leaf.shape.ndims is not None else None
                return TensorSpec(None if dims is None else (dims[1:] if self._slices else dims), leaf.dtype)
            a = _to_numpy(leaf)
            return TensorSpec(a.shape[1:] if self._slices else a.shape, _dtype_of(a))
        specs = [spec(leaf) for leaf in self._leaves]
        return nest.pack_sequence_as(self._template, specs) if nest.is_nested(self._template) else specs[0]


def _symbolic_inputs(dataset) -> list:
    """The graph tensors a dataset pipeline reads (its fed sources), in a fixed order."""
    found, seen = [], set()

    def walk(obj):
        if isinstance(obj, Dataset):
            if id(obj) in seen:
                return
            seen.add(id(obj))
            for t in getattr(obj, "_symbolic", ()):
                if all(t is not f for f in found):
                    found.append(t)
            for v in vars(obj).values():
                walk(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v)
        elif isinstance(obj, dict):
            for v in obj.values():
                walk(v)
    walk(dataset)
    return found


class _feeding:
    """Bind fed values (id(tensor) -> array) while the pipeline runs."""

    def __init__(self, bound):
        self._bound = bound or {}

    def __enter__(self):
        self._saved = dict(_FED)
        _FED.update(self._bound)

    def __exit__(self, *exc):
        _FED.clear()
        _FED.update(self._saved)
        return False


# ------------------------------------------------------------------------------ TF1 graph iterators


class GraphIterator:
    """A TF1 iterator: `get_next()` is a host op the Session runs, yielding the next element (and
    raising OutOfRangeError at the end); `initializer` restarts it in that session."""

    def __init__(self, dataset: Dataset, initializable: bool):
        from .graph import get_default_graph
        self._dataset = dataset
        self._graph = get_default_graph()
        self._spec = dataset.element_spec
        self._initializable = initializable
        self._initializer = None

    @property
    def element_spec(self):
        return self._spec

    output_types = property(lambda self: _map_leaves(lambda s: s.dtype, self._spec))
    output_shapes = property(lambda self: _map_leaves(lambda s: s.shape, self._spec))

    @property
    def initializer(self):
        if not self._initializable:
            raise ValueError("A one-shot iterator has no initializer; use make_initializable_iterator")
        if self._initializer is None:
            self._initializer = self._graph.create_op("iterator_init", _symbolic_inputs(self._dataset),
                                                      {"iterator": self}, [], name="MakeIterator")
        return self._initializer

    def get_next(self, name=None):
        specs = nest.flatten(self._spec)
        op = self._graph.create_op("iterator_get_next", [], {"iterator": self},
                                   [(s.dtype, s.shape) for s in specs], name=name or "IteratorGetNext")
        outs = list(op.outputs)
        return nest.pack_sequence_as(self._spec, outs) if nest.is_nested(self._spec) else outs[0]


def make_one_shot_iterator(dataset: Dataset):
    if not _graph_mode():
        return OwnedIterator(dataset)
    fed = _symbolic_inputs(dataset)
    if fed:
        raise ValueError(f"Cannot capture a placeholder (name:{fed[0].op.name}) by value: a one-shot iterator "
                         f"cannot be fed; use make_initializable_iterator")
    return GraphIterator(dataset, initializable=False)


def make_initializable_iterator(dataset: Dataset, shared_name=None):
    if not _graph_mode():
        raise RuntimeError("make_initializable_iterator is not supported when eager execution is enabled; "
                           "use `for element in dataset`")
    return GraphIterator(dataset, initializable=True)


def _iterator_state(run, iterator) -> dict:
    return run.resource(("tf.data iterator", id(iterator)), lambda: {"it": None, "started": False})


def _register_host_ops():
    from .errors import FailedPreconditionError, OutOfRangeError
    from .host_ops import host_op

    @host_op("iterator_init")
    def _init(run, op, inputs):
        state = _iterator_state(run, op.attrs["iterator"])
        state["fed"] = {id(t): np.asarray(v) for t, v in zip(op.inputs, inputs)}
        state["it"] = op.attrs["iterator"]._dataset._elements()
        state["started"] = True
        return []

    @host_op("iterator_get_next")
    def _get_next(run, op, inputs):
        iterator = op.attrs["iterator"]
        state = _iterator_state(run, iterator)
        if state["it"] is None:
            if iterator._initializable:
                raise FailedPreconditionError(None, op, "GetNext() failed because the iterator has not been "
                                                        "initialized. Run the iterator's initializer first.")
            state["it"] = iterator._dataset._elements()
        try:
            with _feeding(state.get("fed")):
                element = next(state["it"])
        except StopIteration:
            raise OutOfRangeError(None, op, "End of sequence") from None
        return [np.asarray(a) for a in nest.flatten(element)]


_register_host_ops()
