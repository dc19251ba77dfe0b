"""Finding faces: OpenCV's YuNet detector (OpenCV Zoo, MIT licence: LICENSE-yunet beside
this file), a box, five landmarks and a score for each face of a photo."""
import hashlib
import os
import threading

import cv2
import numpy as np

DETECTOR_FILE = os.path.join(os.path.dirname(__file__), "face_detection_yunet_2026may.onnx")
# the faces YuNet finds best are about 10 to 300 pixels: larger photos are scaled down to
# this longer side first, and the boxes and landmarks scaled back
DETECTOR_SIDE = 640
# a face is taken from this score up (YuNet's own default is 0.9; lab photos under steep
# light score lower)
SCORE_THRESHOLD = 0.7
# at most this many faces are answered a photo, the largest first
MAX_FACES = 50

_local = threading.local()
_creating = threading.Lock()


def detector_record():
    """What metadata.json records of the detector: its file name and sha256."""
    with open(DETECTOR_FILE, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"file": os.path.basename(DETECTOR_FILE), "sha256": digest}


def _detector(width, height):
    # one detector a thread: YuNet keeps its input size as state
    if getattr(_local, "detector", None) is None:
        # OpenCV's DNN engine warns on stderr that it picks no target; nothing is wrong. Its
        # log level is the process's: one thread at a time lowers it and puts it back, or a
        # thread would put it back while another creates its detector
        with _creating:
            level = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
            try:
                _local.detector = cv2.FaceDetectorYN.create(DETECTOR_FILE, "", (width, height),
                                                            SCORE_THRESHOLD, 0.3, 5000)
            finally:
                cv2.utils.logging.setLogLevel(level)
    _local.detector.setInputSize((width, height))
    return _local.detector


def for_detector(image):
    """An 8-bit 3-channel BGR image for the detector from an image of [0, 1] floats or 8-bit
    values, grayscale or colour, its histogram equalised: steep side light leaves faces nearly
    black, which the detector misses without it."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(np.asarray(image, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(cv2.equalizeHist(gray), cv2.COLOR_GRAY2BGR)


def detect_faces(image, maxFaces=MAX_FACES):
    """The faces of image ([0, 1] floats or 8-bit, grayscale or RGB), largest first, at most
    maxFaces: a list of dicts with "box" [x, y, w, h] and "landmarks" (5x2) in the image's
    pixels, and "score"."""
    bgr = for_detector(image)
    (height, width) = bgr.shape[:2]
    scale = min(1.0, DETECTOR_SIDE / max(height, width))
    if scale < 1.0:
        bgr = cv2.resize(bgr, (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA)
    (_, found) = _detector(bgr.shape[1], bgr.shape[0]).detect(bgr)
    if found is None:
        return []
    faces = []
    for row in found:
        box = row[:4] / scale
        faces.append({"box": [int(round(v)) for v in box],
                      "landmarks": (row[4:14].reshape(5, 2) / scale).astype(np.float32),
                      "score": float(row[14])})
    faces.sort(key=lambda face: face["box"][2] * face["box"][3], reverse=True)
    return faces[:maxFaces]
