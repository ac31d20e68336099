"""Field mappings saved by the shape of a file (:mod:`sherlock.storage.mappings`)."""

from __future__ import annotations

import hashlib
import json

import pytest

from sherlock.storage.mappings import MappingStore, mappings_path, shape_key


def test_shape_key_is_the_sha256_of_the_sorted_case_folded_names():
    assert shape_key(["Summary", "key", "KEY "]) == hashlib.sha256(b"key\nsummary").hexdigest()
    assert shape_key(["summary", "key"]) == shape_key(["Key", "SUMMARY"])  # order and case aside
    assert shape_key(["key", "summary"]) != shape_key(["key", "summary", "sev"])


def test_a_saved_mapping_is_found_for_the_same_shape_only(tmp_path):
    store = MappingStore(tmp_path / "mappings.json")
    assert store.get(["key", "summary"]) is None  # no file yet
    store.save(["key", "summary"], {"key": "id", "summary": "title"})
    assert store.get(["Summary", "Key"]) == {"Key": "id", "Summary": "title"}  # spelt as this file spells them
    assert store.get(["key", "summary", "sev"]) is None
    store.save(["summary", "key"], {"key": "id", "summary": "description"})  # the same shape: replaced
    assert store.get(["key", "summary"]) == {"key": "id", "summary": "description"}
    entries = json.loads((tmp_path / "mappings.json").read_text())
    assert list(entries.values()) == [{"fields": ["key", "summary"], "mapping": {"key": "id",
                                                                                 "summary": "description"}}]


def test_forget_drops_one_shape(tmp_path):
    store = MappingStore(tmp_path / "mappings.json")
    store.save(["a", "b"], {"a": "id", "b": "title"})
    store.save(["c", "d"], {"c": "id", "d": "title"})
    assert store.forget(["B", "A"]) is True
    assert store.forget(["a", "b"]) is False
    assert store.get(["a", "b"]) is None and store.get(["c", "d"]) == {"c": "id", "d": "title"}


def test_writes_are_atomic_and_leave_no_temporary_file(tmp_path):
    store = MappingStore(tmp_path / "nested" / "mappings.json")
    store.save(["a"], {"a": "id"})
    assert [p.name for p in (tmp_path / "nested").iterdir()] == ["mappings.json"]


def test_a_broken_file_says_where_and_what_to_do(tmp_path):
    path = tmp_path / "mappings.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"mappings.json:1: not valid JSON .*move it aside"):
        MappingStore(path).get(["a"])
    path.write_text("[]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        MappingStore(path).get(["a"])


def test_no_field_names_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="none were given"):
        MappingStore(tmp_path / "mappings.json").save([], {"a": "id"})


def test_the_workspace_keeps_them_in_its_home(tmp_path):
    from sherlock.config import load_settings
    assert mappings_path(load_settings(home=tmp_path)) == tmp_path / "mappings.json"
