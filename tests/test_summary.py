"""tf.summary: TensorBoard event files (TFRecord framing, masked crc32c, hand-encoded protobuf)."""
import glob
import os
import struct

import numpy as np
import pytest

import fuseflow.summary as summary
from fuseflow import tfevents


def _events(logdir):
    files = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    assert len(files) == 1
    with open(files[0], "rb") as f:
        return [tfevents.decode_message(r) for r in tfevents.read_tfrecords(f.read())]


def _field(msg, number):
    return [v for f, _, v in msg if f == number]


def _summary_values(ev):
    """[(tag, decoded Summary.Value)] of one Event."""
    out = []
    for s in _field(ev, 5):
        for v in _field(tfevents.decode_message(s), 1):
            val = tfevents.decode_message(v)
            out.append((_field(val, 1)[0].decode(), val))
    return out


def _tensor(val):
    t = tfevents.decode_message(_field(val, 8)[0])
    dtype = _field(t, 1)[0]
    shape = [_field(tfevents.decode_message(d), 1)[0] if _field(tfevents.decode_message(d), 1) else 0
             for d in _field(tfevents.decode_message(_field(t, 2)[0]), 2)] if _field(t, 2) else []
    if dtype == 7:
        return dtype, shape, _field(t, 8)
    np_dtype = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}[dtype]
    return dtype, shape, np.frombuffer(_field(t, 4)[0], np_dtype).reshape(shape)


def test_crc32c_known_vectors():
    assert tfevents.crc32c(b"123456789") == 0xE3069283
    assert tfevents.crc32c(b"") == 0
    assert tfevents.crc32c(bytes(32)) == 0x8A9136AA


def test_tfrecord_framing_round_trip_and_corruption():
    data = b"hello event"
    rec = tfevents.tfrecord(data)
    (n,) = struct.unpack("<Q", rec[:8])
    assert n == len(data) and len(rec) == 16 + len(data)
    assert tfevents.read_tfrecords(rec + tfevents.tfrecord(b"")) == [data, b""]
    bad = bytearray(rec)
    bad[14] ^= 1
    with pytest.raises(ValueError):
        tfevents.read_tfrecords(bytes(bad))


def test_varint_encoding():
    assert tfevents.varint(1) == b"\x01"
    assert tfevents.varint(300) == b"\xac\x02"
    assert len(tfevents.varint(-1)) == 10


def test_writer_file_version_and_scalars(tmp_path):
    w = summary.create_file_writer(str(tmp_path))
    with w.as_default():
        assert bool(summary.write("loss", 0.5, step=3))
        assert bool(summary.scalar("acc", np.float64(0.25), step=4))
    w.close()
    events = _events(str(tmp_path))
    first = events[0]
    assert _field(first, 3) == [b"brain.Event:2"]
    (wall,) = struct.unpack("<d", _field(first, 1)[0])
    assert wall > 1e9
    assert _field(events[1], 2) == [3]
    (tag, val), = _summary_values(events[1])
    assert tag == "loss"
    dtype, shape, arr = _tensor(val)
    assert dtype == 1 and shape == [] and arr == np.float32(0.5)
    (tag, val), = _summary_values(events[2])
    assert tag == "acc" and _field(events[2], 2) == [4]
    meta = tfevents.decode_message(_field(val, 9)[0])
    plugin = tfevents.decode_message(_field(meta, 1)[0])
    assert _field(plugin, 1) == [b"scalars"] and _field(meta, 4) == [tfevents.DATA_CLASS_SCALAR]
    assert _tensor(val)[2] == np.float32(0.25)


def test_write_tensors_of_several_kinds(tmp_path):
    w = summary.create_file_writer(str(tmp_path))
    with w.as_default(step=7):
        summary.write("ints", np.array([1, 2, 2, 3], np.int32))
        summary.write("text", "hi there")
        summary.write("img", np.zeros((2, 4, 4, 1), np.float32))
    w.flush()
    events = _events(str(tmp_path))
    vals = dict(v for ev in events[1:] for v in _summary_values(ev))
    assert _tensor(vals["ints"])[2].tolist() == [1, 2, 2, 3]
    assert _tensor(vals["text"])[2] == [b"hi there"]
    assert _tensor(vals["img"])[1] == [2, 4, 4, 1]
    assert all(_field(ev, 2) == [7] for ev in events[1:])


def test_no_default_writer_and_record_if(tmp_path):
    assert bool(summary.write("orphan", 1.0, step=0)) is False
    w = summary.create_file_writer(str(tmp_path))
    with w.as_default():
        with summary.record_if(False):
            assert bool(summary.write("skipped", 1.0, step=0)) is False
        with summary.record_if(lambda: True):
            assert bool(summary.write("kept", 1.0, step=0)) is True
    w.close()
    tags = [t for ev in _events(str(tmp_path)) for t, _ in _summary_values(ev)]
    assert tags == ["kept"]


def test_step_required_and_set_step(tmp_path):
    w = summary.create_file_writer(str(tmp_path))
    with w.as_default():
        with pytest.raises(ValueError, match="No step set"):
            summary.write("x", 1.0)
        summary.experimental.set_step(11)
        assert summary.experimental.get_step() == 11
        summary.write("x", 1.0)
        summary.experimental.set_step(None)
    w.close()
    assert _field(_events(str(tmp_path))[1], 2) == [11]


def test_histogram_image_text_plugins(tmp_path):
    w = summary.create_file_writer(str(tmp_path))
    with w.as_default():
        assert bool(summary.histogram("h", np.array([1.0, 2.0, 2.0, 3.0, 9.0]), step=1, buckets=4))
        assert bool(summary.image("im", np.ones((3, 2, 5, 3), np.float32) * 0.5, step=1, max_outputs=2))
        assert bool(summary.text("t", "note", step=1))
    w.close()
    vals = dict(v for ev in _events(str(tmp_path))[1:] for v in _summary_values(ev))
    _, shape, table = _tensor(vals["h"])
    assert shape == [4, 3] and table[:, 2].sum() == 5 and table[0, 0] == 1.0 and table[-1, 1] == 9.0
    _, shape, strings = _tensor(vals["im"])
    assert shape == [4] and strings[:2] == [b"5", b"2"] and strings[2].startswith(b"\x89PNG")
    assert _tensor(vals["t"])[2] == [b"note"]


def test_file_name_and_directory_creation(tmp_path):
    logdir = tmp_path / "a" / "b"
    w = summary.create_file_writer(str(logdir))
    w.close()
    (name,) = os.listdir(logdir)
    assert name.startswith("events.out.tfevents.") and name.endswith(".v2")
    assert os.path.getsize(logdir / name) > 0


# ------------------------------------------------------------------------------ TF1: summary ops + FileWriter

def test_tf1_summary_ops_merge_and_file_writer(tmp_path):
    import fuseflow.compat.v1 as tf1
    from fuseflow import summary_v1
    g = tf1.Graph()
    with g.as_default():
        x = tf1.placeholder(tf1.float32, [None])
        m = tf1.reduce_mean(x)
        with tf1.name_scope("stats"):
            summary_v1.scalar("mean", m)
        summary_v1.histogram("x", x)
        merged = summary_v1.merge_all()
        assert merged.dtype.is_string and summary_v1.merge_all(key="nothing") is None
        writer = summary_v1.FileWriter(str(tmp_path), g)
        with tf1.Session(graph=g) as sess:
            for step in range(2):
                writer.add_summary(sess.run(merged, feed_dict={x: np.arange(4, dtype=np.float32) + step}), step)
        writer.add_summary(summary_v1.Summary(value=[summary_v1.Summary.Value(tag="manual", simple_value=7.0)]), 5)
        writer.close()
    events = _events(str(tmp_path))
    assert _field(events[0], 3) == [b"brain.Event:2"]
    assert _field(events[1], 4)                                  # the graph_def event
    nodes = [tfevents.decode_message(n) for n in _field(tfevents.decode_message(_field(events[1], 4)[0]), 1)]
    assert any(_field(n, 1) == [b"stats/mean"] for n in nodes)
    vals = dict(_summary_values(events[3]))
    (simple,) = _field(vals["stats/mean"], 2)
    assert struct.unpack("<f", simple)[0] == 2.5 and _field(events[3], 2) == [1]
    histo = tfevents.decode_message(_field(vals["x"], 5)[0])
    assert struct.unpack("<d", _field(histo, 3)[0])[0] == 4.0          # num
    (tag, manual), = _summary_values(events[4])
    assert tag == "manual" and struct.unpack("<f", _field(manual, 2)[0])[0] == 7.0


def test_tf1_summary_eager_returns_serialized_bytes():
    from fuseflow import summary_v1
    out = summary_v1.scalar("loss", 0.25)
    (tag, val), = [(_field(tfevents.decode_message(v), 1)[0], tfevents.decode_message(v))
                   for v in _field(tfevents.decode_message(out.numpy()), 1)]
    assert tag == b"loss" and struct.unpack("<f", _field(val, 2)[0])[0] == 0.25


def test_summaries_inside_compiled_function_are_written_after_each_call(tmp_path):
    import fuseflow as tf
    w = summary.create_file_writer(str(tmp_path))
    step = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def train(x):
        loss = tf.reduce_sum(x * x)
        step.assign_add(1)
        summary.scalar("loss", loss, step=step)
        summary.write("x", x, step=step)
        summary.text("note", "static text", step=step)
        return loss

    with w.as_default():
        for i in range(3):
            train(np.full(2, float(i), np.float32))
    w.close()
    assert train.experimental_get_tracing_count() == 1
    events = _events(str(tmp_path))[1:]
    assert [_field(ev, 2) for ev in events[::3]] == [[1], [2], [3]]
    losses = [float(_tensor(dict(_summary_values(ev))["loss"])[2]) for ev in events[::3]]
    assert losses == [0.0, 2.0, 8.0]
    assert _tensor(dict(_summary_values(events[4]))["x"])[2].tolist() == [1.0, 1.0]
    assert _tensor(dict(_summary_values(events[2]))["note"])[2] == [b"static text"]
