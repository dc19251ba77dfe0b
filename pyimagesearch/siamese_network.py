# import the necessary packages
import keras
from keras import layers, ops

from pyimagesearch.layers import Dropout
from pyimagesearch.recipes import architecture_named
from pyimagesearch.utils import euclidean_distance


def build_siamese_model(inputShape, embeddingDim=48, fastDropout=True):
    """Build the sister network: an image of inputShape in, an embeddingDim-long vector out.

    Two 64-filter 2x2 convolutions, each followed by 2x2 max-pooling and 30% dropout, then
    global average pooling and a linear Dense(embeddingDim): 19,888 parameters for 28x28x1.
    The dropout is pyimagesearch.layers.Dropout (same rate and scaling as Keras's, cheaper
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
    architecture names the sister network (a key of pyimagesearch.recipes.ARCHITECTURES);
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


def _sister_and_scorer(pairModel):
    """pairModel's sister network, and a function that scores pairs of its embeddings
    (first, second) through pairModel's own distance and head: what every training view
    shares with the model that is saved."""
    sister = pairModel.get_layer("sister_network")
    distance = pairModel.get_layer("euclidean_distance")
    head = [layer for layer in pairModel.layers if layer.name == "similarity"]

    def score(first, second):
        scores = distance([first, second])
        return head[0](scores) if head else scores

    return sister, score


def build_anchor_model(pairModel, augmentation=None):
    """A training view of pairModel that embeds each anchor image once for both of its pairs.

    Inputs (anchor, positive partner, negative partner); output (batch, 2): the score of the
    positive pair, then of the negative pair. It shares every layer (and weight) with
    pairModel, so training it trains pairModel, at 3 sister passes per 2 pairs instead of 4.
    augmentation (a model from pyimagesearch.augmentation) transforms each of the three images
    independently before the sister network; it lives in this view only, so pairModel (the
    model that is saved) never holds it.
    """
    (sister, score) = _sister_and_scorer(pairModel)
    inputShape = tuple(pairModel.inputs[0].shape[1:])
    inputs = [keras.Input(shape=inputShape, name=name)
              for name in ("anchor", "positive", "negative")]
    (anchor, positive, negative) = inputs
    if augmentation is not None:
        (anchor, positive, negative) = (augmentation(image) for image in inputs)
    featsAnchor = sister(anchor)
    scores = [score(featsAnchor, sister(partner)) for partner in (positive, negative)]
    outputs = layers.Concatenate(name="pair_scores", dtype="float32")(scores)
    return keras.Model(inputs=inputs, outputs=outputs, name="siamese_anchor_view")


def build_shared_image_model(pairModel, augmentation=None):
    """A training view of pairModel for pairs that share their images (shared_image_dataset):
    inputs (pairs: (m, 2) positions among the images, images: (n, ...)), output (m, 1): the
    score of each pair, through pairModel's own distance and head. Each image goes through
    the sister network (augmented first, when given) once however many of the pairs it is in:
    about 66 sister passes for the tutorial's 64 pairs a step, instead of 128. It shares every
    layer (and weight) with pairModel. (The pairs come first, so that Keras weighs each step's
    loss by its number of pairs.)"""
    (sister, score) = _sister_and_scorer(pairModel)
    pairs = keras.Input(shape=(2,), dtype="int32", name="pairs")
    images = keras.Input(shape=tuple(pairModel.inputs[0].shape[1:]), name="images")
    embeddings = sister(augmentation(images) if augmentation is not None else images)
    scores = score(*PairMembers(dtype="float32", name="pair_members")([embeddings, pairs]))
    return keras.Model(inputs=[pairs, images], outputs=scores, name="siamese_shared_view")


class PairMembers(layers.Layer):
    """(n, d) embeddings and (m, 2) positions among them -> the first and second members of
    the m pairs."""

    def call(self, inputs):
        (embeddings, pairs) = inputs
        embeddings = ops.cast(embeddings, self.compute_dtype)
        return ops.take(embeddings, pairs[:, 0], axis=0), ops.take(embeddings, pairs[:, 1],
                                                                   axis=0)

    def compute_output_shape(self, shapes):
        return (None, shapes[0][1]), (None, shapes[0][1])


def build_in_batch_model(pairModel, augmentation=None):
    """A training view of pairModel that scores every pair of images in a batch: a batch of n
    images in (augmented first, when given), the (n, n) scores of all their pairs out, through
    pairModel's own distance and head. One sister pass per image, however many pairs: n = 32
    images make 496 pairs (the diagonal, an image with itself, is left to the loss to skip).
    It shares every layer (and weight) with pairModel."""
    (sister, score) = _sister_and_scorer(pairModel)
    inputs = keras.Input(shape=tuple(pairModel.inputs[0].shape[1:]), name="images")
    images = augmentation(inputs) if augmentation is not None else inputs
    embeddings = sister(images)
    scores = score(*EveryPair(dtype="float32", name="every_pair")(embeddings))
    outputs = PairGrid(dtype="float32", name="pair_scores")([scores, embeddings])
    return keras.Model(inputs=inputs, outputs=outputs, name="siamese_in_batch_view")


class EveryPair(layers.Layer):
    """(n, d) embeddings -> the first and second members of all n * n ordered pairs."""

    def call(self, embeddings):
        n = ops.shape(embeddings)[0]
        embeddings = ops.cast(embeddings, self.compute_dtype)
        return ops.repeat(embeddings, n, axis=0), ops.tile(embeddings, (n, 1))

    def compute_output_shape(self, shape):
        return (None, shape[1]), (None, shape[1])


class PairGrid(layers.Layer):
    """The n * n pair scores back to an (n, n) grid: row i holds image i's pairs."""

    def call(self, inputs):
        (scores, embeddings) = inputs
        n = ops.shape(embeddings)[0]
        return ops.reshape(ops.cast(scores, self.compute_dtype), (n, n))

    def compute_output_shape(self, shapes):
        return (None, None)


def build_embedding_model(pairModel, augmentation=None):
    """A training view of pairModel for losses on embeddings (the triplet loss): a batch of
    images in (augmented first, when given), their embeddings out (float32). It shares the
    sister network, and so its weights, with pairModel."""
    sister = pairModel.get_layer("sister_network")
    inputs = keras.Input(shape=tuple(pairModel.inputs[0].shape[1:]), name="images")
    images = augmentation(inputs) if augmentation is not None else inputs
    outputs = layers.Activation("linear", dtype="float32", name="embeddings")(sister(images))
    return keras.Model(inputs=inputs, outputs=outputs, name="siamese_embedding_view")
