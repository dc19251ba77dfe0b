"""The search script and the server with a face model: every face of a photo answered, its
largest first, a photo without a face answered with none. The model is the shipped digit
model marked as trained on faces: what is checked here is how photos are read and answered,
not whom the model recognises (docs/faces.md measures that)."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest
from conftest import ASTRONAUT, RunningServer, load_script
from test_search_siamese_network import MODEL

from pyimagesearch.models.model_io import update_metadata


@pytest.fixture(scope="module")
def face_model(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("model") / "faces_model")
    shutil.copytree(MODEL, path)
    update_metadata(path, {"images": "faces"})
    return path


def photo_of_faces(scales, width=640):
    """A grey photo with the astronaut's face at each scale, left to right."""
    face = cv2.imread(ASTRONAUT)[10:110, 60:160]
    canvas = np.full((240, width, 3), 128, np.uint8)
    x = 10
    for scale in scales:
        resized = cv2.resize(face, None, fx=scale, fy=scale)
        canvas[20:20 + resized.shape[0], x:x + resized.shape[1]] = resized
        x += resized.shape[1] + 20
    return canvas


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    gallery = root / "gallery"
    for (person, flip) in (("collins", False), ("mirror", True)):
        os.makedirs(gallery / person)
        for (i, brightness) in enumerate((0.8, 1.0, 1.2)):
            image = cv2.imread(ASTRONAUT).astype(np.float32) * brightness
            image = np.clip(image[:, ::-1] if flip else image, 0, 255).astype(np.uint8)
            cv2.imwrite(str(gallery / person / f"{i}.png"), image)
    # a group photo in the gallery: its largest face is enrolled, with a warning
    cv2.imwrite(str(gallery / "collins" / "group.png"), photo_of_faces((1.0, 2.0, 1.5)))
    queries = root / "queries"
    os.makedirs(queries)
    cv2.imwrite(str(queries / "group.png"), photo_of_faces((1.0, 2.0, 1.5)))
    cv2.imwrite(str(queries / "wall.png"), np.full((90, 120), 128, np.uint8))
    return gallery, queries


def test_every_face_of_a_photo_is_answered_largest_first(face_model, photos, tmp_path,
                                                         capsys):
    (gallery, queries) = photos
    capsys.readouterr()
    load_script("search_siamese_network.py").main([
        "--gallery", str(gallery), "--query", str(queries), "--model", face_model,
        "--output", str(tmp_path / "out"), "--json", str(tmp_path / "r.json"), "--top", "2"])
    out = capsys.readouterr().out
    assert "wall.png: no face found" in out and "embedded 7" in out
    assert "[WARNING] collins/group.png: the largest of 3 faces taken" in out
    records = {os.path.basename(r["query"]): r
               for r in json.loads((tmp_path / "r.json").read_text())["queries"]}
    group = records["group.png"]
    assert len(group["faces"]) == 3
    areas = [w * h for (_, _, w, h) in (face["box"] for face in group["faces"])]
    assert areas == sorted(areas, reverse=True)
    # the largest face (scale 2.0) is the second from the left
    assert 100 < group["faces"][0]["box"][0] < 200
    for face in group["faces"]:
        assert face["answer"] in ("collins", "mirror", None) and 0 < face["detection"] <= 1
        assert len(face["neighbours"]) == 2
    # the photo's own answer and neighbours are its largest face's
    assert group["answer"] == group["faces"][0]["answer"]
    assert group["neighbours"] == group["faces"][0]["neighbours"]
    assert records["wall.png"] == {**records["wall.png"], "answer": None, "neighbours": [],
                                   "faces": []}
    assert (tmp_path / "out" / "query_01.png").exists()
    assert (tmp_path / "out" / "montage.png").exists()


def test_the_server_answers_every_face_and_422_for_a_photo_without_one(face_model, photos,
                                                                       tmp_path):
    from pyimagesearch.serving.service import SiameseService

    (gallery, _) = photos
    copy = tmp_path / "gallery"
    shutil.copytree(gallery, copy)
    server = RunningServer(SiameseService(face_model, str(copy), str(tmp_path / "i.npz"),
                                          log=lambda line: None))
    try:
        group = cv2.imencode(".png", photo_of_faces((1.0, 2.0)))[1].tobytes()
        wall = cv2.imencode(".png", np.full((90, 120), 128, np.uint8))[1].tobytes()
        answer = server.client.post("/search", files={"image": ("g.png", group)},
                                    data={"top": "3"})
        assert answer.status_code == 200
        record = answer.json()
        assert len(record["faces"]) == 2 and record["query"] == "g.png"
        assert record["answer"] == record["faces"][0]["answer"]
        assert all(len(face["neighbours"]) == 3 for face in record["faces"])
        for (path, files) in (("/search", {"image": ("w.png", wall)}),
                              ("/compare", {"a": ("a.png", group), "b": ("w.png", wall)})):
            refused = server.client.post(path, files=files)
            assert refused.status_code == 422 and "no face" in refused.json()["error"]
        compared = server.client.post("/compare", files={"a": ("a.png", group),
                                                         "b": ("b.png", group)})
        assert compared.status_code == 200 and compared.json()["verdict"] == "same"
    finally:
        server.stop()
