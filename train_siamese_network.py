"""Train the siamese network of the tutorial on MNIST pairs (or pairs of your own images).

USAGE
    python train_siamese_network.py
    python train_siamese_network.py --dataset path/to/mnist.npz --epochs 10
    python train_siamese_network.py --dataset my_photos --image-size 64 64 --color-mode rgb

The script reads as the tutorial's: train() runs its stages one after another, each announced
by its [INFO] line. The flags are pyimagesearch/training/arguments.py, the stages
pyimagesearch/training/stages.py, fitting.py and results.py; what an architecture or a loss
means (its defaults, its head, its file names) is its entry in pyimagesearch/models/recipes.py.
"""
# import the necessary packages
import os
import shutil
import tempfile

from pyimagesearch.cli import run
from pyimagesearch.models.recipes import output_paths
from pyimagesearch.training.arguments import check_output_is_free, parse_args
from pyimagesearch.training.checkpoints import TrainingLock, check_resume, state_folder
from pyimagesearch.training.fitting import fit
from pyimagesearch.training.results import evaluate, model_metadata, plot, save
from pyimagesearch.training.stages import (
    agree_across_workers,
    build_and_compile,
    load_data,
    prepare_pairs,
    set_up_tensorflow,
    start_run,
)


def main(argv=None):
    args = parse_args(argv)
    multiworker = args.strategy == "multiworker"
    from pyimagesearch.training.distributed import cluster_config, is_chief, task_name
    if multiworker and args.seed is None and sum(map(len, cluster_config()[0].values())) > 1:
        raise ValueError("--strategy multiworker needs --seed (the same on every worker), so "
                         "that every worker draws the same pairs")
    check_output_is_free(args)
    # only the chief writes into --output; the other workers write into a scratch folder
    # that they remove at the end, all but the run's state, which each keeps in --output
    writes = not multiworker or is_chief()
    output = args.output if writes else tempfile.mkdtemp()
    modelPath = output_paths(args.output, args.loss, args.architecture)[0]
    stateFolder = state_folder(modelPath, None if writes else task_name())
    made = not os.path.exists(args.output)
    try:
        with TrainingLock(output):
            model = train(args, output, stateFolder, check_resume(stateFolder, args))
    finally:
        if output != args.output:
            shutil.rmtree(output, ignore_errors=True)
            if made and os.path.isdir(args.output) and not os.listdir(args.output):
                os.rmdir(args.output)
    if multiworker:
        from pyimagesearch.training.distributed import weights_checksum
        print(f"[INFO] weights checksum: {weights_checksum(model)}")


def train(args, output, stateFolder, resumed=None):
    """The tutorial's story, one stage after another; returns the trained pair model. The
    run's state is saved into stateFolder; resumed is the state of the unfinished run there
    to go on with (checkpoints.check_resume)."""
    paths = output_paths(output, args.loss, args.architecture)
    run = start_run(args, stateFolder, resumed)
    data = load_data(args)
    (precision, strategy) = set_up_tensorflow(args)
    if args.strategy == "multiworker":
        run = agree_across_workers(run, strategy)
    pairs = prepare_pairs(data, args, skip=run.state["epochs_done"])
    (model, trainer, augmentation, validator) = build_and_compile(data, args, strategy)
    (history, epochKept) = fit(trainer, pairs, args, run, data.class_names is not None,
                               validator)
    (evaluation, choice) = evaluate(model, data, pairs, args)
    save(model, paths[0], model_metadata(args, data, evaluation, choice, precision,
                                         augmentation, len(history.history["loss"]),
                                         epochKept), run, paths[2])
    plot(model, history, evaluation, data, args, paths)
    print(f"[INFO] wrote the model to {paths[0]}, its log to {paths[2]} and its plots to "
          f"{', '.join(path for path in (paths[1], paths[3], paths[4]) if os.path.exists(path))}")
    return model


if __name__ == "__main__":
    run(main, "[ERROR] interrupted; the model was not saved (the previous one stays), the run's "
              "last save is kept for --resume")
