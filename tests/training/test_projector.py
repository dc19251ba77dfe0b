"""--tensorboard: the training curves as TensorBoard's event files, and the embeddings for
its projector."""
import glob
import os

from conftest import run_script


def scalar_tags(folder):
    import tensorflow as tf

    tags = set()
    for path in glob.glob(os.path.join(folder, "**", "events.out.tfevents.*"), recursive=True):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            tags |= {value.tag for value in event.summary.value}
    return tags


def test_tensorboard_gets_the_curves_and_the_projector(tiny_npz, tmp_path):
    logs = tmp_path / "logs"
    result = run_script("train_siamese_network.py", "--dataset", tiny_npz, "--epochs", 1,
                        "--seed", 1, "--output", tmp_path / "out", "--tensorboard", logs)
    assert result.returncode == 0, result.stdout + result.stderr
    tags = scalar_tags(str(logs))
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= tags, tags
    projector = logs / "projector"
    config = (projector / "projector_config.pbtxt").read_text()
    assert 'metadata_path: "metadata.tsv"' in config and "single_image_dim: 28" in config
    labels = (projector / "metadata.tsv").read_text().split()
    assert len(labels) > 10 and set(labels) <= {str(d) for d in range(10)}
    assert (projector / "sprite.png").stat().st_size > 0
    # TensorBoard's projector reads only the folders that hold an event file
    assert list(projector.glob("events.out.tfevents.*"))
    assert os.path.exists(projector / "checkpoint")
    assert "for TensorBoard's projector" in result.stdout
