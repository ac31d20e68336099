"""Fixtures for the command line's tests: an in-process runner, and a workspace with query-set files for the
commands that score a labelled set (``sherlock tune``, ``sherlock ab``)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest


class CLI:
    """``cli(*argv)`` runs ``sherlock`` in this process and gives (exit code, stdout, stderr); ``cli.json(*argv)``
    also checks that it exited 0 (failing with its stderr) and parses stdout."""

    def __init__(self, capsys: pytest.CaptureFixture[str]):
        self._capsys = capsys

    def __call__(self, *argv: object) -> tuple[int, str, str]:
        from sherlock.cli import main
        self._capsys.readouterr()
        code = main([str(arg) for arg in argv])
        captured = self._capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, *argv: object) -> Any:
        code, out, err = self(*argv)
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(capsys) -> CLI:
    return CLI(capsys)


@pytest.fixture(scope="module")
def juspay_home(tmp_path_factory, models_seed, juspay_issues) -> Path:
    """A workspace with the original SherlockAI incidents, one per test module (each writes its own MLflow runs)."""
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    home = tmp_path_factory.mktemp("juspay-cli-home")
    shutil.copytree(models_seed, home / "models", copy_function=os.link)
    Workspace(load_settings(home=home, demo=False)).ingest([juspay_issues])
    return home


@pytest.fixture(scope="module")
def query_files(tmp_path_factory, juspay_queries, juspay_qrels) -> dict[str, Path]:
    """The labelled cases in each format a query set is read from: "labelled" (our JSONL), "queries" with "beir"
    (BEIR's queries.jsonl and a CRLF qrels TSV) or with "trec" (TREC qrels, plus a judgement for an unknown query)."""
    folder = tmp_path_factory.mktemp("query-sets")
    labelled = folder / "labelled.jsonl"
    labelled.write_text("".join(json.dumps({"id": qid, "query": query, "relevant": juspay_qrels[qid]}) + "\n"
                                for qid, query in juspay_queries.items()))
    beir_queries = folder / "queries.jsonl"
    beir_queries.write_text("".join(json.dumps({"_id": qid, "text": text}) + "\n"
                                    for qid, text in juspay_queries.items()))
    beir_qrels = folder / "test.tsv"
    beir_qrels.write_bytes(("query-id\tcorpus-id\tscore\r\n" + "".join(
        f"{qid}\t{doc}\t{grade}\r\n" for qid, judged in juspay_qrels.items()
        for doc, grade in judged.items())).encode())
    trec_qrels = folder / "qrels.trec"
    trec_qrels.write_text("".join(f"{qid} 0 {doc} {grade}\n" for qid, judged in juspay_qrels.items()
                                  for doc, grade in judged.items()) + "unknown-query 0 JSP-1001 1\n")
    return {"labelled": labelled, "queries": beir_queries, "beir": beir_qrels, "trec": trec_qrels}
