"""Training views of a pair model (pyimagesearch.siamese_network.build_pair_model): the same
sister network, head and weights, fed the way each kind of batch needs (an anchor with its two
partners, pairs that share their images, every pair of a batch, single images for the losses
that mine their own pairs). Training fits a view; the pair model is what is saved."""
import keras
from keras import layers, ops


def sister_and_scorer(pairModel):
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
    augmentation (a model from pyimagesearch.data.augmentation) transforms each of the three images
    independently before the sister network; it lives in this view only, so pairModel (the
    model that is saved) never holds it.
    """
    (sister, score) = sister_and_scorer(pairModel)
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
    (sister, score) = sister_and_scorer(pairModel)
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
    (sister, score) = sister_and_scorer(pairModel)
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


def build_class_centre_model(pairModel, augmentation=None, classes=2):
    """A training view of pairModel for a margin softmax over identities (CosFace): the
    embedding view (build_embedding_model) with the cosine of each image's embedding with
    each of `classes` learnt class centres out (float32). The centres live in this view only,
    so the model that is saved never holds the identities it trained on."""
    from pyimagesearch.models.layers import ClassCentres

    embedding = build_embedding_model(pairModel, augmentation)
    outputs = ClassCentres(classes, dtype="float32", name="class_centres")(embedding.output)
    return keras.Model(inputs=embedding.input, outputs=outputs,
                       name="siamese_class_centre_view")
