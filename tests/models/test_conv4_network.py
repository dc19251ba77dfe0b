import pytest

from pyimagesearch.models.conv4_network import build_conv4_model


def test_conv4_has_its_documented_size_and_unit_embeddings():
    import numpy as np

    sister = build_conv4_model((28, 28, 1))
    assert sister.count_params() == 115_312 and sister.name == "sister_network"
    embeddings = sister.predict(np.random.default_rng(0).random((3, 28, 28, 1)), verbose=0)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1, rtol=1e-5)
    # 56x56 characters keep a 3x3 grid of features: more weights in the dense layer only
    assert build_conv4_model((56, 56, 1)).count_params() == 115_312 + 8 * 64 * 48


@pytest.mark.parametrize("shape, dim", [((28, 28), 48), ((28, 28, 1), 0), ((8, 8, 1), 48)])
def test_conv4_refuses_what_it_cannot_build(shape, dim):
    with pytest.raises(ValueError):
        build_conv4_model(shape, dim)


def test_the_character_network_compares_drawings_wherever_they_sit_on_the_page():
    import numpy as np

    from pyimagesearch.models.character_network import build_character_model

    sister = build_character_model((28, 28, 1))
    # conv4's weights, none more: the centring and the shifts have none
    assert sister.count_params() == 115_312 and sister.name == "sister_network"
    drawing = np.zeros((1, 28, 28, 1), np.float32)
    drawing[0, 6:20, 9:13] = 1.0  # its ink's centre a whole number of pixels off the page's
    moved = np.roll(drawing, (4, 5), axis=(1, 2))
    (a, b) = sister.predict(np.concatenate([drawing, moved]), verbose=0)
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(a), 1, rtol=1e-5)
