import os

from pyimagesearch import config


def test_tutorial_constants():
    assert config.IMG_SHAPE == (28, 28, 1)
    assert (config.BATCH_SIZE, config.EPOCHS) == (64, 100)
    assert config.MODEL_PATH == os.path.join("output", "siamese_model")
    assert config.PLOT_PATH == os.path.join("output", "plot.png")


def test_output_paths_follow_the_base_folder():
    (model, plot, log) = config.output_paths("runs/a")
    assert model == os.path.join("runs/a", "siamese_model")
    assert plot == os.path.join("runs/a", "plot.png")
    assert log == os.path.join("runs/a", "training_log.csv")
    assert config.output_paths()[:2] == (config.MODEL_PATH, config.PLOT_PATH)
