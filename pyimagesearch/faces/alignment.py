"""Five-point face alignment: a similarity transform (rotation, uniform scale, shift) that
takes a face's landmarks onto the face literature's 112x112 template, scaled to any size."""
import cv2
import numpy as np

# the five points (right eye, left eye, nose tip, right and left mouth corners: the
# subject's right is the image's left) of an aligned 112x112 face, as ArcFace and the
# face-recognition literature since use them
TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)
# the smallest eye distance (in pixels of the photo) a face is aligned from: below it the
# aligned face would be a few pixels blown up
MIN_EYE_DISTANCE = 6.0


def template(size):
    """The template's five points for an aligned face of size (height, width)."""
    (height, width) = size
    return TEMPLATE_112 * np.array([width / 112.0, height / 112.0], np.float32)


def similarity_transform(source, target):
    """The 2x3 similarity transform that takes the points source closest to target (least
    squares: Umeyama's method, as scikit-image's SimilarityTransform)."""
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 2:
        raise ValueError(f"landmarks must be two arrays of (x, y) points of one shape, got "
                         f"{source.shape} and {target.shape}")
    (sourceMean, targetMean) = (source.mean(axis=0), target.mean(axis=0))
    (sourceCentred, targetCentred) = (source - sourceMean, target - targetMean)
    covariance = targetCentred.T @ sourceCentred / len(source)
    (u, singular, vt) = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1  # a reflection is not a similarity: take the nearest rotation
    rotation = u @ np.diag(sign) @ vt
    variance = (sourceCentred ** 2).sum() / len(source)
    if variance == 0:
        raise ValueError("the landmarks are all one point")
    scale = (singular * sign).sum() / variance
    shift = targetMean - scale * rotation @ sourceMean
    return np.hstack([scale * rotation, shift[:, None]]).astype(np.float32)


def align_face(image, landmarks, size=(112, 112)):
    """The face whose five landmarks (a 5x2 array of x, y in image's pixels) are given, turned,
    scaled and moved onto the template at size (height, width). ValueError for a face too
    small to align."""
    landmarks = np.asarray(landmarks, np.float32).reshape(5, 2)
    eyes = float(np.linalg.norm(landmarks[0] - landmarks[1]))
    if eyes < MIN_EYE_DISTANCE:
        raise ValueError(f"the face is too small to align ({eyes:.1f} pixels between the "
                         f"eyes, at least {MIN_EYE_DISTANCE:g} needed)")
    matrix = similarity_transform(landmarks, template(size))
    (height, width) = size
    # shrinking a large face: area-like smoothing first, or the aligned face aliases
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.5:
        sigma = 0.5 / scale - 0.5
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
