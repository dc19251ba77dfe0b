# import the necessary packages
from keras import ops


def contrastive_loss(y, preds, margin=1.0):
    """The contrastive loss of the follow-up post: mean(y * d^2 + (1 - y) * max(margin - d, 0)^2).

    y is 1 for a same-class pair and 0 otherwise; preds is the euclidean distance. Same-class
    pairs are pulled together, different-class pairs pushed at least margin apart.
    """
    # explicitly cast the true class label data type to the predicted class label data type
    # (otherwise we run the risk of having two separate data types, causing TensorFlow to error)
    y = ops.cast(y, preds.dtype)

    # calculate the contrastive loss between the true labels and the predicted labels
    squaredPreds = ops.square(preds)
    squaredMargin = ops.square(ops.maximum(margin - preds, 0))
    return ops.mean(y * squaredPreds + (1 - y) * squaredMargin)


def make_contrastive_loss(margin=1.0):
    """contrastive_loss with its margin fixed, ready for model.compile(loss=...)."""
    if margin <= 0:
        raise ValueError(f"margin must be positive, got {margin!r}")

    def contrastive(y, preds):
        return contrastive_loss(y, preds, margin)

    return contrastive


# what the LOSSES table of pyimagesearch.recipes compiles with: margin -> (loss, metrics)

def compile_binary_crossentropy(margin=None):
    """The tutorial's loss and its pair accuracy (the sigmoid head's similarity above 0.5)."""
    import keras

    # spelled out: for the anchor view's two outputs, "accuracy" would mean categorical
    # accuracy (positive pair above negative), not pair accuracy
    return "binary_crossentropy", [keras.metrics.BinaryAccuracy(name="accuracy")]


def compile_contrastive(margin=1.0):
    """The follow-up post's contrastive loss on the distance; no accuracy at a fixed 0.5."""
    return make_contrastive_loss(margin), None
