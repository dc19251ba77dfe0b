# import the necessary packages
import keras
from keras import ops

from pyimagesearch.models.recipes import MINING


def contrastive_loss(y, preds, margin=1.0):
    """The contrastive loss of the follow-up post: mean(y * d^2 + (1 - y) * max(margin - d, 0)^2).

    y is 1 for a same-class pair and 0 otherwise; preds is the euclidean distance. Same-class
    pairs are pulled together, different-class pairs pushed at least margin apart.
    """
    # explicitly cast the true class label data type to the predicted class label data type
    # (otherwise we run the risk of having two separate data types, causing TensorFlow to error)
    y = ops.cast(y, preds.dtype)

    # calculate the contrastive loss between the true labels and the predicted labels
    return ops.mean(contrastive_terms(y, preds, margin))


def contrastive_terms(y, preds, margin=1.0):
    """The contrastive loss of each pair, not yet averaged."""
    squaredPreds = ops.square(preds)
    squaredMargin = ops.square(ops.maximum(margin - preds, 0))
    return y * squaredPreds + (1 - y) * squaredMargin


def make_contrastive_loss(margin=1.0):
    """contrastive_loss with its margin fixed, ready for model.compile(loss=...)."""
    if margin <= 0:
        raise ValueError(f"margin must be positive, got {margin!r}")

    def contrastive(y, preds):
        return contrastive_loss(y, preds, margin)

    return contrastive


# what the LOSSES table of pyimagesearch.models.recipes compiles with: margin -> (loss, metrics)

def compile_binary_crossentropy(margin=None):
    """The tutorial's loss and its pair accuracy (the sigmoid head's similarity above 0.5)."""
    # spelled out: for the anchor view's two outputs, "accuracy" would mean categorical
    # accuracy (positive pair above negative), not pair accuracy
    return "binary_crossentropy", [keras.metrics.BinaryAccuracy(name="accuracy")]


def compile_contrastive(margin=1.0):
    """The follow-up post's contrastive loss on the distance; no accuracy at a fixed 0.5."""
    return make_contrastive_loss(margin), None


def in_batch_loss(pairTerms):
    """A pair loss over every pair of a batch (the in-batch view's (n, n) scores; labels (n,)
    the images' classes): the mean of pairTerms(same, score) over the positive pairs plus its
    mean over the negative ones, halved. Weighted so, the batch counts as the tutorial's even
    mix of positive and negative pairs however few positives it holds; an image is never
    paired with itself."""

    def loss(labels, scores):
        same, positive, negative = _pair_masks(labels)
        terms = pairTerms(ops.cast(same, "float32"), ops.cast(scores, "float32"))
        return 0.5 * (_masked_mean(terms, positive) + _masked_mean(terms, negative))

    return loss


def _pair_masks(labels):
    """(same class, positive pairs, negative pairs) of a batch's labels, each (n, n)."""
    labels = ops.reshape(labels, (-1,))
    same = ops.equal(labels[:, None], labels[None, :])
    eye = ops.eye(ops.shape(labels)[0], dtype="bool")
    return same, ops.logical_and(same, ops.logical_not(eye)), ops.logical_not(same)


def _masked_mean(values, mask):
    mask = ops.cast(mask, values.dtype)
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)


class InBatchPairAccuracy(keras.metrics.Metric):
    """Pair accuracy over every pair of the batches, positives and negatives weighted equally
    (the mean of the two accuracies): the in-batch view's counterpart of the pair accuracy
    of an even mix of pairs, for a similarity (above 0.5: same class)."""

    def __init__(self, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.counts = self.add_variable(shape=(4,), initializer="zeros", name="counts")

    def update_state(self, labels, scores, sample_weight=None):
        (_, positive, negative) = _pair_masks(labels)
        said = ops.cast(scores, "float32") > 0.5
        right = [ops.logical_and(positive, said), ops.logical_and(negative, ~said)]
        self.counts.assign_add(ops.stack([
            ops.sum(ops.cast(mask, "float32")) for mask in (*right, positive, negative)]))

    def result(self):
        (rightPositive, rightNegative, positive, negative) = ops.unstack(self.counts)
        return 0.5 * (rightPositive / ops.maximum(positive, 1.0)
                      + rightNegative / ops.maximum(negative, 1.0))

    def reset_state(self):
        self.counts.assign(ops.zeros((4,)))


def compile_in_batch_binary_crossentropy(margin=None):
    """The tutorial's loss over every pair of a batch, and its pair accuracy there."""
    return in_batch_loss(ops.binary_crossentropy), [InBatchPairAccuracy()]


def compile_in_batch_contrastive(margin=1.0):
    """The contrastive loss over every pair of a batch; no accuracy at a fixed 0.5."""
    if margin <= 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    return in_batch_loss(lambda same, d: contrastive_terms(same, d, margin)), None



def triplet_loss(labels, embeddings, margin=0.5, mining="semi_hard", seed=None):
    """The triplet loss (FaceNet) over one batch: mean over anchors of
    max(d(anchor, positive) - d(anchor, negative) + margin, 0), the triplets mined inside the
    batch from its labels (n,) and embeddings (n, d).

    batch_hard: each anchor's farthest positive and nearest negative (Hermans et al. 2017).
    semi_hard: each anchor's farthest positive, and the nearest negative farther than it (the
    hardest one that does not already beat the positive, Schroff et al. 2015), the nearest
    negative where there is none. random: a random positive and a random negative (the
    baseline). Anchors without a positive or a negative in the batch do not count.
    """
    labels = ops.reshape(labels, (-1,))
    embeddings = ops.cast(embeddings, "float32")
    distances = pairwise_distances(embeddings)
    same = ops.equal(labels[:, None], labels[None, :])
    eye = ops.eye(ops.shape(labels)[0], dtype="bool")
    positive = ops.logical_and(same, ops.logical_not(eye))
    negative = ops.logical_not(same)
    big = ops.max(distances) + 1.0
    if mining == "random":
        scores = keras.random.uniform(ops.shape(distances), seed=seed)
        pick = lambda mask: ops.sum(  # noqa: E731
            ops.one_hot(ops.argmax(ops.where(mask, scores, -1.0), axis=1),
                        ops.shape(labels)[0]) * distances, axis=1)
        (dPositive, dNegative) = (pick(positive), pick(negative))
    else:
        dPositive = ops.max(ops.where(positive, distances, 0.0), axis=1)
        hardest = ops.min(ops.where(negative, distances, big), axis=1)
        if mining == "semi_hard":
            beyond = ops.logical_and(negative, distances > dPositive[:, None])
            semi = ops.min(ops.where(beyond, distances, big), axis=1)
            hardest = ops.where(ops.any(beyond, axis=1), semi, hardest)
        elif mining != "batch_hard":
            raise ValueError(f"mining must be one of {', '.join(MINING)}, got {mining!r}")
        dNegative = hardest
    valid = ops.cast(ops.logical_and(ops.any(positive, axis=1), ops.any(negative, axis=1)),
                     "float32")
    losses = ops.maximum(dPositive - dNegative + margin, 0.0) * valid
    return ops.sum(losses) / ops.maximum(ops.sum(valid), 1.0)


def pairwise_distances(embeddings):
    """Euclidean distances (n, n) between the rows of embeddings, with a safe gradient where
    they are zero (an image and itself)."""
    squared = ops.sum(ops.square(embeddings), axis=1)
    d2 = squared[:, None] + squared[None, :] - 2.0 * ops.matmul(embeddings,
                                                                ops.transpose(embeddings))
    d2 = ops.maximum(d2, 0.0)
    zero = ops.cast(ops.equal(d2, 0.0), d2.dtype)
    return ops.sqrt(d2 + zero * 1e-16) * (1.0 - zero)


def compile_triplet(margin=0.5, mining="semi_hard"):
    """The triplet loss with its margin and mining fixed; no accuracy (it sees no pairs)."""
    if margin <= 0:
        raise ValueError(f"margin must be positive, got {margin!r}")

    def triplet(labels, embeddings):
        return triplet_loss(labels, embeddings, margin, mining)

    return triplet, None


# the triplet loss with views: how much an image's own views count against the other images,
# and their margin (chosen by measurement on digits 0-4 against unseen 5-9, docs/search.md)
VIEW_WEIGHT = 2.0
VIEW_MARGIN = 0.5


def compile_triplet_views(margin=0.5, mining="semi_hard"):
    """The triplet loss on the classes, plus VIEW_WEIGHT times a triplet loss on the images
    themselves: two augmented views of one image are each other's positives, every other
    image (of its class too) a negative, at VIEW_MARGIN. Labels are (class, image) rows
    (class_balanced_dataset with views=2). The second term keeps what tells one image from
    another, which the class term alone is free to forget."""
    if margin <= 0:
        raise ValueError(f"margin must be positive, got {margin!r}")

    def triplet_views(labels, embeddings):
        labels = ops.reshape(labels, (-1, 2))
        return (triplet_loss(labels[:, 0], embeddings, margin, mining)
                + VIEW_WEIGHT * triplet_loss(labels[:, 1], embeddings, VIEW_MARGIN, mining))

    return triplet_views, None


# the softmax's temperature for unit-length embeddings (cosine similarities over it): 0.1
# spreads a batch's classes apart without saturating (measured on held-out Omniglot
# alphabets, docs/one-shot.md)
NCA_TEMPERATURE = 0.1


def nca_loss(labels, embeddings, temperature=NCA_TEMPERATURE):
    """Neighbourhood components analysis over one batch (Goldberger et al. 2004, as in
    "Rethinking NCA", Wu et al. 2018): each image picks one of the other images of the batch
    with a softmax over their similarities (cosine over temperature, on unit-length
    embeddings); the loss is minus the log of the chance that it picks one of its class. It
    trains the very answer a one-shot run asks for: is the nearest image of my class? Images
    without another of their class in the batch do not count."""
    labels = ops.reshape(labels, (-1,))
    embeddings = ops.cast(embeddings, "float32")
    similarities = ops.matmul(embeddings, ops.transpose(embeddings)) / temperature
    eye = ops.eye(ops.shape(labels)[0], dtype="bool")
    same = ops.logical_and(ops.equal(labels[:, None], labels[None, :]), ops.logical_not(eye))
    lowest = -1e9
    similarities = ops.where(eye, lowest, similarities)
    everyone = ops.logsumexp(similarities, axis=1)
    ownClass = ops.logsumexp(ops.where(same, similarities, lowest), axis=1)
    valid = ops.cast(ops.any(same, axis=1), "float32")
    return ops.sum((everyone - ownClass) * valid) / ops.maximum(ops.sum(valid), 1.0)


def compile_nca(margin=None):
    """The NCA loss; no accuracy (it sees no pairs)."""
    return nca_loss, None


# CosFace's scale for the cosines (Wang et al. 2018): a softmax over cosines in [-1, 1] is
# nearly flat, and the scale is what lets it be confident (the paper's 64 is for thousands of
# identities; 30 is the common choice for tens to hundreds)
COSFACE_SCALE = 30.0


def cosface_loss(labels, cosines, margin=0.35, scale=COSFACE_SCALE):
    """CosFace's large-margin cosine loss (Wang et al. 2018): the softmax over the scaled
    cosines of each image with every class centre (ClassCentres), its own class's cosine
    lessened by the margin first, so that an image is only counted right when it is nearer
    its own centre than any other by the margin."""
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    cosines = ops.cast(cosines, "float32")
    ownClass = ops.one_hot(labels, ops.shape(cosines)[1])
    logits = scale * (cosines - margin * ownClass)
    return ops.mean(ops.logsumexp(logits, axis=1) - ops.sum(logits * ownClass, axis=1))


def compile_cosface(margin=0.35):
    """CosFace's loss with this margin; no accuracy (it sees no pairs)."""
    def cosface(labels, cosines):
        return cosface_loss(labels, cosines, margin)
    return cosface, None
