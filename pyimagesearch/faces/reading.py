"""Photos as a face model reads them: every face the detector finds, aligned by its five
landmarks at the model's input size; the largest stands for the photo where one face is
asked for (a training image, a gallery image, a pair to compare)."""
import cv2
import numpy as np

from pyimagesearch.faces.alignment import align_face
from pyimagesearch.faces.detection import MAX_FACES, detect_faces


class NoFaceError(ValueError):
    """A photo in which the detector finds no face (or none large enough to align)."""


def normalise_light(face):
    """The aligned face with its histogram equalised (its luminance, for colour): light from
    one side or from above is what tells photos of one person apart most, not who it is."""
    as8 = np.clip(face * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if as8.ndim == 2:
        return cv2.equalizeHist(as8).astype(np.float32) / 255.0
    ycrcb = cv2.cvtColor(as8, cv2.COLOR_RGB2YCrCb)
    ycrcb[:, :, 0] = cv2.equalizeHist(ycrcb[:, :, 0])
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB).astype(np.float32) / 255.0


def aligned_faces(image, size, maxFaces=MAX_FACES):
    """(aligned faces, their detections) of image ([0, 1] floats, grayscale (h, w) or RGB),
    largest first: each face float32 at size (height, width), its light normalised; a face too
    small to align is left out."""
    (faces, found) = ([], [])
    for detection in detect_faces(image, maxFaces):
        try:
            face = align_face(image, detection["landmarks"], size)
        except ValueError:
            continue
        faces.append(normalise_light(face))
        found.append(detection)
    return faces, found


def largest_face(image, size):
    """(the photo's largest face aligned at size, how many faces it holds); NoFaceError when
    there is none. Only that one face is aligned."""
    detections = detect_faces(image, MAX_FACES)
    for (i, detection) in enumerate(detections):
        try:
            face = align_face(image, detection["landmarks"], size)
        except ValueError:
            continue  # too small to align: the next largest
        return normalise_light(face), len(detections) - i
    raise NoFaceError("holds no face the detector finds (large enough to align)")
