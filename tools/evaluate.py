"""Measure a trained model on a dataset's test images (MNIST by default) and on rendered digits:
pairs, retrieval, one-shot episodes and the open set.

    python -m tools.evaluate --dataset ../shared/data/mnist.npz
    python -m tools.evaluate --model output/contrastive_siamese_model --dataset mnist.npz --record
    python -m tools.evaluate --dataset mnist.npz --ways 5 --shots 1 --classes 5 6 7 8 9

MNIST's 10,000 test images give 20,000 pairs (one same-class and one different-class pair per
image, drawn with --seed); the rendered digits come from pyimagesearch/data/digits.py, the generator
of examples/, so they show how the model does on digits from outside MNIST. Recognition
(docs/search.md) uses the `embed` endpoint: precision@1, recall@k and MAP@R leave-one-out,
N-way k-shot accuracy over seeded episodes, and the open set.
"""
import argparse
import json
import os

import numpy as np

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run


def parse_args():
    ap = argparse.ArgumentParser(description="Measure a trained siamese model on a dataset's "
                                             "test images and on rendered digits.")
    ap.add_argument("--model", default=config.MODEL_PATH,
                    help=f"SavedModel directory (default: {config.MODEL_PATH})")
    ap.add_argument("--dataset", default="mnist",
                    help="as for train_siamese_network.py: mnist, a .npz, an IDX folder, or "
                         "class folders with a test/ folder (read at the model's size and "
                         "colour mode) (default: mnist)")
    ap.add_argument("--runs", default=None, metavar="DIR",
                    help="score one-shot runs in Lake's Omniglot layout instead (runNN/"
                         "training, runNN/test, class_labels.txt; python -m "
                         "tools.make_oneshot_runs writes them): each test image takes the "
                         "class of its nearest training image; the mean accuracy over the runs "
                         "with its 95%% interval, and each run's; --episode-figure draws a few")
    ap.add_argument("--people", default=None, metavar="DIR",
                    help="measure recognition of the people in DIR (one folder of photos each, "
                         "people the model never trained on; a face model reads each photo's "
                         "largest face): verification over every pair of their photos (ROC "
                         "AUC, equal error rate) and the open set (--enrolled of them enrolled "
                         "with one photo each, the others' photos to be answered unknown at "
                         "the model's threshold); with --runs too, one record holds both")
    ap.add_argument("--enrolled", type=int, default=10,
                    help="with --people: how many people the open set enrols (default: 10)")
    ap.add_argument("--digits", type=int, default=500,
                    help="rendered digits to measure on too; 0 skips them (for a dataset "
                         "that is not digits) (default: 500)")
    ap.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                    help="measure recognition among these classes only (digit labels, or "
                         "class-folder names), for example those a model never trained on "
                         "(default: all)")
    ap.add_argument("--ways", type=int, default=10,
                    help="classes per one-shot episode (default: 10, or all if fewer)")
    ap.add_argument("--shots", type=int, default=1,
                    help="support images per class in an episode (default: 1)")
    ap.add_argument("--episodes", type=int, default=2000,
                    help="episodes to draw, seeded with --seed (default: 2000)")
    ap.add_argument("--unknown", type=int, default=2, metavar="COUNT",
                    help="open set: leave the last COUNT classes out of the gallery "
                         "(default: 2)")
    ap.add_argument("--gallery-per-class", type=int, default=10,
                    help="open set: gallery images of each known class (default: 10)")
    ap.add_argument("--gallery", default=None, metavar="DIR",
                    help="open set against this gallery folder (as search_siamese_network.py "
                         "reads it: class subfolders named as the dataset's classes): the "
                         "test images query it; those of classes it lacks should be unknown")
    ap.add_argument("--episode-figure", default=None, metavar="PATH",
                    help="draw the first episode into this PNG: of the rendered digits when "
                         "they are measured, else of the test images")
    ap.add_argument("--threshold", type=float, default=None,
                    help="pair decision threshold (default: the model's own)")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the pairs, the episodes and the gallery (default: 0)")
    ap.add_argument("--record", action="store_true",
                    help="also store the figures in the model's metadata.json")
    ap.add_argument("--json", default=None, metavar="PATH",
                    help="also write the figures into this JSON file, with what the model is "
                         "(architecture, loss, input, seed, classes): the record a document "
                         "quotes its figures from")
    add_verbose_argument(ap)
    args = ap.parse_args()
    if args.digits < 0 or args.digits == 1:
        ap.error("--digits must be 0 or at least 2")
    if min(args.ways, args.shots, args.episodes, args.unknown, args.gallery_per_class) < 1:
        ap.error("--ways, --shots, --episodes, --unknown and --gallery-per-class must be "
                 "at least 1")
    return args


def main():
    args = parse_args()
    quiet_tensorflow(args.verbose)
    from pyimagesearch.data.digits import make_digits
    from pyimagesearch.data.image_folders import load_test_dataset
    from pyimagesearch.data.model_inputs import face_model
    from pyimagesearch.models.model_io import SiameseModel, check_threshold

    model = SiameseModel(args.model)
    if args.runs or args.people:
        results = {"oneshot_runs": measure_runs(model, args)} if args.runs else {}
        if args.people:
            results.update(measure_people(model, args))
        keep(model, results, args)
        return
    threshold = model.metadata["threshold"] if args.threshold is None else args.threshold
    check_threshold(threshold, model.metadata["score"])
    (testX, testY) = load_test_dataset(args.dataset, model.input_shape,
                                       faces=face_model(model.metadata))
    sets = [("test", "mnist_test_pairs", testX, testY)]
    if args.digits and model.input_shape != (28, 28, 1):
        print("[INFO] no rendered digits: they are 28x28 grayscale, the model is not")
    elif args.digits:
        sets.append(("rendered digit", "rendered_digits",
                     *make_digits(args.digits, seed=args.seed + 1)))
    results = {}
    for (name, key, images, labels) in sets:
        results[key] = measure_pairs(model, name, images, labels, threshold, args.seed)
        if model.has_embed:
            # the figure from the last set measured: the rendered digits where there are
            # some (a figure to publish holds no image of the dataset)
            figure = args.episode_figure if key == sets[-1][1] else None
            results[key.removesuffix("_pairs") + "_recognition"] = measure_recognition(
                model, name, images, labels, args, figure)
    if args.gallery and model.has_embed:
        results["gallery_open_set"] = measure_against_gallery(model, testX, testY, args)
    keep(model, results, args)


def keep(model, results, args):
    """Store the figures where asked: the model's metadata.json (--record), a JSON file of
    their own with what the model is (--json)."""
    from pyimagesearch.models.model_io import update_metadata

    if args.record:
        update_metadata(args.model, results)
        print(f"[INFO] recorded in {os.path.join(args.model, 'metadata.json')}")
    if args.json:
        metadata = model.metadata
        described = {key: metadata.get(key) for key in ("architecture", "loss", "input_shape",
                                                         "seed", "epochs", "dataset",
                                                         "rotated_classes",
                                                         "embedding_dim")}
        described["classes"] = len(metadata.get("class_names") or []) or None
        # those it trained on (--classes): the others are the ones it never saw
        described["trained_classes"] = metadata.get("classes")
        with open(args.json, "w") as f:
            json.dump({"model": described, **results}, f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"[INFO] wrote the figures to {args.json}")


def measure_runs(model, args):
    """Score the one-shot runs of args.runs: their mean accuracy, its interval and each
    run's; draw the first few into args.episode_figure."""
    from pyimagesearch.data.model_inputs import input_loader
    from pyimagesearch.search.oneshot_runs import mean_with_interval, read_runs, score_runs

    model.check_embed()
    runs = read_runs(args.runs)
    # every image loaded once, so that the conversions are reported once
    paths = sorted({path for run in runs for path in run.training + run.test})
    images = dict(zip(paths, input_loader(model.metadata, False)(paths, None)[1]))

    def embed(paths):
        return model.embed(np.stack([images[path] for path in paths]).reshape(
            -1, *model.input_shape))

    scored = score_runs(runs, embed)
    accuracies = [accuracy for (_, _, accuracy) in scored]
    (mean, low, high) = mean_with_interval(accuracies)
    ways = sorted({len(run.training) for run in runs})
    print(f"[INFO] {'/'.join(map(str, ways))}-way one-shot runs of {args.runs}: "
          f"{', '.join(f'{one.name} {accuracy:.2f}' for (one, _, accuracy) in scored)}")
    print(f"[INFO] mean accuracy over {len(runs)} run(s): {mean:.4f} (95% {low:.4f}-"
          f"{high:.4f}, chance {1 / min(ways):.4f})")
    if args.episode_figure:
        draw_runs(scored, images, args.episode_figure)
    return {"runs": args.runs, "accuracy": mean, "low": low, "high": high,
            "per_run": {one.name: accuracy for (one, _, accuracy) in scored}}


def measure_people(model, args):
    """Verification over every pair of the photos of args.people, and the open set, at the
    model's threshold (chosen on the validation photos of the people it trained on)."""
    from pyimagesearch.data.image_folders import scan_classes
    from pyimagesearch.data.model_inputs import input_loader
    from pyimagesearch.models.model_io import check_threshold
    from pyimagesearch.search.people import open_set, verification

    if model.metadata["score"] != "distance":
        raise ValueError(f"--people measures distances between embeddings; {args.model} "
                         f"outputs a similarity")
    threshold = model.metadata["threshold"] if args.threshold is None else args.threshold
    check_threshold(threshold, "distance")
    model.check_embed()
    (paths, labels, names) = scan_classes(args.people, log=lambda line: None)
    (_, images) = input_loader(model.metadata, False)(list(paths), None)
    embeddings = model.embed(np.stack(images).reshape(-1, *model.input_shape))
    people = np.asarray(names)[labels]
    verified = verification(embeddings, people, threshold)
    print(f"[INFO] {len(names)} people, {len(paths)} photos: every pair of them, ROC AUC "
          f"{verified['roc_auc']:.4f}, equal error rate {verified['eer']:.4f}; accuracy "
          f"{verified['accuracy']:.4f} at the model's threshold {threshold:.4f}")
    # the open set at the model's own open-set distance where it has one (a face model's)
    openThreshold = (args.threshold if args.threshold is not None else
                     model.metadata.get("open_set_threshold") or threshold)
    opened = open_set(embeddings, people, openThreshold, args.enrolled, args.seed)
    print(f"[INFO] open set, {args.enrolled} of them enrolled with one photo each, unknown "
          f"from distance {openThreshold:.4f}: {opened['known_right']:.4f} of their other "
          f"photos named right, {opened['unknown_rejected']:.4f} of the others' photos "
          f"answered unknown")
    return {"people": {"folder": args.people, "people": len(names), "photos": len(paths)},
            "verification": verified, "open_set": opened}


def draw_runs(scored, images, path, most=4):
    """The first test item of the first `most` runs (their first wrong one where there is
    one), its candidates and the pick; images maps each path to its loaded image."""
    from pyimagesearch.plotting import pyplot, runs_figure

    plt = pyplot()
    rows = []
    for (oneRun, picks, _) in scored[:most]:
        wrong = np.flatnonzero(picks != oneRun.answers)
        item = int(wrong[0]) if len(wrong) else 0
        rows.append((oneRun.name, images[oneRun.test[item]],
                     [images[path] for path in oneRun.training], int(picks[item]),
                     int(oneRun.answers[item])))
    fig = runs_figure(plt, rows, "one-shot runs: the query, its candidates, the pick "
                                 "(green right, red wrong)")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    print(f"[INFO] drew {len(rows)} run(s) into {path}")


def measure_pairs(model, name, images, labels, threshold, seed):
    """Accuracy, ROC AUC and EER on make_pair_indices's pairs of images."""
    from pyimagesearch.data.pairs import make_pair_indices
    from pyimagesearch.search.evaluation import describe, evaluate_pairs, summary

    (pairIdx, pairLabels) = make_pair_indices(labels, np.random.default_rng(seed))
    evaluation = evaluate_pairs(model.score_pairs(images, pairIdx), pairLabels,
                                model.metadata["score"], threshold)
    print(f"[INFO] {name} pairs ({evaluation['pairs']}): {describe(evaluation)}")
    return summary(evaluation)


def measure_recognition(model, name, images, labels, args, figurePath):
    """Retrieval, one-shot episodes and the open set on the embeddings of images."""
    from pyimagesearch.data.pairs import load_images
    from pyimagesearch.search.recognition import (
        one_shot_accuracy,
        open_set_evaluation,
        retrieval_metrics,
    )

    labels = np.asarray(labels).reshape(-1)
    chosen = np.arange(len(labels))
    if args.classes is not None:
        chosen = np.flatnonzero(np.isin(class_names(labels, args.dataset), args.classes))
        if len(np.unique(labels[chosen])) < 2:
            raise ValueError(f"--classes {' '.join(args.classes)} leaves fewer than two "
                             f"classes among the {name} images")
    (labels, classes) = (labels[chosen], np.unique(labels[chosen]))
    embeddings = model.embed(load_images(images, chosen))
    retrieval = retrieval_metrics(embeddings, labels)
    ways = min(args.ways, len(classes))
    oneShot = one_shot_accuracy(embeddings, labels, ways, args.shots, args.episodes, args.seed)
    print(f"[INFO] {name} recognition ({len(labels):,} images, {len(classes)} classes): "
          f"precision@1 {retrieval['precision_at_1']:.4f}, recall@5 "
          f"{retrieval['recall_at_5']:.4f}, MAP@R {retrieval['map_at_r']:.4f}; {ways}-way "
          f"{args.shots}-shot {oneShot['accuracy']:.4f} (95% {oneShot['low']:.4f}-"
          f"{oneShot['high']:.4f}, chance {oneShot['chance']:.4f}, {args.episodes} episodes)")
    results = {**retrieval, f"{ways}_way_{args.shots}_shot": oneShot}
    if args.classes is not None:
        results["classes"] = list(args.classes)
    unknown = classes[-args.unknown:] if args.unknown < len(classes) - 1 else classes[-1:]
    counts = np.array([np.sum(labels == label) for label in classes])
    if counts.min() > args.gallery_per_class:
        openSet = open_set_evaluation(embeddings, labels, unknown, args.gallery_per_class,
                                      args.seed)
        print(f"[INFO] {name} open set (gallery of {args.gallery_per_class} per class, "
              f"{len(unknown)} class(es) left out, threshold {openSet['threshold']:.4f}): "
              f"{openSet['unknown_rejected']:.4f} of their queries unknown, "
              f"{openSet['known_right']:.4f} of the others right")
        results["open_set"] = openSet
    elif len(classes) < 3:
        print(f"[INFO] no {name} open set: it needs at least three classes (one left out of "
              f"the gallery, two known), there are {len(classes)}")
    else:
        print(f"[INFO] no {name} open set: its gallery takes {args.gallery_per_class} images "
              f"of each class and leaves queries, and the smallest class has "
              f"{counts.min()} (lower --gallery-per-class)")
    if figurePath:
        draw_episode(images, chosen, labels, embeddings, ways, args, figurePath)
    return results


def measure_against_gallery(model, images, labels, args):
    """The search script's answers for the test images against the gallery folder: the share
    of queries of classes the gallery lacks answered unknown, of the others answered right."""
    from pyimagesearch.data.model_inputs import input_loader
    from pyimagesearch.data.pairs import load_images
    from pyimagesearch.search.gallery import file_embedder, refresh_index
    from pyimagesearch.search.index import calibrate_gallery
    from pyimagesearch.search.recognition import answer_queries, open_set_rates

    # the gallery as the search script indexes it, kept in memory only
    load = input_loader(model.metadata, False)
    (gallery, _) = refresh_index(None, args.gallery, file_embedder(model, load, args.gallery),
                                 {})
    (threshold, _) = calibrate_gallery(gallery.embeddings, gallery.labels)
    queries = model.embed(load_images(images, np.arange(len(labels))))
    answers = answer_queries(gallery.embeddings, gallery.labels, queries, threshold)
    rates = open_set_rates(answers, class_names(np.asarray(labels), args.dataset),
                           set(gallery.labels.tolist()))
    print(f"[INFO] against the gallery {args.gallery} ({len(gallery)} images, threshold "
          f"{threshold:.4f}): {rates['unknown_rejected']:.4f} of {rates['unknown_queries']:,} "
          f"queries of classes it lacks unknown, {rates['known_right']:.4f} of "
          f"{rates['known_queries']:,} others right")
    return {**rates, "threshold": threshold, "gallery": args.gallery}


def class_names(labels, dataset):
    """The names --classes matches: class-folder names (train/'s, which number the labels),
    or the labels as text."""
    from pyimagesearch.data.image_folders import (
        class_folders,
        has_test_folder,
        is_class_folder_tree,
    )

    if is_class_folder_tree(dataset):
        root = os.path.join(dataset, "train") if has_test_folder(dataset) else dataset
        return np.array([name for (name, _) in class_folders(root)])[labels]
    return labels.astype(str)


def draw_episode(images, chosen, labels, embeddings, ways, args, path):
    """Draw the first one-shot episode: the query and one support image per class."""
    from pyimagesearch.data.pairs import load_images
    from pyimagesearch.plotting import episode_figure, pyplot
    from pyimagesearch.search.index import exact_search
    from pyimagesearch.search.recognition import draw_episodes

    plt = pyplot()
    (support, supportLabels, query, queryClass) = draw_episodes(labels, ways, 1, 1,
                                                                args.seed)[0]
    (_, nearest) = exact_search(embeddings[support], embeddings[query:query + 1], 1)
    answer = int(nearest[0, 0])
    pixels = load_images(images, chosen[[query, *support]])
    squeeze = (lambda image: image[..., 0]) if pixels.shape[-1] == 1 else (lambda image: image)
    right = "right" if supportLabels[answer] == queryClass else "wrong"
    fig = episode_figure(plt, [squeeze(p) for p in pixels[1:]], supportLabels,
                         squeeze(pixels[0]), answer, f"{ways}-way one-shot: the nearest is "
                                                     f"{supportLabels[answer]} ({right})")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    print(f"[INFO] drew an episode into {path}")


if __name__ == "__main__":
    run(main)
