"""tf.data: sources, batching, shuffling, map/filter, repeat/take/skip, cache, zip, specs."""
import numpy as np
import pytest

from fuseflow import math_ops as M
from fuseflow.compiler import dtypes as dt
from fuseflow.data import AUTOTUNE, Dataset
from fuseflow.function import TensorSpec, function
from fuseflow.tensor import EagerTensor


def _np(ds):
    return list(ds.as_numpy_iterator())


def test_from_tensor_slices_tuple_yields_eager_tensors():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.arange(5)
    ds = Dataset.from_tensor_slices((x, y))
    items = list(ds)
    assert len(items) == 5 == len(ds)
    a, b = items[3]
    assert isinstance(a, EagerTensor) and a.numpy().tolist() == [6.0, 7.0] and int(b) == 3
    assert b.dtype == dt.int64
    spec = ds.element_spec
    assert spec == (TensorSpec([2], dt.float32), TensorSpec([], dt.int64))


def test_python_lists_are_tensors_and_default_dtypes():
    ds = Dataset.from_tensor_slices([1, 2, 3])
    assert ds.element_spec == TensorSpec([], dt.int32)
    assert [int(v) for v in _np(ds)] == [1, 2, 3]
    assert Dataset.from_tensor_slices([[1.5, 2.0]]).element_spec.dtype == dt.float32


def test_dict_elements_and_batch():
    ds = Dataset.from_tensor_slices({"a": np.arange(5), "b": np.ones((5, 3), np.float32)}).batch(2)
    batches = _np(ds)
    assert [b["a"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["b"].shape == (2, 3)
    assert ds.element_spec["b"].shape.as_list() == [None, 3]
    dropped = Dataset.from_tensor_slices(np.arange(5)).batch(2, drop_remainder=True)
    assert [b.tolist() for b in _np(dropped)] == [[0, 1], [2, 3]]
    assert dropped.element_spec.shape.as_list() == [2] and len(dropped) == 2


def test_from_tensors_and_range():
    assert [v.tolist() for v in _np(Dataset.from_tensors(np.arange(3)))] == [[0, 1, 2]]
    assert [int(v) for v in _np(Dataset.range(2, 10, 3))] == [2, 5, 8]
    assert Dataset.range(4).element_spec == TensorSpec([], dt.int64)


def test_shuffle_is_a_seeded_permutation():
    ds = Dataset.range(20).shuffle(8, seed=3)
    first, second = [int(v) for v in _np(ds)], [int(v) for v in _np(ds)]
    assert sorted(first) == list(range(20)) and sorted(second) == list(range(20))
    assert first != list(range(20))
    assert first != second                                           # reshuffled each iteration
    again = [int(v) for v in _np(Dataset.range(20).shuffle(8, seed=3))]
    assert again == first                                            # same seed, same order
    fixed = Dataset.range(20).shuffle(8, seed=3, reshuffle_each_iteration=False)
    assert _np(fixed) == _np(fixed)


def test_map_filter_with_eager_and_compiled_functions():
    ds = Dataset.from_tensor_slices((np.arange(6, dtype=np.float32), np.arange(6)))
    doubled = ds.map(lambda x, y: (x * 2.0, y), num_parallel_calls=AUTOTUNE)
    assert [float(a) for a, _ in _np(doubled)] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    compiled = function(lambda x: M.square(x), input_signature=[TensorSpec([], dt.float32)])
    sq = Dataset.from_tensor_slices(np.arange(4, dtype=np.float32)).map(compiled)
    assert [float(v) for v in _np(sq)] == [0.0, 1.0, 4.0, 9.0]
    assert compiled.experimental_get_tracing_count() == 1
    evens = Dataset.range(10).filter(lambda v: M.equal(M.floormod(v, 2), 0))
    assert [int(v) for v in _np(evens)] == [0, 2, 4, 6, 8]


def test_repeat_take_skip_prefetch_enumerate():
    ds = Dataset.range(3).repeat(2).skip(1).take(4).prefetch(1)
    assert [int(v) for v in _np(ds)] == [1, 2, 0, 1]
    assert len(Dataset.range(3).repeat(3)) == 9
    assert Dataset.range(3).repeat().cardinality_value() == -1
    assert [int(v) for v in _np(Dataset.range(3).repeat().take(5))] == [0, 1, 2, 0, 1]
    assert [(int(i), int(v)) for i, v in _np(Dataset.range(5, 7).enumerate())] == [(0, 5), (1, 6)]


def test_cache_replays_first_pass():
    calls = []

    def f(v):
        calls.append(1)
        return v

    ds = Dataset.range(4).map(f).cache()
    assert _np(ds) == _np(ds)
    assert len(calls) == 4


def test_zip_concatenate_unbatch_reduce():
    z = Dataset.zip((Dataset.range(3), Dataset.range(10, 20)))
    assert [(int(a), int(b)) for a, b in _np(z)] == [(0, 10), (1, 11), (2, 12)]
    c = Dataset.range(2).concatenate(Dataset.range(5, 6))
    assert [int(v) for v in _np(c)] == [0, 1, 5]
    u = Dataset.from_tensors(np.arange(6).reshape(3, 2)).unbatch()
    assert [v.tolist() for v in _np(u)] == [[0, 1], [2, 3], [4, 5]]
    total = Dataset.range(5).reduce(np.int64(0), lambda s, v: s + v)
    assert int(total) == 10


def test_padded_batch_and_generator():
    def gen():
        for n in (1, 3, 2):
            yield np.arange(n)

    ds = Dataset.from_generator(gen, output_signature=TensorSpec([None], dt.int64)).padded_batch(3)
    (b,) = _np(ds)
    assert b.tolist() == [[0, 0, 0], [0, 1, 2], [0, 1, 0]]


def test_errors():
    with pytest.raises(ValueError, match="same size"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(TypeError, match="infinite"):
        len(Dataset.range(2).repeat())


def test_tf1_graph_iterators_run_in_a_session():
    import fuseflow.compat.v1 as tf1
    from fuseflow import data
    g = tf1.Graph()
    with g.as_default():
        ds = Dataset.from_tensor_slices((np.arange(5, dtype=np.float32), np.arange(5))).batch(2)
        x, y = data.make_one_shot_iterator(ds).get_next()
        assert x.shape.as_list() == [None] and y.dtype == dt.int64
        doubled = x * 2.0
        got = []
        with tf1.Session(graph=g) as sess:
            with pytest.raises(tf1.errors.OutOfRangeError):
                while True:
                    got.append(sess.run(doubled).tolist())
        assert got == [[0.0, 2.0], [4.0, 6.0], [8.0]]
        it = ds.make_initializable_iterator()
        nxt = it.get_next()
        with tf1.Session(graph=g) as sess:
            with pytest.raises(tf1.errors.FailedPreconditionError):
                sess.run(nxt)
            for _ in range(2):
                sess.run(it.initializer)
                assert sess.run(nxt)[1].tolist() == [0, 1]


def test_file_datasets(tmp_path):
    from fuseflow import data
    from fuseflow.tfrecord import TFRecordWriter
    for i in range(2):
        with TFRecordWriter(str(tmp_path / f"r{i}.tfrecord")) as w:
            w.write(f"rec{i}a".encode())
            w.write(f"rec{i}b".encode())
    (tmp_path / "t.txt").write_text("first line\nsecond\n")
    files = data.Dataset.list_files(str(tmp_path / "*.tfrecord"), shuffle=False)
    records = [r for r in data.TFRecordDataset(files).as_numpy_iterator()]
    assert records == [b"rec0a", b"rec0b", b"rec1a", b"rec1b"]
    assert data.TFRecordDataset(str(tmp_path / "r0.tfrecord")).element_spec.dtype == dt.string
    lines = list(data.TextLineDataset(str(tmp_path / "t.txt")).as_numpy_iterator())
    assert lines == [b"first line", b"second"]
    shuffled = sorted(data.Dataset.list_files(str(tmp_path / "*.tfrecord"), seed=1).as_numpy_iterator())
    assert len(shuffled) == 2
