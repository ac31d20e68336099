"""The store of record (upserts, revisions, case-insensitive ids, filters, concurrent readers) on both backends — a
SQLite file and a real PostgreSQL server — and the SQLite file helper the embedding cache uses."""

import threading
from datetime import date

import pytest

from sherlock.config import Settings
from sherlock.schema import Incident
from sherlock.storage.sqlite import SQLiteFile
from sherlock.storage.store import Filters, Store, fold_filter_value, suggest_values

INCIDENTS = [
    Incident(id="INC-1", title="UPI timeout", service="upi-switch", severity="SEV1", tags=["UPI", "Timeout"],
             created_at="2024-01-10"),
    Incident(id="INC-2", title="Refund failed", service="refunds-api", severity="SEV3", tags=["refund"],
             created_at="2024-03-05T10:00:00+05:30"),
    Incident(id="INC-3", title="Pod OOMKilled", service="k8s-platform", severity="SEV2", category="infra",
             created_at="2024-06-30"),
]


@pytest.fixture
def empty_store(migrated_url, tmp_path):
    """An empty store on each backend: a SQLite file, or a PostgreSQL database."""
    store = Store(tmp_path / "unused.sqlite", Settings(home=tmp_path / "home", store_url=migrated_url))
    yield store
    store.close()


@pytest.fixture
def store(empty_store):
    empty_store.upsert(INCIDENTS)
    return empty_store


def test_revision_moves_only_on_change(store):
    assert store.revision() == 1
    assert not store.upsert(INCIDENTS).changed and store.revision() == 1
    changed = store.upsert([INCIDENTS[0].model_copy(update={"title": "UPI timeouts"})])
    assert changed.updated == ["INC-1"] and store.revision() == 2


def test_get_is_case_insensitive_and_returns_the_stored_record(store):
    assert store.get("inc-2").id == "INC-2"
    assert store.get("INC-9") is None
    assert store.get_many(["INC-3", "INC-1", "nope"]).keys() == {"INC-1", "INC-3"}


@pytest.mark.parametrize("items, expected", [
    (["service=upi-switch"], {"INC-1"}),
    (["severity=sev1,SEV2"], {"INC-1", "INC-3"}),
    (["tag=timeout"], {"INC-1"}),
    (["tags=refund,UPI"], {"INC-1", "INC-2"}),
    (["from=2024-03-01"], {"INC-2", "INC-3"}),
    (["from=2024-03-01", "to=2024-03-31"], {"INC-2"}),
    (["category=infra", "severity=SEV2"], {"INC-3"}),
    (["service=nothing"], set()),
    # case never matters; for the labels (tags, categories) a plural "s" does not either
    (["service=UPI-Switch"], {"INC-1"}),
    (["tag=Refunds"], {"INC-2"}),
    (["tag=timeouts,nothing"], {"INC-1"}),
    (["category=Infras"], {"INC-3"}),
    # services name one thing: a near miss is not a match
    (["service=refund-api"], set()),
    (["service=upi-switches"], set()),
])
def test_filters(store, items, expected):
    assert store.filter_ids(Filters.parse(items)) == expected


@pytest.mark.parametrize("key, value, folded", [
    ("tag", " Refunds ", "refund"), ("tag", "k8s", "k8s"), ("tag", "loss", "loss"), ("category", "Cards", "card"),
    ("service", "Refunds-API", "refunds-api"), ("severity", "sev1", "sev1"),
])
def test_fold_filter_value(key, value, folded):
    assert fold_filter_value(key, value) == folded


def test_suggest_values_closest_first():
    services = ["upi-switch", "refunds-api", "payments-api", "card-vault"]
    assert suggest_values("service", "refund-api", services) == ["refunds-api"]
    assert suggest_values("service", "upi", services) == ["upi-switch"]
    assert suggest_values("service", "kafka", services) == []
    assert suggest_values("tag", "Refnd", ["refunds", "refund-sync", "upi"]) == ["refunds", "refund-sync"]
    # one suggestion per form a filter matches: "refunds" already finds "Refund"
    assert suggest_values("tag", "Refnd", ["refunds", "Refund", "refund-sync"]) == ["refunds", "refund-sync"]


def test_filter_values_as_written_most_common_first(store):
    store.upsert([Incident(id="INC-4", title="t", service="upi-switch", tags=["upi", "Kafka"])])
    assert store.filter_values("service") == {"upi-switch": 2, "k8s-platform": 1, "refunds-api": 1}
    assert store.filter_values("tag") == {"Kafka": 1, "Timeout": 1, "UPI": 1, "refund": 1, "upi": 1}
    with pytest.raises(ValueError, match="use one of service, severity, category, status, tag"):
        store.filter_values("title")


@pytest.mark.parametrize("items, suggestions", [
    (["service=refund-api"], {"service": ["refunds-api"]}),
    (["service=refund-api", "tag=Timeouts"], {"service": ["refunds-api"]}),
    (["tag=refnd,upi-fail"], {"tag": ["refund", "UPI"]}),
    (["severity=SEV9"], {"severity": ["SEV1", "SEV2", "SEV3"]}),
    (["category=zzz"], {"category": ["infra"]}),  # nothing close: the most common values
    (["from=2030-01-01"], {"date": ["2024-01-10", "2024-06-30"]}),
    (["service=upi-switch", "severity=SEV3"], {}),  # each matches on its own; only together nothing
])
def test_filter_suggestions_name_the_keys_that_match_nothing(store, items, suggestions):
    filters = Filters.parse(items)
    assert store.filter_ids(filters) == set()
    assert store.filter_suggestions(filters) == suggestions


@pytest.mark.parametrize("item, message", [("colour=red", "key one of"), ("from=March", "ISO date"),
                                           ("service", "key=value"), ("level=high", "1 \\(worst\\) to 5")])
def test_bad_filters_say_what_to_do(item, message):
    with pytest.raises(ValueError, match=message):
        Filters.parse([item])


def test_filters_as_dict_round_trip():
    filters = Filters.parse(["service=a,b", "from=2024-01-01"])
    assert filters.as_dict() == {"service": ["a", "b"], "from": "2024-01-01"}
    assert filters.date_from == date(2024, 1, 1) and not filters.is_empty() and Filters().is_empty()


def test_facets_and_span(store):
    assert store.facet_counts("severity") == {"SEV1": 1, "SEV2": 1, "SEV3": 1}
    assert store.date_span() == ("2024-01-10", "2024-06-30")
    with pytest.raises(ValueError, match="use one of"):
        store.facet_counts("title")


def test_iter_incidents_pages_through_everything_in_python_order(empty_store):
    ids = [f"X-{i:04d}" for i in range(250)] + ["x-0001", "X_0001", "Ä-1", "a-1"]  # bytewise, whatever the locale
    empty_store.upsert([Incident(id=incident_id, title=f"t {incident_id}") for incident_id in ids])
    assert [i.id for i in empty_store.iter_incidents(batch_size=100)] == sorted(ids)


def test_the_default_store_is_its_own_sqlite_file(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.upsert(INCIDENTS)
    assert (tmp_path / "s.sqlite").exists() and Store(tmp_path / "s.sqlite").count() == 3


def test_concurrent_readers_and_a_writer(store):
    errors = []

    def read():
        try:
            for _ in range(200):
                assert store.get("INC-1") is not None
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    store.upsert([Incident(id=f"N-{i}", title="new") for i in range(100)])
    for thread in threads:
        thread.join()
    assert errors == [] and store.count() == 103


def test_a_corrupt_store_gives_an_actionable_error(tmp_path):
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RuntimeError, match=r"cannot open the incident store.*re-ingest"):
        Store(path)


def test_tag_counts_fold_case(store):
    store.upsert([Incident(id="INC-4", title="t", tags=["upi", "Kafka"])])
    assert store.tag_counts() == {"upi": 2, "kafka": 1, "refund": 1, "timeout": 1}


def test_sqlite_file_opens_lazily_with_wal_and_the_schema(tmp_path):
    db = SQLiteFile(tmp_path / "sub" / "x.sqlite", "CREATE TABLE IF NOT EXISTS t (v INTEGER);", what="test file",
                    remedy="delete it")
    assert not db.path.exists()  # nothing happens before the first use
    with db.connection() as connection, connection:
        connection.execute("INSERT INTO t VALUES (1)")
    with db.connection() as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    db.close()
    assert db.connect().execute("SELECT v FROM t").fetchall() == [(1,)]  # reopens after close
    db.close()


def test_sqlite_file_names_the_file_and_the_remedy(tmp_path):
    class Unusable(Exception):
        pass

    path = tmp_path / "x.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(Unusable, match=r"x\.sqlite: cannot open the test file \(file is not a database\); delete it"):
        SQLiteFile(path, what="test file", remedy="delete it", error=Unusable).connect()


def test_delete_leaves_tombstones_and_bumps_the_revision_once(store):
    assert store.delete(["INC-3", "nope", "INC-1", "INC-3"]) == ["INC-3", "INC-1"]
    assert store.revision() == 2 and store.count() == 1 and store.get("INC-1") is None
    assert store.delete(["nope"]) == [] and store.revision() == 2  # nothing deleted: nothing changed
    assert store.changes_since(1) == ([], ["INC-1", "INC-3"]) and store.changes_since(2) == ([], [])


def test_changes_since_lists_what_was_written_after_a_revision(store):
    assert store.changes_since(0) == (["INC-1", "INC-2", "INC-3"], []) and store.changes_since(1) == ([], [])
    store.upsert([INCIDENTS[1].model_copy(update={"title": "Refund failed twice"}), Incident(id="INC-4", title="t")])
    store.delete(["INC-3"])
    assert store.changes_since(1) == (["INC-2", "INC-4"], ["INC-3"]) and store.changes_since(2) == ([], ["INC-3"])
    store.upsert([INCIDENTS[2]])  # a deleted id added again is a change, no longer a deletion
    assert store.changes_since(1) == (["INC-2", "INC-3", "INC-4"], []) and store.revision() == 4
    assert store.hashes(["INC-3", "nope"]) == {"INC-3": INCIDENTS[2].content_hash()}


def test_a_store_written_before_tombstones_existed_opens_and_deletes(tmp_path):
    import sqlite3
    path = tmp_path / "old.sqlite"
    Store(path).upsert(INCIDENTS)
    with sqlite3.connect(path) as connection:  # as an older version left it: no tombstone table, no revision index
        connection.execute("DROP TABLE deleted")
        connection.execute("DROP INDEX incidents_revision")
    store = Store(path)
    assert store.delete(["INC-2"]) == ["INC-2"] and store.changes_since(1) == ([], ["INC-2"])


def test_the_level_filter_compares_severities_across_tools(store):
    pagerduty = Incident(id="PD-7", title="Checkout down", severity="high", extra={"severity_level": 2})
    servicenow = Incident(id="INC0010001", title="Login slow", severity="4", extra={"severity_level": 4})
    store.upsert([pagerduty, servicenow, Incident(id="X-1", title="No severity")])
    assert store.filter_ids(Filters.parse(["level=2"])) == {"INC-1", "INC-3", "PD-7"}  # SEV1, SEV2, the level-2 one
    assert store.filter_ids(Filters.parse(["level=1"])) == {"INC-1"}
    assert store.filter_ids(Filters.parse(["level=5"])) == {"INC-1", "INC-2", "INC-3", "PD-7", "INC0010001"}
    assert store.filter_ids(Filters.parse(["level=2", "service=upi-switch"])) == {"INC-1"}
    assert Filters.parse(["level=3"]).as_dict() == {"level": 3}
