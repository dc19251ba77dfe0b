"""Training-time augmentation: the same digit as other writers and scanners would give it.

Keras's own preprocessing layers do the geometry, the blur and the noise; the one thing Keras
has no layer for, the thickness of the pen stroke, is RandomStrokeWidth. Every layer here is
random only when called with training=True and the identity otherwise, so a model that holds
them scores the same image the same way at inference.
"""
import keras
from keras import layers, ops


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


def build_augmentation(inputShape, seed=None):
    """A model that augments a batch of [0, 1] images of inputShape while training.

    Small rotations (up to 10 degrees), shifts (up to 8% of the size), zoom (up to 10% in or
    out), stroke thickness, a light blur and pixel noise, then clipping back to [0, 1]; the
    identity at inference. Runs in float32 whatever the global precision policy.
    """
    # each layer gets its own seed, so that the layers do not draw the same numbers
    def nextSeed(offset):
        return None if seed is None else seed + offset

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
