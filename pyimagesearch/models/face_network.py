# import the necessary packages
import keras
from keras import layers

from pyimagesearch.models.layers import FlipAveraging, check_builder_arguments

# the grid of features the embedding is made from: a 64x64 face's own after four poolings
GRID = (4, 4)


def residual_block(x, filters):
    """Two 3x3 convolutions with batch normalisation, added to the block's input (through a
    1x1 convolution where the number of filters changes), then ReLU."""
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, (1, 1), use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    x = layers.Conv2D(filters, (3, 3), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(filters, (3, 3), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(layers.Add()([x, shortcut]))


def build_face_residual(inputShape, embeddingDim=48):
    """The network alone: four residual blocks of 32, 64, 128 and 256 filters, each followed
    by 2x2 max-pooling, the 4x4 grid of features flattened (where a feature lies on an aligned
    face tells who it is: the eyes are always at the same place), dropout, a linear
    Dense(embeddingDim) and normalisation to unit length."""
    check_builder_arguments(inputShape, embeddingDim)
    inputs = keras.Input(inputShape)
    x = inputs
    for filters in (32, 64, 128, 256):
        x = residual_block(x, filters)
        x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    if tuple(x.shape[1:3]) != GRID:
        # other sizes of face: the feature map resampled to the same grid
        x = layers.Resizing(*GRID, interpolation="bilinear", antialias=True,
                            dtype="float32")(x)
    features = layers.Dropout(0.3)(layers.Flatten(dtype="float32")(x))
    # the embedding in float32 whatever the precision policy (small_vgg_network.py says why)
    embedding = layers.Dense(int(embeddingDim), dtype="float32")(features)
    outputs = layers.UnitNormalization(dtype="float32")(embedding)
    return keras.Model(inputs, outputs, name="face_residual_network")


def build_face_model(inputShape, embeddingDim=48):
    """Build a sister network for aligned faces (--images faces): a small residual network,
    each face embedded at inference as the mean of it and its mirror image. An aligned face
    of inputShape in, an embeddingDim-long unit vector out."""
    inputs = keras.Input(inputShape)
    network = build_face_residual(inputShape, embeddingDim)
    outputs = FlipAveraging(network, name="flip_averaging")(inputs)
    return keras.Model(inputs, outputs, name="sister_network")
