import numpy as np
import pytest

from pyimagesearch.search import index as search
from pyimagesearch.search.index import (
    FaissIndex,
    calibrate_open_set,
    choose_index,
    exact_search,
    has_faiss,
    open_set_distances,
)


def brute_force(gallery, queries, k):
    distances = np.sqrt(((queries[:, None, :] - gallery[None, :, :]) ** 2).sum(-1))
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(distances, order, axis=1), order


@pytest.mark.parametrize("blocks", [(256, 32768), (3, 7)], ids=["one block", "many blocks"])
def test_exact_search_is_brute_force_in_bounded_blocks(blocks, monkeypatch):
    monkeypatch.setattr(search, "QUERY_BLOCK", blocks[0])
    monkeypatch.setattr(search, "GALLERY_BLOCK", blocks[1])
    rng = np.random.default_rng(0)
    (gallery, queries) = (rng.normal(size=(50, 6)), rng.normal(size=(11, 6)))
    (distances, indices) = exact_search(gallery, queries, 4)
    (expectedDistances, expected) = brute_force(gallery, queries, 4)
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_allclose(distances, expectedDistances, rtol=1e-4, atol=1e-5)


def test_leaving_one_out_skips_the_query_itself(monkeypatch):
    monkeypatch.setattr(search, "GALLERY_BLOCK", 4)
    points = np.array([[0.0], [0.1], [5.0], [5.3], [9.0]])
    (distances, indices) = exact_search(points, points, 1, exclude=np.arange(5))
    assert indices[:, 0].tolist() == [1, 0, 3, 2, 3]
    np.testing.assert_allclose(distances[:, 0], [0.1, 0.1, 0.3, 0.3, 3.7], atol=1e-5)


@pytest.mark.skipif(not has_faiss(), reason="faiss is optional (pip install faiss-cpu)")
def test_faiss_agrees_with_exact_search_on_clustered_embeddings():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, 16))
    gallery = (centres[rng.integers(0, 40, 5000)] + 0.2 * rng.normal(size=(5000, 16)))
    queries = (centres[rng.integers(0, 40, 300)] + 0.2 * rng.normal(size=(300, 16)))
    (_, exact) = exact_search(gallery, queries, 10)
    (_, approximate) = FaissIndex(gallery).search(queries, 10)
    assert np.mean(exact[:, 0] == approximate[:, 0]) >= 0.99
    recall = np.mean([len(set(a) & set(e)) / 10 for (a, e) in zip(approximate, exact)])
    assert recall >= 0.95


def test_choose_index(monkeypatch):
    assert choose_index("exact", 10 ** 7) == "exact"
    monkeypatch.setattr(search, "has_faiss", lambda: False)
    assert choose_index("auto", 10 ** 7) == "exact"
    with pytest.raises(ValueError, match="pip install faiss-cpu"):
        choose_index("faiss", 10)
    monkeypatch.setattr(search, "has_faiss", lambda: True)
    assert choose_index("auto", search.FAISS_FROM) == "faiss"
    assert choose_index("auto", search.FAISS_FROM - 1) == "exact"
    with pytest.raises(ValueError, match="--index must be one of"):
        choose_index("annoy", 10)


def test_open_set_distances_leave_one_image_and_one_class_out():
    embeddings = np.array([[0.0], [1.0], [10.0], [10.5], [30.0]])
    labels = np.array(["a", "a", "b", "b", "c"])
    (known, unknown) = open_set_distances(embeddings, labels)
    # known: the nearest other image of each class (c has one image: none)
    assert sorted(known.tolist()) == [0.5, 0.5, 1.0, 1.0]
    # unknown: the nearest image of another class
    assert sorted(unknown.tolist()) == [9.0, 9.0, 9.5, 10.0, 19.5]


def test_calibration_rejects_the_asked_share_of_left_out_classes():
    unknown = np.linspace(1.0, 2.0, 101)
    (threshold, accepted) = calibrate_open_set(np.array([0.1, 0.5, 1.05, 1.5]), unknown)
    assert np.mean(unknown >= threshold) == pytest.approx(0.9, abs=0.011)
    assert accepted == 0.75
    assert calibrate_open_set(np.zeros(0), unknown)[1] is None
    assert calibrate_open_set(np.zeros(3), np.zeros(0)) is None
