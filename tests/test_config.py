import os

from pyimagesearch import config
from pyimagesearch.models.recipes import output_paths


def test_tutorial_constants():
    assert config.IMG_SHAPE == (28, 28, 1)
    assert (config.BATCH_SIZE, config.EPOCHS) == (64, 100)
    assert config.MODEL_PATH == os.path.join("output", "siamese_model")
    assert config.PLOT_PATH == os.path.join("output", "plot.png")


def test_output_paths_follow_the_base_folder():
    (model, plot, log, roc, embeddings) = output_paths("runs/a")
    assert model == os.path.join("runs/a", "siamese_model")
    assert plot == os.path.join("runs/a", "plot.png")
    assert log == os.path.join("runs/a", "training_log.csv")
    assert roc == os.path.join("runs/a", "roc.png")
    assert embeddings == os.path.join("runs/a", "embeddings.png")
    assert output_paths() == (config.MODEL_PATH, config.PLOT_PATH, config.LOG_PATH,
                                      config.ROC_PATH, config.EMBEDDINGS_PATH)


def test_contrastive_model_has_its_own_files():
    (model, plot, _, roc, embeddings) = output_paths(loss="contrastive")
    assert (model, plot) == (config.CONTRASTIVE_MODEL_PATH, config.CONTRASTIVE_PLOT_PATH)
    assert roc == os.path.join("output", "contrastive_roc.png")
    assert embeddings == os.path.join("output", "contrastive_embeddings.png")


def test_other_architectures_have_their_own_files():
    (model, plot, log, roc, _) = output_paths(architecture="small_vgg")
    assert (model, plot) == (config.SMALL_VGG_MODEL_PATH, config.SMALL_VGG_PLOT_PATH)
    assert log == os.path.join("output", "small_vgg_training_log.csv")
    assert roc == os.path.join("output", "small_vgg_roc.png")
    (model, *_) = output_paths("runs", "contrastive", "small_vgg")
    assert model == os.path.join("runs", "small_vgg_contrastive_siamese_model")

