"""The one image loader: any image file in, an image of the model's size and colour mode in
[0, 1] out (a 28x28 grayscale digit for the tutorial's model)."""
import os

import cv2
import numpy as np

# the file names taken for images (any case): imutils's, and the other formats OpenCV reads
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm",
                    ".ppm", ".pbm")


def list_image_paths(directory, what="--input folder", warn=print, exclude=()):
    """The image files under directory (searched recursively, symbolic links to folders
    followed, hidden files and folders left out, the folders in exclude too), sorted so a
    seeded draw picks the same pairs anywhere. A name with an image extension that is not a
    regular file (a FIFO, a dangling link, a device) is skipped with one warning each: reading
    it could hang or fail halfway."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{what} {directory} does not exist")
    skipped = {os.path.realpath(folder) for folder in exclude}
    (found, seen) = ([], set())
    for (folder, subfolders, files) in os.walk(directory, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen or real in skipped:  # a link loop, or a folder left out
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in files:
            if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                found.append(path)
            else:
                warn(f"[WARNING] skipping {path}: not a regular file")
    return sorted(found)


COLOR_MODES = ("grayscale", "rgb")


def color_mode_of(channels):
    """The colour mode of images with this many channels: 3 is rgb, 1 grayscale."""
    return "rgb" if channels == 3 else "grayscale"


def load_image(path, size=(28, 28), prepare=False, colorMode="grayscale", faces=False):
    """Read path as an image of size (height, width) in colorMode, scaled to [0, 1].

    Any file OpenCV reads (PNG, JPEG, BMP, TIFF, ...; 8-bit, 16-bit or float; 1, 3 or 4
    channels). Returns (image as float32, notes): (height, width) for grayscale, (height,
    width, 3) in RGB order (as TensorFlow decodes) for rgb; notes lists the conversions made
    (colour to grayscale or back, dropping alpha, resizing, and with prepare=True those of
    prepare_digit) so the caller can say what happened. With faces (a model trained with
    --images faces) the image is the photo's largest face, aligned at size
    (pyimagesearch.faces). Raises ValueError when the file is not a readable image, or holds no
    face where one is asked for.
    """
    return decode_image(read_bytes(path), path, size, prepare, colorMode, faces)


def read_bytes(path):
    """The bytes of the file at path as a uint8 array; ValueError when it cannot be read."""
    try:
        return np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise ValueError(f"{path} cannot be read ({e.strerror or e})") from None


def decode_image(data, path, size=(28, 28), prepare=False, colorMode="grayscale",
                 faces=False):
    """load_image for the bytes of an image file (a uint8 array or bytes), named path in
    its errors."""
    if colorMode not in COLOR_MODES:
        raise ValueError(f"colour mode must be one of {', '.join(COLOR_MODES)}, got "
                         f"{colorMode!r}")
    if prepare and colorMode != "grayscale":
        raise ValueError("--prepare makes MNIST-style digits and applies to grayscale models "
                         "only")
    (image, notes) = decode_photo(data, path, colorMode)

    (height, width) = size
    if faces:
        from pyimagesearch.faces.reading import largest_face

        try:
            (face, count) = largest_face(image, size)
        except ValueError as e:
            # NoFaceError stays itself: the server answers it 422, not 415
            raise type(e)(f"{path} {e}") from None
        return face, notes + ["face found and aligned" if count == 1 else
                              f"the largest of {count} faces taken, the others left out"]
    if prepare:
        try:
            (image, prepared) = prepare_digit(image)
        except ValueError as e:
            raise ValueError(f"{path} {e}") from None
        notes += prepared
    if image.shape[:2] != (height, width):
        if not prepare:
            notes.append(f"resized from {image.shape[1]}x{image.shape[0]} to {width}x{height}")
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return image, notes


def load_photo(path, colorMode="grayscale"):
    """The image at path at its own size, in colorMode, scaled to [0, 1] (a photo whose
    faces are looked for); ValueError when it is not a readable image."""
    return decode_photo(read_bytes(path), path, colorMode)[0]


def decode_photo(data, path, colorMode="grayscale"):
    """(image at its own size in colorMode in [0, 1], the colour conversions made) of the
    bytes of an image file; ValueError when they are not a readable image."""
    data = np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise ValueError(f"{path} is not a readable image")

    # OpenCV converts colours of 8-bit, 16-bit and float32 images; other depths (32-bit or
    # float64 TIFFs) become float32 in [0, 1] first
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        image = _to_unit_range(image)
    (image, notes) = _convert_colour(image, colorMode)
    return _to_unit_range(image), notes


def _to_unit_range(image):
    """8-bit, 16-bit and float images as float32 in [0, 1]."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if np.issubdtype(image.dtype, np.integer):
        return np.clip(image.astype(np.float32) / np.iinfo(image.dtype).max, 0.0, 1.0)
    return np.clip(np.nan_to_num(image.astype(np.float32)), 0.0, 1.0)


def _convert_colour(image, colorMode):
    """OpenCV's decoded image (BGR or BGRA order) as grayscale (h, w) or RGB (h, w, 3)."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    channels = 1 if image.ndim == 2 else image.shape[2]
    if colorMode == "grayscale":
        if channels == 1:
            return image, []
        code = cv2.COLOR_BGRA2GRAY if channels == 4 else cv2.COLOR_BGR2GRAY
        return cv2.cvtColor(image, code), ["colour to grayscale"]
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB), ["grayscale to RGB"]
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB), ["alpha channel dropped"]
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), []


def prepare_digit(image):
    """Make a photo or scan of one digit look like MNIST: white on black, cropped, fitted into
    20x20 and centred by its centre of mass in 28x28. Returns (image in [0, 1], notes).

    Dark ink on light paper (a bright border) is inverted first; the background level is then
    subtracted so paper texture does not count as ink.
    """
    from pyimagesearch.data.digits import mnist_normalise

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
