"""What the benchmark scripts share: where the repository is, which MNIST pairs to train on,
the CPU a figure was measured on and the record of a run that the docs quote."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_MNIST = os.path.join(ROOT, "..", "shared", "data", "mnist.npz")


def add_data_arguments(ap, pairs):
    """Add --dataset and --pairs (default: pairs) to an ArgumentParser."""
    ap.add_argument("--dataset", default=SHARED_MNIST if os.path.exists(SHARED_MNIST)
                    else "mnist", help="MNIST as for train_siamese_network.py (default: "
                    "../shared/data/mnist.npz when present, else mnist)")
    ap.add_argument("--pairs", type=int, default=pairs,
                    help="training pairs per epoch: two per training image, from the first "
                         f"pairs/2 images (default: {pairs}; 120000 is all of MNIST)")


def load_training_subset(args):
    """((trainX, trainY), (testX, testY)) of args.dataset, the training images cut to the
    first args.pairs / 2."""
    from pyimagesearch.data.datasets import load_dataset

    ((trainX, trainY), test) = load_dataset(args.dataset)
    count = max(1, min(args.pairs // 2, len(trainX)))
    return (trainX[:count], trainY[:count]), test


def run_child(command, outPath):
    """Run a Python script (command: its path and arguments) in a child process, its output
    into outPath; returns the child's peak resident memory in MB (raises if it fails)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    with open(outPath, "w") as out:
        child = subprocess.Popen([sys.executable, *command], stdout=out,
                                 stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        (_, status, usage) = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed; see {outPath}")
    return usage.ru_maxrss / 1024


def describe_cpu():
    """The CPU a figure was measured on: model, cores, and which of the instruction sets that
    change the speed it has (AVX2; AVX512_BF16 and AMX for native bfloat16), and the
    instruction set oneDNN is held to when ONEDNN_MAX_CPU_ISA says (an approximation of a
    CPU without the others, not the same as one)."""
    (name, flags) = ("unknown CPU", set())
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and name == "unknown CPU":
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    sets = [flag.upper() for flag in ("avx2", "avx512_bf16", "amx_bf16") if flag in flags]
    held = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return (f"{name}, {os.cpu_count()} cores, " + ("/".join(sets) or "no AVX2")
            + ("" if {"avx512_bf16", "amx_bf16"} & flags else " (no native bfloat16)")
            + (f", oneDNN held to {held}" if held else ""))


def add_record_argument(ap):
    """Add --json PATH to an ArgumentParser: where write_record stores the run's figures."""
    ap.add_argument("--json", default=None, metavar="PATH",
                    help="also write the figures, the command and the CPU to this JSON file: a "
                         "record the docs can quote (docs/measurements/)")


def write_record(path, module, results):
    """Store a benchmark's figures (results, a JSON-able dict) at path, with the command that
    measured them and the CPU it ran on, so that a figure quoted in the docs can link the run
    it came from; nothing when path is None. Written whole or not at all."""
    if path is None:
        return
    record = {"command": " ".join(["python -m", module, *sys.argv[1:]]), "cpu": describe_cpu(),
              "results": results}
    partial = f"{path}.partial"
    with open(partial, "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
    os.replace(partial, path)
    print(f"[INFO] wrote the figures to {path}")
