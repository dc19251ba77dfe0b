"""The training script's last stages: measure the model on its validation (and test) pairs,
save it with its metadata.json, and plot what it learned."""
from pyimagesearch.models.recipes import loss_named


def evaluate(model, data, pairs, args):
    """Measure the model on the validation pairs (and, with a held-out split, on the test
    pairs); returns (the validation evaluation, where the threshold was chosen). The
    tutorial's similarity model keeps its 0.5, the others work at the threshold that is most
    accurate on the validation pairs."""
    from pyimagesearch.data.pairs import make_pair_indices, score_pairs
    from pyimagesearch.search.evaluation import choose_threshold, describe, evaluate_pairs, summary

    print("[INFO] evaluating siamese model...")
    loss = loss_named(args.loss)

    def score(images, pairIdx):
        # batch by batch through the model rather than predict, which under a tf.distribute
        # strategy would split the pairs across the workers
        return score_pairs(lambda a, b: model([a, b], training=False), images, pairIdx)

    (pairVal, labelVal) = pairs.validation
    evaluation = choose_threshold(score(data.validation[0], pairVal), labelVal, loss.score,
                                  loss.default_threshold(args.margin),
                                  loss.choose_threshold or bool(args.validation_split))
    print(f"[INFO] validation pairs: {describe(evaluation)}")
    choice = {"threshold_chosen_on": "test pairs (the tutorial's validation data)"}
    (testX, testY) = data.test
    if args.validation_split and testX is not None:
        (pairTest, labelTest) = make_pair_indices(testY, data.rng)
        testEvaluation = evaluate_pairs(score(testX, pairTest), labelTest, loss.score,
                                        evaluation["threshold"])
        print(f"[INFO] test pairs: {describe(testEvaluation)}")
        choice = {"test": summary(testEvaluation)}
    if args.validation_split:
        choice["threshold_chosen_on"] = (f"validation split: {len(data.validation[1])} "
                                         f"training images ({args.validation_split:g}), "
                                         f"seed {args.seed}")
    if data.kind == "faces":
        choice["open_set_threshold"] = open_set_on_validation(model, data)
    return evaluation, choice


def open_set_on_validation(model, data):
    """For a face model: the distance from which a face is "unknown", calibrated on the
    validation photos of the people it trained on as a gallery's is on the gallery
    (pyimagesearch.search.index.calibrate_gallery: 90% of the faces of people left out
    rejected). A gallery of one photo a person has no distances of its own to choose by."""
    import numpy as np

    from pyimagesearch.data.pairs import embed_images
    from pyimagesearch.search.index import calibrate_gallery

    (images, labels) = data.validation
    sister = model.get_layer("sister_network")
    embeddings = embed_images(lambda batch: sister(batch, training=False), images,
                              np.arange(len(labels)))
    calibrated = calibrate_gallery(embeddings, labels)
    if calibrated is None:
        return None
    print(f"[INFO] open set: a face is unknown from distance {calibrated[0]:.4f} (calibrated "
          f"on the validation photos)")
    return calibrated[0]


def model_metadata(args, data, evaluation, choice, precision, augmentation, epochsRun,
                   epochKept):
    """What the test script and the tools need to read the model's output, and how it was
    trained (metadata.json)."""
    import keras
    import tensorflow as tf

    from pyimagesearch.search.evaluation import summary

    loss = loss_named(args.loss)
    return {
        "loss": args.loss, "score": loss.score, "threshold": evaluation["threshold"],
        "margin": args.margin if loss.margin is not None else None, "mining": args.mining,
        "input_shape": list(data.input_shape), "color_mode": args.color_mode,
        "class_names": data.class_names, "classes": args.classes,
        "dataset": args.sources[0] if len(args.sources) == 1 else args.sources,
        "epochs": epochsRun,
        "epoch_kept": epochKept, "batch_size": args.batch_size,
        "resample_pairs": args.resample_pairs,
        "pairs": args.pairs if loss.sampler == "pairs" else None,
        "rotated_classes": args.rotated_classes,
        "architecture": args.architecture, "embedding_dim": args.embedding_dim,
        "augment": args.augment, "augmentation": augmentation, "images": data.kind,
        "ink": data.ink, **face_record(data.kind),
        "learning_rate": args.learning_rate, "schedule": args.schedule,
        "weight_decay": args.weight_decay, "validation_split": args.validation_split,
        **choice, "seed": args.seed, "precision": precision, "strategy": args.strategy,
        "validation": summary(evaluation),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}


def save(model, modelPath, metadata, run, logPath):
    """Serialize the model to disk, with its metadata.json, then put the run's log beside
    it; a finished run's state goes, an interrupted one's stays for --resume."""
    from pyimagesearch.models.model_io import save_model
    from pyimagesearch.training.checkpoints import finish

    print("[INFO] saving siamese model...")
    save_model(model, modelPath, metadata)
    finish(run.folder, logPath, done=metadata["epochs"] >= run.state["recipe"]["epochs"])


def plot(model, history, evaluation, data, args, paths):
    """Plot the training history, the ROC curve and what the network learned: the validation
    images' embeddings, 200 of each class at most."""
    import numpy as np

    from pyimagesearch.data.pairs import embed_images
    from pyimagesearch.data.samplers import sample_per_class
    from pyimagesearch.plotting import plot_embeddings, plot_roc
    from pyimagesearch.utils import plot_training

    (_, plotPath, _, rocPath, embeddingsPath) = paths
    print("[INFO] plotting training history...")
    plot_training(history, plotPath)
    plot_roc(evaluation, rocPath)
    (valX, valY) = data.validation
    shown = sample_per_class(valY, 200 * len(np.unique(valY)), seed=args.seed or 0)
    if len(shown) < 3:
        print(f"[INFO] {len(shown)} validation images are too few to draw their embeddings")
        return
    sister = model.get_layer("sister_network")
    embeddings = embed_images(lambda batch: sister(batch, training=False), valX, shown)
    plot_embeddings(embeddings, valY[shown], embeddingsPath, classNames=data.class_names)
    if args.tensorboard:
        from pyimagesearch.data.pairs import load_images
        from pyimagesearch.training.projector import write_projector

        folder = write_projector(args.tensorboard, embeddings, valY[shown],
                                 load_images(valX, shown), data.class_names)
        print(f"[INFO] wrote the embeddings of {len(shown)} validation images for "
              f"TensorBoard's projector to {folder}")


def face_record(kind):
    """What a face model records of the detector that found its faces (its file and sha256):
    every script reads photos for it through the same one."""
    if kind != "faces":
        return {}
    from pyimagesearch.faces.detection import detector_record

    return {"face_detector": detector_record()}
