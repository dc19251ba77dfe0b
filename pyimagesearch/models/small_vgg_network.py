# import the necessary packages
import keras
from keras import layers

from pyimagesearch.models.layers import check_builder_arguments

# the grid of features the embedding is made from: a 28x28 digit's own after three poolings
GRID = (3, 3)


def build_small_vgg_model(inputShape, embeddingDim=48):
    """Build the accurate sister network: an image of inputShape in, an embeddingDim-long
    vector out.

    Three VGG-style blocks (3x3 convolution, batch normalisation, ReLU, 2x2 max-pooling) with
    32, 64 and 128 filters, then the 3x3x128 features flattened (another size of image's
    resampled to that grid first), a linear Dense(embeddingDim) and normalisation to unit
    length: 148,688 parameters for 28x28x1. The 3x3 kernels stacked over three scales see most
    of the digit (an 18x18-pixel receptive field, 22x22 after the last pooling), where the
    tutorial's network averages features of 7x7-pixel patches; batch normalisation replaces
    dropout and lets it train at a high rate.
    """
    check_builder_arguments(inputShape, embeddingDim)

    inputs = keras.Input(inputShape)
    x = inputs
    # three CONV => BN => RELU => POOL blocks, doubling the filters as the image halves
    for filters in (32, 64, 128):
        # no bias: the batch normalisation that follows has its own shift
        x = layers.Conv2D(filters, (3, 3), padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(pool_size=(2, 2))(x)

    # flattened, not averaged over the image: where a feature is (a stroke at the top, a
    # loop at the bottom) tells digits apart that the network never trained on, and global
    # pooling throws it away (docs/search.md). The embedding in float32 whatever the
    # precision policy: under bfloat16 (8 bits of mantissa) two close embeddings would
    # differ by rounding noise about as large as the distances the threshold has to tell apart
    if tuple(x.shape[1:3]) != GRID:
        # other sizes of image: their feature map resampled to the same grid (antialiased,
        # each cell a weighted average of the features under it; TensorFlow has no gradient
        # for area resizing), so that the embedding's size does not grow with the image
        x = layers.Resizing(*GRID, interpolation="bilinear", antialias=True,
                            dtype="float32")(x)
    features = layers.Flatten(dtype="float32")(x)
    embedding = layers.Dense(int(embeddingDim), dtype="float32")(features)
    # on the unit sphere: an unfamiliar image (another writer's, another scanner's) tends to
    # get a small embedding, close to every other one and so "similar" to all of them;
    # normalised, only its direction counts
    outputs = layers.UnitNormalization(dtype="float32")(embedding)
    return keras.Model(inputs, outputs, name="sister_network")
