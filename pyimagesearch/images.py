"""The one image loader: any image file in, a 28x28 grayscale digit in [0, 1] out."""
import os

import cv2
import numpy as np
from imutils.paths import list_images


def list_image_paths(directory):
    """The image files under directory, sorted so a seeded draw picks the same pairs anywhere."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"--input folder {directory} does not exist")
    return sorted(list_images(directory))


def load_image(path, size=(28, 28), prepare=False):
    """Read path as a grayscale image of size (height, width), scaled to [0, 1].

    Returns (image as float32 (height, width), notes): notes lists the conversions made (colour
    to grayscale, resizing, and with prepare=True those of prepare_digit) so the caller can say
    what happened. Raises ValueError when the file is not a readable image.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise ValueError(f"{path} cannot be read ({e.strerror or e})") from None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ValueError(f"{path} is not a readable image")

    notes = []
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
        notes.append("colour to grayscale")
    # 8-bit, 16-bit and float images all end up in [0, 1]
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / np.iinfo(image.dtype).max
    else:
        image = np.clip(image.astype(np.float32), 0.0, 1.0)

    (height, width) = size
    if prepare:
        try:
            (image, prepared) = prepare_digit(image)
        except ValueError as e:
            raise ValueError(f"{path} {e}") from None
        notes += prepared
    if image.shape != (height, width):
        if not prepare:
            notes.append(f"resized from {image.shape[1]}x{image.shape[0]} to {width}x{height}")
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return image, notes


def prepare_digit(image):
    """Make a photo or scan of one digit look like MNIST: white on black, cropped, fitted into
    20x20 and centred by its centre of mass in 28x28. Returns (image in [0, 1], notes).

    Dark ink on light paper (a bright border) is inverted first; the background level is then
    subtracted so paper texture does not count as ink.
    """
    from pyimagesearch.digits import mnist_normalise

    notes = []
    image = np.asarray(image, np.float32)
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    background = float(np.median(border))
    if background > 0.5:
        (image, background) = (1.0 - image, 1.0 - background)
        notes.append("inverted dark ink on light paper to white on black")
    # stretch so the background is 0 and the strongest ink 1
    ink = float(image.max())
    if ink - background < 0.1:
        raise ValueError("holds no digit (no ink stands out from the background)")
    image = np.clip((image - background) / (ink - background), 0.0, 1.0)
    notes.append("cropped, fitted into 20x20 and centred like MNIST")
    return mnist_normalise(image).astype(np.float32) / 255.0, notes
