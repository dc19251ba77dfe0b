import json
import os

import numpy as np
import pytest

from pyimagesearch.model_io import (
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


def test_a_failed_export_keeps_the_previous_model(model, tmp_path, monkeypatch):
    path = str(tmp_path / "siamese_model")
    save_model(model, path, metadata={"epochs": 1})

    def half_written_export(filepath, **kwargs):
        os.makedirs(filepath)
        open(os.path.join(filepath, "saved_model.pb"), "wb").close()
        raise OSError("No space left on device")

    monkeypatch.setattr(model, "export", half_written_export)
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
    from pyimagesearch.model_io import update_metadata
    path = str(tmp_path / "m")
    save_model(model, path, metadata={"epochs": 4})
    update_metadata(path, {"rendered_digits": {"accuracy": 0.9}})
    metadata = read_metadata(path)
    assert metadata["epochs"] == 4 and metadata["rendered_digits"] == {"accuracy": 0.9}
    assert sorted(os.listdir(path)).count(METADATA_FILE) == 1
