"""Layers of our own: a cheaper Dropout, the centring and shift averaging of drawings, the
mirror averaging of faces and the learnt class centres of a margin softmax."""
import keras

# the random bits drawn per unit: two units per 32-bit draw
MASK_BITS = 16


@keras.saving.register_keras_serializable(package="pyimagesearch")
class Dropout(keras.layers.Dropout):
    """keras.layers.Dropout that draws 16 random bits per unit instead of a float32 uniform.

    A unit is dropped when its bits fall below round(rate * 2**16), so the drop rate is the
    layer's rate to within 2**-17 (0.3 drops with probability 0.300003); kept units are scaled
    by 1 / (1 - rate) and inference is the identity, exactly as in Keras. Drawing the masks was
    a quarter of a CPU training step of the siamese model (TensorFlow's random-number kernel
    is slow on CPU); two units per 32-bit draw halve that. A noise_shape, or a rate of 0 or
    1, takes Keras's own path.
    """

    def call(self, inputs, training=False):
        threshold = round(self.rate * 2 ** MASK_BITS)
        if not training or self.noise_shape is not None or not 0 < threshold < 2 ** MASK_BITS:
            return super().call(inputs, training=training)

        import tensorflow as tf

        # a fresh seed per call from the layer's own generator, as Keras's Dropout does; the
        # stateless random ops want it as int32
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1),
                       tf.int32)
        size = tf.size(inputs)
        bits = tf.random.stateless_uniform([(size + 1) // 2], seed, minval=None, maxval=None,
                                           dtype=tf.uint32)
        bits = tf.reshape(tf.bitcast(bits, tf.uint16), [-1])[:size]
        keep = tf.reshape(bits >= tf.constant(threshold, tf.uint16), tf.shape(inputs))
        scale = tf.cast(1.0 / (1.0 - self.rate), inputs.dtype)
        return tf.where(keep, inputs * scale, tf.zeros((), inputs.dtype))


def _translate(images, shifts):
    """images (batch, height, width, channels) moved by whole pixels, shifts (batch, 2) of
    (down, right); what comes in at the border is 0 (the dark paper of bright ink)."""
    from keras import ops

    ones = ops.ones_like(shifts[:, :1])
    zeros = ops.zeros_like(ones)
    # the transform maps each output pixel to the input pixel it is read from
    transform = ops.concatenate([ones, zeros, -shifts[:, 1:], zeros, ones, -shifts[:, :1],
                                 zeros, zeros], axis=1)
    return ops.image.affine_transform(images, transform, interpolation="nearest",
                                      fill_mode="constant", fill_value=0)


@keras.saving.register_keras_serializable(package="pyimagesearch")
class InkCentring(keras.layers.Layer):
    """Move each drawing (bright ink on dark paper) by whole pixels so that its ink's centre
    of mass is at the image's centre, as MNIST's digits were centred: two drawings of one
    character then differ in shape, not in where on the page they were drawn. A blank image
    stays where it is."""

    def call(self, images):
        from keras import ops

        images = ops.cast(images, "float32")
        ink = ops.mean(images, axis=-1)
        total = ops.sum(ink, axis=(1, 2))
        (height, width) = (ops.shape(images)[1], ops.shape(images)[2])
        rows = ops.cast(ops.arange(height), "float32")
        columns = ops.cast(ops.arange(width), "float32")
        safe = ops.maximum(total, 1e-6)
        centreRow = ops.sum(ops.sum(ink, axis=2) * rows, axis=1) / safe
        centreColumn = ops.sum(ops.sum(ink, axis=1) * columns, axis=1) / safe
        shifts = ops.stack([(ops.cast(height, "float32") - 1) / 2 - centreRow,
                            (ops.cast(width, "float32") - 1) / 2 - centreColumn], axis=1)
        shifts = ops.where((total > 0)[:, None], ops.round(shifts), 0.0)
        return _translate(images, shifts)

    def compute_output_shape(self, inputShape):
        return inputShape


@keras.saving.register_keras_serializable(package="pyimagesearch")
class ShiftAveraging(keras.layers.Layer):
    """At inference, the embedding of an image as the mean of the network's embeddings of it
    moved by -shift, 0 and +shift of its size down and right (nine copies), back on the unit
    sphere; in training the network alone. One drawing is then compared with another over the
    small misplacements no centring removes: on the Omniglot alphabets that chose it, 3 to 4
    points more 20-way one-shot runs right (docs/one-shot.md), for nine times the computation
    of an embedding."""

    def __init__(self, network, shift=0.05, **kwargs):
        super().__init__(**kwargs)
        if not 0 < shift < 0.5:
            raise ValueError(f"shift must lie in (0, 0.5), got {shift!r}")
        self.network = network
        self.shift = float(shift)

    def call(self, images, training=None):
        from keras import ops

        if training:
            return self.network(images, training=True)
        (height, width) = images.shape[1:3]
        steps = [(max(1, round(self.shift * height)) * down, max(1, round(self.shift * width))
                  * right) for down in (-1, 0, 1) for right in (-1, 0, 1)]
        batch = ops.shape(images)[0]
        moved = ops.concatenate([_translate(images, ops.tile(ops.convert_to_tensor(
            [step], "float32"), (batch, 1))) for step in steps], axis=0)
        embeddings = ops.cast(self.network(moved, training=False), "float32")
        mean = ops.mean(ops.reshape(embeddings, (len(steps), batch, -1)), axis=0)
        return mean / ops.maximum(ops.norm(mean, axis=-1, keepdims=True), 1e-12)

    def compute_output_shape(self, inputShape):
        return self.network.compute_output_shape(inputShape)

    def get_config(self):
        return {**super().get_config(), "shift": self.shift,
                "network": keras.saving.serialize_keras_object(self.network)}

    @classmethod
    def from_config(cls, config):
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="pyimagesearch")
class FlipAveraging(keras.layers.Layer):
    """At inference, the embedding of an image as the mean of the network's embeddings of it
    and of its mirror image, back on the unit sphere; in training the network alone (which
    sees mirrored images through its augmentation). A face and its mirror are one person: the
    face literature's test-time flip, for twice the computation of an embedding."""

    def __init__(self, network, **kwargs):
        super().__init__(**kwargs)
        self.network = network

    def call(self, images, training=None):
        from keras import ops

        if training:
            return self.network(images, training=True)
        batch = ops.shape(images)[0]
        both = ops.concatenate([images, ops.flip(images, axis=2)], axis=0)
        embeddings = ops.cast(self.network(both, training=False), "float32")
        mean = ops.mean(ops.reshape(embeddings, (2, batch, -1)), axis=0)
        return mean / ops.maximum(ops.norm(mean, axis=-1, keepdims=True), 1e-12)

    def compute_output_shape(self, inputShape):
        return self.network.compute_output_shape(inputShape)

    def get_config(self):
        return {**super().get_config(),
                "network": keras.saving.serialize_keras_object(self.network)}

    @classmethod
    def from_config(cls, config):
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)


class ClassCentres(keras.layers.Layer):
    """The cosine of each embedding with each of `classes` learnt class centres: (n, d)
    embeddings in, (n, classes) cosines out. The centres are unit vectors (normalised at every
    call), so the cosines are a margin softmax's logits over identities (CosFace, ArcFace)
    before their scale. The layer only ever lives in a training view: a model that is saved
    compares embeddings with each other, not with the classes it trained on."""

    def __init__(self, classes, **kwargs):
        super().__init__(**kwargs)
        if int(classes) < 2:
            raise ValueError(f"classes must be at least 2, got {classes!r}")
        self.classes = int(classes)

    def build(self, shape):
        self.centres = self.add_weight(shape=(int(shape[-1]), self.classes),
                                       initializer="glorot_normal", name="centres")

    def call(self, embeddings):
        from keras import ops

        embeddings = ops.normalize(ops.cast(embeddings, self.compute_dtype), axis=1)
        centres = ops.normalize(ops.cast(self.centres, self.compute_dtype), axis=0)
        return ops.matmul(embeddings, centres)

    def compute_output_shape(self, shape):
        return (shape[0], self.classes)

    def get_config(self):
        return {**super().get_config(), "classes": self.classes}


def check_builder_arguments(inputShape, embeddingDim):
    """What every sister network's builder refuses (ValueError): a shape that is not
    (height, width, channels), an embedding length below 1."""
    if len(inputShape) != 3:
        raise ValueError(f"inputShape must be (height, width, channels), got {inputShape!r}")
    if int(embeddingDim) < 1:
        raise ValueError(f"embeddingDim must be a positive integer, got {embeddingDim!r}")
