"""How well embeddings recognise: retrieval, N-way k-shot episodes and the open set.

- Retrieval, leave-one-out (every image queries all the others), as pytorch-metric-learning's
  AccuracyCalculator defines it: precision@1 (the nearest other image is of the query's
  class), recall@k (at least one of the k nearest is) and MAP@R (R = the number of other
  images of the query's class; the mean over the R nearest of the precision at each one of
  the query's class, divided by R).
- One-shot (Koch et al. 2015): an episode draws N classes, k support images of each and one
  more image of one of them as the query; the answer is the class of the nearest support
  image. Accuracy over seeded episodes, with a 95% interval, beside chance 1/N.
- Open set: with some classes left out of the gallery, the share of their queries answered
  "unknown" beside the share of the other queries answered with the right class.
"""
import numpy as np

from pyimagesearch.search.index import exact_search


def retrieval_metrics(embeddings, labels, ks=(1, 5, 10)):
    """precision@1, recall@k for each k, and MAP@R of embeddings (n, d), leave-one-out."""
    labels = np.asarray(labels).reshape(-1)
    classes, counts = np.unique(labels, return_counts=True)
    others = dict(zip(classes, counts - 1))
    r = np.array([others[label] for label in labels])
    depth = int(max(max(ks), r.max()))
    (_, neighbours) = exact_search(embeddings, embeddings, depth, exclude=np.arange(len(labels)))
    hits = labels[neighbours] == labels[:, None]
    results = {"precision_at_1": float(hits[:, 0].mean())}
    for k in ks:
        results[f"recall_at_{k}"] = float(hits[:, :k].any(axis=1).mean())
    # MAP@R: precision at each hit among the first R, summed, over R
    ranks = np.arange(1, depth + 1)
    within = ranks[None, :] <= r[:, None]
    precisions = np.cumsum(hits, axis=1) / ranks[None, :]
    useful = r > 0
    mapAtR = (precisions * hits * within).sum(axis=1)[useful] / r[useful]
    results["map_at_r"] = float(mapAtR.mean()) if useful.any() else float("nan")
    return results


def draw_episodes(labels, ways, shots, episodes, seed=0):
    """Seeded N-way k-shot episodes over labels: a list of (support indices (ways * shots),
    support labels, query index, query label). Only classes with shots + 1 images take part.
    """
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    members = {label: np.flatnonzero(labels == label) for label in np.unique(labels)}
    eligible = sorted(label for (label, idx) in members.items() if len(idx) > shots)
    if len(eligible) < ways:
        raise ValueError(f"{ways}-way {shots}-shot episodes need {ways} classes of at least "
                         f"{shots + 1} images, found {len(eligible)}")
    drawn = []
    for _ in range(episodes):
        chosen = rng.choice(eligible, ways, replace=False)
        queryClass = chosen[rng.integers(ways)]
        (support, supportLabels, query) = ([], [], None)
        for label in chosen:
            picks = rng.choice(members[label], shots + (label == queryClass), replace=False)
            if label == queryClass:
                (query, picks) = (picks[-1], picks[:-1])
            support += picks.tolist()
            supportLabels += [label] * shots
        drawn.append((np.array(support), np.array(supportLabels), int(query), queryClass))
    return drawn


def one_shot_accuracy(embeddings, labels, ways=10, shots=1, episodes=1000, seed=0):
    """Accuracy of N-way k-shot episodes (nearest support image), with its 95% interval
    (Wilson) and chance: {"accuracy", "low", "high", "chance", "episodes"}."""
    embeddings = np.asarray(embeddings, np.float32)
    right = 0
    for (support, supportLabels, query, queryClass) in draw_episodes(labels, ways, shots,
                                                                     episodes, seed):
        (_, nearest) = exact_search(embeddings[support], embeddings[query:query + 1], 1)
        right += supportLabels[nearest[0, 0]] == queryClass
    (low, high) = wilson_interval(right, episodes)
    return {"accuracy": right / episodes, "low": low, "high": high, "chance": 1 / ways,
            "episodes": episodes}


def wilson_interval(successes, trials, z=1.96):
    """The Wilson score interval of a proportion (95% by default)."""
    if trials == 0:
        return float("nan"), float("nan")
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials ** 2)) / (1 + z * z / trials)
    return float(centre - half), float(centre + half)


def answer_queries(galleryEmbeddings, galleryLabels, queryEmbeddings, threshold):
    """The class of each query's nearest gallery image, or None where that image lies at the
    threshold distance or farther."""
    (distances, nearest) = exact_search(galleryEmbeddings, queryEmbeddings, 1)
    galleryLabels = np.asarray(galleryLabels)
    return [galleryLabels[n] if d < threshold else None
            for (d, n) in zip(distances[:, 0], nearest[:, 0])]


def open_set_rates(answers, queryLabels, knownClasses):
    """{"unknown_rejected": share of queries of classes outside knownClasses answered None,
    "known_right": share of the others answered with their own class}."""
    queryLabels = np.asarray(queryLabels).reshape(-1)
    known = np.isin(queryLabels, list(knownClasses))
    answers = np.array([a if a is not None else "\0unknown" for a in answers], dtype=object)
    right = np.array([a == label for (a, label) in zip(answers, queryLabels)])
    rejected = answers == "\0unknown"
    return {"unknown_rejected": float(rejected[~known].mean()) if (~known).any() else None,
            "known_right": float(right[known].mean()) if known.any() else None,
            "unknown_queries": int((~known).sum()), "known_queries": int(known.sum())}


def open_set_evaluation(embeddings, labels, unknownClasses, perClass=10, seed=0):
    """Open-set recognition as the search script answers it: a gallery of perClass images of
    each class not in unknownClasses (drawn with seed), its threshold calibrated on itself
    (pyimagesearch.search.index), every other image a query. Returns open_set_rates's figures with
    the threshold and the gallery's size."""
    from pyimagesearch.search.index import calibrate_gallery

    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    knownClasses = [label for label in np.unique(labels) if label not in set(unknownClasses)]
    gallery = np.sort(np.concatenate([
        rng.choice(np.flatnonzero(labels == label), perClass, replace=False)
        for label in knownClasses]))
    queries = np.setdiff1d(np.arange(len(labels)), gallery)
    (threshold, _) = calibrate_gallery(embeddings[gallery], labels[gallery])
    answers = answer_queries(embeddings[gallery], labels[gallery], embeddings[queries],
                             threshold)
    return {**open_set_rates(answers, labels[queries], knownClasses),
            "threshold": threshold, "gallery": int(len(gallery))}
