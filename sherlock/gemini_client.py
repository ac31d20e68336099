"""The one place a Google Gemini client is made, and the one place the API key is scrubbed from messages.

Used by the Gemini embedder (:mod:`sherlock.embed.gemini`) and the Gemini answerer (:mod:`sherlock.answer.gemini`).
``google-genai`` is imported only when a client is created.
"""

from __future__ import annotations

from typing import Any

from sherlock.config import Settings


def gemini_client(settings: Settings) -> Any:
    """A ``google.genai.Client`` for ``settings.gemini_api_key``, bounded by ``settings.gemini_timeout_s`` per HTTP
    request and with no retries (callers fall back instead of waiting). Creating it makes no request.

    Raises ``ValueError`` when no key is configured."""
    if settings.gemini_api_key is None or not settings.gemini_api_key.get_secret_value():
        raise ValueError("no Gemini API key: set SHERLOCK_GEMINI_API_KEY (or GEMINI_API_KEY)")
    from google import genai
    from google.genai import types

    options = types.HttpOptions(timeout=int(settings.gemini_timeout_s * 1000),
                                retry_options=types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key=settings.gemini_api_key.get_secret_value(), http_options=options)


def redact_key(message: str, settings: Settings) -> str:
    """``message`` with every occurrence of the configured API key replaced by ``***``."""
    key = settings.gemini_api_key
    secret = key.get_secret_value() if key else ""
    return message.replace(secret, "***") if secret else message
