"""Reading TF1 summaries back: Summary.ParseFromString / FromString on merged summary bytes,
and tf.train.summary_iterator over a FileWriter's event file."""
import glob
import os

import numpy as np

import fuseflow.compat.v1 as tf


def test_parse_merged_summary_and_iterate_events(tmp_path):
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [None])
        with tf.name_scope("train"):
            tf.summary.scalar("loss", tf.reduce_mean(x))
            tf.summary.histogram("weights", x)
        merged = tf.summary.merge_all()
        writer = tf.summary.FileWriter(str(tmp_path), g)
        with tf.Session() as sess:
            raw = sess.run(merged, {x: [1.0, 2.0, 3.0]})
        writer.add_summary(raw, 7)
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="manual", simple_value=3.0)]), 8)
        writer.close()
    pb = tf.Summary()
    pb.ParseFromString(raw)
    assert [v.tag for v in pb.value] == ["train/loss", "train/weights"]
    assert pb.value[0].simple_value == 2.0
    h = pb.value[1].histo
    assert (h.num, h.min, h.max, h.sum, h.sum_squares) == (3.0, 1.0, 3.0, 6.0, 14.0)
    assert tf.Summary.FromString(raw).value[0].tag == "train/loss"
    path, = glob.glob(os.path.join(str(tmp_path), "events.out.tfevents.*"))
    events = list(tf.train.summary_iterator(path))
    assert events[0].file_version == "brain.Event:2"
    assert any(e.HasField("graph_def") for e in events)
    scalars = [(e.step, v.tag, v.simple_value) for e in events for v in e.summary.value if v.histo is None]
    assert scalars == [(7, "train/loss", 2.0), (8, "manual", 3.0)]
    assert np.isclose(events[-1].wall_time, events[0].wall_time, atol=60)


def test_train_op_and_summary_in_one_run_still_trains():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        w = tf.Variable([[1.0], [1.0]])
        loss = tf.reduce_sum(tf.matmul(x, w))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        merged = tf.summary.scalar("loss", loss)
        check = tf.Assert(loss > -100.0, [loss])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _, l1, s1 = sess.run([train, loss, merged], {x: np.ones((2, 2), np.float32)})
            _, l2, _ = sess.run([train, loss, check], {x: np.ones((2, 2), np.float32)})
            final = sess.run(w)
    assert (l1, l2) == (4.0, 3.2)
    np.testing.assert_allclose(final.ravel(), [0.6, 0.6], rtol=1e-6)
    assert tf.Summary.FromString(s1).value[0].simple_value == 4.0


def test_print_in_the_loss_path_and_py_func_fetched_with_train(capsys):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        w = tf.Variable([[1.0], [1.0]])
        loss = tf.reduce_sum(tf.matmul(x, w))
        printed = tf.Print(loss, [loss], "loss: ", first_n=1)
        train = tf.train.GradientDescentOptimizer(0.1).minimize(printed)
        doubled = tf.py_func(lambda a: a * 2, [loss], tf.float32)
        assert printed.name == "Print:0"
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = [sess.run([train, printed, doubled], {x: np.ones((2, 2), np.float32)})[1:] for _ in range(2)]
            final = sess.run(w)
    assert got == [[4.0, 8.0], [3.2, np.float32(3.2) * 2]]
    np.testing.assert_allclose(final.ravel(), [0.6, 0.6], rtol=1e-6)
    assert capsys.readouterr().err.count("loss: ") == 1
