"""TF2 handbook style object checkpoints: tf.train.Checkpoint / CheckpointManager round trips."""
import os

import numpy as np

import fuseflow as tf


class MLP(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.flatten = tf.keras.layers.Flatten()
        self.dense1 = tf.keras.layers.Dense(units=8, activation=tf.nn.relu)
        self.dense2 = tf.keras.layers.Dense(units=3)

    def call(self, inputs):
        return tf.nn.softmax(self.dense2(self.dense1(self.flatten(inputs))))


def _train(model, opt, x, y, steps=3):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, model(x)))
        grads = tape.gradient(loss, model.variables)
        opt.apply_gradients(zip(grads, model.variables))


def test_checkpoint_save_restore_into_unbuilt_model(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.rand(6, 4, 4, 1).astype(np.float32)
    y = rng.randint(0, 3, 6)
    model, opt = MLP(), tf.keras.optimizers.Adam(1e-2)
    _train(model, opt, x, y)
    ckpt = tf.train.Checkpoint(myAwesomeModel=model, optimizer=opt)
    path = ckpt.save(os.path.join(str(tmp_path), "model.ckpt"))
    assert path.endswith("model.ckpt-1")
    assert tf.train.latest_checkpoint(str(tmp_path)) == path
    expected = model(x).numpy()
    # the handbook's restore: a fresh, unbuilt model; values land when its first call builds it
    model2 = MLP()
    status = tf.train.Checkpoint(myAwesomeModel=model2).restore(tf.train.latest_checkpoint(str(tmp_path)))
    status.expect_partial()
    np.testing.assert_allclose(model2(x).numpy(), expected, rtol=1e-6)
    # optimizer state (iterations, Adam slots) restored too: continuing training matches
    model3, opt3 = MLP(), tf.keras.optimizers.Adam(1e-2)
    tf.train.Checkpoint(myAwesomeModel=model3, optimizer=opt3).restore(path)
    _train(model, opt, x, y, 2)
    _train(model3, opt3, x, y, 2)
    assert int(opt3.iterations.numpy()) == 5
    np.testing.assert_allclose(model3(x).numpy(), model(x).numpy(), rtol=1e-5)


def test_checkpoint_manager_numbering_and_max_to_keep(tmp_path):
    v = tf.Variable(1.0)
    ckpt = tf.train.Checkpoint(v=v)
    mgr = tf.train.CheckpointManager(ckpt, directory=str(tmp_path), max_to_keep=2, checkpoint_name="ck")
    paths = [mgr.save() for _ in range(3)]
    assert [os.path.basename(p) for p in paths] == ["ck-1", "ck-2", "ck-3"]
    assert mgr.checkpoints == paths[1:]
    assert mgr.latest_checkpoint == paths[-1]
    assert not os.path.exists(paths[0] + ".index")
    assert os.path.basename(mgr.save(checkpoint_number=100)) == "ck-100"
    v.assign(5.0)
    ckpt.restore(mgr.latest_checkpoint)
    assert float(v.numpy()) == 1.0
    assert dict(tf.train.list_variables(str(tmp_path)))["v/.ATTRIBUTES/VARIABLE_VALUE"] == []
