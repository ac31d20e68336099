"""The JSON bodies the API takes, as pydantic models: an unknown field is an error naming it (``body.colour``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SearchRequest(BaseModel):
    """``POST /v1/search``: as ``sherlock search --json`` takes it."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    k: int = Field(default=10, ge=1, le=200)
    filters: dict[str, str | int | list[str]] = Field(default_factory=dict)
    weights: tuple[float, float, float] | None = None
    fusion: str | None = None
    norm: str | None = None


class AskRequest(BaseModel):
    """``POST /v1/ask``: as ``sherlock ask --json`` takes it."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1)
    k: int = Field(default=5, ge=1, le=50)
    filters: dict[str, str | int | list[str]] = Field(default_factory=dict)


class SimilarRequest(BaseModel):
    """``POST /v1/similar``: a new incident (canonical fields; title and description are enough)."""

    model_config = ConfigDict(extra="forbid")
    incident: dict[str, Any]
    k: int = Field(default=10, ge=1, le=200)


class FeedbackRequest(BaseModel):
    """``POST /v1/feedback``: a vote on a search, as the chat page records it."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    shown_ids: list[str] = Field(default_factory=list)
    helpful: bool | None = None
    right_id: str | None = None
    session_id: str | None = None
    #: the ``log_id`` the search or answer voted on came with: joins the vote to its query for monitoring
    log_id: str | None = Field(default=None, pattern=r"^\d{1,19}$")


class PairFeedbackRequest(BaseModel):
    """``POST /v1/feedback/pairs``: "does ``other_id`` share ``anchor_id``'s root cause?", as the Incident page
    records it."""

    model_config = ConfigDict(extra="forbid")
    anchor_id: str = Field(min_length=1)
    other_id: str = Field(min_length=1)
    same_root_cause: bool
    session_id: str | None = None
