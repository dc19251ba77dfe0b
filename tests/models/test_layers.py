import keras
import numpy as np
import pytest
import tensorflow as tf

from pyimagesearch.models.layers import Dropout


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


def test_ink_centring_moves_a_drawing_to_the_centre_by_whole_pixels():
    from pyimagesearch.models.layers import InkCentring
    images = np.zeros((3, 28, 28, 1), np.float32)
    images[0, 2:6, 3:9] = 1.0        # a stroke in the top-left corner
    images[1, 12:16, 11:17] = 0.5    # one already (about) in the middle
    centred = InkCentring()(images).numpy()
    for i in (0, 1):
        ink = np.argwhere(centred[i, ..., 0] > 0)
        np.testing.assert_allclose(ink.mean(axis=0), [13.5, 13.5], atol=0.5)
        # moved, not redrawn: the same pixels, as many of them
        np.testing.assert_array_equal(np.sort(centred[i].ravel()), np.sort(images[i].ravel()))
    # a blank image stays blank (no division by its zero ink)
    np.testing.assert_array_equal(centred[2], 0)


def test_ink_centring_makes_a_drawing_and_its_shifted_copy_the_same():
    from pyimagesearch.models.layers import InkCentring
    drawing = np.zeros((1, 28, 28, 1), np.float32)
    drawing[0, 8:20, 10:12] = 1.0
    drawing[0, 8:10, 10:18] = 1.0
    shifted = np.roll(drawing, (3, -4), axis=(1, 2))
    np.testing.assert_array_equal(InkCentring()(drawing), InkCentring()(shifted))


def test_shift_averaging_averages_nine_shifts_at_inference_only():
    from pyimagesearch.models.layers import ShiftAveraging
    inputs = keras.Input((20, 20, 1))
    network = keras.Model(inputs, keras.layers.UnitNormalization()(
        keras.layers.Dense(8)(keras.layers.Flatten()(inputs))))
    layer = ShiftAveraging(network, shift=0.05)
    images = np.random.default_rng(0).random((2, 20, 20, 1)).astype(np.float32)
    # training: the network alone
    np.testing.assert_allclose(layer(images, training=True), network(images), atol=1e-6)
    # inference: the mean of the embeddings of the image moved by -1, 0, +1 pixel each way
    # (5% of 20), back on the unit sphere
    moved = []
    for down in (-1, 0, 1):
        for right in (-1, 0, 1):
            copy = np.zeros_like(images)
            copy[:, max(down, 0):20 + min(down, 0), max(right, 0):20 + min(right, 0)] = \
                images[:, max(-down, 0):20 - max(down, 0), max(-right, 0):20 - max(right, 0)]
            moved.append(network(copy).numpy())
    expected = np.mean(moved, axis=0)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(layer(images, training=False), expected, atol=1e-5)
    with pytest.raises(ValueError, match="shift"):
        ShiftAveraging(network, shift=0.6)


def test_class_centres_give_cosines_with_unit_centres():
    from pyimagesearch.models.layers import ClassCentres

    layer = ClassCentres(3)
    embeddings = np.array([[3.0, 4.0], [0.0, -2.0]], np.float32)
    cosines = np.asarray(layer(embeddings))
    centres = np.asarray(layer.centres)
    centres = centres / np.linalg.norm(centres, axis=0)
    expected = (embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)) @ centres
    np.testing.assert_allclose(cosines, expected, rtol=1e-5, atol=1e-6)
    assert cosines.shape == (2, 3) and np.all(np.abs(cosines) <= 1 + 1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        ClassCentres(1)
