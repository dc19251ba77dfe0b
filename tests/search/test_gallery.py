import os
import zipfile

import cv2
import numpy as np
import pytest

from pyimagesearch.search.gallery import (
    default_index_path,
    load_index,
    refresh_index,
    save_index,
    scan_gallery,
)

HEADER = {"model": "abc", "prepare": False, "input_shape": [28, 28, 1]}


def write_image(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(str(path), np.full((8, 8), value, np.uint8))


@pytest.fixture
def gallery(tmp_path):
    root = tmp_path / "gallery"
    for (i, label) in enumerate(["cat", "cat", "dog"]):
        write_image(root / label / f"{i}.png", 10 * i)
    write_image(root / "lone.png", 200)
    return root


class Embedder:
    """Embeds a file as its mean pixel; remembers what it was asked to embed."""

    def __init__(self, root):
        (self.root, self.calls) = (root, [])

    def __call__(self, paths):
        self.calls.append(list(paths))
        readable = [p for p in paths if cv2.imread(os.path.join(self.root, p)) is not None]
        vectors = [[cv2.imread(os.path.join(self.root, p)).mean(), 1.0] for p in readable]
        return readable, np.array(vectors, np.float32).reshape(len(readable), 2)


def test_class_subfolders_label_their_images_and_a_loose_file_is_its_own(gallery):
    (paths, labels) = scan_gallery(str(gallery))
    assert paths == [os.path.join("cat", "0.png"), os.path.join("cat", "1.png"),
                     os.path.join("dog", "2.png"), "lone.png"]
    assert labels == ["cat", "cat", "dog", "lone"]


def test_a_refresh_embeds_only_what_changed(gallery, tmp_path):
    embed = Embedder(str(gallery))
    (index, counts) = refresh_index(None, str(gallery), embed, HEADER)
    assert counts == (4, 0, 0) and len(index) == 4
    (index, counts) = refresh_index(index, str(gallery), embed, HEADER)
    assert counts == (0, 4, 0) and embed.calls[-1] == []

    for i in range(3):
        write_image(gallery / "dog" / f"new{i}.png", 50 + i)
    os.remove(gallery / "cat" / "0.png")
    (index, counts) = refresh_index(index, str(gallery), embed, HEADER)
    assert counts == (3, 3, 1)
    assert sorted(embed.calls[-1]) == [os.path.join("dog", f"new{i}.png") for i in range(3)]
    assert os.path.join("cat", "0.png") not in index.paths.tolist()

    # a changed file is embedded again, with its new content
    write_image(gallery / "lone.png", 90)
    os.utime(gallery / "lone.png", ns=(1, 1))
    (index, counts) = refresh_index(index, str(gallery), embed, HEADER)
    assert counts == (1, 5, 0)
    assert index.embeddings[index.paths.tolist().index("lone.png"), 0] == pytest.approx(90)


def test_unreadable_files_stay_out_and_an_empty_gallery_is_refused(gallery, tmp_path):
    (gallery / "dog" / "broken.png").write_bytes(b"not an image")
    (index, counts) = refresh_index(None, str(gallery), Embedder(str(gallery)), HEADER)
    assert counts == (4, 0, 0) and "broken.png" not in " ".join(index.paths)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no usable images"):
        refresh_index(None, str(empty), Embedder(str(empty)), HEADER)


def test_the_index_round_trips_and_a_bad_one_is_never_trusted(gallery, tmp_path):
    (index, _) = refresh_index(None, str(gallery), Embedder(str(gallery)), HEADER)
    path = str(tmp_path / "index.npz")
    assert load_index(path, HEADER) == (None, None)  # none yet: built without a notice
    save_index(index, path)
    (loaded, why) = load_index(path, HEADER)
    assert why is None
    np.testing.assert_array_equal(loaded.embeddings, index.embeddings)
    assert loaded.paths.tolist() == index.paths.tolist()

    assert "another model" in load_index(path, {**HEADER, "model": "xyz"})[1]
    assert "another prepare" in load_index(path, {**HEADER, "prepare": True})[1]

    # tampered: an embedding changed without the checksum
    with np.load(path) as data:
        arrays = dict(data)
    arrays["embeddings"] = arrays["embeddings"] + 1
    np.savez(path, **arrays)
    assert "fails its checksum" in load_index(path, HEADER)[1]
    # foreign: some other .npz
    np.savez(path, x=np.zeros(3))
    assert "not a readable index" in load_index(path, HEADER)[1]
    # damaged: cut short
    save_index(index, path)
    with open(path, "rb") as f:
        head = f.read(200)
    with open(path, "wb") as f:
        f.write(head)
    assert "not a readable index" in load_index(path, HEADER)[1]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("header.npy", b"junk")
    assert "not a readable index" in load_index(path, HEADER)[1]


def test_default_index_path_names_the_gallery_and_the_model():
    assert default_index_path("out", "photos/", "output/small_vgg_siamese_model") == \
        os.path.join("out", "index_photos_small_vgg_siamese_model.npz")


def test_a_file_rewritten_in_place_with_its_old_size_and_time_is_embedded_again(gallery):
    embed = Embedder(str(gallery))
    (index, _) = refresh_index(None, str(gallery), embed, HEADER)
    path = gallery / "lone.png"
    before = os.stat(path)
    # another grey whose 8x8 PNG has the same size
    value = next(v for v in range(201, 256)
                 if len(cv2.imencode(".png", np.full((8, 8), v, np.uint8))[1]) == before.st_size)
    write_image(path, value)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    (index, counts) = refresh_index(index, str(gallery), embed, HEADER)
    assert counts == (1, 3, 0)
    assert index.embeddings[index.paths.tolist().index("lone.png"), 0] == pytest.approx(value)


def test_gallery_folders_follow_the_training_folders_rules(gallery, tmp_path):
    # a symbolic link to a class folder is followed, hidden entries and FIFOs are not
    write_image(tmp_path / "elsewhere" / "fox" / "f.png", 77)
    os.symlink(tmp_path / "elsewhere" / "fox", gallery / "fox")
    write_image(gallery / ".thumbnails" / "t.png", 1)
    write_image(gallery / "cat" / ".hidden.png", 1)
    os.mkfifo(gallery / "dog" / "pipe.png")
    os.symlink(gallery / "missing.png", gallery / "dog" / "dangling.png")
    os.symlink(gallery, gallery / "cat" / "loop")
    warnings = []
    from pyimagesearch.data.images import list_image_paths
    found = list_image_paths(str(gallery), warn=warnings.append)
    assert [os.path.relpath(p, gallery) for p in found] == [
        os.path.join("cat", "0.png"), os.path.join("cat", "1.png"),
        os.path.join("dog", "2.png"), os.path.join("fox", "f.png"), "lone.png"]
    assert len(warnings) == 2 and all("not a regular file" in w for w in warnings)
    (paths, labels) = scan_gallery(str(gallery))
    assert labels == ["cat", "cat", "dog", "fox", "lone"]


def test_the_searchs_own_output_in_the_gallery_is_never_indexed(gallery):
    write_image(gallery / "results" / "query_01.png", 5)
    (paths, _) = scan_gallery(str(gallery), exclude=[str(gallery / "results")])
    assert not any(path.startswith("results") for path in paths)
    (index, _) = refresh_index(None, str(gallery), Embedder(str(gallery)), HEADER,
                               exclude=[str(gallery / "results")])
    assert len(index) == 4
