"""Settings: precedence (overrides > environment > sherlock.toml > defaults) and validation."""

import pytest

from sherlock.config import load_settings, write_settings_file


def one_line(message: str) -> str:
    """A settings error a person can act on: one line, no pydantic boilerplate."""
    assert "\n" not in message and "errors.pydantic.dev" not in message and "validation error" not in message
    return message


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


WEIGHTS_HELP = "three comma-separated non-negative numbers for dense,bm25,tfidf, e.g. 0.6,0.3,0.1"


@pytest.mark.parametrize("weights, message", [
    ("1,2", f"weights: got '1,2'; give {WEIGHTS_HELP}"),
    ("a,b,c", f"weights: got 'a,b,c'; give {WEIGHTS_HELP}"),
    ([0.5, 0.5], f"weights: got 2 number(s) [0.5, 0.5]; give {WEIGHTS_HELP}"),
    ("-1,1,1", f"weights must be finite and >= 0, got (-1.0, 1.0, 1.0); give {WEIGHTS_HELP}"),
    ("0,0,0", "weights are all zero (0.0, 0.0, 0.0); give at least one retriever a positive weight"),
])
def test_bad_weights_say_what_is_valid_in_one_line(tmp_path, weights, message):
    with pytest.raises(ValueError) as error:
        load_settings(home=tmp_path, weights=weights)
    assert one_line(str(error.value)) == message


@pytest.mark.parametrize("text", ["0.5,0.4,0.1", "0.5, 0.4, 0.1", "[0.5, 0.4, 0.1]"])
def test_weights_from_the_environment_as_the_readme_writes_them(tmp_path, monkeypatch, text):
    monkeypatch.setenv("SHERLOCK_WEIGHTS", text)
    assert load_settings(home=tmp_path).weights == (0.5, 0.4, 0.1)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("SHERLOCK_WEIGHTS", "1,2", f"SHERLOCK_WEIGHTS: weights: got '1,2'; give {WEIGHTS_HELP}"),
    ("SHERLOCK_CANDIDATES", "5", "SHERLOCK_CANDIDATES: candidates: input should be greater than or equal to 10, "
                                 "got '5'"),
    ("SHERLOCK_ENTITY_BOOST", "maybe", "SHERLOCK_ENTITY_BOOST: entity_boost: input should be a valid boolean, "
                                      "unable to interpret input, got 'maybe'"),
])
def test_bad_environment_variables_are_named(tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as error:
        load_settings(home=tmp_path)
    assert one_line(str(error.value)) == message


def test_bad_settings_file_values_name_the_file(tmp_path):
    (tmp_path / "sherlock.toml").write_text('weights = [1, 2]\nnorm = "min-max"\n')
    with pytest.raises(ValueError) as error:
        load_settings(home=tmp_path)
    file = tmp_path.resolve() / "sherlock.toml"
    assert one_line(str(error.value)) == (
        f"{file}: weights: got 2 number(s) [1, 2]; give {WEIGHTS_HELP}; "
        f"{file}: norm: unknown normalisation 'min-max'; choose one of: dbsf, minmax, none, rank, zscore")


@pytest.mark.parametrize(("key", "value", "listed"), [
    ("fusion", "borda", "combmnz, dbsf, rrf, wsum"),
    ("norm", "min-max", "dbsf, minmax, none, rank, zscore"),
])
def test_fusion_and_norm_are_checked_against_the_registries(tmp_path, monkeypatch, key, value, listed):
    with pytest.raises(ValueError) as error:
        load_settings(home=tmp_path, **{key: value})
    assert one_line(str(error.value)).startswith(f"{key}: unknown ")
    assert str(error.value).endswith(f"{value!r}; choose one of: {listed}")
    monkeypatch.setenv(f"SHERLOCK_{key.upper()}", value)
    with pytest.raises(ValueError) as error:
        load_settings(home=tmp_path)
    assert one_line(str(error.value)).startswith(f"SHERLOCK_{key.upper()}: {key}: unknown ")


def test_unknown_key_in_settings_file_is_an_error(tmp_path):
    (tmp_path / "sherlock.toml").write_text('colour = "red"\n')
    with pytest.raises(ValueError) as error:
        load_settings(home=tmp_path)
    assert one_line(str(error.value)).startswith(f"{tmp_path.resolve() / 'sherlock.toml'}: unknown setting 'colour'; "
                                                 "valid settings: home, demo, ")


def test_broken_settings_file_names_the_file(tmp_path):
    (tmp_path / "sherlock.toml").write_text("weights = [0.5,\n")
    with pytest.raises(ValueError, match=r"sherlock\.toml"):
        load_settings(home=tmp_path)


def test_gemini_key_is_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "sk-very-secret")
    settings = load_settings(home=tmp_path)
    assert settings.gemini_api_key.get_secret_value() == "sk-very-secret"
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings.model_dump())


def test_credentials_from_the_streamlit_secrets_file(tmp_path, monkeypatch):
    from sherlock.config import load_settings
    monkeypatch.chdir(tmp_path)
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('[auth]\nclient_id = "other app"\n\n[sherlock]\njira_url = "https://acme.atlassian.net"\n'
                       'jira_token = "t0ken"\nwebhook_secret_github = "s3cret"\n')
    settings = load_settings(home=tmp_path / "home")
    assert settings.jira_url == "https://acme.atlassian.net" and settings.jira_token.get_secret_value() == "t0ken"
    assert settings.webhook_secret_github.get_secret_value() == "s3cret" and "t0ken" not in repr(settings)
    monkeypatch.setenv("SHERLOCK_JIRA_URL", "https://other.atlassian.net")  # the environment wins
    assert load_settings(home=tmp_path / "home").jira_url == "https://other.atlassian.net"
    secrets.write_text('[sherlock]\njira_tokn = "typo"\n')
    with pytest.raises(ValueError, match=r"secrets.toml: unknown setting\(s\) jira_tokn in \[sherlock\]"):
        load_settings(home=tmp_path / "home")
