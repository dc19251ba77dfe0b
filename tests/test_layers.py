import keras
import numpy as np
import pytest
import tensorflow as tf

from pyimagesearch.layers import Dropout


def test_inference_is_the_identity():
    x = np.random.default_rng(0).random((4, 7, 7, 3), dtype=np.float32)
    np.testing.assert_array_equal(Dropout(0.3)(x, training=False), x)


def test_drops_at_the_rate_and_scales_like_keras():
    x = tf.ones((100, 50, 40))  # 200,000 units: the drop fraction's s.d. is 0.001
    y = Dropout(0.3, seed=1)(x, training=True).numpy()
    dropped = y == 0
    assert abs(dropped.mean() - 0.3) < 0.005
    np.testing.assert_allclose(y[~dropped], 1 / 0.7, rtol=1e-6)
    # Keras's own layer, for comparison: same scale on the kept units
    kept = keras.layers.Dropout(0.3, seed=1)(x, training=True).numpy()
    np.testing.assert_allclose(kept[kept != 0], 1 / 0.7, rtol=1e-6)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_other_rates(rate):
    y = Dropout(rate, seed=2)(tf.ones((200, 1000)), training=True).numpy()
    assert abs((y == 0).mean() - rate) < 0.005


def test_masks_are_fresh_each_call_and_repeat_with_the_seed():
    x = tf.ones((8, 9, 11))  # an odd number of units: the last 32-bit draw is half used

    def two_masks():
        keras.utils.set_random_seed(7)
        layer = Dropout(0.3)
        return (layer(x, training=True).numpy() == 0, layer(x, training=True).numpy() == 0)

    (first, second) = two_masks()
    assert (first != second).any()
    (again, _) = two_masks()
    np.testing.assert_array_equal(first, again)


def test_gradient_flows_through_kept_units_only():
    x = tf.Variable(tf.ones((64, 64)))
    layer = Dropout(0.3, seed=3)
    with tf.GradientTape() as tape:
        y = layer(x, training=True)
        total = tf.reduce_sum(y)
    grad = tape.gradient(total, x).numpy()
    kept = y.numpy() != 0
    np.testing.assert_allclose(grad[kept], 1 / 0.7, rtol=1e-6)
    assert (grad[~kept] == 0).all()


def test_works_in_bfloat16():
    x = tf.ones((10, 10))
    y = Dropout(0.3, seed=4, dtype="mixed_bfloat16")(x, training=True)
    assert y.dtype == tf.bfloat16
    assert 0 < (y.numpy() == 0).mean() < 1


def test_rate_zero_and_noise_shape_take_keras_path():
    x = tf.ones((6, 5, 4))
    np.testing.assert_array_equal(Dropout(0.0)(x, training=True), x)
    # a noise_shape drops whole columns, as keras.layers.Dropout does
    y = Dropout(0.5, noise_shape=(6, 1, 4), seed=5)(x, training=True).numpy()
    assert ((y == 0).all(axis=1) | (y != 0).all(axis=1)).all()


def test_config_round_trip():
    layer = Dropout(0.3, seed=6, name="drop")
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(copy, Dropout)
    assert (copy.rate, copy.name) == (0.3, "drop")
