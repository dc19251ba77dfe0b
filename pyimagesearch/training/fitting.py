"""The training script's fit stage: the epochs, with the callbacks that log them, keep the
best, save the run's state for --resume and stop cleanly on an interrupt."""
import os
import sys


def fit(trainer, pairs, args, run, readsFiles, validator=None):
    """Train the model, saving the run's state after every epoch (a resumed run goes on from
    its last whole epoch); returns (history of every epoch, the epoch kept): the last, or with
    a validation split the one of lowest validation loss. A validator (a view of the same
    model) measures the validation pairs in the trainer's place."""
    import keras

    from pyimagesearch.training.callbacks import StopOnInterrupt, file_read_failures
    from pyimagesearch.training.checkpoints import begin, logged_history, restore
    from pyimagesearch.training.distributed import prepare_for_multiworker, worker_departures

    (trainData, validationData) = (pairs.train_data, pairs.validation_data)
    multiworker = args.strategy == "multiworker"
    if multiworker:
        (trainData, validationData) = prepare_for_multiworker(trainer, trainData,
                                                              validationData)
    print("[INFO] training model...")
    (done, stepsDone) = (run.state["epochs_done"], run.state.get("steps_done", 0))
    if not done and not stepsDone:
        begin(run.folder, run.state)
    # across workers, an interrupt ends the run at once (multiworker_strategy's handlers):
    # finishing the epoch alone would leave the other workers waiting
    with StopOnInterrupt(enabled=not multiworker) as interrupt:
        (callbacks, keepBest, validationData) = training_callbacks(
            trainer, args, run, interrupt, validator, validationData)
        if done or stepsDone:
            restore(run.folder, run.state, trainer, keepBest)
        # trainData reshuffles (or redraws) itself every epoch; one progress line per epoch
        # in a log file
        with worker_departures(multiworker), file_read_failures(readsFiles) as readCheck:
            fitting = dict(validation_data=validationData, shuffle=False,
                           verbose=1 if sys.stdout.isatty() else 2,
                           callbacks=callbacks + [check for check in [readCheck] if check])
            if stepsDone:
                # the epoch a kill cut short first, on its own: its first pass is this
                # epoch's draw, less the steps already done
                if keepBest is not None:
                    keepBest.heldOver = True
                trainer.fit(trainData.skip(stepsDone), epochs=done + 1, initial_epoch=done,
                            **fitting)
                done += 1
                if keepBest is not None:
                    keepBest.heldOver = False
            if done < args.epochs and not trainer.stop_training:
                trainer.fit(trainData, epochs=args.epochs, initial_epoch=done, **fitting)
            elif stepsDone and keepBest is not None:
                keepBest.on_train_end()
    history = keras.callbacks.History()
    history.history = logged_history(run.folder)
    epochsRun = len(history.history.get("loss", []))
    if epochsRun < args.epochs:
        print(f"[INFO] training stopped after {epochsRun} of {args.epochs} epochs (add "
              f"--resume to the same command to go on)")
    if not args.validation_split:
        return history, epochsRun
    print(f"[INFO] keeping epoch {keepBest.best_epoch + 1}, of the lowest validation loss "
          f"({keepBest.best:.4f})")
    return history, keepBest.best_epoch + 1


def training_callbacks(trainer, args, run, interrupt, validator, validationData):
    """(callbacks, the kept-epoch keeper or None, the validation data fit gets): in the order
    that each sees what the ones before it add to an epoch's figures."""
    import keras

    from pyimagesearch.training.callbacks import (
        EpochTimer,
        KeepBest,
        LogLearningRate,
        ProgressBar,
        ValidateWith,
    )
    from pyimagesearch.training.checkpoints import LOG_FILE, make_checkpoint_callback

    stopper = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: setattr(trainer, "stop_training",
                                                 interrupt.requested))
    # the log stays with the run's state until the model is saved beside it
    callbacks = [stopper, EpochTimer(), ProgressBar(args.epochs),
                 # appended to: a resumed run (fit perhaps called twice) goes on with it
                 keras.callbacks.CSVLogger(os.path.join(run.folder, LOG_FILE), append=True)]
    if validator is not None:
        # first, so that the log, the kept epoch and the history all see its figures
        callbacks.insert(0, ValidateWith(validator, validationData))
        validationData = None
    keepBest = None
    if args.validation_split:
        # with pairs of its own to choose on, keep the epoch that did best on them
        keepBest = KeepBest()
        callbacks.append(keepBest)
    if args.tensorboard:
        callbacks[1:1] = [LogLearningRate()]
        callbacks.append(keras.callbacks.TensorBoard(args.tensorboard, write_graph=False))
    # last: it saves what the others have seen of the epoch
    # within an epoch only on one device: each worker's clock would pick other steps
    everySeconds = (args.checkpoint_minutes * 60 if args.strategy != "multiworker" else None)
    callbacks.append(make_checkpoint_callback(run.folder, run.state, trainer, keepBest,
                                              everySeconds))
    return callbacks, keepBest, validationData
