import numpy as np
import pytest

from pyimagesearch.augmentation import RandomStrokeWidth, build_augmentation
from pyimagesearch.siamese_network import build_anchor_model, build_pair_model


@pytest.fixture(scope="module")
def digits(digit_images):
    return digit_images[0][0][:16]


def test_augmentation_is_the_identity_at_inference(digits):
    augmentation = build_augmentation((28, 28, 1), seed=1)
    np.testing.assert_array_equal(augmentation(digits, training=False).numpy(), digits)


def test_augmentation_changes_training_images_and_keeps_their_range(digits):
    augmentation = build_augmentation((28, 28, 1), seed=1)
    first = augmentation(digits, training=True).numpy()
    second = augmentation(digits, training=True).numpy()
    assert first.shape == digits.shape and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 1
    # every image is changed, and differently each time
    assert (np.abs(first - digits).reshape(len(digits), -1).max(axis=1) > 0.1).all()
    assert np.abs(first - second).max() > 0.1
    # still a digit: most of the ink stays
    assert 0.5 < first.sum() / digits.sum() < 2.0


def test_stroke_width_thickens_and_thins(digits):
    thicker = RandomStrokeWidth(thickening=1.0, thinning=0.0, seed=2)(digits, training=True)
    thinner = RandomStrokeWidth(thickening=0.0, thinning=1.0, seed=2)(digits, training=True)
    ink = [float(np.asarray(x).sum()) for x in (thinner, digits, thicker)]
    assert ink[0] < ink[1] < ink[2]
    np.testing.assert_array_equal(RandomStrokeWidth()(digits), digits)
    with pytest.raises(ValueError):
        RandomStrokeWidth(thickening=2.0)


def test_the_saved_model_holds_no_augmentation_and_scores_the_same_twice(digits):
    model = build_pair_model((28, 28, 1), architecture="small_vgg")
    trainer = build_anchor_model(model, build_augmentation((28, 28, 1), seed=3))
    assert "augmentation" in [layer.name for layer in trainer.layers]
    assert "augmentation" not in [layer.name for layer in model.layers]
    (a, b) = (digits[:8], digits[8:])
    once = model.predict([a, b], verbose=0)
    np.testing.assert_array_equal(model.predict([a, b], verbose=0), once)
    # the training view, called for inference, is the pair model with no augmentation
    anchorScores = trainer.predict([a, b, b[::-1]], verbose=0)
    np.testing.assert_allclose(anchorScores[:, :1], once, rtol=1e-5)
