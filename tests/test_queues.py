"""Host-side input pipelines: queues (blocking, closing, cancellation, deadlines), queue runners
and the Coordinator, TFRecord framing, hand-encoded Example protos, parsing and decode_raw,
producers with epochs, batching and readers."""
import os
import struct
import threading
import time

import numpy as np
import pytest

import fuseflow.compat.v1 as tf
from fuseflow.tfevents import masked_crc32c


@pytest.fixture
def graph():
    with tf.Graph().as_default() as g:
        yield g


def _int64(v):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))


def _bytes(v):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))


# ------------------------------------------------------------------------------ queues
def test_fifo_queue_with_compiled_step_between_host_ops(graph):
    q = tf.FIFOQueue(3, "float")
    init = q.enqueue_many(([0.0, 0.0, 0.0],))
    x = q.dequeue()
    q_inc = q.enqueue([x + 1])
    with tf.Session() as sess:
        init.run()
        for _ in range(5):
            q_inc.run()
        assert sess.run(q.size()) == 3
        assert [sess.run(q.dequeue()) for _ in range(3)] == [1.0, 2.0, 2.0]


def test_close_dequeue_many_up_to_and_errors(graph):
    q = tf.FIFOQueue(10, [tf.int32, tf.float32], shapes=[[], [2]])
    enq = q.enqueue_many([[1, 2, 3], np.ones((3, 2), np.float32)])
    many = q.dequeue_many(2)
    up_to = q.dequeue_up_to(5)
    assert many[0].shape.as_list() == [2] and up_to[1].shape.as_list() == [None, 2]
    with tf.Session() as sess:
        sess.run(enq)
        a, b = sess.run(many)
        assert a.tolist() == [1, 2] and b.shape == (2, 2)
        sess.run(q.close())
        assert bool(sess.run(q.is_closed()))
        assert sess.run(up_to)[0].tolist() == [3]
        with pytest.raises(tf.errors.OutOfRangeError, match="closed and has insufficient elements"):
            sess.run(up_to)
        with pytest.raises(tf.errors.CancelledError, match="is closed"):
            sess.run(enq)


def test_dequeue_deadline_and_session_close_cancels(graph):
    q = tf.FIFOQueue(2, tf.float32)
    d = q.dequeue()
    sess = tf.Session()
    with pytest.raises(tf.errors.DeadlineExceededError):
        sess.run(d, options=tf.RunOptions(timeout_in_ms=50))
    errors = []

    def blocked():
        try:
            sess.run(d)
        except tf.errors.CancelledError as e:
            errors.append(e)
    t = threading.Thread(target=blocked)
    t.start()
    time.sleep(0.2)             # let the thread block in the dequeue
    sess.close()
    t.join(5)
    assert not t.is_alive() and len(errors) == 1


def test_random_shuffle_queue(graph):
    q = tf.RandomShuffleQueue(capacity=10, min_after_dequeue=2, dtypes="float32", seed=3)
    enq = [q.enqueue(float(i)) for i in range(10)]
    d = q.dequeue()
    with tf.Session() as sess:
        for op in enq:
            sess.run(op)
        out = [sess.run(d) for _ in range(8)]
        assert len(set(out)) == 8 and all(v in range(10) for v in out)
        with pytest.raises(tf.errors.DeadlineExceededError):     # min_after_dequeue keeps 2 back
            sess.run(d, options=tf.RunOptions(timeout_in_ms=50))


def test_queue_runner_and_coordinator(graph):
    queue = tf.FIFOQueue(100, "float")
    enqueue_op = queue.enqueue([tf.constant([2.5])])
    tf.train.add_queue_runner(tf.train.QueueRunner(queue, [enqueue_op] * 3))
    out = queue.dequeue()
    with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        assert [sess.run(out)[0] for _ in range(4)] == [2.5] * 4
        coord.request_stop()
        coord.join(threads)
        assert coord.should_stop()


def test_coordinator_reraises_thread_errors():
    coord = tf.train.Coordinator()

    def worker():
        with coord.stop_on_exception():
            raise ValueError("boom")
    t = threading.Thread(target=worker)
    coord.register_thread(t)
    t.start()
    with pytest.raises(ValueError, match="boom"):
        coord.join()
    clean = tf.train.Coordinator()
    clean.request_stop(tf.errors.OutOfRangeError(None, None, "done"))
    clean.join()


# ------------------------------------------------------------------------------ records and protos
def test_example_wire_format_and_text():
    ex = tf.train.Example(features=tf.train.Features(feature={"i": _int64(-2), "b": _bytes(b"ab")}))
    data = ex.SerializeToString()
    # Features map entry for "i": key (field 1) + Feature (field 2) holding a packed Int64List (field 3)
    entry_i = b"\n\x01i" + b"\x12\x0e" + b"\x1a\x0c" + b"\n\x0a" + b"\xfe" + b"\xff" * 8 + b"\x01"
    assert data.startswith(b"\n") and entry_i in data
    back = tf.train.Example.FromString(data)
    assert back == ex and back.features.feature["i"].int64_list.value == [-2]
    assert 'key: "b"' in str(back) and "bytes_list" in str(back)
    f = tf.train.Feature()
    f.float_list.value.extend([0.5, 1.5])
    assert f.WhichOneof("kind") == "float_list"
    assert tf.train.Feature.FromString(f.SerializeToString()).float_list.value == [0.5, 1.5]


def test_tfrecord_framing_and_corruption(tmp_path):
    path = str(tmp_path / "r.tfrecords")
    with tf.python_io.TFRecordWriter(path) as w:
        w.write(b"hello")
        w.write(b"")
    raw = open(path, "rb").read()
    header = struct.pack("<Q", 5)
    assert raw[:12] == header + struct.pack("<I", masked_crc32c(header))
    assert raw[12:17] == b"hello" and raw[17:21] == struct.pack("<I", masked_crc32c(b"hello"))
    assert list(tf.python_io.tf_record_iterator(path)) == [b"hello", b""]
    bad = bytearray(raw)
    bad[13] ^= 1
    open(path, "wb").write(bytes(bad))
    with pytest.raises(tf.errors.DataLossError):
        list(tf.python_io.tf_record_iterator(path))
    gz = str(tmp_path / "r.gz")
    opts = tf.python_io.TFRecordOptions(tf.python_io.TFRecordCompressionType.GZIP)
    with tf.python_io.TFRecordWriter(gz, options=opts) as w:
        w.write(b"zipped")
    assert list(tf.python_io.tf_record_iterator(gz, options=opts)) == [b"zipped"]


def _write_shards(tmp_path, shards=2, per=2):
    files = []
    for i in range(shards):
        name = str(tmp_path / f"data-{i}.tfrecords")
        with tf.python_io.TFRecordWriter(name) as w:
            for j in range(per):
                ex = tf.train.Example(features=tf.train.Features(feature={"i": _int64(i), "j": _int64(j)}))
                w.write(ex.SerializeToString())
        files.append(name)
    return files


def test_read_parse_and_batch(graph, tmp_path):
    files = _write_shards(tmp_path)
    fq = tf.train.string_input_producer(files, shuffle=False)
    reader = tf.TFRecordReader()
    key, serialized = reader.read(fq)
    feats = tf.parse_single_example(serialized, features={"i": tf.FixedLenFeature([], tf.int64),
                                                          "j": tf.FixedLenFeature([], tf.int64)})
    bi, bj = tf.train.batch([feats["i"], feats["j"]], batch_size=3, capacity=20)
    assert bi.dtype == tf.int64 and bi.shape.as_list() == [3]
    with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        batches = [[b.tolist() for b in sess.run([bi, bj])] for _ in range(2)]
        assert batches == [[[0, 0, 1], [0, 1, 0]], [[1, 0, 0], [1, 0, 1]]]
        coord.request_stop()
        coord.join(threads)


def test_producer_epochs_end_with_out_of_range(graph, tmp_path):
    files = _write_shards(tmp_path, shards=1, per=3)
    fq = tf.train.string_input_producer(files, num_epochs=2, shuffle=False)
    _, value = tf.TFRecordReader().read(fq)
    j = tf.parse_single_example(value, {"j": tf.FixedLenFeature([], tf.int64)})["j"]
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        got = []
        with pytest.raises(tf.errors.OutOfRangeError):
            while True:
                got.append(int(sess.run(j)))
        coord.request_stop()
        coord.join(threads)
    assert got == [0, 1, 2, 0, 1, 2]


def test_parse_defaults_errors_and_decode_raw(graph):
    ex = tf.train.Example(features=tf.train.Features(feature={
        "img": _bytes((np.arange(4, dtype=np.uint8) * 10).tobytes()),
        "vals": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 2.0, 3.0]))}))
    s = tf.constant(ex.SerializeToString())
    parsed = tf.parse_single_example(s, {
        "img": tf.FixedLenFeature([], tf.string),
        "vals": tf.FixedLenFeature([3], tf.float32),
        "missing": tf.FixedLenFeature([2], tf.int64, default_value=[7, 8]),
        "seq": tf.FixedLenSequenceFeature([], tf.float32, allow_missing=True)})
    img = tf.decode_raw(parsed["img"], tf.uint8)
    as_int = tf.cast(img, tf.int32) + 1
    required = tf.parse_single_example(s, {"nope": tf.FixedLenFeature([], tf.int64)})["nope"]
    batch = tf.parse_example(tf.constant([ex.SerializeToString()] * 2), {"vals": tf.FixedLenFeature([3], tf.float32)})
    with tf.Session() as sess:
        v, m, sq, im, ai = sess.run([parsed["vals"], parsed["missing"], parsed["seq"], img, as_int])
        assert v.tolist() == [1.0, 2.0, 3.0] and m.tolist() == [7, 8] and sq.shape == (0,)
        assert im.dtype == np.uint8 and im.tolist() == [0, 10, 20, 30] and ai.tolist() == [1, 11, 21, 31]
        assert sess.run(batch["vals"]).shape == (2, 3)
        with pytest.raises(tf.errors.InvalidArgumentError, match="nope"):
            sess.run(required)


def test_match_filenames_once_and_text_lines(graph, tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("header\nx1\nx2\n")
    files = tf.train.match_filenames_once(str(tmp_path / "*.txt"))
    fq = tf.train.string_input_producer(files, shuffle=False)
    _, line = tf.TextLineReader(skip_header_lines=1).read(fq)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        assert [os.path.basename(f.decode()) for f in sess.run(files)] == ["a.txt", "b.txt"]
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        assert [sess.run(line) for _ in range(3)] == [b"x1", b"x2", b"x1"]
        coord.request_stop()
        coord.join(threads)


def test_gfile_and_eager_parsing(tmp_path):
    import fuseflow as tf2
    p = str(tmp_path / "sub" / "x.txt")
    tf.gfile.MakeDirs(str(tmp_path / "sub"))
    with tf.gfile.GFile(p, "w") as f:
        f.write("hi")
    assert tf.gfile.Exists(p) and tf2.io.gfile.glob(str(tmp_path / "sub" / "*")) == [p]
    tf.gfile.DeleteRecursively(str(tmp_path / "sub"))
    assert not tf2.io.gfile.exists(p)
    ex = tf2.train.Example(features=tf2.train.Features(feature={"a": _int64(7)}))
    parsed = tf2.io.parse_single_example(ex.SerializeToString(), {"a": tf2.io.FixedLenFeature([], tf2.int64)})
    assert int(parsed["a"].numpy()) == 7
    assert tf2.io.decode_raw(b"\x01\x02", tf2.uint8).numpy().tolist() == [1, 2]
