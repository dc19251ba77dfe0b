import cv2
import numpy as np
import pytest

from pyimagesearch.faces.alignment import (
    TEMPLATE_112,
    align_face,
    similarity_transform,
    template,
)


def moved(points, degrees, scale, shift):
    turn = np.deg2rad(degrees)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    return (scale * points @ rotation.T + shift).astype(np.float32)


def dots_at(points, shape):
    image = np.zeros(shape, np.float32)
    for (x, y) in points:
        cv2.circle(image, (int(round(x)), int(round(y))), 3, 1.0, -1)
    return image


def centres_of_dots(image, near):
    """The brightness-weighted centre of the image around each point of near."""
    found = []
    for (x, y) in near:
        (x0, y0) = (int(x) - 6, int(y) - 6)
        patch = image[y0:y0 + 13, x0:x0 + 13]
        (ys, xs) = np.mgrid[y0:y0 + 13, x0:x0 + 13]
        found.append(((xs * patch).sum() / patch.sum(), (ys * patch).sum() / patch.sum()))
    return np.array(found)


@pytest.mark.parametrize("degrees, scale, shift", [(0, 1.0, (0, 0)), (25, 2.2, (60, 40)),
                                                   (-30, 0.9, (20, 90))])
def test_a_face_turned_moved_and_scaled_comes_back_to_the_template(degrees, scale, shift):
    landmarks = moved(TEMPLATE_112, degrees, scale, np.array(shift))
    photo = dots_at(landmarks, (400, 400))
    aligned = align_face(photo, landmarks, (112, 112))
    assert aligned.shape == (112, 112)
    np.testing.assert_allclose(centres_of_dots(aligned, TEMPLATE_112), TEMPLATE_112, atol=1.0)


def test_the_template_scales_to_the_model_size():
    np.testing.assert_allclose(template((64, 64)), TEMPLATE_112 * 64 / 112)
    aligned = align_face(np.random.default_rng(0).random((300, 300)),
                         moved(TEMPLATE_112, 10, 2.0, np.array([30, 30])), (64, 48))
    assert aligned.shape == (64, 48)


def test_the_transform_is_exact_for_a_similarity_and_never_a_mirror():
    source = moved(TEMPLATE_112, 40, 0.5, np.array([7, -3]))
    matrix = similarity_transform(source, TEMPLATE_112)
    back = source @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(back, TEMPLATE_112, atol=1e-3)
    mirrored = TEMPLATE_112 * np.array([-1, 1], np.float32)
    assert np.linalg.det(similarity_transform(mirrored, TEMPLATE_112)[:, :2]) > 0


def test_a_face_too_small_to_align_is_refused():
    with pytest.raises(ValueError, match="too small to align"):
        align_face(np.zeros((50, 50), np.float32), TEMPLATE_112 / 40, (64, 64))
    with pytest.raises(ValueError, match="shape"):
        similarity_transform(np.zeros((5, 2)), np.zeros((4, 2)))
