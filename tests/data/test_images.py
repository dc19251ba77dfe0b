import cv2
import numpy as np
import pytest

from pyimagesearch.data.images import list_image_paths, load_image


def test_grayscale_28x28_is_loaded_as_is(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    (loaded, notes) = load_image(str(tmp_path / "a.png"))
    assert loaded.dtype == np.float32 and loaded.shape == (28, 28)
    np.testing.assert_allclose(loaded * 255, image, atol=1e-4)
    assert notes == []


def test_colour_and_size_are_converted_and_reported(tmp_path):
    image = np.zeros((56, 84, 3), np.uint8)
    image[..., 1] = 255
    cv2.imwrite(str(tmp_path / "big.png"), image)
    (loaded, notes) = load_image(str(tmp_path / "big.png"))
    assert loaded.shape == (28, 28)
    assert notes == ["colour to grayscale", "resized from 84x56 to 28x28"]
    np.testing.assert_allclose(loaded, cv2.cvtColor(image[:1, :1], cv2.COLOR_BGR2GRAY)[0, 0]
                               / 255.0, atol=1e-3)


def test_16_bit_images_are_scaled_to_unit_range(tmp_path):
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((28, 28), 65535, np.uint16))
    (loaded, _) = load_image(str(tmp_path / "deep.png"))
    np.testing.assert_allclose(loaded, 1.0)


def test_unreadable_files_raise_value_error(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "empty.png").write_bytes(b"")
    for name in ("broken.png", "empty.png"):
        with pytest.raises(ValueError, match="not a readable image"):
            load_image(str(tmp_path / name))
    with pytest.raises(ValueError, match="cannot be read"):
        load_image(str(tmp_path / "missing.png"))


def test_image_paths_are_sorted(tmp_path):
    for name in ("c.png", "a.png", "b.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.split("/")[-1] for p in list_image_paths(str(tmp_path))] == [
        "a.png", "b.jpg", "c.png"]
    with pytest.raises(FileNotFoundError):
        list_image_paths(str(tmp_path / "missing"))


def test_a_photo_of_dark_ink_is_inverted_cropped_and_centred(tmp_path):
    from pyimagesearch.data.images import prepare_digit
    paper = np.full((90, 120), 0.9, np.float32)
    paper[10:40, 80:90] = 0.1  # a dark vertical stroke near the top right
    (image, notes) = prepare_digit(paper)
    assert image.shape == (28, 28)
    assert notes[0].startswith("inverted") and "centred like MNIST" in notes[1]
    assert image[0].max() == 0 and image[:, 0].max() == 0  # black background
    (ys, xs) = np.indices(image.shape)
    assert abs((ys * image).sum() / image.sum() - 13.5) < 0.6
    assert abs((xs * image).sum() / image.sum() - 13.5) < 0.6
    assert (image.max(axis=1) > 0.1).sum() >= 19  # the long side fitted to 20 pixels


def test_white_on_black_is_not_inverted_and_blank_is_refused(tmp_path):
    from pyimagesearch.data.images import prepare_digit
    dark = np.zeros((28, 28), np.float32)
    dark[5:20, 10:14] = 1.0
    (_, notes) = prepare_digit(dark)
    assert not any("inverted" in note for note in notes)
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((28, 28), 128, np.uint8))
    with pytest.raises(ValueError, match="blank.png holds no digit"):
        load_image(str(tmp_path / "blank.png"), prepare=True)


def test_rgb_mode_gives_rgb_order_and_converts_other_channel_counts(tmp_path):
    bgr = np.zeros((10, 12, 3), np.uint8)
    bgr[..., 2] = 255  # pure red, as OpenCV stores it
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    (image, notes) = load_image(str(tmp_path / "red.png"), (10, 12), colorMode="rgb")
    assert image.shape == (10, 12, 3) and notes == []
    np.testing.assert_allclose(image[0, 0], [1.0, 0.0, 0.0])

    bgra = np.dstack([bgr, np.full((10, 12), 128, np.uint8)])
    cv2.imwrite(str(tmp_path / "alpha.png"), bgra)
    (image, notes) = load_image(str(tmp_path / "alpha.png"), (5, 6), colorMode="rgb")
    assert image.shape == (5, 6, 3) and notes[0] == "alpha channel dropped"
    np.testing.assert_allclose(image[0, 0], [1.0, 0.0, 0.0])

    cv2.imwrite(str(tmp_path / "grey16.png"), np.full((8, 8), 65535, np.uint16))
    (image, notes) = load_image(str(tmp_path / "grey16.png"), (8, 8), colorMode="rgb")
    assert image.shape == (8, 8, 3) and notes == ["grayscale to RGB"]
    np.testing.assert_allclose(image, 1.0)


def test_prepare_and_unknown_colour_modes_are_refused(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="grayscale models only"):
        load_image(str(tmp_path / "a.png"), prepare=True, colorMode="rgb")
    with pytest.raises(ValueError, match="colour mode"):
        load_image(str(tmp_path / "a.png"), colorMode="cmyk")
