import cv2
import numpy as np
import pytest

from pyimagesearch.data.augmentation import RandomStrokeWidth, build_augmentation
from pyimagesearch.models.views import build_anchor_model
from pyimagesearch.siamese_network import build_pair_model


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


def test_the_kind_of_images_follows_the_data(tmp_path):
    from conftest import write_colour_only_classes, write_digit_classes

    from pyimagesearch.data.augmentation import image_kind
    from pyimagesearch.data.image_folders import load_image_folders

    def loaded(root, *args):
        return load_image_folders(str(root), *args, log=lambda line: None).train[0]

    assert image_kind(np.zeros((4, 28, 28), np.uint8)) == ("handwriting", "light_on_dark")
    digits = loaded(write_digit_classes(tmp_path / "digits", 6))
    assert image_kind(digits) == ("handwriting", "light_on_dark")
    colour = loaded(write_colour_only_classes(tmp_path / "colour", 6), (24, 24), "rgb")
    assert image_kind(colour, "rgb") == ("photo", None)
    # the same digits as dark ink on white paper are handwriting too, to be read inverted
    paper = tmp_path / "paper"
    for path in sorted((tmp_path / "digits").rglob("*.png")):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image.ndim == 2 and image.dtype == np.uint8:
            (paper / path.parent.name).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(paper / path.parent.name / path.name), 255 - image)
    inverted = loaded(paper)
    assert image_kind(inverted) == ("handwriting", "dark_on_light")
    np.testing.assert_allclose(inverted.inverted().load(), 1 - inverted.load(), atol=1e-6)
    # the flag overrides the rule
    assert image_kind(inverted, kind="photo") == ("photo", None)
    assert image_kind(colour, "rgb", kind="handwriting") == ("handwriting", "light_on_dark")


def test_grey_photos_are_not_handwriting(tmp_path):
    from pyimagesearch.data.augmentation import image_kind
    from pyimagesearch.data.image_folders import load_image_folders

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            # a light scene with large dark areas: light, but not ink on paper
            image = np.full((24, 24), 235, np.uint8)
            image[:, :10] = rng.integers(0, 90, (24, 10))
            cv2.imwrite(str(tmp_path / name / f"{i}.png"), image)
    files = load_image_folders(str(tmp_path), (24, 24), log=lambda line: None).train[0]
    assert image_kind(files) == ("photo", None)


def test_photo_augmentation_changes_training_images_only(digits):
    photos = np.repeat(digits, 3, axis=-1)
    augmentation = build_augmentation((28, 28, 3), seed=1, kind="photo")
    np.testing.assert_array_equal(augmentation(photos, training=False).numpy(), photos)
    augmented = augmentation(photos, training=True).numpy()
    assert not np.allclose(augmented, photos)
    assert augmented.min() >= 0 and augmented.max() <= 1
    with pytest.raises(ValueError, match="handwriting, photo"):
        build_augmentation((28, 28, 1), kind="scribble")


@pytest.mark.parametrize("colour", [False, True], ids=["digits", "colour folders"])
def test_training_records_the_augmentation_the_data_called_for(colour, tiny_npz, tmp_path):
    from conftest import write_colour_only_classes

    import train_siamese_network
    from pyimagesearch.models.model_io import read_metadata

    dataset = (["--dataset", str(write_colour_only_classes(tmp_path / "data", 12)),
                "--color-mode", "rgb", "--image-size", "24", "24"] if colour
               else ["--dataset", str(tiny_npz)])
    train_siamese_network.main([*dataset, "--architecture", "small_vgg", "--epochs", "1",
                                "--output", str(tmp_path / "out"), "--seed", "0",
                                "--precision", "float32"])
    metadata = read_metadata(str(tmp_path / "out" / "small_vgg_siamese_model"))
    assert metadata["augment"] is True
    assert metadata["augmentation"] == ("photo" if colour else "handwriting")
