"""Sherlock: incident-intelligence workbench — the library behind the app, the CLI and the notebooks.

The public API, for notebooks and scripts::

    import sherlock

    workspace = sherlock.Workspace(sherlock.load_settings(home=".sherlock"))
    workspace.prepare()                                   # the demo corpus into an empty workspace, indexes in step
    searcher = sherlock.Searcher(workspace)
    response = searcher.search("UPI payment failed with error 5003", k=5)
    answer = sherlock.Answerer(searcher).ask("why do refunds fail?")
    queries, qrels = sherlock.read_labelled_queries("data/demo/queries.jsonl")
    result = sherlock.tune(searcher.score_pools(queries), qrels, metric="ndcg@10")

Nothing heavy happens at import: each name below is imported from its module on first use (PEP 562).
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Phone-home switches of the libraries Sherlock drives (Chroma, onnxruntime, MLflow, Hugging Face tokenizers,
#: Streamlit); set as defaults, so an explicit choice in the environment wins.
TELEMETRY_OFF = {
    "ANONYMIZED_TELEMETRY": "False",
    "ORT_DISABLE_TELEMETRY": "1",
    "MLFLOW_ENABLE_TELEMETRY": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # no download bars on stderr (CLI, notebooks, server log)
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
}


def quiet_telemetry() -> None:
    """Turn off every phone-home we know of. Done once, here, when ``sherlock`` is first imported — before any of
    those libraries can load, since every entry point (CLI, app, notebooks, tests) imports ``sherlock`` first."""
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


quiet_telemetry()

#: public name -> the module that defines it
_EXPORTS = {
    # settings and data shapes
    "Settings": "sherlock.config", "load_settings": "sherlock.config", "DEMO_DIR": "sherlock.config",
    "Incident": "sherlock.schema",
    "Run": "sherlock.run", "Qrels": "sherlock.run", "top_k": "sherlock.run", "write_trec_run": "sherlock.run",
    # storage
    "Workspace": "sherlock.storage.workspace", "Filters": "sherlock.storage.store",
    "FeedbackStore": "sherlock.storage.feedback",
    "load_demo_incidents": "sherlock.storage.demo", "load_demo_queries": "sherlock.storage.demo",
    "active_spikes": "sherlock.storage.demo",
    # search
    "Searcher": "sherlock.search.searcher", "SearchResponse": "sherlock.search.searcher",
    "Hit": "sherlock.search.searcher", "SimilarFinder": "sherlock.search.similar",
    "find_duplicates": "sherlock.storage.duplicates", "load_pairs": "sherlock.evaluation.pairs",
    "CandidatePool": "sherlock.search.ranking", "rank_pool": "sherlock.search.ranking",
    "FusionConfig": "sherlock.search.fusion", "fuse": "sherlock.search.fusion", "fuse_scores": "sherlock.search.fusion",
    "RETRIEVERS": "sherlock.search.fusion", "DEFAULT_WEIGHTS": "sherlock.search.fusion",
    "normalize": "sherlock.search.normalise",
    # answers
    "Answerer": "sherlock.answer.answerer", "Answer": "sherlock.answer.answerer",
    # evaluation, tuning, experiments
    "evaluate": "sherlock.evaluation.metrics", "evaluate_per_query": "sherlock.evaluation.metrics",
    "read_qrels": "sherlock.evaluation.query_sets", "read_queries": "sherlock.evaluation.query_sets",
    "read_labelled_queries": "sherlock.evaluation.query_sets", "load_query_set": "sherlock.evaluation.query_sets",
    "tune": "sherlock.evaluation.tuning", "TuneResult": "sherlock.evaluation.tuning",
    "simplex_points": "sherlock.evaluation.tuning", "apply_result": "sherlock.evaluation.tuning",
    "load_variant": "sherlock.evaluation.variants",
    "run_offline": "sherlock.evaluation.offline_ab", "compare_scores": "sherlock.evaluation.offline_ab",
    "log_ab": "sherlock.evaluation.offline_ab_mlflow", "list_runs": "sherlock.evaluation.offline_ab_mlflow",
    "arm_scores": "sherlock.evaluation.offline_ab_mlflow",
    "load_online": "sherlock.evaluation.online_ab",
    # analytics
    "analysed_frame": "sherlock.analytics.patterns", "patterns_report": "sherlock.analytics.patterns",
    "find_spikes": "sherlock.analytics.spikes",
    # search monitoring, redaction, backups
    "QueryLog": "sherlock.monitoring.querylog", "query_log": "sherlock.monitoring.querylog",
    "monitor_report": "sherlock.monitoring.report", "generate_traffic": "sherlock.monitoring.traffic",
    "Redactor": "sherlock.redaction.redactor",
    "export_workspace": "sherlock.storage.backup", "import_workspace": "sherlock.storage.backup",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'sherlock' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from sherlock.analytics.patterns import analysed_frame, patterns_report
    from sherlock.analytics.spikes import find_spikes
    from sherlock.answer.answerer import Answer, Answerer
    from sherlock.config import DEMO_DIR, Settings, load_settings
    from sherlock.evaluation.metrics import evaluate, evaluate_per_query
    from sherlock.evaluation.offline_ab import compare_scores, run_offline
    from sherlock.evaluation.offline_ab_mlflow import arm_scores, list_runs, log_ab
    from sherlock.evaluation.online_ab import load_online
    from sherlock.evaluation.pairs import load_pairs
    from sherlock.evaluation.query_sets import load_query_set, read_labelled_queries, read_qrels, read_queries
    from sherlock.evaluation.tuning import TuneResult, apply_result, simplex_points, tune
    from sherlock.evaluation.variants import load_variant
    from sherlock.monitoring.querylog import QueryLog, query_log
    from sherlock.monitoring.report import monitor_report
    from sherlock.monitoring.traffic import generate_traffic
    from sherlock.redaction.redactor import Redactor
    from sherlock.run import Qrels, Run, top_k, write_trec_run
    from sherlock.schema import Incident
    from sherlock.search.fusion import DEFAULT_WEIGHTS, RETRIEVERS, FusionConfig, fuse, fuse_scores
    from sherlock.search.normalise import normalize
    from sherlock.search.ranking import CandidatePool, rank_pool
    from sherlock.search.searcher import Hit, Searcher, SearchResponse
    from sherlock.search.similar import SimilarFinder
    from sherlock.storage.backup import export_workspace, import_workspace
    from sherlock.storage.demo import active_spikes, load_demo_incidents, load_demo_queries
    from sherlock.storage.duplicates import find_duplicates
    from sherlock.storage.feedback import FeedbackStore
    from sherlock.storage.store import Filters
    from sherlock.storage.workspace import Workspace
