"""Cached resources and frames, one per process and shared by every session: the workspace, its searcher and
answerers (the session's online A/B arm included), the feedback store, and the frames the views draw.

The workspace is opened once per process, in a background thread when there is work to do (the first run loads and
embeds the demo corpus, about a minute): meanwhile every page that needs it shows how far the work has got and fills
in by itself when it is done, and the navigation stays usable. A ``kill -9`` during that work is what
:meth:`Workspace.prepare` already survives: the next open completes it."""

from __future__ import annotations

import re
import threading
import uuid

import streamlit as st

from sherlock.config import Settings, load_settings
from sherlock.search.searcher import Searcher
from sherlock.storage.workspace import Workspace
from ui.widgets import ProgressLog, escape_markdown, polled_progress_ui

#: One workspace preparation at a time in this process: a settings reload while the first run is still embedding
#: waits for it instead of embedding the same home a second time.
_PREPARING = threading.Lock()


class Opening:
    """A workspace being made ready to search: at once when :meth:`Workspace.is_prepared`, else by
    :meth:`Workspace.prepare` in a daemon thread (so stopping the server never waits for it) reporting to
    ``progress``."""

    def __init__(self, settings: Settings) -> None:
        self.workspace = Workspace(settings)
        self.progress = ProgressLog()
        self.error: Exception | None = None
        self._done = threading.Event()

    def start(self) -> Opening:
        try:
            ready = self.workspace.is_prepared()
        except Exception as error:  # noqa: BLE001 - e.g. an unreadable store: shown on the page like any other
            self.error, ready = error, True
        if ready:
            self._done.set()
        else:
            threading.Thread(target=self._prepare, name="sherlock-open-workspace", daemon=True).start()
        return self

    def _prepare(self) -> None:
        try:
            with _PREPARING:
                if self.workspace.settings.demo and not self.workspace.store.count():
                    self.progress("loading the demo corpus", 0, 0)  # storing it reports nothing of its own
                self.workspace.prepare(progress=self.progress)
        except Exception as error:  # noqa: BLE001 - shown on the page, which offers to try again
            self.error = error
        finally:
            self._done.set()

    def finished(self) -> bool:
        return self._done.is_set()

    def wait(self) -> Workspace:
        """The workspace once ready (blocking until then); the error that stopped it, raised again."""
        self._done.wait()
        if self.error is not None:
            raise self.error
        return self.workspace


@st.cache_resource(show_spinner=False)
def opening() -> Opening:
    """The process's workspace opening (started on the first call, by whichever session comes first)."""
    return Opening(load_settings()).start()


def _opening_or_stop() -> Opening:
    """:func:`opening`; when the settings are invalid or the home folder unusable, the page says why and stops."""
    try:
        return opening()
    except ValueError as error:  # a bad setting: load_settings says which and where
        st.error(f"The workspace settings are invalid: {escape_markdown(str(error))}")
        st.stop()
    except OSError as error:  # the home folder cannot be created
        st.error(f"The workspace folder cannot be used: {escape_markdown(str(error))}. Set SHERLOCK\\_HOME to a "
                 "folder this user can write.")
        st.stop()


def settings() -> Settings:
    """The workspace's settings, at once (while the workspace itself may still be getting ready)."""
    return _opening_or_stop().workspace.settings


def workspace() -> Workspace:
    """The workspace, ready to search. While it is still being prepared, the page shows the progress (polled every
    second), stops here, and reruns by itself once the workspace is ready; when opening fails, the page says why and
    offers to try again."""
    current = _opening_or_stop()
    if not current.finished():
        st.caption(f"Getting the workspace {escape_markdown(str(current.workspace.settings.home))} ready: its search "
                   "indexes are brought up to date with its incidents (on a first run, the demo corpus's). This page "
                   "fills in by itself when that is done; every other page waits for the same work.")
        polled_progress_ui(current.progress, current.finished)
        st.stop()
    if current.error is not None:
        st.error(f"The workspace {escape_markdown(str(current.workspace.settings.home))} could not be opened: "
                 f"{escape_markdown(str(current.error))}")
        if st.button("Try again"):
            opening.clear()
            st.rerun()
        st.stop()
    return current.workspace


def _opened() -> Workspace:
    """The workspace for the cached resources below (pages reach them only after :func:`workspace` returned)."""
    return opening().wait()


@st.cache_resource
def searcher() -> Searcher:
    return Searcher(_opened())


def _secret(name: str) -> str | None:
    """A value from ``.streamlit/secrets.toml`` if that file exists (it is optional)."""
    try:
        value = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets file is the normal, offline case
        return None
    return str(value) if value else None


def _with_secret_key(settings: Settings) -> Settings:
    """``settings`` with a Gemini key from Streamlit secrets when the environment gives none."""
    from pydantic import SecretStr
    key = _secret("GEMINI_API_KEY") or _secret("GOOGLE_API_KEY")
    if key and settings.gemini_api_key is None:
        return settings.model_copy(update={"gemini_api_key": SecretStr(key)})
    return settings


@st.cache_resource
def answerer():  # noqa: ANN201 - sherlock.answer.answerer.Answerer, imported lazily to keep page start-up light
    """Offline extractive answers, or Gemini when a key is in the environment or in Streamlit secrets."""
    from sherlock.answer.answerer import Answerer
    return Answerer(searcher(), settings=_with_secret_key(searcher().settings))


@st.cache_resource(max_entries=16)
def arm_answerer(experiment: str, arm: str, fingerprint: str, workspace_id: int, _settings):  # noqa: ANN001, ANN201
    """One searcher + answerer per experiment arm, shared by every session in it (keyed by the experiment, the arm,
    its resolved settings — so an edited experiment file takes effect — and the cached workspace, which
    :func:`reload_settings` renews)."""
    from sherlock.answer.answerer import Answerer
    settings = _with_secret_key(_settings)
    return Answerer(Searcher(_opened(), settings), settings=settings)


def session_id() -> str:
    """A stable random id per browser session (for feedback and A/B assignment)."""
    if "session_id" not in st.session_state:
        st.session_state.session_id = uuid.uuid4().hex
    return st.session_state.session_id


def served_answerer():  # noqa: ANN201 - (sherlock.answer.answerer.Answerer, sherlock.evaluation.online_ab.Served)
    """The answerer for this session and what it serves: under a live online experiment (``online_experiment``)
    the session's arm, else — and for held-out sessions or a broken experiment file — the workspace's settings."""
    from sherlock.evaluation.online_ab import serve
    served = serve(workspace().settings, session_id())
    if served.settings == workspace().settings:
        return answerer(), served
    return arm_answerer(served.experiment, served.arm, served.settings.model_dump_json(), id(workspace()),
                        served.settings), served


def log_request(kind: str, result, settings=None, once: tuple | None = None,  # noqa: ANN001
                experiment: str | None = None, arm: str | None = None) -> int | None:
    """Log one answer (``kind="ask"``, an Answer) or search / similar-incidents response (a SearchResponse) to the
    query log, with ``settings`` (default: the workspace's; an A/B arm's for its answers, with ``experiment`` and
    ``arm``) and this browser session; returns the row id for feedback on it. ``once``: log only the first time this
    session shows that request (a page reruns on every click, which is not another question)."""
    from sherlock.monitoring.record import log_answer, log_search
    logged = st.session_state.setdefault("logged_requests", {})
    if once is not None and (kind, *once) in logged:
        return logged[(kind, *once)]
    settings = settings or workspace().settings
    log_id = (log_answer(settings, result, "app", session_id(), experiment, arm) if kind == "ask" else
              log_search(settings, result, "app", kind, session_id()))
    if once is not None:
        logged[(kind, *once)] = log_id
    return log_id


@st.cache_resource
def feedback_store():  # noqa: ANN201 - sherlock.storage.feedback.FeedbackStore
    from sherlock.storage.feedback import open_feedback
    return open_feedback(_opened().settings)


def reload_settings() -> None:
    """Drop the cached workspace, searcher and answerer so the next call reads ``sherlock.toml`` again."""
    for cached in (opening, searcher, answerer):
        cached.clear()


# -- frames ---------------------------------------------------------------------------------------------------------

@st.cache_data(show_spinner="Loading the corpus table…", max_entries=4)
def corpus_frame(home: str, revision: int):  # noqa: ANN201 - pandas.DataFrame; cached per store revision
    import pandas as pd
    rows = [{"id": i.id, "title": i.title, "service": i.service, "severity": i.severity, "category": i.category,
             "status": i.status, "created_at": i.created_date(), "tags": ", ".join(i.tags)}
            for i in _opened().store.iter_incidents()]
    return pd.DataFrame(rows, columns=["id", "title", "service", "severity", "category", "status", "created_at",
                                       "tags"])


@st.cache_data(show_spinner="Finding themes, repeats and spikes…", max_entries=4)
def patterns_frame(home: str, revision: int, statuses: tuple[str, ...], tags: tuple[str, ...]):  # noqa: ANN201
    """The analysed incidents frame (themes and repeats added, exclusions applied) and the exclusion counts, cached
    per store revision and exclusion rules (``home`` keys the cache per workspace)."""
    from sherlock.analytics.patterns import analysed_frame
    return analysed_frame(_opened().store.iter_incidents(), statuses, tags)


@st.cache_data(ttl=60, show_spinner="Reading the A/B runs from MLflow…", max_entries=8)
def ab_runs_frame(home: str, tracking_uri: str, _settings):  # noqa: ANN001, ANN201 - Settings in, DataFrame out
    """Every offline A/B run (parents and arms) in ``tracking_uri``, newest first (``list_runs``); cached for a
    minute per workspace and store, and cleared (``ab_runs_frame.clear()``) after the page logs a new A/B."""
    from sherlock.evaluation.offline_ab_mlflow import list_runs
    return list_runs(_settings)


def ab_runs(settings: Settings):  # noqa: ANN201 - a DataFrame
    """:func:`ab_runs_frame` for ``settings``; when the store cannot be read, an ``st.error`` saying so and an empty
    frame (the page then shows how to start)."""
    try:
        return ab_runs_frame(str(settings.home), settings.tracking_uri, settings)
    except Exception as error:  # noqa: BLE001 - MLflow raises many types; the page must still open
        import pandas as pd

        from sherlock.evaluation.offline_ab_mlflow import RUN_COLUMNS
        st.error(f"The MLflow store {settings.tracking_uri} cannot be read: {escape_markdown(str(error))}")
        return pd.DataFrame(columns=RUN_COLUMNS)


@st.cache_data(show_spinner="Comparing the two arms…", max_entries=32)
def arm_comparison(tracking_uri: str, run_a: str, run_b: str, _settings):  # noqa: ANN001, ANN201
    """Two arm runs compared again from their logged per-query scores, on the queries both hold, with the
    resamples, seed and alpha of arm A's A/B (so the arms of one A/B reproduce its logged statistics). Returns
    ``(stats, per_query)``; ``ValueError`` when a run has no scores or the two share fewer than two queries.
    Logged runs never change, so the result is cached without expiry."""
    from sherlock.evaluation.offline_ab import compare_scores
    from sherlock.evaluation.offline_ab_mlflow import arm_scores, run_params
    from sherlock.plots.experiments import paired_per_query
    (a, queries_a), (b, queries_b) = arm_scores(_settings, run_a), arm_scores(_settings, run_b)
    parent = run_params(_settings, run_a)["parent_run_id"]
    params = run_params(_settings, parent) if parent else {}
    metrics = [metric for metric in a.columns if metric in b.columns]
    stats = compare_scores(a, b, metrics, resamples=int(params.get("resamples", 10_000)),
                           seed=int(params.get("seed", 0)), alpha=float(params.get("alpha", 0.05)))
    return stats, paired_per_query(a, b, {**queries_b, **queries_a}, metrics)


@st.cache_data(show_spinner=False)
def examples(home: str, revision: int) -> tuple[str, str]:  # home and revision key the cache
    """A ticket id and a question this workspace can answer (for placeholders and the "Try" box)."""
    ticket, title = _opened().store.examples()
    question = re.split(r"\s+[-–—|:]\s+", title or "")[0]  # the title's headline, without "- order id …"
    question = " ".join(word for word in question.split() if sum(c.isdigit() for c in word) < 6)
    return ticket or "INC-123", (question or "payment failed with a timeout").rstrip(".")
