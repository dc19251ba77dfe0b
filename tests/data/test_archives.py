import shutil
import zipfile

import pytest
from conftest import write_alphabets, zip_folder

from pyimagesearch.data.archives import is_zip, unpacked_zip
from pyimagesearch.data.datasets import DatasetError
from pyimagesearch.data.image_folders import load_image_folders, resolve_dataset, scan_classes


def test_nested_class_folders_are_named_by_their_path(tmp_path):
    write_alphabets(tmp_path, (("Alpha", 3), ("Beta", 2)), drawers=2)
    (paths, labels, names) = scan_classes(str(tmp_path))
    assert names == ["Alpha/character01", "Alpha/character02", "Alpha/character03",
                     "Beta/character01", "Beta/character02"]
    assert len(paths) == 10 and sorted(set(labels.tolist())) == [0, 1, 2, 3, 4]


def test_a_folder_with_images_of_its_own_stays_one_class(tmp_path):
    write_alphabets(tmp_path, (("Alpha", 2),), drawers=2)
    # an image beside the character folders makes Alpha a class holding all of them
    (tmp_path / "Alpha" / "character01" / "0101_01.png").rename(tmp_path / "Alpha" / "x.png")
    write_alphabets(tmp_path, (("Beta", 1),), drawers=2)
    (paths, labels, names) = scan_classes(str(tmp_path))
    assert names == ["Alpha", "Beta/character01"] and len(paths) == 6


def test_zips_are_unpacked_once_and_merged_by_class_name(tmp_path):
    first = write_alphabets(tmp_path / "one", (("Alpha", 2), ("Greek", 2)), wrapper="set1")
    second = write_alphabets(tmp_path / "two", (("Greek", 2), ("Gamma", 2)), wrapper="set2")
    # the Greek drawings are the same files in both, as Omniglot's two small sets share theirs
    shutil.rmtree(second / "set2" / "Greek")
    shutil.copytree(first / "set1" / "Greek", second / "set2" / "Greek")
    zips = [zip_folder(first, tmp_path / "one.zip"), zip_folder(second, tmp_path / "two.zip")]
    cache = tmp_path / "cache"
    lines = []
    roots = [unpacked_zip(str(path), str(cache), lines.append) for path in zips]
    assert [root.rsplit("/", 1)[1] for root in roots] == ["set1", "set2"]
    assert sum("unpacking" in line for line in lines) == 2
    assert unpacked_zip(str(zips[0]), str(cache), lines.append) == roots[0]
    assert sum("unpacking" in line for line in lines) == 2  # not again
    (paths, labels, names) = scan_classes(roots, log=lines.append)
    assert names == ["Alpha/character01", "Alpha/character02", "Gamma/character01",
                     "Gamma/character02", "Greek/character01", "Greek/character02"]
    assert len(paths) == 6 * 3
    assert any("6 file(s) found in more than one" in line for line in lines)


def test_a_zip_without_class_folders_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "flat.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.png", b"x")
        archive.writestr("notes/readme.txt", b"x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DatasetError, match="holds no class folders"):
        resolve_dataset([str(path)], log=lambda line: None)
    assert not any((tmp_path / "cache").rglob("*.png"))


def test_zip_members_never_land_outside_the_cache(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("../../escaped/a/x.png", "/abs/b/y.png", "good/c/z.png", "good/d/w.png",
                     ".hidden/e/v.png", "__MACOSX/good/c/._z.png"):
            archive.writestr(name, b"not really a png")
    root = unpacked_zip(str(path), str(tmp_path / "cache"), lambda line: None)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png"))
    assert written == [f"{root[len(str(tmp_path)) + 1:]}/c/z.png",
                       f"{root[len(str(tmp_path)) + 1:]}/d/w.png"]


def test_an_npz_is_not_taken_for_a_zip_of_folders(tiny_npz):
    assert not is_zip(str(tiny_npz))
    assert resolve_dataset([str(tiny_npz)]) == str(tiny_npz)


def test_dark_strokes_on_white_load_from_several_trees(tmp_path):
    write_alphabets(tmp_path / "a", (("Alpha", 2),))
    write_alphabets(tmp_path / "b", (("Beta", 2),))
    lines = []
    dataset = load_image_folders([str(tmp_path / "a"), str(tmp_path / "b")], (16, 16),
                                 log=lines.append)
    assert dataset.class_names == ["Alpha/character01", "Alpha/character02",
                                   "Beta/character01", "Beta/character02"]
    assert len(dataset.train[0]) == 12 and " and " in lines[-1]


def test_training_on_zips_of_dark_strokes_records_how_it_read_them(tmp_path, monkeypatch):
    import json

    from conftest import run_script

    tree = write_alphabets(tmp_path / "tree", (("Alpha", 3), ("Beta", 3)), drawers=4,
                           wrapper="set")
    zip_folder(tree, tmp_path / "set.zip")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = run_script("train_siamese_network.py", "--dataset", "set.zip", "--epochs", 1,
                        "--seed", 1, "--image-size", 16, 16, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dark strokes on a light background, inverted" in result.stdout
    # own data goes beside the shipped models, into a folder named after it
    metadata = json.loads((tmp_path / "output" / "set" / "siamese_model" /
                           "metadata.json").read_text())
    assert (metadata["images"], metadata["ink"]) == ("handwriting", "dark_on_light")
    assert metadata["class_names"][0] == "Alpha/character01" and metadata["dataset"] == "set.zip"
