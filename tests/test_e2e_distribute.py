"""The handbook's MirroredStrategy program on a CPU-only host: one replica, fit inside scope()."""
import numpy as np
import pytest

import fuseflow as tf


def test_mirrored_strategy_single_replica_fit_and_custom_loop():
    strategy = tf.distribute.MirroredStrategy()
    assert strategy.num_replicas_in_sync == 1
    batch = 8 * strategy.num_replicas_in_sync
    rng = np.random.RandomState(0)
    x, y = rng.rand(32, 4).astype(np.float32), rng.randint(0, 2, 32)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)
    with strategy.scope():
        model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert tf.distribute.get_strategy() is not strategy
    h = model.fit(ds, epochs=1, verbose=0)
    assert len(h.history["loss"]) == 1
    dist = strategy.experimental_distribute_dataset(ds)
    per = strategy.run(lambda a: tf.reduce_sum(a, axis=1), args=(next(iter(dist))[0],))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, per, axis=0)
    np.testing.assert_allclose(float(total), x[:8].sum(), rtol=1e-5)
    with pytest.raises(NotImplementedError, match="MultiWorkerMirroredStrategy"):
        tf.distribute.MultiWorkerMirroredStrategy()
