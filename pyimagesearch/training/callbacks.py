"""Training helpers: precision, distribution strategy, optimizer, per-epoch timing, stopping
early and failing clearly."""
import contextlib
import os
import signal
import time

import keras

from pyimagesearch.config import STRATEGIES

# the instruction sets of oneDNN's ONEDNN_MAX_CPU_ISA (oneDNN's names) that compute bfloat16
# natively; held to any other (AVX2, AVX512_CORE, ...), oneDNN emulates bfloat16
NATIVE_BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX",
                    "AVX512_CORE_AMX_FP16", "AVX10_1_512", "AVX10_1_512_AMX",
                    "AVX10_1_512_AMX_FP16", "ALL", "DEFAULT")


def default_precision():
    """mixed_bfloat16 where the hardware computes bfloat16 natively, else float32.

    That is a CPU with AVX512_BF16 or AMX (read from /proc/cpuinfo; unless ONEDNN_MAX_CPU_ISA
    holds oneDNN to an instruction set without them) or a GPU of compute capability 8.0 or
    newer; elsewhere bfloat16 is emulated and slower than float32.
    """
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability and capability >= (8, 0):
            return "mixed_bfloat16"
    held = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if held and held not in NATIVE_BF16_ISAS:
        return "float32"
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return "float32"
    return "mixed_bfloat16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "float32"


def get_strategy(name, peerTimeout=300):
    """The tf.distribute strategy for --strategy.

    default: one device. mirrored: MirroredStrategy over every local GPU, or over the logical
    CPU devices when there is no GPU. multiworker: MultiWorkerMirroredStrategy over the
    machines listed in TF_CONFIG (one local worker without it), waiting at most peerTimeout
    seconds for them (pyimagesearch.training.distributed.multiworker_strategy).
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multiworker":
        from pyimagesearch.training.distributed import multiworker_strategy
        return multiworker_strategy(peerTimeout)
    raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")


class EpochTimer(keras.callbacks.Callback):
    """Adds "seconds" to each epoch's logs: the time spent on its training steps, from the
    first step's start to the last step's end (validation not included), and "cores": the
    process's CPU time over that span divided by it. On a shared machine, cores well below
    the CPU count mark an epoch that was slowed by other work, not by the training. Also
    "run_left_min": the minutes the run has left at its pace so far, which the per-epoch
    line of a log file (and of a terminal) shows."""

    def on_train_begin(self, logs=None):
        (self._runStart, self._epochsTimed) = (time.perf_counter(), 0)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._end = time.perf_counter()
        self._cpuStart = self._cpuEnd = time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        self._end = time.perf_counter()
        self._cpuEnd = time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self._epochsTimed += 1
        if logs is not None:
            logs["seconds"] = self._end - self._start
            logs["cores"] = (self._cpuEnd - self._cpuStart) / max(logs["seconds"], 1e-9)
            # the whole run's time left, at the pace of its epochs so far (validation in)
            pace = (time.perf_counter() - self._runStart) / self._epochsTimed
            logs["run_left_min"] = pace * (self.params.get("epochs", epoch + 1) - epoch - 1) / 60


class ValidateWith(keras.callbacks.Callback):
    """Measures the validation data with another view of the model being trained (the
    drawn validation pairs' view, for a model trained on every pair of its batches) at
    the end of each epoch, and adds its figures to the epoch's logs as val_loss, val_accuracy:
    the same figures, on the same pairs, as a run that trains on drawn pairs logs."""

    def __init__(self, validator, validationData):
        super().__init__()
        (self.validator, self.validationData) = (validator, validationData)

    def on_epoch_end(self, epoch, logs=None):
        results = self.validator.evaluate(self.validationData, verbose=0, return_dict=True)
        if logs is not None:
            logs.update({f"val_{name}": value for (name, value) in results.items()})


class ProgressBar(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, never past the epoch's steps: with several steps per call, Keras
    reports the last call of an epoch as if it were whole (1888/1875 steps on MNIST's drawn
    pairs, keras-team/keras#20861)."""

    def __init__(self, epochs=None):
        super().__init__()
        self.runEpochs = epochs

    def set_params(self, params):
        super().set_params(params)
        # "Epoch 2/3", also in a fit that runs only the rest of an epoch a kill cut short
        if self.runEpochs:
            self.epochs = self.runEpochs

    def _update_progbar(self, batch, logs=None):
        if self.target is not None:
            batch = min(batch, self.target - 1)
        super()._update_progbar(batch, logs)


class LogLearningRate(keras.callbacks.Callback):
    """Adds the optimizer's learning rate (where its schedule has brought it) to each epoch's
    logs, for the callbacks after it (TensorBoard's curves)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate))


class KeepBest(keras.callbacks.EarlyStopping):
    """Keeps the weights of the epoch of lowest validation loss and restores them at the end;
    never stops early. A resumed run hands it the unfinished run's best so far."""

    def __init__(self):
        super().__init__(patience=2 ** 31, restore_best_weights=True)
        self._resumed = None
        # another fit goes on with this run: the weights are restored at its end, not this one's
        self.heldOver = False

    def resume_from(self, best, bestEpoch, bestWeights):
        self._resumed = (best, bestEpoch, bestWeights)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._resumed is not None:
            (self.best, self.best_epoch, self.best_weights) = self._resumed

    def on_train_end(self, logs=None):
        if self.heldOver:
            self.resume_from(self.best, self.best_epoch, self.best_weights)
            return
        super().on_train_end(logs)


class StopOnInterrupt:
    """First Ctrl-C (or SIGTERM): finish the current epoch, then stop and save what was
    learned. A second one aborts at once without saving, leaving the previous model as it was."""

    def __init__(self, enabled=True):
        self.requested = False
        self.enabled = enabled

    def __enter__(self):
        self._previous = {s: signal.signal(s, self._handle)
                          for s in (signal.SIGINT, signal.SIGTERM)} if self.enabled else {}
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\n[INFO] stopping after this epoch; the model trained so far will be saved "
              "(interrupt again to abort without saving)", flush=True)


def make_optimizer(learningRate, schedule, weightDecay, totalSteps):
    """Adam (AdamW when weightDecay > 0) at learningRate, constant or decayed to 0 over
    totalSteps along a cosine (schedule "cosine")."""
    if schedule == "cosine":
        learningRate = keras.optimizers.schedules.CosineDecay(learningRate,
                                                              decay_steps=totalSteps)
    elif schedule != "constant":
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    if weightDecay:
        return keras.optimizers.AdamW(learningRate, weight_decay=weightDecay)
    return keras.optimizers.Adam(learningRate)


@contextlib.contextmanager
def file_read_failures(enabled=True):
    """Turn a failed read of an image file during training (one checked before training that
    changed or vanished since) into one OSError line saying that nothing was saved. Yields a
    callback for fit that stops the training at the first such read (None when not
    enabled)."""
    import tensorflow as tf

    from pyimagesearch.data.image_folders import ReadFailures

    if not enabled:
        yield None
        return
    (ReadFailures.tolerated, ReadFailures.errors) = (True, [])
    try:
        yield StopOnFailedRead()
        StopOnFailedRead.check()
    except tf.errors.OpError as e:
        reason = str(e).strip().splitlines()[0][:300]
        raise OSError(f"reading the images failed during training ({reason}); nothing "
                      f"was saved, the previous model stays") from None
    finally:
        ReadFailures.tolerated = False


class StopOnFailedRead(keras.callbacks.Callback):
    """Ends the training, in one OSError line, after the first batch that held an image file
    that could no longer be read."""

    @staticmethod
    def check():
        from pyimagesearch.data.image_folders import ReadFailures

        errors = list(ReadFailures.errors)
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise OSError(f"reading the images failed during training: {errors[0]}{more}; "
                          f"nothing was saved, the previous model stays")

    def on_train_batch_end(self, batch, logs=None):
        self.check()

    def on_test_batch_end(self, batch, logs=None):
        self.check()
