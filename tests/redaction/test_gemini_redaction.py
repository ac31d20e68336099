"""Nothing secret leaves for Gemini: the question and the incidents of an answer prompt, and every text sent to the
Gemini embedder, are redacted first. Fake clients capture what would have been sent; Gemini is never called."""

from types import SimpleNamespace

import numpy as np
import pytest

from sherlock.answer.gemini import GeminiAnswerer
from sherlock.config import load_settings
from sherlock.embed.gemini import GeminiEmbedder
from sherlock.schema import Incident

API_KEY = "AIza-test-placeholder-not-a-real-key"
SECRETS = ["4111 1111 1111 1111", "5500000000000004", "AKIAIOSFODNN7EXAMPLE", "hunter2-Pa55",
           "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "s3cr3t-db-pw"]


class CapturingModels:
    """``genai.Client().models`` stand-in: keeps every request, answers with a grounded sentence or random vectors."""

    def __init__(self) -> None:
        self.prompts: list[str] = []
        self.embedded: list[str] = []

    def generate_content(self, *, model, contents, config):
        self.prompts.append(contents)
        return SimpleNamespace(text="The card payment was declined by the issuer [PAY-7].")

    def embed_content(self, *, model, contents, config):
        from google.genai import types
        self.embedded.extend(contents)
        vectors = np.random.default_rng(len(self.embedded)).normal(size=(len(contents), 8))
        return types.EmbedContentResponse(embeddings=[types.ContentEmbedding(values=v.tolist()) for v in vectors])


def stored_before_redaction() -> Incident:
    """An incident as a workspace ingested before redaction was on: every secret still in it."""
    return Incident(id="PAY-7", title="Card 4111 1111 1111 1111 declined",
                    description="Worker logged key AKIAIOSFODNN7EXAMPLE and password=hunter2-Pa55 on retry",
                    root_cause="Slack bot xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx posted the card",
                    resolution="Moved postgres://app:s3cr3t-db-pw@db.internal/pay to the vault", service="payments")


@pytest.mark.parametrize("redaction", [True, False])
def test_the_answer_prompt_is_redacted(tmp_path, redaction):
    settings = load_settings(home=tmp_path, gemini_api_key=API_KEY, redaction=redaction)
    models = CapturingModels()
    answerer = GeminiAnswerer(settings, client=SimpleNamespace(models=models))
    text, citations, _, _ = answerer.answer("why was card 5500000000000004 declined?", [stored_before_redaction()])
    assert citations == ["PAY-7"] and text.endswith("[PAY-7].")
    (prompt,) = models.prompts
    leaked = [secret for secret in SECRETS if secret in prompt]
    if not redaction:  # the same call with redaction off sends them all: the check above is not vacuous
        assert leaked == SECRETS
        return
    assert leaked == []
    # the placeholders are fenced like any incident text (no [..] that could pass for a citation), ids kept
    assert "Question: why was card (card ••••0004) declined?" in prompt
    assert "title: Card (card ••••1111) declined" in prompt
    assert "key (redacted:aws_access_key) and password=(redacted:password)" in prompt
    assert "postgres://app:(redacted:url_password)@db.internal/pay" in prompt
    assert "<<<INCIDENT id=PAY-7>>>" in prompt


def test_texts_sent_to_the_gemini_embedder_are_redacted(tmp_path):
    models = CapturingModels()
    settings = load_settings(home=tmp_path, embedder="gemini", gemini_api_key=API_KEY)
    embedder = GeminiEmbedder(settings, client=SimpleNamespace(models=models), dim=8)
    embedder.embed([stored_before_redaction().text(), "UPI timeout at 2024-03-12 10:15"])
    embedder.embed_query("refund to card 5500-0000-0000-0004 failed")
    sent = "\n".join(models.embedded)
    assert [secret for secret in SECRETS if secret in sent] == []
    assert "5500-0000-0000-0004" not in sent
    assert models.embedded[1] == "UPI timeout at 2024-03-12 10:15"
    assert models.embedded[2] == "refund to card [card ••••0004] failed"
