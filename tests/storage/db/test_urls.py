"""Store URLs: the forms accepted, the psycopg 3 driver they open with, and passwords that never reach a message."""

from __future__ import annotations

import pytest

from sherlock.config import load_settings
from sherlock.storage.db.urls import location, redact, scrub, sqlite_url, store_url


@pytest.mark.parametrize(("given", "opened"), [
    ("postgresql://sherlock:s3cret@db.internal:5433/sherlock",
     "postgresql+psycopg://sherlock:s3cret@db.internal:5433/sherlock"),
    ("postgres://sherlock:s3cret@db.internal/sherlock", "postgresql+psycopg://sherlock:s3cret@db.internal/sherlock"),
    ("postgresql+psycopg://sherlock@localhost/sherlock?sslmode=require",
     "postgresql+psycopg://sherlock@localhost/sherlock?sslmode=require"),
    ("  sqlite:////srv/sherlock/store.sqlite ", "sqlite:////srv/sherlock/store.sqlite"),
])
def test_accepted_urls_open_with_psycopg_3_or_sqlite(given, opened):
    assert store_url(given).render_as_string(hide_password=False) == opened


@pytest.mark.parametrize(("given", "says"), [
    ("mysql://root:s3cret@db/sherlock", "Sherlock cannot store its records in 'mysql'; use PostgreSQL"),
    ("postgresql+psycopg2://root:s3cret@db/sherlock", "cannot store its records in 'postgresql+psycopg2'"),
    ("host=db.internal user=root password=s3cret", "store_url is not a database URL; write one like "
                                                   "postgresql://"),
    ("sqlite://", "an in-memory SQLite database is lost when the process ends; name a file"),
])
def test_other_urls_are_refused_saying_what_to_write_without_the_password(given, says):
    with pytest.raises(ValueError) as refused:
        store_url(given)
    assert says in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_a_password_is_redacted_in_every_form():
    url = store_url("postgresql://sherlock:p%40ss:word@db.internal/sherlock")
    assert url.password == "p@ss:word"
    assert redact(url) == "postgresql+psycopg://sherlock:***@db.internal/sherlock"
    assert redact("postgresql://sherlock:p@ss@db.internal/x") == "postgresql://sherlock:***@db.internal/x"
    assert scrub("login as sherlock with p@ss:word refused", url) == "login as sherlock with *** refused"


@pytest.mark.parametrize(("given", "where"), [
    ("postgresql://u:p@db.internal/s", "db.internal:5432"),
    ("postgresql://u:p@10.0.0.7:6543/s", "10.0.0.7:6543"),
    ("postgresql:///sherlock?host=/var/run/postgresql", "/var/run/postgresql:5432"),
    ("postgresql:///sherlock", "localhost:5432"),
])
def test_the_location_is_host_and_port(given, where):
    assert location(store_url(given)) == where


def test_a_sqlite_file_is_located_by_its_path(tmp_path):
    assert location(sqlite_url(tmp_path / "sync.sqlite")) == str(tmp_path / "sync.sqlite")


def test_the_setting_is_validated_and_never_shown_with_its_password(tmp_path, monkeypatch):
    monkeypatch.setenv("SHERLOCK_STORE_URL", "mysql://root:s3cret@db/sherlock")
    with pytest.raises(ValueError) as refused:
        load_settings(tmp_path)
    message = str(refused.value)
    assert message.startswith("SHERLOCK_STORE_URL: store_url 'mysql://root:***@db/sherlock': Sherlock cannot "
                              "store its records in 'mysql'; use PostgreSQL")
    assert "s3cret" not in message

    monkeypatch.setenv("SHERLOCK_STORE_URL", "postgresql://sherlock:s3cret@db.internal/sherlock")
    settings = load_settings(tmp_path)
    assert settings.store_url == "postgresql://sherlock:s3cret@db.internal/sherlock"
    assert "s3cret" not in repr(settings) and "store_url" not in repr(settings)


def test_an_empty_setting_means_the_sqlite_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SHERLOCK_STORE_URL", "")
    assert load_settings(tmp_path).store_url is None
