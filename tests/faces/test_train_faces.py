"""Training on folders of photos with --images faces: each photo read as its largest face,
aligned; a photo without a face left out and counted; the detector and the open-set distance
recorded. Two made-up "people" (NASA's astronaut photo and its mirror, under other light) stand
in for a face database: what is checked is how photos are read, not whom the model learns."""
import json

from conftest import run_script, write_people

from pyimagesearch.faces.detection import detector_record


def test_a_face_model_trains_on_aligned_faces_and_records_how_it_read_them(tmp_path):
    write_people(tmp_path / "people")
    result = run_script("train_siamese_network.py", "--dataset", tmp_path / "people",
                        "--images", "faces", "--architecture", "small_vgg", "--loss", "nca",
                        "--image-size", "32", "32", "--epochs", "1", "--batch-size", "8",
                        "--validation-split", "0.25", "--seed", "1", "--output",
                        tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipping 1 unreadable or faceless file(s)" in result.stdout
    assert "wall.png (holds no face" in result.stdout
    with open(tmp_path / "out" / "small_vgg_nca_siamese_model" / "metadata.json") as f:
        metadata = json.load(f)
    assert metadata["images"] == "faces" and metadata["augmentation"] == "faces"
    assert metadata["face_detector"] == detector_record()
    assert metadata["open_set_threshold"] > 0
    assert "open set: a face is unknown from distance" in result.stdout
