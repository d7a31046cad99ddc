"""TF1 Session: fetch structures, feeds (conversion, shape checks, intermediates), errors,
default sessions, program caching and symbolic batch dims."""
import collections

import numpy as np
import pytest

import fuseflow.compat.v1 as tf


@pytest.fixture
def graph():
    with tf.Graph().as_default() as g:
        yield g


def test_run_matmul_and_fetch_structures(graph):
    a = tf.constant([[3.0, 3.0]])
    b = tf.constant([[2.0], [2.0]])
    p = tf.matmul(a, b)
    s = tf.add(a, 1.0)
    Pair = collections.namedtuple("Pair", "prod plus")
    with tf.Session() as sess:
        assert sess.run(p).tolist() == [[12.0]]
        lst = sess.run([p, s])
        assert isinstance(lst, list) and lst[1].tolist() == [[4.0, 4.0]]
        tup = sess.run((p, (s,)))
        assert isinstance(tup, tuple) and isinstance(tup[1], tuple)
        d = sess.run({"p": p, "nested": [s, {"again": p}]})
        assert d["nested"][1]["again"].tolist() == [[12.0]]
        nt = sess.run(Pair(p, s))
        assert isinstance(nt, Pair) and nt.prod.tolist() == [[12.0]]
        assert sess.run(p.op) is None
        assert sess.run(p.name).tolist() == [[12.0]]
        assert sess.run([p, p])[0] is not None


def test_scalar_results_are_numpy_scalars_and_strings_bytes(graph):
    c = tf.constant(2.5)
    h = tf.constant("hello world")
    with tf.Session() as sess:
        v, hv = sess.run([c, h])
    assert isinstance(v, np.float32) and v == 2.5
    assert hv == b"hello world"


def test_closed_session_raises(graph):
    c = tf.constant(1.0)
    sess = tf.Session()
    assert sess.run(c) == 1.0
    sess.close()
    with pytest.raises(RuntimeError):
        sess.run(c)


def test_feeds_by_tensor_name_and_dtype_conversion(graph):
    a = tf.placeholder(tf.float32)
    b = tf.placeholder(tf.float32, name="b")
    out = a * b
    with tf.Session() as sess:
        assert sess.run(out, {a: 3, b: 4}) == 12.0
        assert sess.run(out, {a: [1, 2], "b:0": [10.0, 20.0]}).tolist() == [10.0, 40.0]
        r = sess.run(out, feed_dict={a: np.float64(2.0), b: 0.5})
        assert r.dtype == np.float32


def test_feed_shape_check_and_missing_feed(graph):
    x = tf.placeholder(tf.float32, shape=(None, 3), name="X")
    y = tf.reduce_sum(x, axis=1)
    with tf.Session() as sess:
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(3,\) for Tensor 'X:0', which has "
                                             r"shape '\(\?, 3\)'"):
            sess.run(y, {x: [1.0, 2.0, 3.0]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="placeholder tensor 'X'"):
            sess.run(y)
        with pytest.raises(TypeError, match="cannot be a tf.Tensor"):
            sess.run(y, {x: tf.constant([[1.0, 2.0, 3.0]])})
        with pytest.raises(ValueError, match="refers to an Operation"):
            sess.run(y, {"X": [[1.0, 2.0, 3.0]]})


def test_one_program_for_every_batch_size(graph):
    x = tf.placeholder(tf.float32, shape=(None, 3))
    y = tf.reduce_sum(x * 2.0, axis=1)
    with tf.Session() as sess:
        assert sess.run(y, {x: np.ones((4, 3))}).tolist() == [6.0] * 4
        assert sess.run(y, {x: np.ones((7, 3))}).tolist() == [6.0] * 7
        assert sess.run(y, {x: np.ones((1, 3))}).tolist() == [6.0]   # size-1 dims stay concrete
        assert len(sess._segments) == 2


def test_feed_intermediate_and_fetch_fed_tensor(graph):
    c3 = tf.constant(3.0)
    mid = tf.add(tf.constant(2.0), tf.constant(5.0))
    prod = c3 * mid
    with tf.Session() as sess:
        assert sess.run(prod, {mid: 10.0}) == 30.0
        assert sess.run(prod) == 21.0
        assert sess.run(mid, {mid: 4.0}) == 4.0


def test_placeholder_with_default(graph):
    pd = tf.placeholder_with_default(tf.constant([1.0, 2.0]), shape=[2])
    with tf.Session() as sess:
        assert sess.run(pd * 2.0).tolist() == [2.0, 4.0]
        assert sess.run(pd * 2.0, {pd: [5.0, 6.0]}).tolist() == [10.0, 12.0]


def test_default_session_eval_and_run(graph):
    v = tf.Variable(3.0)
    t = v * 2.0
    with tf.Session() as sess:
        assert tf.get_default_session() is sess
        v.initializer.run()
        assert t.eval() == 6.0
        assert v.eval() == 3.0
    assert tf.get_default_session() is None
    with pytest.raises(ValueError, match="default session"):
        t.eval()


def test_interactive_session_installs_itself(graph):
    c = tf.constant([1, 2])
    sess = tf.InteractiveSession()
    try:
        assert tf.get_default_session() is sess
        assert c.eval().tolist() == [1, 2]
    finally:
        sess.close()
    assert tf.get_default_session() is None


def test_programs_are_cached(graph):
    x = tf.placeholder(tf.float32, shape=[2])
    y = x + 1.0
    with tf.Session() as sess:
        for i in range(3):
            assert sess.run(y, {x: [i, i]}).tolist() == [i + 1.0, i + 1.0]
        assert len(sess._segments) == 1


def test_fetch_errors(graph):
    c = tf.constant(1.0)
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="None"):
            sess.run(None)
        with pytest.raises(TypeError):
            sess.run(3)
    with tf.Graph().as_default():
        other = tf.constant(2.0)
    with tf.Session(graph=graph) as sess:
        with pytest.raises(ValueError, match="not an element of this graph"):
            sess.run(other)
        assert sess.run(c) == 1.0


def test_configs_are_accepted(graph):
    config = tf.ConfigProto(allow_soft_placement=True, log_device_placement=False)
    config.gpu_options.allow_growth = True
    config.graph_options.optimizer_options.global_jit_level = tf.OptimizerOptions.ON_1
    with tf.device("/cpu:0"):
        p = tf.constant(2.0) * 3.0
    opts = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    with tf.Session(config=config) as sess:
        assert sess.run(p, options=opts, run_metadata=tf.RunMetadata()) == 6.0
        assert sess.list_devices()[0].device_type == "CPU"


def test_make_callable(graph):
    x = tf.placeholder(tf.int32, shape=[])
    y = x * 3
    with tf.Session() as sess:
        f = sess.make_callable(y, [x])
        assert f(2) == 6 and f(5) == 15


def test_graph_from_session_is_default_inside_with(graph):
    g2 = tf.Graph()
    with tf.Session(graph=g2) as sess:
        assert tf.get_default_graph() is g2
        c = tf.constant(4.0)
        assert sess.run(c) == 4.0


def test_py_func_and_print_run_on_the_host(graph, capsys):
    x = tf.placeholder(tf.float32, [None])
    doubled = tf.py_func(lambda a: (a * 2).astype(np.float32), [x], tf.float32)
    shown = tf.Print(doubled + 1.0, [doubled], message="doubled: ")
    pair = tf.py_func(lambda a: (a.sum(), np.int64(a.size)), [x], [tf.float32, tf.int64])
    with tf.Session() as sess:
        assert sess.run(shown, {x: [1.0, 2.0]}).tolist() == [3.0, 5.0]
        s, n = sess.run(pair, {x: [1.0, 2.0, 3.0]})
        assert s == 6.0 and n == 3
    assert "doubled: [2.0 4.0]" in capsys.readouterr().err


def test_monitored_training_session_hooks_checkpoints_and_end_of_input(graph, tmp_path):
    gs = tf.train.get_or_create_global_step()
    w = tf.Variable(5.0)
    train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.square(w), global_step=gs)
    final = tf.train.FinalOpsHook(w)
    ckpt = str(tmp_path)
    with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt, save_checkpoint_steps=4,
                                           hooks=[tf.train.StopAtStepHook(last_step=6), final]) as sess:
        steps = 0
        while not sess.should_stop():
            sess.run(train)
            steps += 1
    assert steps == 6 and abs(final.final_ops_values - 5.0 * 0.8 ** 6) < 1e-5
    assert tf.train.latest_checkpoint(ckpt).endswith("model.ckpt-6")
    with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt) as sess:   # restores instead of initializing
        assert sess.run(gs) == 6
    q = tf.FIFOQueue(5, tf.int32)
    fill = q.enqueue_many([[1, 2, 3]])
    close = q.close()
    item = q.dequeue()
    seen = []
    with tf.train.SingularMonitoredSession() as sess:
        sess.run(fill)
        sess.run(close)
        while not sess.should_stop():
            seen.append(int(sess.run(item)))      # the 4th run raises OutOfRangeError: swallowed by `with`
    assert seen == [1, 2, 3]


def test_repeated_run_calls_stay_exact(graph):
    """A run call seen before (same fetch objects and feed keys) skips flattening and planning:
    it must still see new feed values, shapes, dtypes, variable changes and bad feeds."""
    x = tf.placeholder(tf.float32, shape=(None, 2))
    v = tf.Variable([1.0, 2.0])
    total = tf.reduce_sum(x * v)
    with tf.control_dependencies([total]):
        step = tf.assign_add(v, [1.0, 1.0]).op
    with tf.Session() as sess:
        sess.run(v.initializer)
        for i in range(3):
            loss, none, fed = sess.run([total, step, x], {x: np.full((2, 2), i, np.float32)})
            assert none is None and fed.tolist() == [[i, i]] * 2
            assert loss == pytest.approx(2 * i * (3 + 2 * i))       # v before the step: [1+i, 2+i]
        assert sess.run(v).tolist() == [4.0, 5.0]
        as_tuple = sess.run((total, x), {x: [[1.0, 1.0]]})           # a list feed: converted
        assert isinstance(as_tuple, tuple) and as_tuple[0] == pytest.approx(9.0)
        assert sess.run((total, x), {x: np.ones((3, 2))})[0] == pytest.approx(27.0)   # float64, new shape
        assert sess.run(total, {x: np.ones((1, 2), np.float32)}) == pytest.approx(9.0)
        assert sess.run(total, {x: np.ones((1, 2), np.float32)}) == pytest.approx(9.0)
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(2, 3\)"):
            sess.run(total, {x: np.ones((2, 3), np.float32)})
        sess.run(v.initializer)                                      # a new variable buffer
        assert sess.run(total, {x: np.ones((1, 2), np.float32)}) == pytest.approx(3.0)
        assert sess.run(total, {x: np.ones((1, 2), np.float32)}) == pytest.approx(3.0)
        assert sess.run(x, {x: [[5.0, 6.0]]}).tolist() == [[5.0, 6.0]]   # only a fed tensor
        assert sess.run(x, {x: [[7.0, 6.0]]}).tolist() == [[7.0, 6.0]]
        assert len(sess._repeat_runs) >= 4


def test_repeated_run_with_host_ops_is_not_shortcut(graph, capsys):
    x = tf.placeholder(tf.float32, shape=[2])
    printed = tf.Print(x * 2.0, [x], message="x=")
    with tf.Session() as sess:
        for i in range(2):
            assert sess.run(printed, {x: [i, i]}).tolist() == [2.0 * i] * 2
    assert capsys.readouterr().err.count("x=") == 2


def test_repeated_run_with_nested_fetches_keeps_the_structure(graph):
    x = tf.placeholder(tf.float32, shape=[2])
    parts = [x * float(k) for k in range(3)]
    total = tf.reduce_sum(x)
    with tf.Session() as sess:
        for i in range(3):
            feed = {x: np.array([i, 1.0], np.float32)}
            s, (a, b), rest = sess.run([total, (parts[0], parts[1]), [parts[2], x]], feed)
            assert s == pytest.approx(i + 1.0) and isinstance(s, np.float32)
            assert a.tolist() == [0.0, 0.0] and b.tolist() == [i, 1.0]
            assert isinstance(rest, list) and rest[0].tolist() == [2.0 * i, 2.0] and rest[1].tolist() == [i, 1.0]
            d = sess.run({"s": total, "p": parts}, feed)          # dicts take the general path
            assert d["s"] == pytest.approx(i + 1.0) and d["p"][2].tolist() == [2.0 * i, 2.0]
        assert sum(r is not None for r in sess._repeat_runs.values()) == 1


def test_a_host_op_reading_the_loss_does_not_cut_the_gradient(graph):
    """`run([train, as_string(loss)])`: the loss is computed first for the host op; the train
    step must still differentiate through it (it is recomputed, not fed)."""
    x = tf.placeholder(tf.float32, [])
    w = tf.Variable(1.0)
    loss = tf.square(w * x - 3.0)
    grad = tf.gradients(loss, w)[0]
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    text = tf.as_string(loss)
    grad_text = tf.as_string(grad)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _, t, gt = sess.run([train, text, grad_text], {x: 1.0})
        assert t == b"4.000000" and gt == b"-4.000000"     # read before the update
        assert sess.run(w) == pytest.approx(1.4)             # w - 0.1 * 2 * (w - 3)
        _, t = sess.run([train, text], {x: 1.0})
        assert float(t) == pytest.approx(2.56, abs=1e-5)
        assert sess.run(w) == pytest.approx(1.72)


def test_reshape_of_an_unknown_shape_checks_the_element_count_when_run(graph):
    b = tf.placeholder(tf.float32)                  # unknown rank: the reshape decides the static shape
    g = tf.reshape(b, [1])
    h = tf.reshape(b, [-1, 2])
    assert g.shape.as_list() == [1] and h.shape.as_list() == [None, 2]
    with tf.Session() as sess:
        assert sess.run(g, {b: [[5.0]]}).tolist() == [5.0]
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"cannot reshape \[1,2\] \(2 elements\) into \[1\]"):
            sess.run(g, {b: [[1.0, 2.0]]})          # 2 elements into 1: never silently the first one
        assert sess.run(h, {b: [1.0, 2.0, 3.0, 4.0]}).tolist() == [[1.0, 2.0], [3.0, 4.0]]
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"cannot reshape \[3\]"):
            sess.run(h, {b: [1.0, 2.0, 3.0]})


def test_operation_types_are_tf_names(graph):
    a = tf.constant(1.0)
    x = tf.placeholder(tf.float32, [None, 2])
    v = tf.Variable([[1.0], [2.0]])
    y = tf.nn.relu(tf.matmul(x, v) + a)
    s = tf.reduce_sum(y)
    types = [a.op.type, x.op.type, (tf.matmul(x, v)).op.type, y.op.type, s.op.type, tf.no_op().type,
             tf.assign(v, [[0.0], [0.0]]).op.type, tf.identity(s).op.type]
    assert types == ["Const", "Placeholder", "MatMul", "Relu", "Sum", "NoOp", "AssignVariableOp", "Identity"]
    assert (a + a).op.type == "AddV2" and "type=Const" in repr(a.op)


def test_shapes_a_symbolic_program_cannot_take_get_a_program_of_their_own(graph):
    """A None batch fed fewer rows than a slice asks for: TF clamps. The symbolic program assumes
    the slice in range, so these shapes get a program of their own (then cached for them)."""
    x = tf.placeholder(tf.float32, [None, 3])
    head, tail = x[:5], x[5:]
    with tf.Session() as sess:
        for n in (8, 3, 3, 8):
            a = np.arange(3 * n, dtype=np.float32).reshape(n, 3)
            h, t = sess.run([head, tail], {x: a})
            np.testing.assert_array_equal(h, a[:5])
            np.testing.assert_array_equal(t, a[5:])
        assert len(sess._segments) == 2                       # the symbolic one and one for 3 rows
