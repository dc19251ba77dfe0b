import json
import os
import re

import pytest
from conftest import ROOT, run_script, write_people


def test_benchmark_compares_the_tutorials_way_with_ours(tiny_npz, tmp_path):
    # ours with another sister network than the tutorial's, which the baseline keeps
    record = tmp_path / "training.json"
    result = run_script("benchmarks.benchmark_training", "--dataset", tiny_npz,
                        "--pairs", 200, "--variants", "baseline,float32+in_batch",
                        "--architecture", "small_vgg", "--target", 0.5, "--json", record)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("[INFO] 200 training pairs, 200 validation pairs, 1 epoch(s), seed 42; small_vgg "
            "holds out 10% of the training images and validates on their pairs"
            in result.stdout)
    for variant in ("baseline", "float32+in_batch"):
        assert re.search(rf"\[RESULT\] +{re.escape(variant)}: +\d+ pairs/s, peak RSS +\d+ MB, "
                         rf"val accuracy [01]\.\d{{4}}, epoch times \d+\.\ds on \d+\.\d of \d+ "
                         rf"cores; val accuracy 0\.5000 (first reached|not reached)",
                         result.stdout), result.stdout
    assert re.search(r"\[RATIO\] float32\+in_batch / baseline: throughput \d+\.\d\dx, peak RSS "
                     r"\d+\.\d\dx, val accuracy [+-]\d\.\d{4}", result.stdout), result.stdout
    # the record holds what was printed, with the command and the CPU, for the docs to quote
    ours = recorded(record, result, "benchmarks.benchmark_training")["float32+in_batch"]
    assert (f"float32+in_batch: {ours['pairs_per_second']:8.0f} pairs/s, peak RSS "
            f"{ours['peak_rss_mb']:7.0f} MB, val accuracy {ours['val_accuracy']:.4f}"
            in result.stdout)
    assert (f"throughput {ours['to_baseline']['throughput']:.2f}x" in result.stdout)


def test_benchmark_refuses_an_unknown_variant_before_training():
    result = run_script("benchmarks.benchmark_training", "--variants", "float64")
    assert result.returncode == 2
    assert "unknown variant 'float64'" in result.stderr


def test_time_to_target_is_read_from_a_training_log(tmp_path):
    log = tmp_path / "training_log.csv"
    log.write_text("epoch,seconds,val_accuracy\n0,30,0.80\n1,30,0.88\n2,30,0.90\n")
    result = run_script("benchmarks.benchmark_training", "--from-log", log,
                        "--target", 0.85)
    assert result.returncode == 0, result.stderr
    assert ("val accuracy 0.8500 first reached at epoch 2, after 60 s of training (1.0 min)"
            in result.stdout)
    result = run_script("benchmarks.benchmark_training", "--from-log", log,
                        "--target", 0.95)
    assert "val accuracy 0.9500 not reached in 3 epoch(s)" in result.stdout


def recorded(path, result, module):
    """The figures of a benchmark's --json record, which names its command and its CPU as the
    run printed them."""
    written = json.loads(path.read_text())
    assert written["command"].startswith(f"python -m {module} ")
    assert f"[INFO] {written['cpu']}" in result.stdout
    return written["results"]


def test_ideas_benchmark_reports_each_variant_against_the_first(tiny_npz, tmp_path):
    result = run_script("benchmarks.benchmark_ideas", "--dataset", tiny_npz, "--pairs", 200,
                        "--rounds", 2, "--precision", "float32", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    figures = recorded(tmp_path / "r.json", result, "benchmarks.benchmark_ideas")
    for (name, variant) in figures.items():
        assert (f"{name}: {variant['pairs_per_second']:6.0f} pairs/s "
                f"({variant['to_first']['pairs_per_second']:.2f}x), "
                f"{variant['pairs_per_cpu_second']:5.0f} pairs per CPU-second" in result.stdout)
    assert len(figures) == 6
    assert "[INFO] 200 pairs per epoch, 2 round(s), float32" in result.stdout
    results = [line for line in result.stdout.splitlines() if line.startswith("[RESULT]")]
    assert len(results) == 6
    assert "keras dropout, 1 step per call" in results[0] and "(1.00x)" in results[0]
    assert "fast dropout, 16 steps per call:" in results[3]
    assert "fast dropout, 16 steps per call, XLA" in results[4]
    assert "fast dropout, 16 steps per call, shared images (default)" in results[5]
    for line in results:
        assert re.search(r"\d+ pairs/s \(\d+\.\d\dx\), +\d+ pairs per CPU-second "
                         r"\(\d+\.\d\dx\); per round \d+ on \d+\.\d cores, \d+ on \d+\.\d "
                         r"cores$", line), line


def test_ideas_benchmark_refuses_bad_numbers():
    result = run_script("benchmarks.benchmark_ideas", "--rounds", 0)
    assert result.returncode == 2
    assert "--rounds at least 1" in result.stderr


def test_folder_benchmark_compares_folders_with_memory(tiny_npz, tmp_path):
    result = run_script("benchmarks.benchmark_folders", "--dataset", tiny_npz,
                        "--sizes", "60,120", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    figures = recorded(tmp_path / "r.json", result, "benchmarks.benchmark_folders")
    assert (f"folders 120 images: {figures['folders 120']['pairs_per_second']:8.0f} pairs/s"
            in result.stdout)
    assert (f"peak RSS {figures['ratios']['folders_to_memory']['peak_rss']:.2f}x"
            in result.stdout)
    for name in ("memory 120", "folders 60", "folders 120"):
        assert re.search(rf"\[RESULT\] +{name} images: +\d+ pairs/s, peak RSS +\d+ MB, val "
                         rf"accuracy [01]\.\d{{4}}", result.stdout), result.stdout
    assert re.search(r"\[RATIO\] folders / memory at 120 images: throughput \d+\.\d\dx, peak "
                     r"RSS \d\.\d\dx", result.stdout), result.stdout
    assert re.search(r"\[RATIO\] folders at 120 / 60 images: peak RSS \d\.\d\dx",
                     result.stdout), result.stdout


def test_search_benchmark_compares_exact_with_faiss(tmp_path):
    from pyimagesearch.search.index import has_faiss
    if not has_faiss():
        pytest.skip("faiss is optional (pip install faiss-cpu)")
    result = run_script("benchmarks.benchmark_search", "--source", "clusters", "--sizes",
                        "1500,3000", "--queries", 20, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    figures = recorded(tmp_path / "r.json", result, "benchmarks.benchmark_search")
    assert sorted(figures) == ["1500", "3000"]
    assert (f"recall@10 {figures['3000']['recall_at_10']:.4f}, top-1 agreement "
            f"{figures['3000']['top1']:.4f}, {figures['3000']['faster_alone']:.1f}x faster "
            f"alone" in result.stdout)
    assert re.search(r"\[INFO\] .*, \d+ cores, ", result.stdout), result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("[RESULT]")]
    assert len(rows) == 2 and "1,500 embeddings" in rows[0] and "recall@10" in rows[1]


def test_steps_benchmark_splits_a_steps_time_into_fixed_cost_and_work(tiny_npz, tmp_path):
    result = run_script("benchmarks.benchmark_steps", "--dataset", tiny_npz, "--pairs", 64,
                        "--batch-sizes", "16,32", "--rounds", 1, "--architectures", "tutorial",
                        "--precision", "float32", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    figures = recorded(tmp_path / "r.json", result, "benchmarks.benchmark_steps")["tutorial"]
    assert (f"tutorial,   32 pairs a step: {figures['32']['ms_per_step']:7.1f} ms per step"
            in result.stdout)
    assert f"[RESULT] tutorial: {figures['fixed_cost']}" in result.stdout
    assert "[INFO] 64 pairs per round, 1 round(s), float32" in result.stdout
    for size in (16, 32):
        assert re.search(rf"\[RESULT\] tutorial, +{size} pairs a step: +\d+\.\d ms per step, "
                         rf"+\d+ pairs/s, +\d+ pairs per CPU-second", result.stdout)
    assert re.search(r"\[RESULT\] tutorial: (\d+\.\d\d ms per step whatever its size, "
                     r"-?\d+\.\d{3} ms per pair: at 64 pairs a step the fixed cost is \d+% of "
                     r"the step|-?\d+\.\d{3} ms per pair and no fixed cost per step that "
                     r"shows \(intercept -?\d+\.\d\d ms\)|the larger batch took no longer than the "
                     r"smaller: no line)", result.stdout), result.stdout


def test_the_fixed_cost_of_a_step_is_read_from_the_two_smallest_batches():
    from benchmarks.benchmark_steps import describe_fixed_cost

    # 2 ms fixed + 0.5 ms a pair at 32 and 64; 512 costs more per pair (caches)
    assert describe_fixed_cost([512, 64, 32], [400.0, 34.0, 18.0]) == (
        "2.00 ms per step whatever its size, 0.500 ms per pair: at 64 pairs a step the fixed "
        "cost is 6% of the step")
    assert describe_fixed_cost([32, 64], [10.0, 20.3]).startswith(
        "0.322 ms per pair and no fixed cost per step that shows (intercept -0.30 ms)")
    assert describe_fixed_cost([16, 32], [55.4, 12.7]).startswith("the larger batch took no")


def test_steps_benchmark_refuses_bad_sizes():
    result = run_script("benchmarks.benchmark_steps", "--batch-sizes", "64,7")
    assert result.returncode == 2
    assert "--batch-sizes must be even" in result.stderr


def test_serve_benchmark_reports_each_endpoint_and_load_for_each_model(tmp_path):
    # a digit model and a face model side by side: the face model's requests are photos,
    # each of whose faces is found and aligned
    models = [os.path.join(ROOT, "output", name)
              for name in ("small_vgg_siamese_model", "faces_siamese_model")]
    result = run_script("benchmarks.benchmark_serve", "--model", *models, "--gallery-size", 16,
                        "--clients", 1, 2, "--seconds", 0.25, "--windows", 0, "--json",
                        tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    figures = recorded(tmp_path / "r.json", result, "benchmarks.benchmark_serve")
    search = figures["faces_siamese_model: /search, no batching, 2 clients"]
    assert (f"2 clients: {search['requests_per_second']:7.1f} requests/s, p50 "
            f"{search['p50_ms']:6.1f} ms" in result.stdout)
    assert "small_vgg_siamese_model: /compare, no batching, 1 clients" in figures
    assert "16 photos of one face (the astronaut's) of 8 classes" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("[RESULT]")]
    assert len(rows) == 8 and "/compare" in rows[0] and "/search" in rows[7]
    assert all("no batching" in row and " 0 errors" in row for row in rows), rows


def test_faces_benchmark_measures_the_anchors_as_a_model_is_measured(tmp_path):
    for folder in ("train", "heldout"):
        write_people(tmp_path / folder, perPerson=4)
        os.remove(tmp_path / folder / "collins" / "wall.png")
    assert run_script("tools.make_oneshot_runs", "--dataset", tmp_path / "heldout",
                      "--ways", 2, "--runs", 2, "--output", tmp_path / "runs").returncode == 0
    result = run_script("benchmarks.benchmark_faces", "--train", tmp_path / "train",
                        "--people", tmp_path / "heldout", "--runs", tmp_path / "runs",
                        "--enrolled", 1, "--components", 4, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    figures = recorded(tmp_path / "r.json", result, "benchmarks.benchmark_faces")
    for anchor in ("photo_pixels", "pixels", "eigenfaces"):
        assert 0 <= figures[anchor]["oneshot_runs"]["accuracy"] <= 1
        assert set(figures[anchor]["verification"]) >= {"roc_auc", "eer"}
        assert figures[anchor]["open_set"]["enrolled"] in (["collins"], ["mirrored"])
    assert figures["time_per_photo_ms"]["find_and_align"] > 0
