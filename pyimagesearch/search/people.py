"""Recognising people never trained on, as the face literature measures it: verification over
every pair of their photos (ROC AUC, equal error rate), and the open set: some of them
enrolled with one photo each, each other photo answered with its person's name, or "unknown"
when its person was never enrolled."""
import numpy as np

from pyimagesearch.search.evaluation import evaluate_pairs, summary
from pyimagesearch.search.recognition import answer_queries, open_set_rates


def all_pairs(labels):
    """(first, second, same): the indices of every pair of two photos, and whether the two
    show one person."""
    labels = np.asarray(labels).reshape(-1)
    (first, second) = np.triu_indices(len(labels), 1)
    return first, second, (labels[first] == labels[second]).astype(np.int64)


def pair_distances(embeddings, first, second):
    embeddings = np.asarray(embeddings, np.float64)
    return np.sqrt(((embeddings[first] - embeddings[second]) ** 2).sum(axis=1))


def verification(embeddings, labels, threshold):
    """evaluate_pairs's figures (accuracy at threshold, ROC AUC, equal error rate) over every
    pair of the photos, with how many pairs of each kind there were."""
    (first, second, same) = all_pairs(labels)
    if same.all() or not same.any():
        raise ValueError("verification needs photos of at least two people, and two photos of "
                         "at least one")
    evaluation = evaluate_pairs(pair_distances(embeddings, first, second), same, "distance",
                                threshold)
    return {**summary(evaluation), "same_pairs": int(same.sum()),
            "different_pairs": int(len(same) - same.sum())}


def equal_error_threshold(embeddings, labels, most=200_000, seed=0):
    """The distance at which false accepts equal false rejects over the pairs of these photos
    (at most `most` of them, drawn with seed): a threshold chosen on people trained on."""
    (first, second, same) = all_pairs(labels)
    if len(same) > most:
        keep = np.random.default_rng(seed).choice(len(same), most, replace=False)
        (first, second, same) = (first[keep], second[keep], same[keep])
    distances = pair_distances(embeddings, first, second)
    return float(evaluate_pairs(distances, same, "distance", np.median(distances))[
        "eer_threshold"])


def open_set(embeddings, labels, threshold, enrolled=10, seed=0):
    """`enrolled` of the people (drawn with seed) enrolled with one photo each (drawn too);
    every other photo a query, answered by its nearest enrolled photo closer than threshold,
    "unknown" otherwise. Returns open_set_rates's figures (known_right, unknown_rejected) with
    who was enrolled."""
    labels = np.asarray(labels).reshape(-1)
    people = np.unique(labels)
    if not 0 < enrolled < len(people):
        raise ValueError(f"enrolled must lie between 1 and {len(people) - 1} (the people less "
                         f"one), got {enrolled}")
    rng = np.random.default_rng(seed)
    known = sorted(rng.choice(people, enrolled, replace=False).tolist())
    gallery = np.array([rng.choice(np.flatnonzero(labels == person)) for person in known])
    queries = np.setdiff1d(np.arange(len(labels)), gallery)
    embeddings = np.asarray(embeddings, np.float32)
    answers = answer_queries(embeddings[gallery], labels[gallery], embeddings[queries],
                             threshold)
    return {**open_set_rates(answers, labels[queries], known), "threshold": float(threshold),
            "enrolled": [str(person) for person in known]}
