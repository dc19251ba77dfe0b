import json
import os

import cv2
import numpy as np
import pytest
from conftest import ASTRONAUT

from pyimagesearch.data.images import load_image
from pyimagesearch.faces.detection import DETECTOR_FILE, detect_faces, detector_record
from pyimagesearch.faces.reading import aligned_faces, largest_face


def astronaut(scale=1.0):
    image = cv2.cvtColor(cv2.imread(ASTRONAUT), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    return cv2.resize(image, None, fx=scale, fy=scale) if scale != 1.0 else image


def test_the_detector_finds_the_one_face_of_a_real_photo_with_its_five_points():
    faces = detect_faces(astronaut())
    assert len(faces) == 1
    (x, y, w, h) = faces[0]["box"]
    assert 70 < x < 110 and 15 < y < 55 and 30 < w < 60 and 40 < h < 70
    (rightEye, leftEye, nose, rightMouth, leftMouth) = faces[0]["landmarks"]
    # the subject's right eye is the image's left, as the template has it
    assert rightEye[0] < nose[0] < leftEye[0] and rightMouth[0] < leftMouth[0]
    assert max(rightEye[1], leftEye[1]) < nose[1] < min(rightMouth[1], leftMouth[1])
    assert faces[0]["score"] > 0.7


def test_a_large_photo_is_scaled_for_the_detector_and_the_box_scaled_back():
    (small, large) = (detect_faces(astronaut())[0], detect_faces(astronaut(4.0))[0])
    np.testing.assert_allclose(np.array(large["box"]) / 4, small["box"], atol=3)


def test_every_face_of_a_photo_is_found_largest_first():
    face = astronaut()[10:110, 60:160]
    canvas = np.full((240, 640, 3), 0.5, np.float32)
    for (x, scale) in ((10, 2.0), (250, 1.0), (420, 1.5)):
        resized = cv2.resize(face, None, fx=scale, fy=scale)
        canvas[20:20 + resized.shape[0], x:x + resized.shape[1]] = resized
    found = detect_faces(canvas)
    assert len(found) == 3
    widths = [f["box"][2] for f in found]
    assert widths == sorted(widths, reverse=True)
    assert found[0]["box"][0] < 100 and found[2]["box"][0] > 200
    (aligned, detections) = aligned_faces(canvas, (64, 64))
    assert [d["box"] for d in detections] == [f["box"] for f in found]
    assert all(a.shape == (64, 64, 3) for a in aligned)


@pytest.mark.parametrize("image", [np.zeros((1, 1), np.float32),
                                   np.full((120, 100), 0.5, np.float32),
                                   np.random.default_rng(0).random((200, 200, 3))])
def test_a_photo_without_a_face_has_none(image):
    assert detect_faces(image) == []
    with pytest.raises(ValueError, match="no face"):
        largest_face(image, (64, 64))


def test_a_face_model_reads_a_photo_as_its_largest_face_aligned(tmp_path):
    (image, notes) = load_image(ASTRONAUT, (64, 64), colorMode="grayscale", faces=True)
    assert image.shape == (64, 64) and "face found and aligned" in notes
    # the light normalised: the face's histogram spread over the whole range
    assert image.min() < 0.05 and image.max() > 0.95
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((80, 80), 128, np.uint8))
    with pytest.raises(ValueError, match="wall.png holds no face"):
        load_image(str(blank), (64, 64), faces=True)


def test_the_detector_is_recorded_by_its_file_and_sha256():
    record = detector_record()
    assert record["file"] == os.path.basename(DETECTOR_FILE)
    assert len(record["sha256"]) == 64 and json.loads(json.dumps(record)) == record


def test_threads_reading_faces_at_once_leave_stderr_quiet(capfd):
    # training reads its photos in a pool of threads, each with a detector of its own, whose
    # creation makes OpenCV warn unless its log level is lowered for it: one thread putting
    # the level back while another created its detector let the warning through
    import threading

    blank = np.zeros((120, 120, 3), np.uint8)
    capfd.readouterr()
    for _ in range(5):  # new threads, so new detectors
        threads = [threading.Thread(target=detect_faces, args=(blank,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert capfd.readouterr().err == ""
