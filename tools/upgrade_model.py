"""Re-export a saved siamese model with the `embed` and `score_embeddings` endpoints (models
saved before they existed).

    python -m tools.upgrade_model output/siamese_model output/contrastive_siamese_model

The model is rebuilt from its metadata (architecture, head, precision), given the saved
weights, checked to score pairs exactly as the saved one does, and written back in place
(the old model stays until the new one is complete). Same weights, same scores.
"""
import argparse

import numpy as np

from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run


def upgrade(modelPath):
    """Re-export the model at modelPath with every endpoint; returns False if it had them."""
    import keras

    from pyimagesearch.models.model_io import ModelError, SiameseModel, save_model
    from pyimagesearch.models.recipes import loss_named
    from pyimagesearch.siamese_network import build_pair_model
    from pyimagesearch.training.checkpoints import FLAGS_BEFORE

    saved = SiameseModel(modelPath)
    if saved.has_embed and saved.has_score_embeddings:
        return False
    metadata = saved.metadata
    keras.mixed_precision.set_global_policy(metadata.get("precision", "float32"))
    # a model made before --embedding-dim was recorded has the length of runs before the flag
    embeddingDim = metadata.get("embedding_dim", FLAGS_BEFORE["embedding_dim"])
    model = build_pair_model(saved.input_shape, embeddingDim,
                             head=loss_named(metadata["loss"]).head,
                             unitEmbeddings=loss_named(metadata["loss"]).unit_embeddings,
                             architecture=metadata.get("architecture", "tutorial"))
    # the export lists the variables in the model's own order (then, where it has the embed
    # endpoint, the sister network's again)
    variables = saved.variables[:len(model.variables)]
    if [tuple(v.shape) for v in variables] != [tuple(v.shape) for v in model.variables]:
        raise ModelError(f"{modelPath}: its weights do not fit the network its metadata.json "
                         f"describes")
    for (target, source) in zip(model.variables, variables):
        target.assign(source)
    rng = np.random.default_rng(0)
    (a, b) = (rng.random((64, *saved.input_shape), dtype=np.float32) for _ in range(2))
    expected = saved.predict(a, b)
    # a model of dark ink on light paper is given its images inverted by its endpoints
    seen = (lambda images: 1.0 - images) if metadata.get("ink") == "dark_on_light" \
        else (lambda images: images)
    got = model.predict([seen(a), seen(b)], verbose=0).reshape(-1)
    if not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
        raise ModelError(f"{modelPath}: the rebuilt model does not score as the saved one")
    save_model(model, modelPath, metadata)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", metavar="MODEL", help="saved model directories")
    add_verbose_argument(ap)
    args = ap.parse_args()
    quiet_tensorflow(args.verbose)
    for modelPath in args.models:
        done = upgrade(modelPath)
        print(f"[INFO] {modelPath}: " + ("re-exported with the embed and score_embeddings "
                                         "endpoints" if done else "already has every endpoint"))


if __name__ == "__main__":
    run(main)
