"""The search script end to end, with the shipped accurate model and rendered digits (not
MNIST) made here."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest
from conftest import ROOT, load_script

from pyimagesearch.cli import run
from pyimagesearch.data.digits import render_digit
from pyimagesearch.models.model_io import SiameseModel

MODEL = os.path.join(ROOT, "output", "small_vgg_siamese_model")
TRIPLET_MODEL = os.path.join(ROOT, "output", "small_vgg_triplet_siamese_model")


def write_digits(folder, digits, perDigit, seed, classFolders=True):
    rng = np.random.default_rng(seed)
    for digit in digits:
        for i in range(perDigit):
            path = (os.path.join(folder, str(digit), f"{digit}_{i}.png") if classFolders
                    else os.path.join(folder, f"{digit}_{i}.png"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            cv2.imwrite(path, render_digit(digit, rng))
    return folder


@pytest.fixture(scope="module")
def script():
    return load_script("search_siamese_network.py")


@pytest.fixture
def gallery(tmp_path):
    return write_digits(str(tmp_path / "gallery"), range(8), 10, seed=11)


def search(script, capsys, *args):
    capsys.readouterr()
    script.main([str(arg) for arg in args])
    return capsys.readouterr().out


def error(script, capsys, *args):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        run(lambda: script.main([str(arg) for arg in args]))
    message = str(exit.value.code)
    assert message.startswith("[ERROR]") and "\n" not in message, message
    return message


def test_known_digits_get_their_class_and_missing_ones_are_unknown(script, gallery, tmp_path,
                                                                  capsys):
    queries = write_digits(str(tmp_path / "queries"), range(10), 8, seed=99, classFolders=False)
    out = search(script, capsys, "--gallery", gallery, "--query", queries, "--model", MODEL,
                 "--output", tmp_path / "out", "--json", tmp_path / "r.json", "--top", 3)
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["index"] == {"embedded": 80, "kept": 0, "dropped": 0}
    truth = [int(os.path.basename(r["query"])[0]) for r in results["queries"]]
    answers = [r["answer"] for r in results["queries"]]
    known = [a == str(t) for (a, t) in zip(answers, truth) if t < 8]
    unknown = [a is None for (a, t) in zip(answers, truth) if t >= 8]
    assert np.mean(known) >= 0.95 and np.mean(unknown) >= 0.9, answers
    for record in results["queries"]:
        assert len(record["neighbours"]) == 3
        assert set(record["neighbours"][0]) == {"path", "label", "distance", "score",
                                                "verdict"}
        distances = [n["distance"] for n in record["neighbours"]]
        assert distances == sorted(distances)
    assert out.count("answer: ") == 80
    assert {"montage.png", "query_01.png", "query_80.png"} <= set(os.listdir(tmp_path / "out"))


# the triplet model was exported before the score_embeddings endpoint: its searches score the
# images through serve
@pytest.mark.parametrize("model", [MODEL, TRIPLET_MODEL], ids=["embeddings", "images"])
def test_scores_are_the_test_scripts_for_the_same_pair(script, gallery, tmp_path, capsys,
                                                       model):
    query = write_digits(str(tmp_path / "q"), [3], 1, seed=5, classFolders=False)
    queryFile = os.path.join(query, "3_0.png")
    search(script, capsys, "--gallery", gallery, "--query", queryFile, "--model", model,
           "--output", tmp_path / "out", "--json", tmp_path / "r.json", "--top", 2)
    neighbours = json.loads((tmp_path / "r.json").read_text())["queries"][0]["neighbours"]
    kind = SiameseModel(model).metadata["score"]  # "similarity" or "distance"
    for n in neighbours:
        capsys.readouterr()
        load_script().main(["--input", queryFile, os.path.join(gallery, n["path"]),
                            "--no-prepare", "--model", model, "--output", str(tmp_path / "p")])
        line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("[RESULT]")][0]
        assert line.endswith(f"{kind}: {n['score']:.2f} - {n['verdict']}"), (line, n)


def test_the_index_embeds_only_what_changed(script, gallery, tmp_path, capsys):
    args = ["--gallery", gallery, "--query", os.path.join(ROOT, "examples", "image_01.png"),
            "--model", MODEL, "--output", tmp_path / "out", "--json", tmp_path / "r.json"]
    assert "embedded 80, kept 0, dropped 0" in search(script, capsys, *args)
    indexFile = tmp_path / "out" / "index_gallery_small_vgg_siamese_model.npz"
    written = indexFile.stat().st_mtime_ns
    assert "embedded 0, kept 80, dropped 0" in search(script, capsys, *args)
    assert indexFile.stat().st_mtime_ns == written  # nothing changed: not written again
    write_digits(os.path.join(gallery, "extra"), [1], 3, seed=7, classFolders=False)
    os.remove(os.path.join(gallery, "0", "0_0.png"))
    assert "embedded 3, kept 79, dropped 1" in search(script, capsys, *args)
    assert json.loads((tmp_path / "r.json").read_text())["index"] == \
        {"embedded": 3, "kept": 79, "dropped": 1}


def test_a_tampered_index_is_rebuilt_not_trusted(script, gallery, tmp_path, capsys):
    indexFile = tmp_path / "index.npz"
    args = ["--gallery", gallery, "--query", os.path.join(ROOT, "examples", "image_01.png"),
            "--model", MODEL, "--index-file", indexFile, "--output", tmp_path / "out"]
    search(script, capsys, *args)
    with np.load(indexFile) as data:
        arrays = dict(data)
    arrays["labels"] = np.array(["9"] * len(arrays["labels"]))
    np.savez(str(indexFile)[:-4], **arrays)
    out = search(script, capsys, *args)
    assert "rebuilding the index" in out and "fails its checksum" in out
    assert "embedded 80, kept 0" in out and "answer: 2" in out


def test_a_flat_gallery_labels_each_file_by_its_name(script, tmp_path, capsys):
    people = tmp_path / "people"
    write_digits(str(people), [1, 4, 7], 1, seed=3, classFolders=False)
    for (old, new) in (("1_0", "ann"), ("4_0", "bob"), ("7_0", "cy")):
        os.rename(people / f"{old}.png", people / f"{new}.png")
    shutil.copy(people / "bob.png", tmp_path / "who.png")
    out = search(script, capsys, "--gallery", people, "--query", tmp_path / "who.png",
                 "--model", MODEL, "--output", tmp_path / "out", "--top", 3)
    assert "1. bob.png (bob) - distance 0.0000" in out
    assert "answer: bob" in out


def test_bad_input_gets_one_clear_line(script, gallery, tmp_path, capsys):
    example = os.path.join(ROOT, "examples", "image_01.png")
    common = ["--model", MODEL, "--output", tmp_path / "out"]
    assert "does not exist" in error(script, capsys, "--gallery", tmp_path / "none",
                                     "--query", example, *common)
    (tmp_path / "empty").mkdir()
    assert "no usable images" in error(script, capsys, "--gallery", tmp_path / "empty",
                                       "--query", example, *common)
    single = write_digits(str(tmp_path / "single"), [1], 1, seed=0)
    assert "at least two usable images" in error(script, capsys, "--gallery", single,
                                                 "--query", example, *common)
    (tmp_path / "notes.png").write_text("not an image")
    assert "not a readable image" in error(script, capsys, "--gallery", gallery, "--query",
                                           tmp_path / "notes.png", *common)
    assert "--top must be at least 1" in error(script, capsys, "--gallery", gallery,
                                               "--query", example, "--top", 0, *common)


def test_unreadable_gallery_files_are_skipped_by_name(script, gallery, tmp_path, capsys):
    with open(os.path.join(gallery, "3", "broken.png"), "wb") as f:
        f.write(b"\x89PNG broken")
    out = search(script, capsys, "--gallery", gallery, "--query",
                 os.path.join(ROOT, "examples", "image_04.png"), "--model", MODEL,
                 "--output", tmp_path / "out")
    assert "[WARNING] skipping" in out and "broken.png" in out
    assert "embedded 80" in out and "answer: 3" in out


def test_a_model_without_the_embed_endpoint_names_the_upgrade_tool(script, gallery, tmp_path,
                                                                   capsys):
    import keras

    from pyimagesearch.siamese_network import build_pair_model

    old = tmp_path / "old"
    build_pair_model((28, 28, 1)).export(str(old), verbose=False)
    message = error(script, capsys, "--gallery", gallery, "--query",
                    os.path.join(ROOT, "examples", "image_01.png"), "--model", old,
                    "--output", tmp_path / "out")
    assert "python -m tools.upgrade_model" in message
    keras.backend.clear_session()


def test_a_gallery_of_one_class_answers_every_query_with_it(script, tmp_path, capsys):
    lone = write_digits(str(tmp_path / "lone"), [3], 4, seed=1)
    queries = write_digits(str(tmp_path / "q"), [3, 7], 1, seed=2, classFolders=False)
    out = search(script, capsys, "--gallery", lone, "--query", queries, "--model", MODEL,
                 "--output", tmp_path / "out", "--json", tmp_path / "r.json")
    assert "has one class" in out
    record = json.loads((tmp_path / "r.json").read_text())
    assert [q["answer"] for q in record["queries"]] == ["3", "3"]
    # the neighbours' paths are relative to the gallery, which the record names
    assert record["gallery"] == os.path.abspath(lone)


def test_top_beyond_the_gallery_is_clipped_and_figures_stay_small(script, tmp_path, capsys):
    small = write_digits(str(tmp_path / "small"), [1, 2], 3, seed=1)
    queries = write_digits(str(tmp_path / "q"), [1], 1, seed=2, classFolders=False)
    out = search(script, capsys, "--gallery", small, "--query", queries, "--model", MODEL,
                 "--top", 100000, "--output", tmp_path / "out", "--json", tmp_path / "r.json")
    assert "more than the gallery's 6 images" in out
    record = json.loads((tmp_path / "r.json").read_text())["queries"][0]
    assert len(record["neighbours"]) == 6
    assert all(n["path"] for n in record["neighbours"])


def test_faiss_on_a_small_gallery_searches_exactly(script, gallery, tmp_path, capsys):
    pytest.importorskip("faiss")
    queries = write_digits(str(tmp_path / "q"), [1], 2, seed=2, classFolders=False)
    out = search(script, capsys, "--gallery", gallery, "--query", queries, "--model", MODEL,
                 "--index", "faiss", "--top", 80, "--output", tmp_path / "out", "--json",
                 tmp_path / "r.json")
    assert "too few for faiss" in out
    for record in json.loads((tmp_path / "r.json").read_text())["queries"]:
        distances = [n["distance"] for n in record["neighbours"]]
        assert len(distances) == 80 and max(distances) < 3 and distances == sorted(distances)
        assert len({n["path"] for n in record["neighbours"]}) == 80


def test_faiss_never_answers_its_no_result_id():
    faiss = pytest.importorskip("faiss")  # noqa: F841
    from pyimagesearch.search.index import exact_search
    from pyimagesearch.search.index import search as run_search

    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(2000, 8)).astype(np.float32)
    queries = rng.normal(size=(5, 8)).astype(np.float32)
    # every image asked for: the lists faiss probes hold fewer, so it pads with -1
    (distances, indices) = run_search("faiss", gallery, queries, 2000)
    assert (indices >= 0).all()
    np.testing.assert_allclose(distances, exact_search(gallery, queries, 2000)[0], rtol=1e-4)


def test_an_index_file_that_is_not_an_index_is_left_alone(script, gallery, tmp_path, capsys):
    mine = tmp_path / "mydata.npz"
    np.savez(mine, x=np.arange(3))
    before = mine.read_bytes()
    message = error(script, capsys, "--gallery", gallery, "--query", gallery, "--model",
                    MODEL, "--index-file", mine)
    assert "is not a gallery index" in message and mine.read_bytes() == before


def test_the_search_output_inside_the_gallery_stays_out_of_it(script, gallery, tmp_path,
                                                              capsys):
    queries = write_digits(str(tmp_path / "q"), [1, 9], 1, seed=2, classFolders=False)
    output = os.path.join(gallery, "results")
    for _ in range(2):
        out = search(script, capsys, "--gallery", gallery, "--query", queries, "--model",
                     MODEL, "--output", output, "--json", tmp_path / "r.json")
    assert "80 images of 8 classes" in out and "embedded 0, kept 80" in out
