"""tf.decode_csv (TF1 CSV input pipelines): column dtypes from record_defaults, defaults for
empty fields, quoting, select_cols, errors; through a TextLineReader queue and tf.data."""
import numpy as np
import pytest

import fuseflow.compat.v1 as tf


def test_decode_csv_values_and_errors():
    with tf.Graph().as_default():
        rec = tf.placeholder(tf.string, [None])
        cols = tf.decode_csv(rec, record_defaults=[[0], [9.0], [""], tf.constant([], tf.int64)])
        picked = tf.decode_csv(rec, [[0.0], [""]], select_cols=[1, 2])
        semi = tf.decode_csv(tf.constant("1;2"), [[0], [0]], field_delim=";")
        assert [c.dtype for c in cols] == [tf.int32, tf.float32, tf.string, tf.int64]
        with tf.Session() as sess:
            a, b, c, d = sess.run(cols, {rec: ['1,2.5,abc,7', '3,,"d,""e""",8']})
            p1, p2 = sess.run(picked, {rec: ["1,2.5,x,4"]})
            s1, s2 = sess.run(semi)
            with pytest.raises(tf.errors.InvalidArgumentError, match="Expect 4 fields"):
                sess.run(cols, {rec: ["1,2"]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="not a valid int32"):
                sess.run(cols, {rec: ["x,1,a,2"]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="required"):
                sess.run(cols, {rec: ["1,1,a,"]})
    assert a.tolist() == [1, 3] and a.dtype == np.int32
    np.testing.assert_allclose(b, [2.5, 9.0])
    assert c.tolist() == [b"abc", b'd,"e"'] and d.tolist() == [7, 8]
    assert p1.tolist() == [2.5] and p2.tolist() == [b"x"]
    assert (s1, s2) == (1, 2)


def test_csv_file_through_reader_and_dataset(tmp_path):
    path = str(tmp_path / "a.csv")
    with open(path, "w") as f:
        f.write("1,2.5\n3,\n")
    with tf.Graph().as_default():
        queue = tf.train.string_input_producer([path], num_epochs=1, shuffle=False)
        _, line = tf.TextLineReader().read(queue)
        x, y = tf.decode_csv(line, [[0], [-1.0]])
        ds = tf.data.TextLineDataset([path]).map(lambda l: tf.decode_csv(l, [[0], [-1.0]]))
        nxt = ds.make_one_shot_iterator().get_next()
        rows, ds_rows = [], []
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            try:
                while True:
                    rows.append(tuple(sess.run([x, y])))
            except tf.errors.OutOfRangeError:
                pass
            coord.request_stop()
            coord.join(threads)
            ds_rows = [tuple(sess.run(nxt)) for _ in range(2)]
    assert rows == [(1, 2.5), (3, -1.0)]
    assert ds_rows == rows
