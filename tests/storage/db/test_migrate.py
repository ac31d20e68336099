"""The packaged Alembic migrations on both backends: they create exactly the declared tables, an upgrade is idempotent,
concurrent upgrades migrate once, and an outdated store is refused with a message that says what to run."""

from __future__ import annotations

import shutil
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from sherlock.storage.db import migrate
from sherlock.storage.db.engine import open_url
from sherlock.storage.db.migrate import (
    SchemaOutdatedError,
    check_schema,
    head_revision,
    schema_status,
    upgrade,
)
from sherlock.storage.db.tables import METADATA

#: The tables of the store of record (and their indexes, by backend), as the SQLite stores had them.
TABLES = {"incidents", "meta", "deleted", "feedback", "pair_feedback", "tokens", "sync_state", "queries",
          "settings_versions", "audit"}
INDEXES = {
    "incidents": {"incidents_fingerprint", "incidents_revision", "incidents_service", "incidents_severity",
                  "incidents_category", "incidents_status", "incidents_created_date"},
    "deleted": {"deleted_revision"},
    "feedback": {"feedback_query_key"},
    "pair_feedback": {"pair_feedback_pair"},
    "audit": {"audit_at"},
}
CASE_FOLDED_ID_INDEX = {"sqlite": "incidents_id_nocase", "postgresql": "incidents_id_lower"}

#: A second migration, as a later Sherlock would ship it: a nullable column (batch mode makes it work on SQLite).
SECOND_MIGRATION = '''
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(sa.Column("note", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("note")
'''


@pytest.fixture
def engine(backend_url):
    engine = open_url(backend_url)
    yield engine
    engine.dispose()


def test_the_packaged_head_is_the_filter_indexes_migration():
    assert head_revision() == "0002"
    assert (migrate.MIGRATIONS / "env.py").is_file() and (migrate.MIGRATIONS / "script.py.mako").is_file()


def test_the_migration_creates_every_table_and_index(engine):
    assert upgrade(engine) == (None, "0002")
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == TABLES | {"alembic_version"}
    assert TABLES == set(METADATA.tables)
    for table in TABLES:
        expected = INDEXES.get(table, set())
        if table == "incidents":
            expected = expected | {CASE_FOLDED_ID_INDEX[engine.dialect.name]}
        indexes = {index["name"] for index in inspector.get_indexes(table) if not index.get("duplicates_constraint")}
        assert indexes == expected, table  # (PostgreSQL also lists the index behind a unique constraint)
    assert [c["name"] for c in inspector.get_unique_constraints("tokens")] == ["tokens_hash_key"]
    assert inspector.get_pk_constraint("queries")["constrained_columns"] == ["id"]


# SQLite cannot reflect PostgreSQL's lower(id) index: Alembic says so before include_object leaves it out
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_the_migrations_build_exactly_the_declared_tables(engine):
    """Alembic's own autogenerate comparison finds nothing to add, drop or change: tables.py and the migrations
    describe one schema (a new migration must change both)."""
    upgrade(engine)
    other_backends_index = {name for dialect, name in CASE_FOLDED_ID_INDEX.items() if dialect != engine.dialect.name}

    def on_this_backend(item, name, kind, reflected, compare_to):
        return not (kind == "index" and name in other_backends_index)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_object": on_this_backend})
        differences = compare_metadata(context, METADATA)
    assert differences == []


def test_upgrading_twice_is_a_no_op(engine):
    assert upgrade(engine) == (None, "0002")
    before = columns(engine)
    assert upgrade(engine) == ("0002", "0002")
    assert columns(engine) == before
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0002"]


def columns(engine) -> dict[str, list[tuple[str, str, bool, str | None]]]:
    """Every table's columns as the database describes them: name, type, nullable, default."""
    inspector = inspect(engine)
    return {table: [(column["name"], str(column["type"]), column["nullable"], column["default"])
                    for column in inspector.get_columns(table)] for table in TABLES}


def test_two_upgrades_at_once_migrate_once(backend_url):
    """Two engines (two processes' worth of connections) upgrading the same empty store together: the migration
    lock makes one wait for the other, which then finds nothing to do."""
    engines = [open_url(backend_url), open_url(backend_url)]
    results: list[tuple[str | None, str]] = []
    errors: list[BaseException] = []

    def run(engine):
        try:
            results.append(upgrade(engine))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert sorted(results, key=str) == [("0002", "0002"), (None, "0002")]


def test_an_empty_store_is_refused_until_upgraded(engine):
    status = schema_status(engine)
    assert (status.current, status.head, status.outdated) == (None, "0002", True)
    with pytest.raises(SchemaOutdatedError) as refused:
        check_schema(engine)
    assert str(refused.value) == (f"the store at {status.store} has no Sherlock tables yet (schema revision none); "
                                  "this Sherlock needs 0002: run `sherlock db upgrade`")
    upgrade(engine)
    assert check_schema(engine).current == "0002"


def test_an_older_schema_is_refused_and_upgraded_by_a_later_migration(engine, tmp_path, monkeypatch):
    """A store at 0002 opened by a Sherlock that ships 0003 (a copy of the packaged migrations plus one more)."""
    upgrade(engine)
    shipped = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, shipped, ignore=shutil.ignore_patterns("__pycache__"))
    (shipped / "versions" / "0003_sync_note.py").write_text(SECOND_MIGRATION)
    monkeypatch.setattr(migrate, "MIGRATIONS", shipped)

    with pytest.raises(SchemaOutdatedError) as refused:
        check_schema(engine)
    assert str(refused.value) == (f"the store at {schema_status(engine).store} is at schema revision 0002; this "
                                  "Sherlock needs 0003: run `sherlock db upgrade`")
    assert upgrade(engine) == ("0002", "0003")
    assert "note" in {column["name"] for column in inspect(engine).get_columns("sync_state")}
    assert check_schema(engine).current == "0003"


def test_a_store_migrated_by_a_newer_sherlock_is_refused(engine):
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(SchemaOutdatedError, match=r"revision 0099, which this Sherlock does not know .*needs 0002\): "
                                                  r"upgrade Sherlock"):
        check_schema(engine)


@pytest.mark.postgres
def test_the_status_names_the_store_without_its_password(postgres_url):
    with_password = postgres_url.replace("postgres@", "postgres:hunter2@")  # trust auth ignores it
    engine = open_url(with_password)
    try:
        status = schema_status(engine)
        with pytest.raises(SchemaOutdatedError) as refused:
            check_schema(engine)
    finally:
        engine.dispose()
    assert status.store == postgres_url.replace("postgres@", "postgres:***@")
    assert "hunter2" not in str(refused.value) and "postgres:***@127.0.0.1" in str(refused.value)
