"""Keras's Dropout with a cheaper random mask: the same layer, half the random numbers."""
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
