"""Settings: precedence (overrides > environment > sherlock.toml > defaults) and validation."""

import pytest
from pydantic import ValidationError

from sherlock.config import load_settings, write_settings_file


def test_defaults(tmp_path, monkeypatch):
    for key in ("SHERLOCK_WEIGHTS", "SHERLOCK_FUSION"):
        monkeypatch.delenv(key, raising=False)
    settings = load_settings(home=tmp_path)
    assert settings.weights == (0.6, 0.3, 0.1) and settings.fusion == "wsum" and settings.norm == "minmax"
    assert settings.home == tmp_path.resolve()
    assert settings.tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert settings.store_path.parent == settings.chroma_path.parent == tmp_path.resolve()


def test_file_then_environment_then_overrides(tmp_path, monkeypatch):
    write_settings_file(tmp_path, {"weights": [0.5, 0.4, 0.1], "fusion": "rrf", "candidates": 50})
    assert load_settings(home=tmp_path).weights == (0.5, 0.4, 0.1)
    monkeypatch.setenv("SHERLOCK_FUSION", "combmnz")
    settings = load_settings(home=tmp_path)
    assert settings.fusion == "combmnz" and settings.candidates == 50
    assert load_settings(home=tmp_path, fusion="dbsf", weights=None).fusion == "dbsf"


def test_home_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SHERLOCK_HOME", str(tmp_path / "elsewhere"))
    assert load_settings().home == (tmp_path / "elsewhere").resolve()


@pytest.mark.parametrize("weights, message", [("0.5,0.5", "three numbers"), ("-1,1,1", "finite and >= 0"),
                                              ("0,0,0", "all zero")])
def test_bad_weights(tmp_path, weights, message):
    with pytest.raises(ValidationError, match=message):
        load_settings(home=tmp_path, weights=weights)


@pytest.mark.parametrize(("key", "value", "listed"), [
    ("fusion", "borda", "combmnz, dbsf, rrf, wsum"),
    ("norm", "min-max", "dbsf, minmax, none, rank, zscore"),
])
def test_fusion_and_norm_are_checked_against_the_registries(tmp_path, monkeypatch, key, value, listed):
    with pytest.raises(ValidationError, match=f"unknown .*{value!r}; choose one of: {listed}"):
        load_settings(home=tmp_path, **{key: value})
    monkeypatch.setenv(f"SHERLOCK_{key.upper()}", value)
    with pytest.raises(ValidationError, match=f"choose one of: {listed}"):
        load_settings(home=tmp_path)


def test_unknown_key_in_settings_file_is_an_error(tmp_path):
    (tmp_path / "sherlock.toml").write_text('colour = "red"\n')
    with pytest.raises(ValidationError, match="colour"):
        load_settings(home=tmp_path)


def test_broken_settings_file_names_the_file(tmp_path):
    (tmp_path / "sherlock.toml").write_text("weights = [0.5,\n")
    with pytest.raises(ValueError, match=r"sherlock\.toml"):
        load_settings(home=tmp_path)


def test_gemini_key_is_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "sk-very-secret")
    settings = load_settings(home=tmp_path)
    assert settings.gemini_api_key.get_secret_value() == "sk-very-secret"
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings.model_dump())
