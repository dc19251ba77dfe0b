# import the necessary packages
import keras
from keras import layers

from pyimagesearch.models.layers import Dropout
from pyimagesearch.models.recipes import architecture_named
from pyimagesearch.utils import euclidean_distance


def build_siamese_model(inputShape, embeddingDim=48, fastDropout=True):
    """Build the sister network: an image of inputShape in, an embeddingDim-long vector out.

    Two 64-filter 2x2 convolutions, each followed by 2x2 max-pooling and 30% dropout, then
    global average pooling and a linear Dense(embeddingDim): 19,888 parameters for 28x28x1.
    The dropout is pyimagesearch.models.layers.Dropout (same rate and scaling as Keras's, cheaper
    masks) unless fastDropout is False, which takes keras.layers.Dropout as the tutorial does.
    """
    if len(inputShape) != 3:
        raise ValueError(f"inputShape must be (height, width, channels), got {inputShape!r}")
    if int(embeddingDim) < 1:
        raise ValueError(f"embeddingDim must be a positive integer, got {embeddingDim!r}")

    dropout = Dropout if fastDropout else layers.Dropout

    # specify the inputs for the feature extractor network
    inputs = keras.Input(inputShape)

    # define the first set of CONV => RELU => POOL => DROPOUT layers
    x = layers.Conv2D(64, (2, 2), padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = dropout(0.3)(x)

    # second set of CONV => RELU => POOL => DROPOUT layers
    x = layers.Conv2D(64, (2, 2), padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = dropout(0.3)(x)

    # prepare the final outputs
    pooledOutput = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(int(embeddingDim))(pooledOutput)

    # build the model
    return keras.Model(inputs, outputs, name="sister_network")


def build_pair_model(inputShape, embeddingDim=48, head="sigmoid", architecture="tutorial",
                     sister=None, unitEmbeddings=False):
    """Build the full siamese model: two images through one shared sister network.

    head="sigmoid" (the tutorial's model): the euclidean distance feeds Dense(1, sigmoid) and
    the output is a similarity in [0, 1]; 19,890 parameters for 28x28x1.
    head=None (the contrastive-loss model): the output is the distance itself.
    architecture names the sister network (a key of pyimagesearch.models.recipes.ARCHITECTURES);
    sister, a sister network built already, takes its place. unitEmbeddings puts its
    embeddings on the unit sphere where it does not already end there (the triplet loss's
    recipe); the parameters stay the same.
    """
    if head not in ("sigmoid", None):
        raise ValueError(f"head must be 'sigmoid' or None, got {head!r}")

    # configure the siamese network
    imgA = keras.Input(shape=inputShape, name="image_a")
    imgB = keras.Input(shape=inputShape, name="image_b")
    featureExtractor = (architecture_named(architecture).build(inputShape, embeddingDim)
                        if sister is None else sister)
    if unitEmbeddings and not isinstance(featureExtractor.layers[-1],
                                         layers.UnitNormalization):
        featureExtractor = keras.Model(
            featureExtractor.inputs,
            layers.UnitNormalization(dtype="float32", name="unit_length")(
                featureExtractor.outputs[0]),
            name="sister_network")
    featsA = featureExtractor(imgA)
    featsB = featureExtractor(imgB)

    # finally, construct the siamese network
    # the distance and the head stay float32 under a mixed-precision policy, for stability
    distance = layers.Lambda(euclidean_distance, name="euclidean_distance",
                             dtype="float32")([featsA, featsB])
    if head is None:
        return keras.Model(inputs=[imgA, imgB], outputs=distance, name="siamese_network")

    # The original head starts with a random-signed kernel. When it starts positive, a larger
    # distance means "more similar", so training pulls every embedding together until the
    # distance hits the epsilon clamp of euclidean_distance, where the gradient is zero and the
    # model is stuck at 50% accuracy. Starting the kernel negative (farther apart = less
    # similar) removes that failure without changing the architecture or the parameter count.
    outputs = layers.Dense(1, activation="sigmoid", name="similarity", dtype="float32",
                           kernel_initializer=keras.initializers.Constant(-1.0))(distance)
    return keras.Model(inputs=[imgA, imgB], outputs=outputs, name="siamese_network")
