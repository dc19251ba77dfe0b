"""Training that survives a crash: the state of an unfinished run, saved after every epoch
(and within a long epoch every few minutes) in a hidden folder beside the model, and taken
up again with --resume.

OUTPUT/.unfinished-siamese_model/ (named after the model it will become) holds:

    run.json            the run's recipe, its seed, the epochs done, the steps done of the
                        next one, the early-stopping state (the best validation loss so far
                        and its epoch) and the names of the files below that go with them
    weights-E-S.h5      the weights and the optimizer's state (its step, so also the
                        learning-rate schedule's place) after E epochs and S steps
    best-E.npz          the weights of the best epoch so far, E (with a validation split)
    seeds-E-S.npz       the random layers' generator states (the augmentation draws on as
                        the uninterrupted run's would)
    figures-E-S.npz     within an epoch: its running figures (its loss so far), so that an
                        epoch resumed part-way logs what the whole epoch would have
    training_log.csv    the per-epoch log of this run, moved beside the model with it

Each save writes files of new names, then replaces run.json (written beside it and renamed:
the one step that switches from one save to the next), then removes the files no longer
named; so a kill at any moment leaves run.json and the files it names of one save. The save
before it is kept too (run.json's "previous"), for workers of a cluster that a kill caught
one save apart. Under --strategy multiworker every worker keeps its own folder (the chief's
named as above, the others' with their task appended: -worker1). The folder goes once the
model is saved.
"""
import csv
import json
import os
import secrets

import numpy as np

STATE_FILE = "run.json"
# what one save is, in run.json
SAVE_KEYS = ("epochs_done", "steps_done", "best", "best_epoch", "files")
LOG_FILE = "training_log.csv"
# what a resumed run must share with the run it continues (the flags that shape the model,
# its data or its schedule); the others (--verbose, --precision, ...) may change
RECIPE_FLAGS = ("sources", "architecture", "loss", "margin", "mining", "pairs", "epochs",
                "batch_size", "learning_rate", "schedule", "weight_decay", "augment",
                "validation_split", "resample_pairs", "image_size", "color_mode", "classes",
                "images", "rotated_classes", "embedding_dim")
# the value a flag added since had in the runs started before it (absent from their state)
FLAGS_BEFORE = {"rotated_classes": False, "embedding_dim": 48}


def state_folder(modelPath, worker=None):
    """The unfinished run's folder for the model at modelPath; with worker (a task name,
    "worker1"), that worker's own, beside the chief's."""
    (parent, name) = os.path.split(os.path.normpath(modelPath))
    return os.path.join(parent, f".unfinished-{name}" + (f"-{worker}" if worker else ""))


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
    started = {flag: state["recipe"].get(flag, FLAGS_BEFORE.get(flag)) for flag in RECIPE_FLAGS}
    differing = [flag for flag in RECIPE_FLAGS
                 if json.loads(json.dumps(recipe[flag])) != started[flag]]
    if differing:
        flags = ", ".join(f"--{flag.replace('_', '-')} {started[flag]!r}" for flag in differing)
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
    resumed part-way gets its running figures back."""
    import time

    import keras

    def save(epochs, steps, figures=None):
        files = dict(state.get("files", {}))
        mark = f"{epochs}-{steps}"
        # Keras checks the ending of a weights file's name
        files["weights"] = f"weights-{mark}.weights.h5"
        trainer.save_weights(os.path.join(folder, files["weights"]))
        files["seeds"] = _write_arrays(folder, f"seeds-{mark}.npz",
                                       [v.numpy() for v in _seeds(trainer)])
        files["figures"] = (_write_arrays(folder, f"figures-{mark}.npz", figures)
                            if figures is not None else None)
        if keepBest is not None and keepBest.best_weights is not None:
            if keepBest.best_epoch + 1 == epochs:
                files["best"] = _write_arrays(folder, f"best-{epochs}.npz",
                                              keepBest.best_weights)
            state.update(best=float(keepBest.best), best_epoch=int(keepBest.best_epoch))
        # the save before stays whole too: workers that a kill caught in different saves
        # go back to the one they all have (resumable_position)
        state["previous"] = {key: state.get(key) for key in SAVE_KEYS}
        state.update(epochs_done=epochs, steps_done=steps, files=files)
        write_state(folder, state)
        # only now are the files of the save before last no longer named
        named = set(files.values()) | set((state["previous"]["files"] or {}).values())
        for name in os.listdir(folder):
            if name.endswith((".h5", ".npz")) and name not in named:
                os.remove(os.path.join(folder, name))

    class Checkpoint(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.lastSave = time.monotonic()

        def on_epoch_begin(self, epoch, logs=None):
            # the steps of this epoch done before it was resumed (Keras counts from 0 again)
            self.offset = state.get("steps_done", 0) if epoch == state["epochs_done"] else 0
            self.figuresBefore = (_load_arrays(os.path.join(folder, state["files"]["figures"]))
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
            save(state["epochs_done"], self.offset + batch + 1,
                 [v.numpy() for v in trainer.metrics_variables])
            self.lastSave = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            save(epoch + 1, 0)
            self.lastSave = time.monotonic()

    return Checkpoint()


def position(state):
    """Where a save stands: (epochs done, steps done of the next epoch)."""
    return state.get("epochs_done", 0), state.get("steps_done", 0)


def go_back_to(state, where):
    """The state as of its own save at `where` (a position): itself, or the save before it
    when that one is at `where`. Raises ValueError when it has neither."""
    if position(state) == tuple(where):
        return state
    previous = state.get("previous") or {}
    if previous.get("files") and position(previous) == tuple(where):
        return {**state, **previous, "previous": None}
    raise ValueError(f"this worker's saved run is at epoch {position(state)[0]}, step "
                     f"{position(state)[1]}, and holds no save at epoch {where[0]}, step "
                     f"{where[1]}, where another worker's is: remove the .unfinished-* "
                     f"folders of every worker's --output to start over")


def _write_arrays(folder, name, arrays):
    """Write the arrays into folder/name (beside it first, then renamed); returns name."""
    def write(path):
        with open(path, "wb") as f:
            np.savez(f, *arrays)
    _replace(write, os.path.join(folder, name))
    return name


def _load_arrays(path):
    with np.load(path) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def _seeds(model):
    """The state variables of model's random layers (not among its weights)."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def restore(folder, state, trainer, keepBest=None):
    """Put the unfinished run's weights, optimizer state and early-stopping state back, and
    its log back to the epochs of that state (a kill between the log's line and the state
    that goes with it leaves one line more)."""
    files = state["files"]
    # the optimizer's variables made where the model's are (a tf.distribute strategy's)
    with trainer.distribute_strategy.scope():
        trainer.optimizer.build(trainer.trainable_variables)
    trainer.load_weights(os.path.join(folder, files["weights"]))
    for (variable, value) in zip(_seeds(trainer),
                                 _load_arrays(os.path.join(folder, files["seeds"]))):
        variable.assign(value)
    if keepBest is not None and state.get("best_epoch") is not None:
        keepBest.resume_from(state["best"], state["best_epoch"],
                             _load_arrays(os.path.join(folder, files["best"])))
    path = os.path.join(folder, LOG_FILE)
    if os.path.isfile(path):
        with open(path, newline="") as f:
            lines = f.readlines()
        if len(lines) > state["epochs_done"] + 1:
            def write(partial):
                with open(partial, "w", newline="") as f:
                    f.writelines(lines[:state["epochs_done"] + 1])
            _replace(write, path)


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
