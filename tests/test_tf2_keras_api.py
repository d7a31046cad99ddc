"""Keras API surface used by TF2 tutorials: metric naming, predict before compile, confusion-count
metrics, to_categorical dtypes, tf.losses / tf.optimizers / tf.metrics aliases (Keras 3 semantics)."""
import numpy as np
import pytest

import fuseflow as tf

layers = tf.keras.layers


def _dense_model():
    m = tf.keras.Sequential([layers.Dense(1, input_shape=(2,), kernel_initializer="ones")])
    return m


def test_string_metric_keeps_its_name_in_history():
    m = _dense_model()
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.ones((4, 2), np.float32)
    h = m.fit(x, np.zeros((4, 1), np.float32), epochs=1, verbose=0, validation_data=(x, np.zeros((4, 1))))
    assert sorted(h.history) == ["loss", "mae", "val_loss", "val_mae"]
    assert h.history["mae"][0] == pytest.approx(2.0)


def test_predict_before_compile():
    m = _dense_model()
    out = m.predict(np.ones((3, 2), np.float32), verbose=0)
    assert isinstance(out, np.ndarray) and out.tolist() == [[2.0]] * 3


def test_precision_recall_counts():
    p = tf.keras.metrics.Precision()
    p.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    r = tf.keras.metrics.Recall()
    r.update_state([0, 1, 1, 1], [0.9, 0.2, 0.7, 0.6])
    tp = tf.keras.metrics.TruePositives()
    tp.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert float(p.result()) == pytest.approx(2 / 3)
    assert float(r.result()) == pytest.approx(2 / 3)
    assert float(tp.result()) == 2.0
    p.reset_state()
    assert float(p.result()) == 0.0


def test_auc_metric_matches_keras_documentation_example():
    m = tf.keras.metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    # Keras' docstring: tp=[2,1,0], fp=[2,0,0] -> tpr=[1,.5,0], fpr=[1,0,0] -> 0.75
    assert m.true_positives.numpy().tolist() == [2.0, 1.0, 0.0]
    assert float(m.result()) == pytest.approx(0.75)
    roc = tf.keras.metrics.AUC()
    roc.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert float(roc.result()) == pytest.approx(0.75)
    pr = tf.keras.metrics.AUC(curve="PR")
    pr.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert 0.5 < float(pr.result()) < 1.0
    with pytest.raises(NotImplementedError, match="multi_label"):
        tf.keras.metrics.AUC(multi_label=True)


def test_to_categorical_dtypes():
    y = tf.keras.utils.to_categorical([0, 2, 1], num_classes=3)
    assert y.dtype == np.float64 and y.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    t = tf.keras.utils.to_categorical(tf.constant([1, 0]), 2)
    assert tf.is_tensor(t) and t.dtype == tf.float32 and t.numpy().tolist() == [[0, 1], [1, 0]]


def test_top_level_keras_aliases():
    assert tf.losses.MSE(tf.constant([1.0]), tf.constant([3.0])).numpy() == pytest.approx(4.0)
    assert isinstance(tf.optimizers.Adam(), tf.keras.optimizers.Adam)
    m = tf.metrics.Mean()
    m.update_state([1.0, 3.0])
    assert float(m.result()) == 2.0
    assert tf.initializers.Ones()((2,)).numpy().tolist() == [1.0, 1.0]


def test_time_distributed_dense():
    td = layers.TimeDistributed(layers.Dense(2, kernel_initializer="ones"))
    x = tf.reshape(tf.range(12, dtype=tf.float32), [2, 3, 2])
    out = td(x)
    assert out.shape.as_list() == [2, 3, 2]
    np.testing.assert_allclose(out.numpy(), np.repeat(x.numpy().sum(-1, keepdims=True), 2, axis=-1))
    inp = tf.keras.Input((3, 2))
    m = tf.keras.Model(inp, layers.TimeDistributed(layers.Dense(4))(inp))
    assert m.output_shape == (None, 3, 4) and m.count_params() == 12


def test_functional_merge_helpers():
    a, b = tf.constant([2.0, 6.0]), tf.constant([3.0, 2.0])
    assert layers.multiply([a, b]).numpy().tolist() == [6.0, 12.0]
    assert layers.subtract([a, b]).numpy().tolist() == [-1.0, 4.0]
    assert layers.average([a, b]).numpy().tolist() == [2.5, 4.0]
    assert layers.maximum([a, b]).numpy().tolist() == [3.0, 6.0]
    assert layers.minimum([a, b]).numpy().tolist() == [2.0, 2.0]


def test_save_weights_needs_keras3_suffix(tmp_path):
    m = _dense_model()
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        m.save_weights(str(tmp_path / "w.ckpt"))
    with pytest.raises(ValueError, match="File format not supported"):
        m.load_weights(str(tmp_path / "w.ckpt"))


def test_datasets_never_download(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(Exception, match="URL fetch failure.*mnist.npz"):
        tf.keras.datasets.mnist.load_data()
    (tmp_path / "datasets").mkdir()
    x = np.arange(8, dtype=np.uint8).reshape(2, 2, 2)
    np.savez(tmp_path / "datasets" / "mnist.npz", x_train=x, y_train=np.array([1, 2]), x_test=x[:1],
             y_test=np.array([3]))
    (xtr, ytr), (xte, yte) = tf.keras.datasets.mnist.load_data()
    assert xtr.tolist() == x.tolist() and ytr.tolist() == [1, 2] and yte.tolist() == [3]


def test_batch_jacobian_matches_per_row_jacobian():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    w = tf.constant([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.matmul(x, w) ** 2
    bj = tape.batch_jacobian(y, x).numpy()
    xv = x.numpy()
    expected = np.stack([2 * (xv[i] @ w.numpy())[:, None] * w.numpy().T for i in range(2)])
    np.testing.assert_allclose(bj, expected)
    assert bj.shape == (2, 3, 2)


def test_whole_model_saving_is_refused_clearly(tmp_path):
    m = _dense_model()
    with pytest.raises(NotImplementedError, match="Model.save"):
        m.save(str(tmp_path / "m.keras"))
    with pytest.raises(NotImplementedError, match="load_model"):
        tf.keras.models.load_model(str(tmp_path / "m.keras"))


def test_pool1d_and_grayscale_to_rgb():
    x = tf.reshape(tf.range(6.0), [1, 6, 1])
    assert tf.nn.max_pool1d(x, 2, 2, "VALID")[0, :, 0].numpy().tolist() == [1.0, 3.0, 5.0]
    assert tf.nn.avg_pool1d(x, 3, 1, "VALID")[0, :, 0].numpy().tolist() == [1.0, 2.0, 3.0, 4.0]
    assert tf.nn.max_pool1d(x, [2], [2], "SAME").shape.as_list() == [1, 3, 1]
    g = tf.image.grayscale_to_rgb(tf.reshape(tf.range(4.0), [2, 2, 1]))
    assert g.shape.as_list() == [2, 2, 3] and g[1, 1].numpy().tolist() == [3.0, 3.0, 3.0]


def test_activity_regularizer_is_not_divided_by_batch_size():
    """Keras 3 adds activity_regularizer(output) as is (tf.keras 2 divided by the batch size)."""
    d = layers.Dense(1, kernel_initializer="ones", activity_regularizer=tf.keras.regularizers.l1(0.5))
    d(tf.ones([2, 2]))
    assert [float(l) for l in d.losses] == [2.0]
    a = layers.ActivityRegularization(l2=0.1)
    out = a(tf.constant([[1.0, 2.0], [3.0, 0.0]]))
    assert out.numpy().tolist() == [[1.0, 2.0], [3.0, 0.0]]
    assert float(a.losses[0]) == pytest.approx(1.4)


def test_kernel_regularizer_enters_fit_loss():
    m = tf.keras.Sequential([layers.Dense(1, kernel_initializer="ones", use_bias=False, input_shape=(2,),
                                          kernel_regularizer=tf.keras.regularizers.l2(0.1))])
    m.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    h = m.fit(np.ones((1, 2), np.float32), np.zeros((1, 1), np.float32), epochs=2, verbose=0)
    # step 1: 2^2 + 0.1 * 2 = 4.2, grad 4.2 -> w = 0.58; step 2: 1.16^2 + 0.1 * 2 * 0.58^2
    np.testing.assert_allclose(h.history["loss"], [4.2, 1.16 ** 2 + 0.2 * 0.58 ** 2], rtol=1e-6)


def test_learning_rate_scheduler_and_plateau():
    m = _dense_model()
    m.compile(optimizer=tf.keras.optimizers.SGD(0.01), loss="mse")
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    h = m.fit(x, y, epochs=3, verbose=0,
              callbacks=[tf.keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    np.testing.assert_allclose(h.history["learning_rate"], [0.005, 0.0025, 0.00125], rtol=1e-6)
    with pytest.raises(ValueError, match="should be a float"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[tf.keras.callbacks.LearningRateScheduler(lambda e: 1)])
    m.compile(optimizer=tf.keras.optimizers.SGD(0.0), loss="mse")
    m.optimizer.learning_rate = 0.1
    cb = tf.keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    m.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    assert float(m.optimizer.learning_rate) < 0.1 or cb.best < np.inf


def test_model_checkpoint_weights(tmp_path):
    m = _dense_model()
    m.compile(optimizer="sgd", loss="mse")
    path = str(tmp_path / "ck-{epoch:02d}.weights.h5")
    m.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
          callbacks=[tf.keras.callbacks.ModelCheckpoint(path, save_weights_only=True)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck-01.weights.h5", "ck-02.weights.h5"]
    with pytest.raises(ValueError, match="weights.h5"):
        tf.keras.callbacks.ModelCheckpoint(str(tmp_path / "w.ckpt"), save_weights_only=True)


def test_functional_multi_io_shapes():
    a, b = tf.keras.Input(shape=(2,)), tf.keras.Input(shape=(3,))
    h = layers.concatenate([a, b])
    m = tf.keras.Model(inputs=[a, b], outputs=[layers.Dense(1)(h), layers.Dense(2)(h)])
    assert m.output_shape == [(None, 1), (None, 2)]
    assert m.input_shape == [(None, 2), (None, 3)]
    single = tf.keras.Model(a, layers.Dense(3)(a))
    assert single.input_shape == (None, 2) and single.output_shape == (None, 3)


def _normalize_grad(x, dy, axes, eps):
    """d/dx of sum(dy * (x - mean) / sqrt(var + eps)) with the exact (two-pass) mean and variance."""
    mu = x.mean(axes, keepdims=True)
    var = x.var(axes, keepdims=True)
    xh = (x - mu) / np.sqrt(var + eps)
    return (dy - dy.mean(axes, keepdims=True) - xh * (dy * xh).mean(axes, keepdims=True)) / np.sqrt(var + eps)


def test_normalization_layers_use_tf_nn_moments_gradients():
    """Keras 3's TF backend computes moments with tf.nn.moments (keras#18795), so the input gradient of
    BatchNormalization (training) and LayerNormalization is the exact one: it sums to 0 over the
    normalized axes."""
    rs = np.random.RandomState(0)
    x = tf.constant(rs.uniform(-1, 3, (2, 3, 3, 4)).astype(np.float32))
    dy = rs.uniform(-1, 1, (2, 3, 3, 4)).astype(np.float32)
    for layer, axes in ((layers.BatchNormalization(), (0, 1, 2)), (layers.LayerNormalization(), (3,))):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * dy)
        g = tape.gradient(loss, x).numpy()
        np.testing.assert_allclose(g, _normalize_grad(x.numpy().astype(np.float64), dy, axes, 1e-3),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(g.sum(axes), 0.0, atol=1e-4)


def test_losses_align_label_and_prediction_ranks():
    """Keras 3's LossFunctionWrapper squeezes/expands a trailing 1 so (N,) labels meet (N, 1) outputs."""
    y, p = tf.constant([1.0, 0.0]), tf.constant([[0.8], [0.3]])
    expected = -(np.log(0.8) + np.log(0.7)) / 2
    assert float(tf.keras.losses.BinaryCrossentropy()(y, p)) == pytest.approx(expected, rel=1e-5)
    assert float(tf.keras.losses.MeanSquaredError()(y, p)) == pytest.approx((0.04 + 0.09) / 2, rel=1e-5)
    m = tf.keras.Sequential([layers.Dense(1, activation="sigmoid", kernel_initializer="zeros", input_shape=(2,))])
    m.compile(optimizer=tf.keras.optimizers.SGD(0.0), loss="binary_crossentropy")
    h = m.fit(np.ones((4, 2), np.float32), np.array([1, 0, 1, 0]), epochs=1, verbose=0)
    assert h.history["loss"][0] == pytest.approx(np.log(2), rel=1e-5)


def test_stacked_rnn_cells():
    c1 = layers.SimpleRNNCell(3, kernel_initializer="ones", recurrent_initializer="zeros")
    c2 = layers.SimpleRNNCell(2, kernel_initializer="ones", recurrent_initializer="zeros")
    rnn = layers.RNN([c1, c2], return_state=True)
    out, s1, s2 = rnn(tf.ones([1, 2, 1]) * 0.1)
    np.testing.assert_allclose(out.numpy(), [[np.tanh(3 * np.tanh(0.1))] * 2], rtol=1e-5)
    assert s1.shape.as_list() == [1, 3] and s2.shape.as_list() == [1, 2]
    assert len(rnn.trainable_weights) == 6


def test_pad_sequences():
    pad = tf.keras.utils.pad_sequences
    assert pad([[1, 2], [3]], maxlen=3).tolist() == [[0, 1, 2], [0, 0, 3]]
    assert pad([[1, 2, 3, 4]], maxlen=2).tolist() == [[3, 4]]
    assert pad([[1, 2, 3, 4]], maxlen=2, padding="post", truncating="post").tolist() == [[1, 2]]
    out = tf.keras.preprocessing.sequence.pad_sequences([[1], [2, 3]], padding="post", value=-1)
    assert out.dtype == np.int32 and out.tolist() == [[1, -1], [2, 3]]


def test_keras3_variable_names_and_paths():
    d = layers.Dense(2, name="fc")
    d.build((None, 3))
    assert [v.name for v in d.weights] == ["kernel", "bias"]
    assert [v.path for v in d.weights] == ["fc/kernel", "fc/bias"]
    assert isinstance(d.kernel, tf.Variable)
    bn = layers.BatchNormalization(name="bn")
    bn.build((None, 3))
    assert [v.name for v in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    opt = tf.keras.optimizers.Adam()
    opt.apply_gradients([(tf.ones([3, 2]), d.kernel)])
    assert [v.name for v in opt.variables] == ["iteration", "learning_rate", "fc_kernel_momentum",
                                               "fc_kernel_velocity"]
    assert opt.variables[2].path == "adam/fc_kernel_momentum"


def test_adamax_matches_keras_formula_and_unsupported_optimizers_are_named():
    v = tf.Variable([1.0, -2.0])
    opt = tf.keras.optimizers.Adamax(0.1)
    m, u, w = np.zeros(2), np.zeros(2), np.array([1.0, -2.0])
    for t in range(1, 4):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(v * v * v)
        opt.apply_gradients([(tape.gradient(loss, v), v)])
        g = 3 * w * w
        m = m + (g - m) * 0.1
        u = np.maximum(0.999 * u, np.abs(g))
        w = w - 0.1 * m / ((1 - 0.9 ** t) * (u + 1e-7))
    np.testing.assert_allclose(v.numpy(), w, rtol=1e-5)
    assert isinstance(tf.keras.optimizers.get("adamax"), tf.keras.optimizers.Adamax)
    with pytest.raises(NotImplementedError, match="Nadam"):
        tf.keras.optimizers.Nadam()


def test_hard_silu_activation():
    x = tf.constant([-4.0, -1.0, 0.0, 1.0, 4.0])
    xn = x.numpy()
    expected = xn * np.clip(xn / 6 + 0.5, 0, 1)
    np.testing.assert_allclose(tf.keras.activations.hard_silu(x).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(layers.Activation("hard_swish")(x).numpy(), expected, rtol=1e-6)


def test_functional_input_output_and_feature_extractor():
    i = tf.keras.Input((4,))
    h = layers.Dense(3, name="h", kernel_initializer="ones")(i)
    m = tf.keras.Model(i, layers.Dense(2)(h))
    fe = tf.keras.Model(m.input, [m.get_layer("h").output, m.output])
    a, b = fe(np.ones((2, 4), np.float32))
    assert a.numpy().tolist() == [[4.0] * 3] * 2 and b.shape.as_list() == [2, 2]
    seq = tf.keras.Sequential([tf.keras.Input((4,)), layers.Dense(3, name="h", kernel_initializer="ones"),
                               layers.Dense(2)])
    sub = tf.keras.Model(inputs=seq.inputs, outputs=seq.get_layer("h").output)
    assert sub(np.ones((1, 4), np.float32)).numpy().tolist() == [[4.0, 4.0, 4.0]]


def test_metrics_names_and_batch_callbacks():
    m = _dense_model()
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    assert m.metrics_names == ["loss", "compile_metrics"]
    seen = []
    cb = tf.keras.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))
    m.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=2, epochs=1, verbose=0, callbacks=[cb])
    assert seen == [0, 1]


def test_preprocessing_layers():
    img = tf.reshape(tf.range(2 * 4 * 6, dtype=tf.float32), [2, 4, 6, 1])
    assert layers.Resizing(2, 3)(img).shape.as_list() == [2, 2, 3, 1]
    np.testing.assert_allclose(layers.Resizing(2, 3)(img).numpy(), tf.image.resize(img, [2, 3]).numpy())
    assert layers.CenterCrop(2, 2)(img)[0, :, :, 0].numpy().tolist() == [[8.0, 9.0], [14.0, 15.0]]
    norm = layers.Normalization()
    norm.adapt(np.array([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(norm(np.array([[1.0, 2.0], [5.0, 4.0]])).numpy(), [[-1, -1], [3, 0]], atol=1e-6)
    flipped = layers.RandomFlip("horizontal", seed=1)(img).numpy()
    for i in range(2):
        assert np.array_equal(flipped[i], img.numpy()[i]) or np.array_equal(flipped[i], img.numpy()[i, :, ::-1])
    assert np.array_equal(layers.RandomFlip()(img, training=False).numpy(), img.numpy())


def test_fit_before_compile_is_a_value_error():
    m = _dense_model()
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model"):
        m.fit(np.ones((2, 2)), np.ones((2, 1)), verbose=0)
    with pytest.raises(ValueError, match="compile"):
        m.evaluate(np.ones((2, 2)), np.ones((2, 1)), verbose=0)


def test_weight_constraints_applied_after_each_step():
    d = layers.Dense(2, kernel_initializer="ones", use_bias=False, kernel_constraint=tf.keras.constraints.MaxNorm(1.0))
    d.build((None, 2))
    opt = tf.keras.optimizers.SGD(0.1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(d(tf.ones([1, 2])))
    opt.apply_gradients(zip(tape.gradient(loss, d.trainable_variables), d.trainable_variables))
    # step: 1 - 0.1 = 0.9 per entry; column norm 0.9 * sqrt(2) > 1 -> scaled to norm 1
    np.testing.assert_allclose(d.kernel.numpy(), np.full((2, 2), 1 / np.sqrt(2)), rtol=1e-5)
    m = tf.keras.Sequential([layers.Dense(1, input_shape=(2,), kernel_constraint="non_neg", kernel_initializer="ones")])
    m.compile(tf.keras.optimizers.SGD(1.0), "mse")
    m.fit(np.ones((2, 2)), -10 * np.ones((2, 1)), epochs=1, verbose=0)
    assert (m.get_weights()[0] >= 0).all()
    v = tf.Variable([3.0, -1.0], constraint=lambda x: tf.clip_by_value(x, 0.0, 1.0))
    tf.keras.optimizers.SGD(0.1).apply_gradients([(tf.constant([0.0, 0.0]), v)])
    assert v.numpy().tolist() == [1.0, 0.0]
    w = tf.constant([[3.0, 0.0], [4.0, 0.5]])
    np.testing.assert_allclose(tf.keras.constraints.UnitNorm()(w).numpy(), [[0.6, 0.0], [0.8, 1.0]], rtol=1e-5)


def test_embedding_mask_zero_makes_rnns_skip_padding():
    emb = layers.Embedding(5, 3, mask_zero=True)
    lstm = layers.LSTM(4)
    padded = lstm(emb(tf.constant([[0, 0, 1, 2]]))).numpy()
    plain = lstm(emb(tf.constant([[1, 2]]))).numpy()
    np.testing.assert_allclose(padded, plain, rtol=1e-5, atol=1e-7)
    seq = layers.SimpleRNN(2, return_sequences=True, kernel_initializer="ones", recurrent_initializer="zeros")
    out = seq(emb(tf.constant([[1, 0, 2]]))).numpy()[0]
    np.testing.assert_allclose(out[1], out[0])          # a masked step repeats the previous output
    m = tf.keras.Sequential([layers.Embedding(10, 4, mask_zero=True), layers.LSTM(3), layers.Dense(1)])
    m.compile("adam", "mse")
    m.fit(np.array([[0, 1, 2], [3, 4, 5]]), np.ones((2, 1)), verbose=0)
    np.testing.assert_allclose(m.predict(np.array([[0, 0, 7]]), verbose=0), m.predict(np.array([[7, 0, 0]]), verbose=0),
                               rtol=1e-5)


def test_extra_layers():
    x = tf.reshape(tf.range(2 * 4 * 6, dtype=tf.float32), [2, 4, 6])
    sd = layers.SpatialDropout1D(0.5, seed=1)(x, training=True).numpy()
    for b in range(2):
        for c in range(6):
            col = sd[b, :, c]
            assert (col == 0).all() or np.allclose(col, 2 * x.numpy()[b, :, c])
    assert np.array_equal(layers.SpatialDropout2D(0.5)(x[None], training=False).numpy(), x.numpy()[None])
    assert layers.ZeroPadding1D(2)(x).shape.as_list() == [2, 8, 6]
    assert layers.Cropping1D((1, 2))(x).numpy().tolist() == x.numpy()[:, 1:2].tolist()
    assert layers.UpSampling1D(3)(x).shape.as_list() == [2, 12, 6]
    a, b = tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([[5.0, 6.0], [7.0, 8.0]])
    assert layers.Dot(axes=1)([a, b]).numpy().tolist() == [[17.0], [53.0]]
    assert layers.dot([tf.ones([2, 3, 4]), tf.ones([2, 5, 4])], axes=2).shape.as_list() == [2, 3, 5]
    np.testing.assert_allclose(layers.UnitNormalization()(tf.constant([[3.0, 4.0]])).numpy(), [[0.6, 0.8]])
    gn = layers.GroupNormalization(groups=2)(tf.reshape(tf.range(8.0), [1, 2, 4])).numpy()
    group0 = np.array([0.0, 1.0, 4.0, 5.0])
    np.testing.assert_allclose(gn[0, 0, 0], (0 - group0.mean()) / np.sqrt(group0.var() + 1e-3), rtol=1e-5)


def test_masking_layer_feeds_rnn_mask():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], np.float32)
    masked = layers.Masking()(tf.constant(x))
    assert masked._keras_mask.numpy().tolist() == [[True, False, True]]
    rnn = layers.SimpleRNN(2, kernel_initializer="ones", recurrent_initializer="ones")
    with_mask = rnn(masked).numpy()
    without_gap = rnn(tf.constant(x[:, [0, 2]])).numpy()
    np.testing.assert_allclose(with_mask, without_gap, rtol=1e-6)


def test_more_metrics_and_callbacks(tmp_path):
    c = tf.keras.metrics.CosineSimilarity()
    c.update_state([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])
    assert float(c.result()) == pytest.approx(0.5)
    h = tf.keras.metrics.Hinge()
    h.update_state([[0.0, 1.0]], [[0.6, 0.4]])
    assert float(h.result()) == pytest.approx(1.1)
    path = tmp_path / "log.csv"
    m = _dense_model()
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    m.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
          callbacks=[tf.keras.callbacks.CSVLogger(str(path)), tf.keras.callbacks.TerminateOnNaN()])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,mae" and [l.split(",")[0] for l in lines[1:]] == ["0", "1"]
