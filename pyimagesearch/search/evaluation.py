"""How good a siamese model is on labelled pairs: accuracy, ROC AUC, equal error rate."""
import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def is_same(scores, scoreKind, threshold):
    """The decision: a similarity above threshold, or a distance below it, means "same"."""
    scores = np.asarray(scores)
    if scoreKind == "similarity":
        return scores > threshold
    if scoreKind == "distance":
        return scores < threshold
    raise ValueError(f"scoreKind must be 'similarity' or 'distance', got {scoreKind!r}")


def verdict_of(score, scoreKind, threshold):
    """"same" or "different": a pair's verdict at threshold, as the scripts print it."""
    return "same" if is_same(score, scoreKind, threshold) else "different"


def evaluate_pairs(scores, labels, scoreKind, threshold):
    """Measure scores against pair labels (1 same, 0 different).

    Returns a dict: accuracy at threshold, roc_auc, the equal-error-rate threshold and rate
    (where false accepts equal false rejects), and the threshold that maximises accuracy with
    that accuracy. Thresholds are in the score's own units.
    """
    scores = np.asarray(scores, np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1).astype(int)
    if len(scores) != len(labels) or len(np.unique(labels)) != 2:
        raise ValueError("need one score per pair and both same and different pairs")
    calledSame = is_same(scores, scoreKind, threshold)
    # ROC wants "higher = more likely same": a distance is turned around
    sign = 1.0 if scoreKind == "similarity" else -1.0
    (fpr, tpr, thresholds) = roc_curve(labels, sign * scores)
    finite = np.isfinite(thresholds)
    (fpr, tpr, thresholds) = (fpr[finite], tpr[finite], thresholds[finite])

    eer = int(np.argmin(np.abs(fpr - (1 - tpr))))
    (bestAccuracy, bestThreshold) = most_accurate_threshold(sign * scores, labels)
    return {
        "pairs": int(len(labels)),
        "threshold": float(threshold),
        "accuracy": float(np.mean(calledSame == labels)),
        "roc_auc": float(roc_auc_score(labels, sign * scores)),
        "eer": float((fpr[eer] + 1 - tpr[eer]) / 2),
        "eer_threshold": float(sign * thresholds[eer]),
        "best_accuracy": bestAccuracy,
        "best_threshold": float(sign * bestThreshold),
        "roc": {"fpr": fpr, "tpr": tpr},
    }


def most_accurate_threshold(higherSame, labels):
    """(accuracy, threshold) of the most accurate rule "same when higherSame > threshold",
    the rule the models decide by: the thresholds tried lie halfway between neighbouring
    distinct scores (and below the lowest), so tied scores fall on one side together and the
    accuracy reported is the accuracy a model at that threshold gets."""
    values = np.unique(higherSame)
    candidates = np.concatenate([[np.nextafter(values[0], -np.inf)],
                                 (values[:-1] + values[1:]) / 2, values[-1:]])
    positive = np.sort(higherSame[labels == 1])
    negative = np.sort(higherSame[labels == 0])
    # same when above: positives above count, negatives at or below count
    right = (len(positive) - np.searchsorted(positive, candidates, side="right")
             + np.searchsorted(negative, candidates, side="right"))
    best = int(np.argmax(right))
    return float(right[best] / len(labels)), float(candidates[best])


def choose_threshold(scores, labels, scoreKind, threshold, choose):
    """evaluate_pairs at threshold, or, when choose, at the threshold most accurate on these
    pairs (found by a first evaluation at threshold)."""
    evaluation = evaluate_pairs(scores, labels, scoreKind, threshold)
    if choose:
        evaluation = evaluate_pairs(scores, labels, scoreKind, evaluation["best_threshold"])
    return evaluation


def describe(evaluation):
    """One line of evaluate_pairs's figures, for printing."""
    return (f"accuracy {evaluation['accuracy']:.4f} at threshold {evaluation['threshold']:.4f}, "
            f"ROC AUC {evaluation['roc_auc']:.4f}, equal error rate {evaluation['eer']:.4f} at "
            f"{evaluation['eer_threshold']:.4f}, best accuracy {evaluation['best_accuracy']:.4f} "
            f"at {evaluation['best_threshold']:.4f}")


def summary(evaluation):
    """evaluate_pairs's result without the curve, ready for JSON."""
    return {key: value for key, value in evaluation.items() if key != "roc"}
