"""A picture of what the network learned: its embeddings of labelled images, in 2-D."""
import numpy as np

from pyimagesearch.config import PROJECTIONS


def project(embeddings, method="pca", seed=0):
    """Project embeddings (n, d) to (n, 2) with scikit-learn's PCA or t-SNE."""
    embeddings = np.asarray(embeddings, np.float64)
    if embeddings.ndim != 2 or len(embeddings) < 3:
        raise ValueError(f"need at least 3 embeddings shaped (n, d), got {embeddings.shape}")
    if method == "pca":
        from sklearn.decomposition import PCA
        return PCA(n_components=2, random_state=seed).fit_transform(embeddings)
    if method == "tsne":
        from sklearn.manifold import TSNE
        perplexity = min(30.0, (len(embeddings) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca",
                    random_state=seed).fit_transform(embeddings)
    raise ValueError(f"method must be one of {', '.join(PROJECTIONS)}, got {method!r}")


def sample_per_class(labels, count, seed=0):
    """Sorted indices of at most count images, drawn evenly from the classes of labels."""
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    perClass = max(1, count // len(classes))
    chosen = [rng.permutation(np.flatnonzero(labels == label))[:perClass] for label in classes]
    return np.sort(np.concatenate(chosen))
