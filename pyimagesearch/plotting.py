"""Every figure the project draws, and the one place that picks matplotlib's backend.

Figures go to files through save_figure (a failure never replaces a good image), or to windows
when a script shows them; ggplot style for the plots, as the tutorial's.
"""
import os

import numpy as np

from pyimagesearch.config import PROJECTIONS


def pyplot(show=False):
    """matplotlib.pyplot, drawing off-screen (Agg) unless the figures are to be shown in
    windows, where matplotlib picks the display's backend."""
    import matplotlib
    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def can_show():
    """Whether matplotlib's backend can open windows (there is a display)."""
    import matplotlib
    from matplotlib.backends import backend_registry
    from matplotlib.backends.registry import BackendFilter

    return matplotlib.get_backend().lower() not in backend_registry.list_builtin(
        BackendFilter.NON_INTERACTIVE)


def plot_training(H, plotPath):
    """Plot the loss (and accuracy, when it was measured) of a training History to plotPath.

    The plot is saved with save_figure, so a failure never replaces a good plot.
    """
    plt = pyplot()

    history = H.history if hasattr(H, "history") else H
    curves = [("loss", "train_loss"), ("val_loss", "val_loss"),
              ("accuracy", "train_acc"), ("val_accuracy", "val_acc")]
    # construct a plot that plots and saves the training history
    with plt.style.context("ggplot"):
        fig = plt.figure()
        for key, name in curves:
            if key in history:
                # markers where there are few epochs: one epoch is a point, not a line
                plt.plot(np.arange(1, len(history[key]) + 1), history[key], label=name,
                         marker="o" if len(history[key]) < 20 else None)
        plt.title("Training Loss and Accuracy" if "accuracy" in history else "Training Loss")
        plt.xlabel("Epoch #")
        plt.ylabel("Loss/Accuracy" if "accuracy" in history else "Loss")
        plt.legend(loc="lower left")
        save_figure(fig, plotPath)


def plot_roc(evaluation, plotPath, title="ROC on the validation pairs"):
    """Plot the ROC curve of evaluate_pairs's result to plotPath."""
    plt = pyplot()

    with plt.style.context("ggplot"):
        fig = plt.figure()
        plt.plot(evaluation["roc"]["fpr"], evaluation["roc"]["tpr"],
                 label=f"AUC {evaluation['roc_auc']:.4f}")
        plt.plot([0, 1], [0, 1], linestyle="--", color="gray", label="chance")
        plt.scatter([evaluation["eer"]], [1 - evaluation["eer"]], color="black", zorder=3,
                    label=f"EER {evaluation['eer']:.4f}")
        plt.title(title)
        plt.xlabel("False positive rate (different pairs called same)")
        plt.ylabel("True positive rate (same pairs called same)")
        plt.legend(loc="lower right")
        save_figure(fig, plotPath)


def plot_embeddings(embeddings, labels, plotPath, classNames=None, method="pca",
                    title="Embeddings of the validation images"):
    """Scatter embeddings projected to 2-D (project), one colour per class, with a legend of
    the class names (classNames[label], or the labels themselves), to plotPath."""
    plt = pyplot()

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
def pair_figure(plt, imageA, imageB, title, window):
    # initialize the figure
    fig = plt.figure(window, figsize=(4, 2))
    plt.suptitle(title)

    # show the first image, then the second one
    for (i, image) in enumerate((imageA, imageB)):
        ax = fig.add_subplot(1, 2, i + 1)
        plt.imshow(image, cmap=plt.cm.gray)
        ax.axis("off")
    return fig


# what one run draws at most: figures (one per pair or query), pairs in a montage, and
# neighbours beside a query; a --pairs or --top beyond them is printed, not drawn
MOST_FIGURES = 100
MOST_IN_MONTAGE = 50
MOST_NEIGHBOURS = 10


def montage_figure(plt, results):
    """The first MOST_IN_MONTAGE pairs side by side, five a row."""
    results = results[:MOST_IN_MONTAGE]
    columns = min(5, len(results))
    rows = -(-len(results) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 1.7 * rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (imageA, imageB, title, verdict) in zip(axes.ravel(), results):
        # a white column between the two images (colour images stay in colour)
        gap = np.ones_like(imageA[:, :1])
        ax.imshow(np.hstack([imageA, gap, imageB]), cmap=plt.cm.gray, vmin=0, vmax=1)
        ax.set_title(f"{title}\n{verdict}", fontsize=9)
    fig.tight_layout()
    return fig


def query_figure(plt, query, neighbours, result, window, scoreKind):
    """One search result in the tutorial's style: the query beside its nearest gallery images,
    each titled with its score and verdict; the answer is the figure's title."""
    neighbours = neighbours[:MOST_NEIGHBOURS]
    fig = plt.figure(window, figsize=(1.6 * (len(neighbours) + 1), 2.2))
    plt.suptitle(f"Answer: {result['answer'] or 'unknown'}")
    for (i, image) in enumerate([query, *neighbours]):
        ax = fig.add_subplot(1, len(neighbours) + 1, i + 1)
        plt.imshow(image, cmap=plt.cm.gray, vmin=0, vmax=1)
        if i == 0:
            ax.set_title("query", fontsize=9)
        else:
            n = result["neighbours"][i - 1]
            ax.set_title(f"{scoreKind.capitalize()}: {n['score']:.2f}\n{n['verdict']}",
                         fontsize=8)
        ax.axis("off")
    return fig


def faces_figure(plt, photo, result, window):
    """A photo searched for faces: each face's box with its answer (or "unknown") above it,
    at most 8 inches wide however large the photo or however many faces."""
    (height, width) = photo.shape[:2]
    scale = 8.0 / max(width, height)
    fig = plt.figure(window, figsize=(max(2.0, width * scale), max(2.0, height * scale)))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(photo, cmap=plt.cm.gray, vmin=0, vmax=1)
    for face in result["faces"]:
        (x, y, w, h) = face["box"]
        colour = "lime" if face["answer"] is not None else "orange"
        ax.add_patch(plt.Rectangle((x, y), w, h, fill=False, edgecolor=colour, linewidth=2))
        ax.text(x, y - 2, face["answer"] or "unknown", color=colour, fontsize=8,
                verticalalignment="bottom")
    ax.set_title(f"{len(result['faces'])} face(s)" if result["faces"] else "no face found",
                 fontsize=9)
    ax.axis("off")
    return fig


def search_montage(plt, results, scoreKind, most=25):
    """The first `most` search results, one row each: the query, then its neighbours."""
    shown = results[:most]
    columns = 1 + min(MOST_NEIGHBOURS, max(len(result["neighbours"]) for result in shown))
    fig, axes = plt.subplots(len(shown), columns, figsize=(1.5 * columns, 1.7 * len(shown)),
                             squeeze=False)
    for (row, result) in zip(axes, shown):
        (query, neighbours) = result["images"]
        for ax in row:
            ax.axis("off")
        row[0].imshow(query, cmap=plt.cm.gray, vmin=0, vmax=1)
        row[0].set_title(f"answer: {result['answer'] or 'unknown'}", fontsize=8)
        for (ax, image, n) in zip(row[1:], neighbours, result["neighbours"]):
            ax.imshow(image, cmap=plt.cm.gray, vmin=0, vmax=1)
            ax.set_title(f"{n['score']:.2f} {n['verdict']}", fontsize=7)
    fig.tight_layout()
    return fig


def pair_montage(plt, groups, titles, columns=4):
    """A montage of pairs or triplets (groups of images side by side, separated by a white
    column), each titled: one title over a pair ("pos"/"neg"), one per image of a triplet."""
    rows = -(-len(groups) // columns)
    width = len(groups[0])
    fig, axes = plt.subplots(rows, columns, figsize=(1.1 * width * columns, 1.5 * rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for (ax, group, title) in zip(axes.ravel(), groups, titles):
        gap = np.full_like(group[0][:, :2], 255 if group.dtype == np.uint8 else 1)
        strip = np.hstack([part for image in group for part in (image, gap)][:-1])
        ax.imshow(strip, cmap=plt.cm.gray)
        ax.set_title(" | ".join(title), fontsize=8)
    fig.tight_layout()
    return fig


def episode_figure(plt, supportImages, supportNames, queryImage, answer, title):
    """One N-way one-shot episode: the query, then one support image per class, the one
    answered framed."""
    fig = plt.figure(figsize=(1.3 * (len(supportImages) + 1), 2.0))
    plt.suptitle(title, fontsize=10)
    for (i, image) in enumerate([queryImage, *supportImages]):
        ax = fig.add_subplot(1, len(supportImages) + 1, i + 1)
        ax.imshow(image, cmap=plt.cm.gray, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("query" if i == 0 else str(supportNames[i - 1]), fontsize=8)
        chosen = i > 0 and i - 1 == answer
        for spine in ax.spines.values():
            spine.set_visible(chosen)
            spine.set_color("red")
            spine.set_linewidth(3)
    return fig


def runs_figure(plt, rows, title):
    """One-shot runs, a row each: (name, query image, candidate images, pick, answer). The
    pick is framed green when right, red when wrong (the right candidate then in green)."""
    columns = max(len(candidates) for (_, _, candidates, _, _) in rows) + 1
    fig = plt.figure(figsize=(0.9 * columns, 1.05 * len(rows) + 0.4))
    plt.suptitle(title, fontsize=10)
    for (r, (name, query, candidates, pick, answer)) in enumerate(rows):
        for (i, image) in enumerate([query, *candidates]):
            ax = fig.add_subplot(len(rows), columns, r * columns + i + 1)
            ax.imshow(image, cmap=plt.cm.gray, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(name, fontsize=7)
                ax.set_title("query", fontsize=7)
            framed = {pick + 1: "green" if pick == answer else "red", answer + 1: "green"}
            for spine in ax.spines.values():
                spine.set_visible(i in framed)
                spine.set_color(framed.get(i, "black"))
                spine.set_linewidth(3)
    return fig


class Figures:
    """A script's figures: with an output folder each is saved as output/{name}_01.png, ...
    as it comes (and closed), then a montage; without one they are shown in windows at the
    end (when there is a display)."""

    def __init__(self, plt, output, name):
        (self.plt, self.output, self.name, self.count) = (plt, output, name, 0)
        if output:
            os.makedirs(output, exist_ok=True)

    def wants_more(self):
        """Whether another figure is drawn (MOST_FIGURES at most)."""
        return self.count < MOST_FIGURES

    def add(self, fig):
        self.count += 1
        if self.output:
            fig.savefig(os.path.join(self.output, f"{self.name}_{self.count:02d}.png"))
            self.plt.close(fig)

    def finish(self, montage, total=None):
        """Save montage() as montage.png, or show every figure; total, the results there
        were, says how many were not drawn."""
        if total is not None and total > self.count:
            print(f"[INFO] drew the first {self.count} of {total:,} {self.name}s (at most "
                  f"{MOST_FIGURES} figures, {MOST_IN_MONTAGE} in the montage); every one is "
                  f"printed above")
        if self.output:
            fig = montage()
            fig.savefig(os.path.join(self.output, "montage.png"))
            self.plt.close(fig)
            print(f"[INFO] saved {self.count} {self.name} figure(s) and montage.png to "
                  f"{self.output}")
        elif not can_show():
            print("[INFO] no display to show the figures on; pass --output DIR to save them")
        else:
            # show the plots
            self.plt.show()


def save_figure(fig, path):
    """Save a matplotlib figure as PNG at path, then close it.

    The figure goes to a temporary file first, so a failure never leaves a half-written image
    in place of a good one.
    """
    plt = pyplot()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmpPath = f"{path}.partial-{os.getpid()}"
    try:
        fig.savefig(tmpPath, format="png")
        os.replace(tmpPath, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmpPath):
            os.remove(tmpPath)


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
