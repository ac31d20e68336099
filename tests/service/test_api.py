"""The HTTP API on the original SherlockAI incidents: every route against the library's (and the CLI's) answer,
problem documents for bad input, and a real ``sherlock serve`` process on a free localhost port."""

import json

import pytest
from fastapi.testclient import TestClient

from sherlock.search.similar import SimilarFinder
from sherlock.service.app import create_app


@pytest.fixture(scope="module")
def client(juspay_workspace, bearer):
    admin = bearer(juspay_workspace.settings, "admin")
    with TestClient(create_app(juspay_workspace.settings), headers=admin) as test_client:
        assert test_client.app.state.service.ready(wait=120).workspace.store.count() == 78
        yield test_client


def without_timing(data: dict) -> dict:
    """``data`` as JSON carries it (tuples become lists), without the fields that differ run to run: the time taken,
    and the query log row id the API adds (a string of digits when the request was logged)."""
    assert data.get("log_id") is None or data["log_id"].isdigit()
    return {key: value for key, value in json.loads(json.dumps(data)).items() if key not in ("took_ms", "log_id")}


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["incidents"] == 78 and ready.json()["status"] == "ready"


def test_search_equals_the_library(client, juspay_searcher):
    body = {"query": "UPI payment failed with error 5003", "k": 3, "filters": {"tag": "UPI"}}
    response = client.post("/v1/search", json=body)
    from sherlock.storage.store import Filters
    expected = juspay_searcher.search(body["query"], k=3, filters=Filters.parse(["tag=UPI"])).as_dict()
    assert response.status_code == 200
    assert without_timing(response.json()) == without_timing(expected)
    assert response.json()["results"][0]["id"] == "JSP-1001"


def test_search_with_other_fusion_settings(client):
    data = client.post("/v1/search", json={"query": "refund failed", "weights": [0, 1, 0], "fusion": "rrf",
                                           "norm": "rank"}).json()
    assert data["settings"]["weights"] == [0, 1, 0] and data["settings"]["method"] == "rrf"


def test_ask_cites_incidents(client):
    data = client.post("/v1/ask", json={"question": "UPI payment failed with error 5003", "k": 3}).json()
    assert data["citations"] and data["citations"][0] == "JSP-1001" and "reason" in data


def test_incidents_and_their_similar_ones(client, juspay_workspace):
    assert client.get("/v1/incidents/jsp-1052").json()["id"] == "JSP-1052"
    data = client.get("/v1/incidents/JSP-1055/similar", params={"k": 3}).json()
    expected = SimilarFinder(juspay_workspace).similar("JSP-1055", k=3).as_dict()
    assert without_timing(data) == without_timing(expected) and data["results"][0]["id"] == "JSP-2001"
    new = {"id": "NEW-1", "title": "Pinelabs RSA decryption fails with MessageNotRecognized"}
    data = client.post("/v1/similar", json={"incident": new, "k": 2}).json()
    assert data["results"][0]["id"] == "JSP-1052" and data["query"] == "NEW-1"


@pytest.mark.parametrize("method, path, body, status, says", [
    ("get", "/v1/incidents/JSP-9999", None, 404, "no incident JSP-9999"),
    ("get", "/v1/incidents/JSP-9999/similar", None, 404, "not found: no incident JSP-9999"),
    ("get", "/v1/incidents/JSP-1001/similar?k=0", None, 422, "query.k"),
    ("post", "/v1/search", {"query": ""}, 422, "body.query"),
    ("post", "/v1/search", {"query": "x", "k": "many"}, 422, "body.k"),
    ("post", "/v1/search", {"query": "x", "colour": "red"}, 422, "body.colour"),
    ("post", "/v1/search", {"query": "x", "filters": {"colour": "red"}}, 400, "colour"),
    ("post", "/v1/search", {"query": "x", "fusion": "magic"}, 400, "magic"),
    ("post", "/v1/similar", {"incident": {"id": "A-1"}}, 422, "body.incident.title"),
])
def test_bad_input_gets_a_problem_document(client, method, path, body, status, says):
    response = getattr(client, method)(path, **({"json": body} if body is not None else {}))
    assert response.status_code == status and response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and says in problem["detail"], problem


def test_ingest_search_delete_and_feedback(workspace_factory, juspay_issues, bearer):
    """Write routes on a workspace of their own: an incident posted is found by /v1/search right after, a bad record
    is named by its place in the body, a deleted one is gone; feedback lands in the feedback store."""
    workspace = workspace_factory("api-home")
    workspace.ingest([juspay_issues])
    with TestClient(create_app(workspace.settings), headers=bearer(workspace.settings, "admin")) as client:
        client.app.state.service.ready(wait=120)
        new = {"id": "OPS-501", "title": "Quokka gateway returns E-QK77 on every refund",
               "description": "Refunds through the quokka gateway fail with error E-QK77 since this morning"}
        report = client.post("/v1/incidents", json=[new, {"id": "OPS-502"}]).json()
        assert report["files"][0]["added"] == 1 and report["files"][0]["rejected"][0].startswith("body:2: ")
        assert report["sync"]["delta"] >= 1 and not report["sync"]["lexical_rebuilt"]
        found = client.post("/v1/search", json={"query": "quokka gateway E-QK77 refunds", "k": 1}).json()
        assert found["results"][0]["id"] == "OPS-501"
        assert client.delete("/v1/incidents/OPS-501").json()["deleted"] == ["OPS-501"]
        assert client.get("/v1/incidents/OPS-501").status_code == 404
        gone = client.post("/v1/search", json={"query": "quokka gateway E-QK77 refunds", "k": 3}).json()
        assert "OPS-501" not in [hit["id"] for hit in gone["results"]]
        assert client.post("/v1/feedback", json={"query": "refund failed", "shown_ids": ["JSP-1022"],
                                                 "helpful": False, "right_id": "JSP-1059"}).status_code == 200
        assert client.post("/v1/feedback", json={"query": "refund failed"}).status_code == 422
        assert client.post("/v1/feedback/pairs", json={"anchor_id": "JSP-1055", "other_id": "JSP-1001",
                                                       "same_root_cause": False}).status_code == 200
    from sherlock.storage.feedback import FeedbackStore
    store = FeedbackStore(workspace.settings.feedback_path)
    assert store.count() == 1 and store.pair_qrels() == {"JSP-1055": {"JSP-1001": 0}}
    store.close()


def test_metrics_count_requests_searches_and_the_index(client):
    client.post("/v1/search", json={"query": "UPI payment failed with error 5003"})
    client.post("/v1/search", json={"query": "what is the capital of Australia"})
    client.get("/v1/incidents/JSP-9999")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'sherlock_http_requests_total{method="POST",route="/v1/search",status="200"}' in text
    assert 'sherlock_http_requests_total{method="GET",route="/v1/incidents/{incident_id:path}",status="404"}' in text
    assert 'sherlock_abstentions_total{strategy="hybrid"}' in text
    assert "sherlock_http_request_duration_seconds_bucket" in text and "sherlock_index_revision " in text


def test_oversized_and_slow_requests_get_problems(juspay_workspace, bearer):
    settings = juspay_workspace.settings.model_copy(update={"api_max_body_bytes": 1_000, "api_timeout_s": 0.001})
    with TestClient(create_app(settings), headers=bearer(settings, "admin")) as client:
        client.app.state.service.ready(wait=120)
        big = client.post("/v1/incidents", json=[{"id": f"X-{n}", "title": "x" * 50} for n in range(40)])
        assert big.status_code == 413 and "limit is 1,000" in big.json()["detail"]
        slow = client.post("/v1/search", json={"query": "UPI payment failed with error 5003"})
        assert slow.status_code == 504 and slow.headers["content-type"] == "application/problem+json"
    assert juspay_workspace.store.get("X-1") is None  # nothing of the refused body was stored


def test_probes_open_by_default_and_closed_by_setting(juspay_workspace, bearer):
    with TestClient(create_app(juspay_workspace.settings)) as client:
        assert client.get("/healthz").status_code == 200 and client.get("/metrics").status_code == 200
        assert client.post("/v1/search", json={"query": "refund"}).status_code == 401
    closed = juspay_workspace.settings.model_copy(update={"api_open_probes": False})
    with TestClient(create_app(closed)) as client:
        assert client.get("/healthz").status_code == 401 and client.get("/metrics").status_code == 401
        assert client.get("/healthz", headers=bearer(closed, "read")).status_code == 200


def test_cors_is_off_unless_origins_are_set(juspay_workspace):
    preflight = {"Origin": "https://oncall.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    with TestClient(create_app(juspay_workspace.settings)) as client:
        response = client.options("/v1/search", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    allowed = juspay_workspace.settings.model_copy(update={"api_cors_origins": ["https://oncall.example"]})
    with TestClient(create_app(allowed)) as client:
        response = client.options("/v1/search", headers=preflight)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://oncall.example"
        other = client.options("/v1/search", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_auth_off_lets_anyone_in_but_still_limits_the_rate(juspay_workspace):
    settings = juspay_workspace.settings.model_copy(update={"api_auth": "off", "api_rate_limit": "2/minute"})
    with TestClient(create_app(settings)) as client:
        client.app.state.service.ready(wait=120)
        statuses = [client.get("/v1/incidents/JSP-1001").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_webhook_sources_are_off_until_their_secret_is_set(juspay_workspace):
    from pydantic import SecretStr

    from sherlock.service.signatures import signed_headers
    settings = juspay_workspace.settings.model_copy(update={"webhook_secret_github": SecretStr("s3cret")})
    with TestClient(create_app(settings)) as client:
        client.app.state.service.ready(wait=120)
        off = client.post("/v1/webhooks/pagerduty", json={})
        assert off.status_code == 403 and "SHERLOCK_WEBHOOK_SECRET_PAGERDUTY" in off.json()["detail"]
        unknown = client.post("/v1/webhooks/zendesk", json={})
        assert unknown.status_code == 404 and "pagerduty, github, jira, incidentio" in unknown.json()["detail"]
        body = json.dumps({"action": "opened"}).encode()
        not_issue = client.post("/v1/webhooks/github", content=body,
                                headers={**signed_headers("github", body, "s3cret"), "X-GitHub-Event": "issues"})
        assert not_issue.status_code == 422 and not_issue.json()["errors"][0]["field"] == "body.issue"
        push = client.post("/v1/webhooks/github", content=body,
                           headers={**signed_headers("github", body, "s3cret"), "X-GitHub-Event": "push"})
        assert push.json() == {"source": "github", "event": "push", "id": None, "action": "ignored",
                               "reason": "only issues events carry incidents"}
        broken = b'{"action": '
        bad_json = client.post("/v1/webhooks/github", content=broken,
                               headers={**signed_headers("github", broken, "s3cret"), "X-GitHub-Event": "issues"})
        assert bad_json.status_code == 400 and "invalid JSON" in bad_json.json()["detail"]


def test_an_unexpected_error_is_a_logged_500_problem_without_its_message(juspay_workspace, bearer, capsys):
    app = create_app(juspay_workspace.settings)
    with TestClient(app, headers=bearer(juspay_workspace.settings, "read")) as client:
        service = client.app.state.service.ready(wait=120)

        def broken(*args, **kwargs):
            raise RuntimeError("secret incident text that must not be logged")

        service.searcher.search = broken
        response = client.post("/v1/search", json={"query": "refund"})
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] in response.json()["detail"]
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"unhandled"' in line]
    assert logged[0]["error"] == "RuntimeError" and logged[0]["at"][-1].startswith("test_api.py:")
    assert "secret incident text" not in json.dumps(logged)


def test_searches_are_logged_and_feedback_joins_them(client, juspay_workspace):
    from sherlock.monitoring.querylog import QueryLog, query_log
    from sherlock.storage.feedback import FeedbackStore
    settings = juspay_workspace.settings
    data = client.post("/v1/search", json={"query": "refund failed insufficient funds 2C2P", "k": 3}).json()
    asked = client.post("/v1/ask", json={"question": "refund failed insufficient funds 2C2P"}).json()
    assert data["log_id"].isdigit() and asked["log_id"].isdigit() and data["log_id"] != asked["log_id"]
    vote = {"query": data["query"], "shown_ids": [hit["id"] for hit in data["results"]], "helpful": True,
            "log_id": data["log_id"]}
    assert client.post("/v1/feedback", json=vote).status_code == 200
    assert client.post("/v1/feedback", json={**vote, "log_id": "12ab"}).status_code == 422
    assert FeedbackStore(settings.feedback_path).records()[-1].log_id == int(data["log_id"])
    writer = query_log(settings)
    assert writer is not None and writer.flush()
    rows = QueryLog(settings.query_log_path, b"").frame().set_index("id")
    search, ask = rows.loc[int(data["log_id"])], rows.loc[int(asked["log_id"])]
    assert (search["channel"], search["kind"], ask["kind"]) == ("api", "search", "ask")
    assert search["session"].startswith("test-admin-")  # the token's name: the API caller


def test_changes_through_the_api_are_audited(juspay_workspace, bearer, workspace_factory):
    from sherlock.audit import entries
    workspace = workspace_factory("api-audit")
    admin = bearer(workspace.settings, "admin")
    with TestClient(create_app(workspace.settings), headers=admin) as client:
        assert client.app.state.service.ready(wait=120)
        new = {"id": "AUD-1", "title": "Kafka consumer lag on payments topic", "description": "lag grew to 2h"}
        assert client.post("/v1/incidents", json=new).status_code == 200
        assert client.delete("/v1/incidents/AUD-1").status_code == 200
    logged = entries(workspace.settings)
    assert [(e.action, e.target) for e in logged] == [("delete_incidents", "AUD-1"),
                                                      ("ingest", "POST /v1/incidents: 1 added, 0 updated")]
    assert all(e.actor.startswith("test-admin-") and e.source == "api testclient" for e in logged)
