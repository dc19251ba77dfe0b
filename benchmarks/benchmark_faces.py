"""The anchors a face model is measured against, on the same people and runs: the pixels of
the photos as they are, and of the aligned faces, eigenfaces fit on the people trained on, and
the face_recognition library (dlib's ResNet embedder, trained elsewhere on thousands of
people), where it is installed
(`pip install dlib-bin face_recognition_models` then `pip install --no-deps face_recognition`:
the benchmark's dependency, never the project's).

    python -m benchmarks.benchmark_faces --train faces/train --people faces/heldout \
        --runs faces/runs --json docs/measurements/faces/anchors.json

Each anchor is measured as tools.evaluate --runs ... --people ... measures a model: 20-way
one-shot runs, verification over every pair of the held-out people's photos, and the open set
at a threshold chosen on the people trained on (their equal-error distance; the library's
own 0.6 for face_recognition).
"""
import argparse
import time

import numpy as np

from benchmarks.common import add_record_argument, describe_cpu, write_record
from pyimagesearch.data.image_folders import scan_classes
from pyimagesearch.data.images import load_image
from pyimagesearch.search.oneshot_runs import mean_with_interval, read_runs, score_runs
from pyimagesearch.search.people import equal_error_threshold, open_set, verification

SIZE = (64, 64)


def parse_args():
    ap = argparse.ArgumentParser(description="Measure the face anchors (pixels, eigenfaces, "
                                             "face_recognition) on held-out people.")
    ap.add_argument("--train", nargs="+", required=True, metavar="DIR",
                    help="the people trained on (one folder each): eigenfaces are fit on them "
                         "and the thresholds chosen on them")
    ap.add_argument("--people", required=True, metavar="DIR",
                    help="the held-out people (one folder each)")
    ap.add_argument("--runs", required=True, metavar="DIR",
                    help="one-shot runs of the held-out people (tools.make_oneshot_runs)")
    ap.add_argument("--enrolled", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", default=None,
                    help="a face model (--images faces) whose time to embed a face is measured "
                         "beside the time to find and align it (default: none)")
    ap.add_argument("--components", type=int, default=100,
                    help="eigenfaces kept (default: 100)")
    add_record_argument(ap)
    return ap.parse_args()


def aligned(paths):
    """The photos' largest faces, aligned and light-normalised as a face model reads them,
    flattened."""
    return np.stack([load_image(path, SIZE, faces=True)[0].reshape(-1) for path in paths])


def photo_pixels(paths):
    """The photos as they are, resized to SIZE, flattened: no face found, aligned or lit."""
    return np.stack([load_image(path, SIZE)[0].reshape(-1) for path in paths])


def with_faces(paths, labels):
    """(paths, labels, aligned faces flattened) of the photos in which a face is found, as
    training keeps them: each photo read once."""
    (kept, faces) = ([], [])
    for path in paths:
        try:
            faces.append(load_image(path, SIZE, faces=True)[0].reshape(-1))
            kept.append(True)
        except ValueError:
            kept.append(False)
    kept = np.array(kept)
    return list(np.asarray(paths)[kept]), np.asarray(labels)[kept], np.stack(faces)


def dlib_embedder():
    """face_recognition's 128-number embedding of each photo's largest face (found by the
    project's detector, so that both see the same faces), or None where it is not installed."""
    try:
        import face_recognition
    except ImportError:
        return None
    import cv2

    from pyimagesearch.faces.detection import detect_faces

    def embed(paths):
        rows = []
        for path in paths:
            rgb = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            (x, y, w, h) = detect_faces(rgb)[0]["box"]
            box = (max(0, y), min(rgb.shape[1], x + w), min(rgb.shape[0], y + h), max(0, x))
            rows.append(face_recognition.face_encodings(rgb, known_face_locations=[box])[0])
        return np.stack(rows)
    return embed


def time_faces(paths, modelPath, repeats=3):
    """Milliseconds a photo (the median of `repeats` passes over paths): reading it, finding
    its faces and aligning them (at the model's size, or 64x64), and the model's own time to
    embed its face, one photo at a time as the search script and the server meet them."""
    from pyimagesearch.data.images import load_photo
    from pyimagesearch.faces.reading import aligned_faces

    model = None
    size = SIZE
    if modelPath:
        from pyimagesearch.models.model_io import SiameseModel

        model = SiameseModel(modelPath)
        size = tuple(model.input_shape[:2])
    (finding, embedding) = ([], [])
    for _ in range(repeats):
        (found, embedded) = (0.0, 0.0)
        for path in paths:
            start = time.perf_counter()
            (faces, _) = aligned_faces(load_photo(path), size)
            found += time.perf_counter() - start
            if model is not None:
                start = time.perf_counter()
                model.embed(faces[0].reshape(1, *model.input_shape))
                embedded += time.perf_counter() - start
        finding.append(1000 * found / len(paths))
        embedding.append(1000 * embedded / len(paths))
    timed = {"find_and_align": float(np.median(finding))}
    if model is not None:
        timed["embed"] = float(np.median(embedding))
    print(f"[RESULT] per photo: finding and aligning its faces {timed['find_and_align']:.2f} "
          f"ms" + (f", the model embedding one {timed['embed']:.2f} ms" if model else ""))
    return timed


def measure(name, embed, threshold, runs, people, labels, args):
    start = time.perf_counter()
    scored = score_runs(runs, embed)
    (mean, low, high) = mean_with_interval([accuracy for (_, _, accuracy) in scored])
    embeddings = embed(people)
    verified = verification(embeddings, labels, threshold)
    opened = open_set(embeddings, labels, threshold, args.enrolled, args.seed)
    print(f"[RESULT] {name}: one-shot {mean:.4f} ({low:.4f}-{high:.4f}), ROC AUC "
          f"{verified['roc_auc']:.4f}, equal error rate {verified['eer']:.4f}, open set "
          f"{opened['known_right']:.4f} known right, {opened['unknown_rejected']:.4f} "
          f"unknown rejected ({time.perf_counter() - start:.0f} s)")
    return {"oneshot_runs": {"accuracy": mean, "low": low, "high": high,
                             "per_run": {run.name: a for (run, _, a) in scored}},
            "verification": verified, "open_set": opened}


def main():
    args = parse_args()
    from sklearn.decomposition import PCA

    print(f"[INFO] {describe_cpu()}")
    runs = read_runs(args.runs)
    (trainPaths, trainLabels, trainPixels) = with_faces(
        *scan_classes(args.train, log=lambda line: None)[:2])
    (paths, labels, names) = scan_classes(args.people, log=lambda line: None)
    labels = np.asarray(names)[labels]
    print(f"[INFO] {len(trainPaths)} photos of the people trained on, {len(paths)} of "
          f"{len(names)} held-out people, {len(runs)} runs")
    eigenfaces = PCA(args.components, random_state=0).fit(trainPixels)
    anchors = [("photo_pixels", photo_pixels, photo_pixels(trainPaths)),
               ("pixels", aligned, trainPixels),
               ("eigenfaces", lambda p: eigenfaces.transform(aligned(p)),
                eigenfaces.transform(trainPixels))]
    results = {}
    for (name, embed, trainEmbeddings) in anchors:
        threshold = equal_error_threshold(trainEmbeddings, trainLabels, seed=args.seed)
        results[name] = measure(name, embed, threshold, runs, list(paths), labels, args)
    dlib = dlib_embedder()
    if dlib is not None:
        results["face_recognition"] = measure("face_recognition", dlib, 0.6, runs,
                                              list(paths), labels, args)
    else:
        print("[INFO] face_recognition is not installed: its row is left out")
    results["time_per_photo_ms"] = time_faces(paths, args.model)
    write_record(args.json, "benchmarks.benchmark_faces",
                 {"size": list(SIZE), "components": args.components, "seed": args.seed,
                  **results})

if __name__ == "__main__":
    main()
