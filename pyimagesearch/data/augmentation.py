"""Training-time augmentation, chosen by the data: handwriting or photos.

Handwriting (MNIST-style digits, bright strokes on a dark background): the same digit as other
writers and scanners would give it. Keras's own preprocessing layers do the geometry, the blur
and the noise; the one thing Keras has no layer for, the thickness of the pen stroke, is
RandomStrokeWidth. Photos (colour, or grayscale that is not ink on a dark background): the
same scene framed and lit a little differently, all from Keras's preprocessing layers. Every
layer here is random only when called with training=True and the identity otherwise, so a
model that holds them scores the same image the same way at inference.
"""
import keras
import numpy as np
from keras import layers, ops

from pyimagesearch.config import DARK_BACKGROUND, IMAGE_KINDS, LIGHT_BACKGROUND, LIGHT_INK

# the kinds of augmentation, by the data they are made for
AUGMENTATIONS = ("handwriting", "photo", "faces")


@keras.saving.register_keras_serializable(package="pyimagesearch")
class RandomStrokeWidth(layers.Layer):
    """Thicken or thin bright strokes on a dark background by a random amount per image.

    A 3x3 grey-level dilation (max filter) thickens a stroke by about a pixel on each side and
    an erosion (min filter) thins it; each image gets a blend of itself with one of them, its
    weight drawn uniformly from [-thinning, thickening] (negative: towards the erosion).
    """

    def __init__(self, thickening=1.0, thinning=0.3, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not (0 <= thickening <= 1 and 0 <= thinning <= 1):
            raise ValueError(f"thickening and thinning must lie in [0, 1], got "
                             f"{thickening!r} and {thinning!r}")
        self.thickening = float(thickening)
        self.thinning = float(thinning)
        self.seed = seed
        self.seedGenerator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        dilated = ops.max_pool(images, 3, strides=1, padding="same")
        eroded = -ops.max_pool(-images, 3, strides=1, padding="same")
        weight = keras.random.uniform((ops.shape(images)[0], 1, 1, 1), -self.thinning,
                                      self.thickening, seed=self.seedGenerator,
                                      dtype=images.dtype)
        target = ops.where(weight > 0, dilated, eroded)
        return images + ops.abs(weight) * (target - images)

    def compute_output_shape(self, inputShape):
        return inputShape

    def get_config(self):
        return {**super().get_config(), "thickening": self.thickening,
                "thinning": self.thinning, "seed": self.seed}


def image_kind(images, colorMode="grayscale", kind="auto", sample=256):
    """(kind, ink) of the images: ("handwriting", "light_on_dark") for MNIST-style arrays and
    grayscale images of bright strokes on a dark background (their median pixel at most
    DARK_BACKGROUND), ("handwriting", "dark_on_light") for grayscale images of dark strokes on
    a light background (median at least LIGHT_BACKGROUND, at most LIGHT_INK of the pixels
    below 0.5), ("photo", None) for colour images and any other grayscale ones; up to `sample`
    images are looked at. kind "handwriting", "photo" or "faces" (--images) overrides the
    rule; the ink of handwriting is still read off the images.

    images is a uint8 array (MNIST-style data: always light on dark) or ImageFiles."""
    from pyimagesearch.data.pairs import load_images

    if kind not in IMAGE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(IMAGE_KINDS)}, got {kind!r}")
    if isinstance(images, np.ndarray):
        return ("photo", None) if kind == "photo" else ("handwriting", "light_on_dark")
    if kind == "faces":
        return "faces", None
    if kind == "photo" or (kind == "auto" and colorMode == "rgb"):
        return "photo", None
    shown = np.linspace(0, len(images) - 1, min(sample, len(images))).astype(int)
    pixels = load_images(images, shown)
    median = float(np.median(pixels))
    if median >= LIGHT_BACKGROUND and float(np.mean(pixels < 0.5)) <= LIGHT_INK:
        return "handwriting", "dark_on_light"
    if median <= DARK_BACKGROUND or kind == "handwriting":
        return "handwriting", "dark_on_light" if median > 0.5 else "light_on_dark"
    return "photo", None


def build_augmentation(inputShape, seed=None, kind="handwriting"):
    """A model that augments a batch of [0, 1] images of inputShape while training, in float32
    whatever the global precision policy: kind is one of AUGMENTATIONS."""
    builders = {"handwriting": build_handwriting_augmentation,
                "photo": build_photo_augmentation, "faces": build_face_augmentation}
    if kind not in builders:
        raise ValueError(f"kind must be one of {', '.join(AUGMENTATIONS)}, got {kind!r}")
    return builders[kind](inputShape, seed)


def _seeds(seed):
    # each layer gets its own seed, so that the layers do not draw the same numbers
    return lambda offset: None if seed is None else seed + offset


def build_photo_augmentation(inputShape, seed=None):
    """Photos: left-right flips, shifts and zoom of up to 10% (the border reflected, not
    black), brightness and contrast changed by up to 20%, then clipping back to [0, 1]."""
    return _photo_like(inputShape, seed, shift=0.1, zoom=0.1, contrast=0.2)


def build_face_augmentation(inputShape, seed=None):
    """Aligned faces: left-right flips (a face and its mirror are one person), the small
    turns (up to 8 degrees), shifts (6%) and zooms (8%) that the five-point alignment leaves
    between two photos of one face, brightness (20%) and contrast (30%: light), then clipping
    back to [0, 1]."""
    return _photo_like(inputShape, seed, shift=0.06, zoom=0.08, contrast=0.3, turn=8)


def _photo_like(inputShape, seed, shift, zoom, contrast, turn=0):
    nextSeed = _seeds(seed)
    fill = {"fill_mode": "reflect", "dtype": "float32"}
    # a turn only where asked, seeded after the others: the photo recipe draws as it did
    turned = [layers.RandomRotation(turn / 360, seed=nextSeed(6), **fill)] if turn else []
    return keras.Sequential([
        keras.Input(inputShape),
        layers.RandomFlip("horizontal", seed=nextSeed(1), dtype="float32"),
        *turned,
        layers.RandomTranslation(shift, shift, seed=nextSeed(2), **fill),
        layers.RandomZoom((-zoom, zoom), seed=nextSeed(3), **fill),
        layers.RandomBrightness(0.2, value_range=(0, 1), seed=nextSeed(4), dtype="float32"),
        layers.RandomContrast(contrast, value_range=(0, 1), seed=nextSeed(5),
                              dtype="float32"),
        layers.Lambda(lambda x: ops.clip(x, 0.0, 1.0), dtype="float32", name="clip"),
    ], name="augmentation")


def build_handwriting_augmentation(inputShape, seed=None):
    """Handwriting: small rotations (up to 10 degrees), shifts (up to 8% of the size), zoom
    (up to 10% in or out), stroke thickness, a light blur and pixel noise, then clipping back
    to [0, 1].
    """
    nextSeed = _seeds(seed)
    fill = {"fill_mode": "constant", "fill_value": 0.0, "dtype": "float32"}
    return keras.Sequential([
        keras.Input(inputShape),
        layers.RandomRotation(10 / 360, seed=nextSeed(1), **fill),
        layers.RandomTranslation(0.08, 0.08, seed=nextSeed(2), **fill),
        layers.RandomZoom((-0.1, 0.1), seed=nextSeed(3), **fill),
        RandomStrokeWidth(seed=nextSeed(4), dtype="float32"),
        layers.RandomGaussianBlur(factor=(0.0, 0.2), sigma=(0.1, 1.0), value_range=(0, 1),
                                  seed=nextSeed(5), dtype="float32"),
        layers.GaussianNoise(0.03, seed=nextSeed(6), dtype="float32"),
        layers.Lambda(lambda x: ops.clip(x, 0.0, 1.0), dtype="float32", name="clip"),
    ], name="augmentation")
