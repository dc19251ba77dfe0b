"""Digits that are not MNIST: drawn with OpenCV's putText, then normalised as MNIST was.

putText's fonts change with OpenCV's release (4.x traced Hershey strokes; 5.0, which
requirements.txt holds to, draws outline fonts of its own and ignores the stroke thickness and
the italic flag; 5.1 draws others), so a seed gives the same digits on one release only.

Used to make examples/ (tools/make_examples.py), to measure how the model does outside MNIST,
and as small real-looking data for the tests.
"""
import cv2
import numpy as np

# the faces that were Hershey's one-stroke ones (the duplex and triplex faces traced each line
# two or three times, far bolder than handwriting), script faces included: on OpenCV 5.0 a
# regular, a bold and two italic outline fonts. The italic flag is still drawn at random (5.0
# ignores it; the slant comes from the shear below) so that a seed draws the same digits.
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
         cv2.FONT_HERSHEY_SCRIPT_COMPLEX)


# the digits in examples/image_01.png ... image_13.png, in order (tools/make_examples.py):
# the test script's default draw (seed 42, 10 pairs) then holds same-class pairs (two 0s, two
# 3s, two 4s, a 7 with itself) and different-class pairs (a 7 against a 0, a 1 against a 3...)
EXAMPLE_LABELS = (2, 5, 4, 3, 3, 9, 1, 7, 6, 4, 0, 8, 0)


def mnist_normalise(image, box=20, size=28):
    """Fit a white-on-black digit into a box x box square (keeping its aspect ratio) and centre
    it by its centre of mass in a size x size image, as MNIST's digits were made. Returns uint8.
    """
    image = np.asarray(image, np.float32)
    if image.max() > 1.0:
        image = image / 255.0
    rows = np.flatnonzero(image.max(axis=1) > 0.1)
    cols = np.flatnonzero(image.max(axis=0) > 0.1)
    if len(rows) == 0:
        raise ValueError("the image holds no digit (it is blank)")
    digit = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = box / max(digit.shape)
    height = max(1, round(digit.shape[0] * scale))
    width = max(1, round(digit.shape[1] * scale))
    digit = cv2.resize(digit, (width, height), interpolation=cv2.INTER_AREA)

    # shift so that the centre of mass lands on the centre of the output image
    (cy, cx) = np.argwhere(np.ones_like(digit)).T @ digit.ravel() / max(digit.sum(), 1e-6)
    shift = np.float32([[1, 0, (size - 1) / 2 - cx], [0, 1, (size - 1) / 2 - cy]])
    out = cv2.warpAffine(digit, shift, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.clip(out * 255.0, 0, 255).round().astype(np.uint8)


def render_digit(digit, rng):
    """Render one digit (0-9) as a 28x28 uint8 MNIST-like image, randomly styled by rng."""
    canvas = np.zeros((96, 96), np.uint8)
    thickness = int(rng.integers(2, 5))
    if digit == 0:
        # every Hershey face slashes its zero; a hand draws an oval, often not quite closed
        axes = (int(rng.integers(13, 21)), int(rng.integers(24, 30)))
        start = rng.uniform(0, 360)
        cv2.ellipse(canvas, (48, 48), axes, 0, start, start + rng.uniform(330, 380), 255,
                    thickness, cv2.LINE_AA)
    else:
        font = FONTS[rng.integers(len(FONTS))] | (cv2.FONT_ITALIC if rng.random() < 0.3 else 0)
        (w, h), _ = cv2.getTextSize(str(digit), font, 2.0, thickness)
        cv2.putText(canvas, str(digit), ((96 - w) // 2, (96 + h) // 2), font, 2.0, 255,
                    thickness, cv2.LINE_AA)

    # random slant, rotation and scale, then a slight smooth (elastic) distortion
    matrix = cv2.getRotationMatrix2D((48, 48), rng.uniform(-15, 15), rng.uniform(0.85, 1.1))
    shear = rng.uniform(-0.3, 0.3)
    matrix[0, 1] += shear
    matrix[0, 2] -= shear * 48
    canvas = cv2.warpAffine(canvas, matrix, (96, 96), flags=cv2.INTER_LINEAR)
    field = rng.uniform(-1, 1, (2, 96, 96)).astype(np.float32)
    field = np.stack([cv2.GaussianBlur(f, (0, 0), 8) for f in field]) * 60
    (gridY, gridX) = np.mgrid[0:96, 0:96].astype(np.float32)
    canvas = cv2.remap(canvas, gridX + field[0], gridY + field[1], cv2.INTER_LINEAR)
    # a pen's stroke is saturated in its middle, as MNIST's are; resampling leaves it grey
    digit = mnist_normalise(canvas).astype(np.float32) * 2.5
    return np.clip(digit, 0, 255).astype(np.uint8)


def make_digits(count, seed=None):
    """count rendered digits with labels cycling 0-9: (images (count, 28, 28) uint8, labels)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = np.stack([render_digit(label, rng) for label in labels]) if count else \
        np.zeros((0, 28, 28), np.uint8)
    return images, labels
