import json
import os

import numpy as np
import pytest

from pyimagesearch.models.model_io import (
    METADATA_FILE,
    ModelError,
    SiameseModel,
    read_metadata,
    save_model,
)
from pyimagesearch.siamese_network import build_pair_model


@pytest.fixture(scope="module")
def model():
    import keras
    keras.utils.set_random_seed(0)
    return build_pair_model((28, 28, 1))


def some_pairs(n=4):
    rng = np.random.default_rng(0)
    return (rng.random((n, 28, 28, 1), dtype=np.float32),
            rng.random((n, 28, 28, 1), dtype=np.float32))


def test_round_trip_gives_the_same_scores_and_metadata(model, tmp_path):
    path = str(tmp_path / "siamese_model")
    save_model(model, path, metadata={"epochs": 3})
    loaded = SiameseModel(path)
    (a, b) = some_pairs()
    np.testing.assert_allclose(loaded.predict(a, b), model.predict([a, b], verbose=0)[:, 0],
                               rtol=1e-5)
    assert loaded.metadata["epochs"] == 3 and loaded.metadata["score"] == "similarity"
    assert sorted(os.listdir(tmp_path)) == ["siamese_model"]


def test_the_endpoints_run_batch_normalisation_in_inference_mode(tmp_path):
    # an image against itself is at distance 0, one batch or another, call after call (at
    # 56x56 small_vgg resamples its features, and Keras then traced the endpoints in
    # training mode)
    import keras
    keras.utils.set_random_seed(1)
    vgg = build_pair_model((56, 56, 1), head=None, architecture="small_vgg")
    path = str(tmp_path / "siamese_model")
    save_model(vgg, path, metadata={"ink": "dark_on_light", "score": "distance",
                                    "threshold": 0.5, "input_shape": [56, 56, 1]})
    loaded = SiameseModel(path)
    rng = np.random.default_rng(0)
    (a, b) = (rng.random((4, 56, 56, 1), dtype=np.float32),
              rng.random((4, 56, 56, 1), dtype=np.float32))
    for _ in range(2):
        np.testing.assert_allclose(loaded.predict(a, a), 0, atol=1e-3)
    embeddings = loaded.embed(np.concatenate([a, b]))
    np.testing.assert_allclose(loaded.predict(a, b),
                               np.linalg.norm(embeddings[:4] - embeddings[4:], axis=1),
                               atol=1e-4)
    np.testing.assert_allclose(loaded.embed(a[:1]), embeddings[:1], atol=1e-5)


def test_a_model_of_dark_ink_on_light_paper_takes_the_images_as_they_are(model, tmp_path):
    # trained on inverted images, it inverts what it is given: its users never do
    path = str(tmp_path / "siamese_model")
    save_model(model, path, metadata={"ink": "dark_on_light"})
    loaded = SiameseModel(path)
    (a, b) = some_pairs()
    np.testing.assert_allclose(loaded.predict(a, b),
                               model.predict([1 - a, 1 - b], verbose=0)[:, 0], rtol=1e-5)
    sister = model.get_layer("sister_network")
    np.testing.assert_allclose(loaded.embed(a), sister.predict(1 - a, verbose=0), rtol=1e-5,
                               atol=1e-6)


def full_disk_error(kind):
    """What a write to a full disk raises: Python's OSError, or TensorFlow's own error (as
    SaveV2 raised it on a full tmpfs)."""
    if kind == "python":
        return OSError(28, "No space left on device")
    import tensorflow as tf
    return tf.errors.ResourceExhaustedError(
        None, None, "{{function_node SaveV2}} model.partial-1/variables/variables_temp/part-0;"
                    " No space left on device [Op:SaveV2]")


@pytest.mark.parametrize("kind", ["python", "tensorflow"])
def test_a_failed_export_keeps_the_previous_model(model, tmp_path, monkeypatch, kind):
    path = str(tmp_path / "siamese_model")
    save_model(model, path, metadata={"epochs": 1})

    def half_written_export(model, filepath, **options):
        os.makedirs(filepath)
        open(os.path.join(filepath, "saved_model.pb"), "wb").close()
        raise full_disk_error(kind)

    import pyimagesearch.models.model_io
    monkeypatch.setattr(pyimagesearch.models.model_io, "export_model", half_written_export)
    with pytest.raises(OSError, match="No space"):
        save_model(model, path, metadata={"epochs": 2})
    assert sorted(os.listdir(tmp_path)) == ["siamese_model"]
    assert SiameseModel(path).metadata["epochs"] == 1


def test_model_without_metadata_gets_the_tutorial_defaults(model, tmp_path):
    path = str(tmp_path / "old_export")
    model.export(path, verbose=False)
    metadata = read_metadata(path)
    assert (metadata["score"], metadata["threshold"]) == ("similarity", 0.5)
    (a, b) = some_pairs(2)
    assert SiameseModel(path).predict(a, b).shape == (2,)


def test_missing_or_broken_model_raises_model_error(tmp_path):
    with pytest.raises(ModelError, match="no model at"):
        SiameseModel(str(tmp_path / "nothing"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "saved_model.pb").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="not a readable siamese SavedModel"):
        SiameseModel(str(tmp_path / "junk"))
    (tmp_path / "junk" / METADATA_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="not readable JSON"):
        read_metadata(str(tmp_path / "junk"))


def test_predict_checks_shapes(model, tmp_path):
    path = str(tmp_path / "m")
    save_model(model, path)
    loaded = SiameseModel(path)
    (a, b) = some_pairs(2)
    with pytest.raises(ValueError, match="differ"):
        loaded.predict(a, b[:1])
    with pytest.raises(ValueError, match="takes images shaped"):
        loaded.predict(a[:, :20], b[:, :20])
    assert json.load(open(os.path.join(path, METADATA_FILE)))["input_shape"] == [28, 28, 1]


def test_predict_in_chunks_matches_one_pass(model, tmp_path):
    path = str(tmp_path / "m")
    save_model(model, path)
    loaded = SiameseModel(path)
    (a, b) = some_pairs(5)
    np.testing.assert_allclose(loaded.predict(a, b, batchSize=2), loaded.predict(a, b),
                               rtol=1e-5)


def test_update_metadata_keeps_the_rest(model, tmp_path):
    from pyimagesearch.models.model_io import update_metadata
    path = str(tmp_path / "m")
    save_model(model, path, metadata={"epochs": 4})
    update_metadata(path, {"rendered_digits": {"accuracy": 0.9}})
    metadata = read_metadata(path)
    assert metadata["epochs"] == 4 and metadata["rendered_digits"] == {"accuracy": 0.9}
    assert sorted(os.listdir(path)).count(METADATA_FILE) == 1


def test_embed_endpoint_gives_the_sister_networks_embeddings(model, tmp_path):
    import tensorflow as tf
    path = str(tmp_path / "m")
    save_model(model, path)
    (a, _) = some_pairs(5)
    loaded = SiameseModel(path)
    embeddings = loaded.embed(a, batchSize=2)
    assert embeddings.shape == (5, 48) and embeddings.dtype == np.float32
    expected = model.get_layer("sister_network").predict(a, verbose=0)
    np.testing.assert_allclose(embeddings, expected, rtol=1e-5, atol=1e-6)
    # the endpoint as a user calls it, straight from TensorFlow
    raw = tf.saved_model.load(path)
    np.testing.assert_allclose(raw.embed(a).numpy(), embeddings, rtol=1e-5, atol=1e-6)
    assert set(raw.signatures) >= {"serve", "embed"}
    with pytest.raises(ValueError, match="takes images shaped"):
        loaded.embed(a[:, :20])


def test_a_model_without_the_embed_endpoint_says_how_to_add_it(model, tmp_path):
    path = str(tmp_path / "old_export")
    model.export(path, verbose=False)
    with pytest.raises(ModelError, match="upgrade_model.py"):
        SiameseModel(path).embed(some_pairs(1)[0])


def test_input_shape_comes_from_the_savedmodel(model, tmp_path):
    path = str(tmp_path / "m")
    save_model(model, path)
    loaded = SiameseModel(path)
    assert loaded.input_shape == (28, 28, 1) and loaded.input_dtype == np.float32
    from pyimagesearch.models.model_io import update_metadata
    update_metadata(path, {"input_shape": [32, 32, 1]})
    with pytest.raises(ModelError, match=r"metadata.json: field 'input_shape' says \[32, 32, "
                                         r"1\] but the SavedModel takes \[28, 28, 1\]"):
        SiameseModel(path)


@pytest.mark.parametrize("field, value", [
    ("input_shape", "abc"), ("input_shape", [28, 28]), ("input_shape", [28, -1, 1]),
    ("input_shape", [28.5, 28, 1]), ("threshold", "high"), ("threshold", float("nan")),
    ("threshold", 1.5), ("score", "probability"), ("loss", "hinge"), ("margin", -1),
    ("threshold", True)])
def test_wrong_metadata_fields_are_named(model, tmp_path, field, value):
    path = str(tmp_path / "m")
    save_model(model, path)
    metadata = json.load(open(os.path.join(path, METADATA_FILE)))
    metadata[field] = value
    with open(os.path.join(path, METADATA_FILE), "w") as f:
        json.dump(metadata, f)
    with pytest.raises(ModelError, match=f"metadata.json: field '{field}'"):
        read_metadata(path)


def test_a_distance_threshold_may_exceed_one():
    from pyimagesearch.models.model_io import DEFAULT_METADATA, check_metadata, check_threshold
    check_metadata({**DEFAULT_METADATA, "score": "distance", "loss": "contrastive",
                    "threshold": 1.7, "margin": 2.0})
    for (value, kind) in ((float("nan"), "similarity"), (float("inf"), "distance"),
                          (-0.1, "distance"), (1.01, "similarity")):
        with pytest.raises(ValueError, match="--threshold"):
            check_threshold(value, kind)


def test_saves_racing_for_one_path_leave_one_whole_model(model, tmp_path, monkeypatch):
    # the second save finds the path taken between the first one's two renames
    import pyimagesearch.models.model_io as model_io
    path = str(tmp_path / "siamese_model")
    save_model(model, path, metadata={"epochs": 1})
    realRename = os.rename
    raced = []

    def rename(source, target):
        if target == path and not raced:
            raced.append(True)
            save_model(model, path, metadata={"epochs": 2})
        return realRename(source, target)

    monkeypatch.setattr(model_io.os, "rename", rename)
    save_model(model, path, metadata={"epochs": 3})
    assert sorted(os.listdir(tmp_path)) == ["siamese_model"]
    assert SiameseModel(path).metadata["epochs"] == 3


def test_a_save_killed_between_its_renames_is_undone_on_the_next_start(model, tmp_path):
    path = str(tmp_path / "siamese_model")
    save_model(model, path, metadata={"epochs": 1})
    # what a kill between the two renames leaves: the old model aside, the new one partial,
    # both of a process that is gone
    gone = 2 ** 22 + 17
    os.rename(path, f"{path}.old-{gone}-0a0a0a0a")
    os.makedirs(f"{path}.partial-{gone}-0b0b0b0b")
    assert SiameseModel(path).metadata["epochs"] == 1
    assert sorted(os.listdir(tmp_path)) == ["siamese_model"]


def test_leftovers_of_a_live_save_are_left_alone(model, tmp_path):
    path = str(tmp_path / "siamese_model")
    save_model(model, path, metadata={"epochs": 1})
    mine = f"{path}.partial-{os.getpid()}-0c0c0c0c"
    os.makedirs(mine)
    save_model(model, path, metadata={"epochs": 2})
    assert os.path.isdir(mine) and SiameseModel(path).metadata["epochs"] == 2


def test_a_folder_the_project_did_not_write_is_never_replaced(model, tmp_path):
    path = tmp_path / "siamese_model"
    path.mkdir()
    (path / "my_notes.txt").write_text("mine")
    with pytest.raises(ModelError, match="is not a saved siamese model"):
        save_model(model, str(path), metadata={"epochs": 1})
    assert sorted(os.listdir(path)) == ["my_notes.txt"]


def _bfloat16_ops(function):
    """The ops of a traced function (and the functions it calls) that compute in bfloat16."""
    import tensorflow as tf

    graph = function.graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    return sorted({n.op for n in nodes
                   if "T" in n.attr and n.attr["T"].type == tf.bfloat16.as_datatype_enum})


def test_a_model_trained_in_mixed_bfloat16_is_exported_computing_in_float32(tmp_path):
    # hardware without bfloat16 (most laptops) would otherwise run the saved graph slowly
    # or, on some, not at all
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(2)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        vgg = build_pair_model((28, 28, 1), head=None, architecture="small_vgg")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    path = str(tmp_path / "siamese_model")
    save_model(vgg, path, metadata={"score": "distance", "threshold": 0.5})
    saved = tf.saved_model.load(path)
    for name in ("serve", "embed", "score_embeddings"):
        assert _bfloat16_ops(saved.signatures[name]) == [], name
    # the model itself still trains as it did
    conv = next(layer for layer in vgg._flatten_layers() if "conv" in layer.name)
    assert conv.dtype_policy.name == "mixed_bfloat16"
    (a, b) = some_pairs()
    loaded = SiameseModel(path)
    embeddings = loaded.embed(np.concatenate([a, b]))
    assert embeddings.dtype == np.float32
    np.testing.assert_allclose(loaded.predict(a, b),
                               np.linalg.norm(embeddings[:4] - embeddings[4:], axis=1),
                               atol=1e-5)
    # what the same weights compute in float32
    keras.utils.set_random_seed(2)
    twin = build_pair_model((28, 28, 1), head=None, architecture="small_vgg")
    twin.set_weights(vgg.get_weights())
    np.testing.assert_allclose(embeddings[:4], twin.get_layer("sister_network")(a), atol=1e-5)
