"""The demo corpus generator, its labelled queries, the committed data/demo files and the entity dictionary."""

from __future__ import annotations

import csv
import json
import statistics
import string
import tomllib
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from sherlock.config import DEMO_DIR, PROJECT_ROOT
from sherlock.schema import Incident
from sherlock.storage.demo import load_demo_incidents, load_demo_queries
from tools.demo import families
from tools.demo import generator as demo

ENTITIES = PROJECT_ROOT / "sherlock" / "resources" / "entities.toml"
DEMO_FILES = ("incidents.jsonl", "queries.jsonl", "qrels.tsv", "offtopic.jsonl", "README.md")


@pytest.fixture(scope="module")
def corpus() -> list[Incident]:
    """The committed demo corpus."""
    return load_demo_incidents(DEMO_DIR)


@pytest.fixture(scope="module")
def queries() -> list[demo.LabelledQuery]:
    return load_demo_queries(DEMO_DIR)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A fresh regeneration with the defaults, for the golden comparison."""
    out = tmp_path_factory.mktemp("demo")
    demo.write_demo(out)
    return out


def _minutes(incident: Incident) -> float | None:
    if isinstance(incident.created_at, datetime) and isinstance(incident.resolved_at, datetime):
        return (incident.resolved_at - incident.created_at).total_seconds() / 60
    return None


# -- the generator ------------------------------------------------------------------------------------------------

def test_same_seed_same_corpus_and_other_seed_differs():
    first = [i.to_json_dict() for i in demo.generate_incidents(300, seed=3)]
    again = [i.to_json_dict() for i in demo.generate_incidents(300, seed=3)]
    other = [i.to_json_dict() for i in demo.generate_incidents(300, seed=4)]
    assert first == again
    assert first != other


def test_same_seed_same_queries():
    incidents = demo.generate_incidents(400, seed=5)
    assert demo.generate_queries(incidents, 40, seed=5) == demo.generate_queries(incidents, 40, seed=5)
    assert demo.generate_queries(incidents, 40, seed=5) != demo.generate_queries(incidents, 40, seed=6)


def test_custom_span_and_count():
    incidents = demo.generate_incidents(500, seed=1, start=date(2023, 1, 1), end=date(2023, 3, 31))
    days = [i.created_date() for i in incidents]
    assert len(incidents) == 500
    assert date(2022, 12, 31) <= min(days) and max(days) <= date(2023, 3, 31)  # UTC renderings may show the eve
    assert not demo.active_spikes(date(2023, 1, 1), date(2023, 3, 31))


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "at least 1"),
    ({"start": date(2025, 1, 2), "end": date(2025, 1, 1)}, "must be after"),
])
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        demo.generate_incidents(**kwargs)


@pytest.mark.parametrize("family", demo.FAMILIES, ids=lambda f: f.key)
def test_every_template_fills_and_stories_line_up(family):
    import random
    slots = demo._draw_slots(random.Random(0), family, None)
    for template in (*family.titles, *family.descriptions, *family.root_causes, *family.resolutions):
        assert template.format_map(slots).strip()
    assert len(family.descriptions) == len(family.root_causes) == len(family.resolutions)
    for template in (*family.entity_queries, *family.symptom_queries):
        named = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        assert named <= set(demo.ENTITY_SLOTS), f"{family.key}: {template!r} names a slot queries cannot grade"
    assert family.key_slot is None or family.key_slot in demo.ENTITY_SLOTS
    for query in (*family.entity_queries, *family.symptom_queries):
        assert not any(query.lower() in title.lower() or title.lower() in query.lower() for title in family.titles)


# -- the committed corpus -----------------------------------------------------------------------------------------

def test_counts_span_and_ids(corpus):
    assert len(corpus) == 2000
    days = [i.created_date() for i in corpus]
    assert min(days) <= date(2024, 1, 7) and max(days) >= date(2025, 12, 24)
    ids = [i.id for i in corpus]
    assert len(set(ids)) == len(ids)
    assert ids == [f"INC-{10001 + k}" for k in range(len(ids))]


def test_every_line_is_a_canonical_incident():
    for line in (DEMO_DIR / "incidents.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert set(record) == {*Incident.model_fields}  # canonical shape, extra kept nested
        assert Incident.model_validate(record).to_json_dict() == record


def test_content_is_unique_but_families_recur(corpus):
    assert len({i.text_fingerprint() for i in corpus}) == len(corpus)
    families = Counter(i.extra["family"] for i in corpus)
    assert 25 <= len(families) <= 40
    assert all(count >= 10 for key, count in families.items() if key != "game_day")
    titles_per_family = defaultdict(set)
    for i in corpus:
        titles_per_family[i.extra["family"]].add(i.title)
    assert all(len(titles) < families[key] for key, titles in titles_per_family.items())  # near-duplicates recur


def test_structured_fields_are_realistic(corpus):
    assert 12 <= len({i.service for i in corpus}) <= 15
    assert all(i.category and i.severity in demo.SEVERITIES and i.tags for i in corpus)
    assert all(i.extra["detection"] in ("alert", "customer", "synthetic") for i in corpus)
    assert any(isinstance(i.created_at, datetime) and i.created_at.utcoffset() == timedelta(hours=5, minutes=30)
               for i in corpus)
    assert any(type(i.created_at) is date for i in corpus)
    assert any(isinstance(i.resolved_by, list) for i in corpus)


def test_severity_mix_and_time_to_resolve(corpus):
    mix = Counter(i.severity for i in corpus)
    assert mix["SEV3"] + mix["SEV4"] > 0.75 * len(corpus)
    assert 0.01 * len(corpus) < mix["SEV1"] < mix["SEV2"] < mix["SEV3"]
    medians = {}
    for severity in demo.SEVERITIES:
        minutes = [m for i in corpus if i.severity == severity and (m := _minutes(i)) is not None]
        medians[severity] = statistics.median(minutes)
    assert 30 <= medians["SEV1"] <= 120
    assert medians["SEV1"] < medians["SEV2"] < medians["SEV3"] < medians["SEV4"]
    assert medians["SEV4"] >= 8 * 60


def test_status_and_resolution_times_agree(corpus):
    statuses = Counter(i.status for i in corpus)
    assert statuses["resolved"] > 0.95 * len(corpus) and statuses["open"] + statuses["monitoring"] >= 3
    for i in corpus:
        if i.status == "resolved":
            assert i.resolved_at is not None and i.resolved_at >= i.created_at
        else:
            assert i.resolved_at is None


def test_spikes_stand_out_in_weekly_counts(corpus):
    spikes = demo.active_spikes()
    assert len(spikes) >= 3
    for spike in spikes:
        weekly = Counter(
            (day - timedelta(days=day.weekday())) for i in corpus
            if i.extra["family"] == spike.family and (day := i.created_date()))
        busiest, top = weekly.most_common(1)[0]
        assert busiest == spike.week_start, spike
        assert top >= 5 * statistics.median(weekly.values()), spike
        in_week = [i for i in corpus if i.extra["family"] == spike.family
                   and spike.week_start <= i.created_date() < spike.week_start + timedelta(days=7)]
        on_entity = sum((i.service if spike.slot == "service" else i.extra.get(spike.slot)) == spike.value
                        for i in in_week)
        assert on_entity > len(in_week) / 2, spike


def test_game_days_are_tagged(corpus):
    drills = [i for i in corpus if "game-day" in i.tags]
    assert 3 <= len(drills) <= 30
    assert all(i.extra["family"] == "game_day" and i.severity == "SEV4" for i in drills)


# -- labelled queries ---------------------------------------------------------------------------------------------

def test_queries_are_graded_and_point_into_the_corpus(corpus, queries):
    by_id = {i.id: i for i in corpus}
    assert 120 <= len(queries) <= 200
    assert len({q.id for q in queries}) == len(queries) and len({q.query for q in queries}) == len(queries)
    for q in queries:
        assert 1 <= len(q.relevant) <= demo.RELEVANT_CAP
        assert set(q.relevant.values()) <= {1, 2} and 2 in q.relevant.values()
        assert set(q.relevant) <= set(by_id)
        assert len({by_id[doc].extra["family"] for doc in q.relevant}) == 1  # one family per query


def test_grade_two_means_sharing_the_named_entity(corpus, queries):
    """Below the cap, grade 2 holds every family member that shares the named entities, so each grade-1 member
    must differ from the grade-2 ones on at least one entity they all agree on."""
    by_id = {i.id: i for i in corpus}

    def entity(incident: Incident, slot: str):
        return incident.service if slot == "service" else incident.extra.get(slot)

    checked = 0
    for q in (q for q in queries if q.id.startswith("Q")):  # P… queries grade by cause, not by entity
        top = [by_id[d] for d, g in q.relevant.items() if g == 2]
        rest = [by_id[d] for d, g in q.relevant.items() if g == 1]
        if not 1 < len(top) < demo.RELEVANT_CAP:
            continue
        shared = {slot: entity(top[0], slot) for slot in demo.ENTITY_SLOTS
                  if len({entity(i, slot) for i in top}) == 1 and entity(top[0], slot) is not None}
        assert shared, q
        assert all(any(entity(i, slot) != value for slot, value in shared.items()) for i in rest), q
        checked += 1
    assert checked >= 30


def test_queries_do_not_copy_titles(corpus, queries):
    titles = {i.title.lower() for i in corpus}
    for q in queries:
        text = q.query.lower()
        assert text not in titles
        assert not any(title in text for title in titles), q


def test_qrels_tsv_matches_queries(queries):
    with (DEMO_DIR / "qrels.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == ["query-id", "corpus-id", "score"]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for qid, doc, score in rows[1:]:
        qrels[qid][doc] = int(score)
    assert qrels == {q.id: q.relevant for q in queries}


def test_offtopic_queries_have_no_answers(corpus):
    offtopic = load_demo_queries(DEMO_DIR, "offtopic.jsonl")
    assert 12 <= len(offtopic) <= 20
    assert all(not q.relevant and q.id.startswith("OT") for q in offtopic)
    assert [q.query for q in offtopic] == list(demo.OFF_TOPIC_QUERIES)


# -- files --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", DEMO_FILES)
def test_committed_files_equal_a_fresh_regeneration(fresh, name):
    committed = (DEMO_DIR / name).read_bytes()
    assert committed == (fresh / name).read_bytes(), f"data/demo/{name} is stale: run `python -m tools.demo`"


def test_incidents_file_stays_small():
    assert (DEMO_DIR / "incidents.jsonl").stat().st_size < 3_000_000


def test_readme_documents_spikes_and_families():
    readme = (DEMO_DIR / "README.md").read_text(encoding="utf-8")
    assert "python -m tools.demo" in readme
    assert all(s.family in readme and str(s.week_start) in readme for s in demo.active_spikes())
    assert all(f.key in readme for f in demo.FAMILIES)


def test_cli_writes_every_file(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--n", "300", "--seed", "2", "--queries", "20"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(DEMO_FILES)
    assert len(load_demo_incidents(tmp_path)) == 300
    labelled = load_demo_queries(tmp_path)
    assert len([q for q in labelled if q.id.startswith("Q")]) == 20
    assert [q.id for q in labelled if not q.id.startswith("Q")] == ["P01", "P02", "P03", "P04", "P05"]


def test_loader_names_the_bad_line(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"python -m tools\.demo"):
        load_demo_incidents(tmp_path)
    (tmp_path / "incidents.jsonl").write_text('{"id": "A-1", "title": "ok"}\n{"id": "A 2", "title": "x"}\n')
    with pytest.raises(ValueError, match=r"incidents.jsonl:2"):
        load_demo_incidents(tmp_path)


# -- the entity dictionary ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def entities() -> dict:
    return tomllib.loads(ENTITIES.read_text(encoding="utf-8"))


def test_entities_toml_has_lowercase_tables(entities):
    for table in ("gateways", "banks", "merchants", "services", "error_codes"):
        names = entities[table]["names"]
        assert names and all(name == name.lower().strip() for name in names), table
        assert len(names) == len(set(names)), table
    canonical = {name for table in entities.values() if "names" in table for name in table["names"]}
    for alias, target in entities["aliases"].items():
        assert alias == alias.lower() and target in canonical, (alias, target)


def test_entities_cover_the_generator(entities):
    def names(table: str) -> set[str]:
        return set(entities[table]["names"])

    assert set(demo.GATEWAY_IDS) <= names("gateways")
    assert set(demo.BANK_IDS) <= names("banks")
    assert set(demo.MERCHANTS) <= names("merchants")
    assert set(families.SERVICES) <= names("services")
    assert {code.lower() for f in demo.FAMILIES for code in f.error_codes} <= names("error_codes")
    assert {"razorpay", "payu", "pinelabs_online", "billdesk", "cashfree", "juspay", "2c2p"} <= names("gateways")
    known = names("gateways") | names("banks") | set(entities["aliases"])
    spoken = [v for variants in (*demo.BANKS.values(), *demo.GATEWAYS.values(), *demo.GATEWAY_SPOKEN.values())
              for v in variants]
    assert all(variant.lower() in known for variant in spoken), [v for v in spoken if v.lower() not in known]
