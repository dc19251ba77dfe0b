# import the necessary packages
import keras
from keras import layers

from pyimagesearch.models.layers import check_builder_arguments


def build_conv4_model(inputShape, embeddingDim=48):
    """Build the few-shot learning literature's sister network ("Conv-4", Vinyals et al.
    2016, Snell et al. 2017): an image of inputShape in, an embeddingDim-long unit vector out.

    Four blocks of a 3x3 convolution with 64 filters, batch normalisation, ReLU and 2x2
    max-pooling; the features left (1x1 for 28x28 characters, 3x3 for 56x56) flattened, a
    linear Dense(embeddingDim) and normalisation to unit length: 115,312 parameters for
    28x28x1. The same filters at every depth keep it small and fast.
    """
    check_builder_arguments(inputShape, embeddingDim)
    if min(inputShape[:2]) < 16:
        raise ValueError(f"conv4 takes images of at least 16x16 (four poolings), got "
                         f"{inputShape[0]}x{inputShape[1]}")

    inputs = keras.Input(inputShape)
    x = inputs
    for _ in range(4):
        x = layers.Conv2D(64, (3, 3), padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    # the embedding in float32 whatever the precision policy, as small_vgg's
    features = layers.Flatten(dtype="float32")(x)
    embedding = layers.Dense(int(embeddingDim), dtype="float32")(features)
    outputs = layers.UnitNormalization(dtype="float32")(embedding)
    return keras.Model(inputs, outputs, name="sister_network")
