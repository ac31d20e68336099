"""Pasted logs and stack traces: condensed to what names the failure, then searched like any question."""

import pytest

from sherlock.search.pasted import condense, looks_pasted
from sherlock.text import coverage_terms, query_tokens, synonyms

JAVA = """2025-06-01 12:03:44.812 ERROR [payments-api,5f2c1a9e7b] c.a.p.gateway.RazorpayClient : POST /v1/payments \
failed
java.net.SocketTimeoutException: Read timed out
\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)
\tat okhttp3.internal.http1.Http1ExchangeCodec.readResponseHeaders(Http1ExchangeCodec.kt:181)
\tat com.acme.payments.gateway.RazorpayClient.authorize(RazorpayClient.java:142)
\t... 42 more
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)"""

PYTHON = """Traceback (most recent call last):
  File "/app/gateway/client.py", line 88, in charge
    resp = session.post(url, json=body, timeout=10)
requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.razorpay.com', port=443): Read timed out."""

GO = """goroutine 17 [running]:
main.(*Client).Charge(0xc000123456)
\t/src/gateway/client.go:42 +0x1d
panic: context deadline exceeded calling razorpay /v1/payments"""


def test_a_java_stack_trace_keeps_the_log_line_and_the_exception_once():
    assert condense(JAVA) == ("[payments-api] c.a.p.gateway.RazorpayClient : POST /v1/payments failed\n"
                              "java.net.SocketTimeoutException: Read timed out")


@pytest.mark.parametrize("trace, kept", [
    (PYTHON, "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.razorpay.com', port=443): "
             "Read timed out."),
    (GO, "panic: context deadline exceeded calling razorpay /v1/payments"),
])
def test_python_and_go_traces_lose_their_frames(trace, kept):
    assert looks_pasted(trace) and condense(trace) == kept


@pytest.mark.parametrize("question", ["pods OOMKilled after deploy", "why do refunds fail?", "JSP-1052",
                                      "UPI payment failed with error 5003 at 12:03",
                                      "java.net.SocketTimeoutException on razorpay"])
def test_a_question_is_left_as_written(question):
    assert condense(question) == question


def test_synonyms_expand_the_lexical_query_but_not_the_terms_it_counts():
    assert "releas" in query_tokens("pods OOMKilled after deploy") and "deploy" in synonyms()["releas"]
    terms = coverage_terms("pods OOMKilled after deploy", known={"pod", "oomkil", "deploy"})
    assert set(terms) == {"pod", "oomkilled", "oom", "kill", "deploy"}  # one term per query word, synonyms inside
    assert {"releas", "rollout"} <= terms["deploy"] and "oomkil" in terms["oomkilled"]


def test_an_unknown_identifier_is_judged_by_its_parts():
    terms = coverage_terms("java.net.SocketTimeoutException", known={"socket", "timeout"})
    assert "java.net.sockettimeoutexception" not in terms and {"socket", "timeout", "except"} <= set(terms)
    assert "snapdeal_test" in coverage_terms("snapdeal_test", known={"snapdeal_test"})  # a known one counts whole


def test_the_packaged_synonyms_are_single_tokens():
    table = synonyms()
    assert table["k8s"] == ("kubernet",) and all(stem not in others for stem, others in table.items())
