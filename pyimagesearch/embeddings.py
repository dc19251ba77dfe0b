"""A picture of what the network learned: its embeddings of labelled images, in 2-D."""
import numpy as np

from pyimagesearch.config import PROJECTIONS
from pyimagesearch.utils import save_figure


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


def plot_embeddings(embeddings, labels, plotPath, classNames=None, method="pca",
                    title="Embeddings of the validation images"):
    """Scatter embeddings projected to 2-D (project), one colour per class, with a legend of
    the class names (classNames[label], or the labels themselves), to plotPath."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(labels).reshape(-1)
    points = project(embeddings, method)
    classes = np.unique(labels)
    colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    with plt.style.context("ggplot"):
        fig = plt.figure(figsize=(7, 6))
        for (i, label) in enumerate(classes):
            mask = labels == label
            name = classNames[label] if classNames is not None else label
            plt.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.6,
                        color=colours(i % colours.N), label=str(name))
        plt.title(f"{title} ({method.upper() if method == 'pca' else 't-SNE'})")
        plt.xlabel("component 1")
        plt.ylabel("component 2")
        plt.legend(loc="best", markerscale=3, fontsize=8, title="class")
        save_figure(fig, plotPath)
