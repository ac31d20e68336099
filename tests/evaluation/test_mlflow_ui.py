"""The MLflow UI opens on Sherlock's runs: ``mlflow ui`` over a workspace's store, exactly as the README starts it, in
Debian's headless Chromium. MLflow 3.17's UI opens an experiment on its GenAI views (overview, traces) unless its
"Model training" switch is set — the experiment's ``mlflow.experimentKind`` tag does not change that — so the link
Sherlock prints (:func:`~sherlock.evaluation.offline_ab_mlflow.runs_url`) carries ``workflowType=machine_learning``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from sherlock.config import PROJECT_ROOT, load_settings
from sherlock.evaluation.offline_ab import run_offline
from sherlock.evaluation.offline_ab_mlflow import MLFLOW_UI, log_ab, runs_url
from sherlock.evaluation.variants import default_variant, load_variant

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000


@pytest.fixture
def logged(juspay_workspace, juspay_queries, juspay_qrels, tmp_path):
    """``workspace vs rrf`` on ten labelled cases, logged to a fresh workspace store: (settings, experiment id)."""
    settings = load_settings(home=tmp_path / "home", demo=False)
    first = dict(list(juspay_queries.items())[:10])
    result = run_offline(juspay_workspace, default_variant(), load_variant(PROJECT_ROOT / "experiments" / "rrf.toml"),
                         first, juspay_qrels, metrics="ndcg@10", resamples=200)
    log_ab(result, settings)
    return settings, result.mlflow_experiment_id


@pytest.fixture
def mlflow_ui(logged, start_server, tmp_path):
    """The README's ``mlflow ui`` over the logged store, on a free port: its base URL."""
    settings, _ = logged
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_ENABLE_TELEMETRY": "false",
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}

    def command(port: int) -> list[str]:
        return [str(Path(sys.executable).parent / "mlflow"), "ui", "--backend-store-uri", settings.tracking_uri,
                "--host", "127.0.0.1", "--port", str(port)]

    with start_server(command, tmp_path / "mlflow-ui.log", env, health="/health", timeout=90) as url:
        yield url


def test_the_printed_link_opens_on_the_runs_and_the_bare_experiment_does_not(logged, mlflow_ui):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`", pytrace=False)
    from playwright.sync_api import sync_playwright
    settings, experiment = logged
    link = runs_url(settings, experiment)
    assert link.startswith(f"{MLFLOW_UI}/#/experiments/{experiment}/runs?")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()  # a fresh profile: nothing remembered from an earlier visit
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(link.replace(MLFLOW_UI, mlflow_ui))
            page.get_by_text("workspace vs rrf").first.wait_for()  # the A/B's parent run, in the runs table
            assert f"/#/experiments/{experiment}/runs" in page.url and "workflowType=machine_learning" in page.url
            page.close()
            bare = browser.new_page()  # what a plain link to the experiment gives: the GenAI overview, no runs
            bare.set_default_timeout(TIMEOUT_MS)
            bare.goto(f"{mlflow_ui}/#/experiments/{experiment}")
            bare.wait_for_url("**/overview/**")
            assert "workflowType=genai" in bare.url and "workspace vs rrf" not in bare.inner_text("body")
        finally:
            browser.close()
