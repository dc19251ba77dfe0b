"""Gallery search at 10k, 100k and 1M embeddings: exact search against faiss's approximate index.

    python -m benchmarks.benchmark_search                       # 10k, 100k, 1M, real embeddings
    python -m benchmarks.benchmark_search --sizes 10000 --source clusters

For each gallery size it reports, side by side in one run: the build time and memory of each
index, the latency of one query at a time (the search script's case, over --queries queries)
and of all of them in one batch, and how far the approximate index agrees with exact search:
recall@10 (the share of the exact 10 nearest it returns) and top-1 agreement.

--source embeddings: the shipped small_vgg model's embeddings of MNIST's 70,000 images (real
embeddings), jittered copies of them (noise of a tenth of their typical neighbour distance, then
unit length again) for galleries larger than that; the queries are held-out images' embeddings,
jittered the same way. --source clusters: Gaussian clusters, no model or data needed.
"""
import argparse
import os
import platform
import time

import numpy as np

from benchmarks.common import SHARED_MNIST, add_record_argument, describe_cpu, write_record


def real_embeddings(model, dataset):
    """The model's unit-length embeddings of every image of dataset (train and test)."""
    from pyimagesearch.data.datasets import load_dataset
    from pyimagesearch.data.pairs import load_images
    from pyimagesearch.models.model_io import SiameseModel

    ((trainX, _), (testX, _)) = load_dataset(dataset)
    siamese = SiameseModel(model)
    images = np.concatenate([trainX, testX])
    return np.concatenate([siamese.embed(load_images(images, np.arange(start, min(
        start + 8192, len(images))))) for start in range(0, len(images), 8192)])


def grow(base, count, rng):
    """count embeddings drawn from base, jittered by a tenth of the typical distance between
    neighbours and put back on the unit sphere (when base is on it)."""
    from pyimagesearch.search.index import exact_search

    sample = base[rng.choice(len(base), min(2000, len(base)), replace=False)]
    scale = np.median(exact_search(base, sample, 2)[0][:, 1]) / 10 / np.sqrt(base.shape[1])
    rows = base[rng.integers(0, len(base), count)] + rng.normal(0, scale, (count,
                                                                          base.shape[1]))
    if np.allclose(np.linalg.norm(base[:100], axis=1), 1, atol=1e-3):
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32)


def clusters(count, rng, dim=48, centres=100):
    points = rng.normal(size=(centres, dim))[rng.integers(0, centres, count)]
    return (points + 0.3 * rng.normal(size=(count, dim))).astype(np.float32)


def latency(search, queries):
    """(ms per query one at a time, ms per query in one batch)."""
    start = time.perf_counter()
    for query in queries:
        search(query[None, :])
    single = (time.perf_counter() - start) / len(queries) * 1000
    start = time.perf_counter()
    search(queries)
    return single, (time.perf_counter() - start) / len(queries) * 1000


def measure(gallery, queries, k=10):
    import faiss

    from pyimagesearch.search.index import FaissIndex, exact_search

    (_, truth) = exact_search(gallery, queries, k)
    exact = latency(lambda q: exact_search(gallery, q, k), queries)
    start = time.perf_counter()
    index = FaissIndex(gallery)
    built = time.perf_counter() - start
    approximate = latency(lambda q: index.search(q, k), queries)
    (_, found) = index.search(queries, k)
    recall = np.mean([len(set(f) & set(t)) / k for (f, t) in zip(found, truth)])
    return {"exact_mb": gallery.nbytes / 2 ** 20, "exact_ms": exact,
            "faiss_build_s": built, "faiss_mb": len(faiss.serialize_index(index.index)) / 2 ** 20,
            "faiss_ms": approximate, "recall_at_10": recall,
            "top1": float(np.mean(found[:, 0] == truth[:, 0]))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="gallery sizes, comma-separated (default: 10000,100000,1000000)")
    ap.add_argument("--source", choices=("embeddings", "clusters"), default="embeddings",
                    help="real embeddings of MNIST (and jittered copies) or Gaussian "
                         "clusters (default: embeddings)")
    ap.add_argument("--model", default=os.path.join("output", "small_vgg_siamese_model"),
                    help="the model whose embeddings to search (default: the shipped "
                         "small_vgg)")
    ap.add_argument("--dataset", default=SHARED_MNIST if os.path.exists(SHARED_MNIST)
                    else "mnist", help="MNIST as for train_siamese_network.py")
    ap.add_argument("--queries", type=int, default=200, help="queries (default: 200)")
    ap.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    add_record_argument(ap)
    args = ap.parse_args()
    from pyimagesearch.search.index import has_faiss
    if not has_faiss():
        raise SystemExit("[ERROR] this benchmark compares with faiss: pip install faiss-cpu")
    sizes = [int(size) for size in args.sizes.split(",")]
    rng = np.random.default_rng(args.seed)
    print(f"[INFO] {describe_cpu()}; Python {platform.python_version()}")
    if args.source == "embeddings":
        base = real_embeddings(args.model, args.dataset)
        held = rng.permutation(len(base))
        (pool, queries) = (base[held[args.queries:]], base[held[:args.queries]])
        print(f"[INFO] {len(base):,} real embeddings of {args.dataset} by {args.model}; "
              f"{args.queries} of them held out as queries")
    else:
        queries = clusters(args.queries, rng)
    results = {}
    for size in sizes:
        if args.source == "embeddings":
            gallery = pool[:size] if size <= len(pool) else np.concatenate(
                [pool, grow(pool, size - len(pool), rng)])
        else:
            gallery = clusters(size, rng)
        r = measure(gallery, queries)
        print(f"[RESULT] {size:>9,} embeddings: exact {r['exact_mb']:7.1f} MB, "
              f"{r['exact_ms'][0]:8.3f} ms/query alone, {r['exact_ms'][1]:7.3f} in a batch | "
              f"faiss built in {r['faiss_build_s']:6.2f} s, {r['faiss_mb']:7.1f} MB, "
              f"{r['faiss_ms'][0]:7.3f} ms/query alone, {r['faiss_ms'][1]:7.3f} in a batch | "
              f"recall@10 {r['recall_at_10']:.4f}, top-1 agreement {r['top1']:.4f}, "
              f"{r['exact_ms'][0] / r['faiss_ms'][0]:.1f}x faster alone", flush=True)
        results[str(size)] = {**r, "faster_alone": r["exact_ms"][0] / r["faiss_ms"][0]}
    write_record(args.json, "benchmarks.benchmark_search", results)


if __name__ == "__main__":
    main()
