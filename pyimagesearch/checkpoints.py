"""Training that survives a crash: the state of an unfinished run, saved after every epoch
(and within a long epoch every few minutes) in a hidden folder beside the model, and taken
up again with --resume.

OUTPUT/.unfinished-siamese_model/ (named after the model it will become) holds:

    run.json            the run's recipe, its seed, the epochs done, the steps done of the
                        next one and the early-stopping state (the best validation loss so
                        far and its epoch)
    last.weights.h5     the weights and the optimizer's state (its step, so also the
                        learning-rate schedule's place) when the state was saved
    best.weights.npz    the weights of the best epoch so far (with a validation split)
    seeds.npz           the random layers' generator states (the augmentation draws on as
                        the uninterrupted run's would)
    metrics.npz         the running figures of the epoch under way (its loss so far), so
                        that an epoch resumed part-way logs what the whole epoch would have
    training_log.csv    the per-epoch log of this run, moved beside the model with it

Every file is written beside its place and renamed into it, run.json last, so a kill at any
moment leaves the state of the last whole epoch. The folder goes once the model is saved.
"""
import csv
import json
import os
import secrets

import numpy as np

STATE_FILE = "run.json"
WEIGHTS_FILE = "last.weights.h5"
BEST_FILE = "best.weights.npz"
SEEDS_FILE = "seeds.npz"
METRICS_FILE = "metrics.npz"
LOG_FILE = "training_log.csv"
# what a resumed run must share with the run it continues (the flags that shape the model,
# its data or its schedule); the others (--verbose, --precision, ...) may change
RECIPE_FLAGS = ("sources", "architecture", "loss", "margin", "mining", "pairs", "epochs",
                "batch_size", "learning_rate", "schedule", "weight_decay", "augment",
                "validation_split", "resample_pairs", "image_size", "color_mode", "classes",
                "images")


def state_folder(modelPath):
    """The unfinished run's folder for the model at modelPath."""
    (parent, name) = os.path.split(os.path.normpath(modelPath))
    return os.path.join(parent, f".unfinished-{name}")


def recipe_of(args):
    """The flags of args that a resumed run must share, as JSON values."""
    return {flag: getattr(args, flag) for flag in RECIPE_FLAGS}


def read_state(folder):
    """The unfinished run's run.json, or None where there is none."""
    try:
        with open(os.path.join(folder, STATE_FILE)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError(f"{os.path.join(folder, STATE_FILE)} is not readable ({e}); remove "
                         f"{folder} to start over") from None


def check_resume(folder, args):
    """The state to resume from (None for a fresh run). Raises ValueError, in one line, for
    an unfinished run without --resume, --resume with nothing to resume, or a recipe that
    differs from the unfinished run's."""
    state = read_state(folder)
    if state is None:
        if args.resume:
            raise ValueError(f"--resume: no unfinished run in {os.path.dirname(folder) or '.'} "
                             f"to resume (start one without --resume)")
        return None
    done = f"{state['epochs_done']} of {state['recipe']['epochs']} epochs done"
    if state.get("steps_done"):
        done += f" and {state['steps_done']} steps of the next"
    if not args.resume:
        raise ValueError(f"{os.path.dirname(folder) or '.'} holds an unfinished run ({done}): "
                         f"add --resume to the same command to continue it, or remove "
                         f"{folder} to start over")
    recipe = recipe_of(args)
    differing = [flag for flag in RECIPE_FLAGS
                 if json.loads(json.dumps(recipe[flag])) != state["recipe"].get(flag)]
    if differing:
        flags = ", ".join(f"--{flag.replace('_', '-')} {state['recipe'].get(flag)!r}"
                          for flag in differing)
        raise ValueError(f"--resume: the unfinished run in {os.path.dirname(folder) or '.'} "
                         f"was started with {flags}; resume it with the same command")
    return state


def _replace(write, path):
    """write(partial path), then rename the partial file into path."""
    # the name ends as the real one's does: Keras checks the ending of a weights file's name
    (folder, name) = os.path.split(path)
    partial = os.path.join(folder, f".partial-{os.getpid()}-{secrets.token_hex(4)}-{name}")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def write_state(folder, state):
    """Write run.json atomically."""
    def dump(path):
        with open(path, "w") as f:
            json.dump(state, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
    _replace(dump, os.path.join(folder, STATE_FILE))


def begin(folder, state):
    """Start a run's state folder (a folder left by a run killed before its first epoch
    ended holds nothing to keep)."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    write_state(folder, state)


def logged_history(folder):
    """{metric: [value per epoch]} of the unfinished run's log (the epochs done so far)."""
    path = os.path.join(folder, LOG_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})
            if key != "epoch"}


def make_checkpoint_callback(folder, state, trainer, keepBest=None, everySeconds=None):
    """A Keras callback that saves the run's state into folder after every epoch (after the
    log and the early stopping have seen it: put it last) and, within an epoch, after the
    first step that ends everySeconds or more after the last save (None: never). An epoch
    resumed part-way gets its running figures back when it begins."""
    import time

    import keras

    def save_progress(extra=()):
        _replace(lambda path: trainer.save_weights(path), os.path.join(folder, WEIGHTS_FILE))
        _replace(lambda path: _save_arrays(path, [v.numpy() for v in _seeds(trainer)]),
                 os.path.join(folder, SEEDS_FILE))
        for (name, arrays) in extra:
            _replace(lambda path: _save_arrays(path, arrays), os.path.join(folder, name))

    class Checkpoint(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.lastSave = time.monotonic()

        def on_epoch_begin(self, epoch, logs=None):
            # the steps of this epoch done before it was resumed (Keras counts from 0 again)
            self.offset = state.get("steps_done", 0) if epoch == state["epochs_done"] else 0
            self.figuresBefore = (_load_arrays(os.path.join(folder, METRICS_FILE))
                                  if self.offset else None)

        def on_train_batch_end(self, batch, logs=None):
            if self.figuresBefore is not None:
                # the running figures are sums (totals and counts), whose variables Keras
                # makes only in the first step: the steps before the kill added to them
                for (variable, value) in zip(trainer.metrics_variables, self.figuresBefore):
                    variable.assign(variable + value)
                self.figuresBefore = None
            # never at the epoch's last step: the epoch's own save follows at once
            if (everySeconds is None or time.monotonic() - self.lastSave < everySeconds
                    or batch + 1 >= (self.params.get("steps") or float("inf"))):
                return
            save_progress([(METRICS_FILE, [v.numpy() for v in trainer.metrics_variables])])
            state["steps_done"] = self.offset + batch + 1
            write_state(folder, state)
            self.lastSave = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            save_progress()
            if keepBest is not None:
                if keepBest.best_epoch == epoch and keepBest.best_weights is not None:
                    _replace(lambda path: _save_arrays(path, keepBest.best_weights),
                             os.path.join(folder, BEST_FILE))
                state.update(best=float(keepBest.best), best_epoch=int(keepBest.best_epoch))
            state.update(epochs_done=epoch + 1, steps_done=0)
            write_state(folder, state)
            self.lastSave = time.monotonic()

    return Checkpoint()


def _save_arrays(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, *arrays)


def _load_arrays(path):
    with np.load(path) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def _seeds(model):
    """The state variables of model's random layers (not among its weights)."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def restore(folder, state, trainer, keepBest=None):
    """Put the unfinished run's weights, optimizer state and early-stopping state back."""
    trainer.optimizer.build(trainer.trainable_variables)
    trainer.load_weights(os.path.join(folder, WEIGHTS_FILE))
    for (variable, value) in zip(_seeds(trainer), _load_arrays(os.path.join(folder, SEEDS_FILE))):
        variable.assign(value)
    if keepBest is not None and state.get("best_epoch") is not None:
        keepBest.resume_from(state["best"], state["best_epoch"],
                             _load_arrays(os.path.join(folder, BEST_FILE)))


class TrainingLock:
    """Held while a training writes into a folder: a second training into the same folder is
    refused in one line (ValueError) instead of mixing two runs' files. The lock is the
    folder's own (flock on it), so it leaves no file behind, and the operating system lets go
    of it when the process ends, however it ends."""

    def __init__(self, folder):
        self.folder = folder or "."

    def __enter__(self):
        import fcntl

        os.makedirs(self.folder, exist_ok=True)
        self.descriptor = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.descriptor)
            raise ValueError(f"{self.folder} is in use by another training: wait for it to "
                             f"end, or pass another --output") from None
        return self

    def __exit__(self, *exc):
        os.close(self.descriptor)


def finish(folder, logPath, done=True):
    """After the model is saved: its run's log put beside it (whole, in one rename), and the
    run's state removed when the run is done (kept for --resume when it was stopped)."""
    import shutil

    source = os.path.join(folder, LOG_FILE)
    if os.path.isfile(source):
        _replace(lambda path: shutil.copyfile(source, path), logPath)
    if done:
        shutil.rmtree(folder, ignore_errors=True)
