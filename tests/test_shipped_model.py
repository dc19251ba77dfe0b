"""The trained model and example digits that ship with the repository work together."""
import os

import numpy as np
import pytest
from conftest import ROOT, run_script

from pyimagesearch import config
from pyimagesearch.data.digits import EXAMPLE_LABELS
from pyimagesearch.data.images import decode_image, list_image_paths, load_image
from pyimagesearch.models.model_io import SiameseModel
from pyimagesearch.models.recipes import output_paths
from pyimagesearch.search.evaluation import evaluate_pairs

SHIPPED = [os.path.join(ROOT, config.MODEL_PATH),
           os.path.join(ROOT, config.CONTRASTIVE_MODEL_PATH),
           os.path.join(ROOT, config.SMALL_VGG_MODEL_PATH),
           os.path.join(ROOT, output_paths(config.BASE_OUTPUT, "triplet",
                                                  "small_vgg")[0])]


def test_examples_are_the_committed_digits():
    paths = list_image_paths(os.path.join(ROOT, "examples"))
    assert [os.path.basename(p) for p in paths] == [f"image_{i:02d}.png" for i in range(1, 14)]
    for path in paths:
        (image, notes) = load_image(path)
        assert notes == [] and image.shape == (28, 28)
        assert image[:2].max() == 0 and image.max() > 0.9  # white digit on black


@pytest.mark.parametrize("modelPath", SHIPPED, ids=["similarity", "contrastive", "small_vgg",
                                                       "small_vgg_triplet"])
def test_shipped_model_tells_same_from_different(modelPath):
    model = SiameseModel(modelPath)
    images = np.stack([load_image(p)[0] for p in
                       list_image_paths(os.path.join(ROOT, "examples"))])[..., np.newaxis]
    labels = np.array(EXAMPLE_LABELS)
    (a, b) = np.triu_indices(len(images), k=1)
    scores = model.predict(images[a], images[b])
    same = labels[a] == labels[b]
    if model.metadata["score"] == "similarity":
        calledSame = scores > model.metadata["threshold"]
    else:
        calledSame = scores < model.metadata["threshold"]
    assert calledSame[same].mean() > calledSame[~same].mean()
    # threshold-free: a same-class pair outscores a different-class pair most of the time
    evaluation = evaluate_pairs(scores, same.astype(int), model.metadata["score"],
                                model.metadata["threshold"])
    assert evaluation["roc_auc"] >= 0.8
    # the gallery's way to the same scores: from the embeddings, through the model's own head
    # (the triplet model was exported before that endpoint: searches score its images)
    if model.has_score_embeddings:
        np.testing.assert_allclose(model.score_embeddings(model.embed(images[a]),
                                                          model.embed(images[b])), scores,
                                   rtol=1e-5, atol=1e-6)


def test_readme_main_command_runs(tmp_path):
    # the README's command line, in an interpreter of its own
    result = run_script("test_siamese_network.py", "--input", "examples", "--output",
                        tmp_path / "pairs", fresh=True)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[RESULT]")]
    assert len(lines) == 10
    assert (tmp_path / "pairs" / "montage.png").exists()


def test_the_accurate_model_gets_every_example_pair_right(tmp_path):
    result = run_script("test_siamese_network.py", "--input", "examples", "--model",
                        config.SMALL_VGG_MODEL_PATH, "--output", tmp_path / "pairs")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[RESULT]")]
    assert len(lines) == 10
    for line in lines:
        (names, verdict) = (line.split(": ", 1)[1].split(" - ")[0], line.split(" - ")[-1])
        (a, b) = (int(name[6:8]) for name in names.split(" vs "))
        same = EXAMPLE_LABELS[a - 1] == EXAMPLE_LABELS[b - 1]
        assert verdict == ("same" if same else "different"), line


def test_the_accurate_model_says_how_it_was_made():
    metadata = SiameseModel(os.path.join(ROOT, config.SMALL_VGG_MODEL_PATH)).metadata
    assert (metadata["architecture"], metadata["augment"]) == ("small_vgg", True)
    assert metadata["threshold_chosen_on"].startswith("validation split")
    assert metadata["threshold"] == metadata["validation"]["best_threshold"]


OMNIGLOT = os.path.join(ROOT, config.BASE_OUTPUT, "omniglot_siamese_model")


def test_the_shipped_omniglot_model_takes_drawings_as_they_come(tmp_path):
    # dark strokes on white, as Omniglot's drawings are (rendered digits here, not Omniglot):
    # the model inverts them itself, and tells a drawing's own kind from the others
    from conftest import write_alphabets

    model = SiameseModel(OMNIGLOT)
    metadata = model.metadata
    assert (metadata["images"], metadata["ink"]) == ("handwriting", "dark_on_light")
    assert (metadata["architecture"], metadata["loss"]) == ("characters", "nca")
    assert metadata["rotated_classes"] is True  # today's recipe, measured in docs/one-shot.md
    assert len(metadata["class_names"]) == 242
    tree = write_alphabets(tmp_path, (("Digits", 10),), drawers=2)
    paths = sorted(str(p) for p in tree.rglob("*.png"))
    drawings = np.stack([load_image(p, model.input_shape[:2])[0]
                         for p in paths])[..., np.newaxis]
    assert np.median(drawings) > 0.9  # white paper
    embeddings = model.embed(drawings)
    np.testing.assert_allclose(model.predict(drawings, drawings), 0, atol=1e-3)
    # each character's two drawings: nearer each other than most of the other characters
    distances = np.linalg.norm(embeddings[:, None] - embeddings[None], axis=-1)
    same = np.array([[os.path.dirname(a) == os.path.dirname(b) for b in paths] for a in paths])
    np.fill_diagonal(same, False)
    assert distances[same].mean() < distances[~same & ~np.eye(len(paths), dtype=bool)].mean()


FACES = os.path.join(ROOT, config.BASE_OUTPUT, "faces_siamese_model")


def test_the_shipped_face_model_reads_a_face_however_the_photo_frames_it():
    # NASA's astronaut photo (public domain), not a face of the databases it trained on
    import cv2
    from conftest import ASTRONAUT

    from pyimagesearch.faces.detection import detector_record

    model = SiameseModel(FACES)
    metadata = model.metadata
    assert (metadata["images"], metadata["architecture"], metadata["loss"]) == (
        "faces", "faces", "cosface")
    assert len(metadata["class_names"]) == 78
    assert metadata["face_detector"] == detector_record()
    assert 0 < metadata["open_set_threshold"] < metadata["threshold"]
    photo = cv2.imread(ASTRONAUT)
    framings = {"as it is": photo, "four times larger": cv2.resize(photo, None, fx=4, fy=4),
                "mirrored": photo[:, ::-1], "darker": (photo * 0.5).astype(np.uint8),
                "turned": cv2.warpAffine(photo, cv2.getRotationMatrix2D((128, 128), 15, 1.0),
                                         (256, 256), borderMode=cv2.BORDER_REPLICATE)}
    faces = []
    for image in framings.values():
        data = cv2.imencode(".png", image)[1]
        faces.append(decode_image(data, "photo", model.input_shape[:2], faces=True)[0])
    embeddings = model.embed(np.stack(faces)[..., np.newaxis])
    distances = np.linalg.norm(embeddings - embeddings[0], axis=1)
    # each is her, at the model's threshold
    assert (distances < metadata["threshold"]).all(), dict(zip(framings, distances))
    # an aligned face and its mirror image are one embedding (each is embedded with the other)
    mirrored = model.embed(np.stack([faces[0], faces[0][:, ::-1]])[..., np.newaxis])
    np.testing.assert_allclose(mirrored[0], mirrored[1], atol=1e-4)
