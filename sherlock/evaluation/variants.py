"""A/B variant configurations: small TOML files (``experiments/*.toml``) that say how one arm searches and answers.

    name = "rrf"                          # optional; defaults to the file name
    description = "reciprocal rank fusion instead of the weighted sum"

    [search]                              # every key optional: unset keys keep the workspace's setting
    weights = [0.6, 0.3, 0.1]             # dense, bm25, tfidf — or a table {dense = 0.6, bm25 = 0.3, tfidf = 0.1}
    fusion = "rrf"                        # wsum | rrf | combmnz | dbsf
    norm = "minmax"                       # minmax | zscore | rank
    k = 10                                # results per query (default: the deepest metric cutoff)
    rrf_k = 60
    candidates = 100                      # per-retriever pool before fusion
    bm25_k1 = 1.2
    bm25_b = 0.75
    embedding_model = "minilm"
    entity_boost = true
    entity_multiplier = 1.15
    coverage_weight = 0.75                # how much a result missing query terms loses (0: nothing)

    [answer]
    provider = "extractive"               # auto | extractive | gemini
    model = "gemini-2.5-flash"
    prompt_version = "v1"

A key that is not one of these is an error naming the file, the line, the key and the valid keys — a typo such as
``wieghts`` would otherwise silently compare the workspace's setting with itself.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sherlock.config import Settings
from sherlock.registry import lookup
from sherlock.search.fusion import FUSERS, RETRIEVERS, validate_weights
from sherlock.search.normalise import NORMALIZERS

#: ``[search]`` key → the ``Settings`` field it overrides (``k`` is per comparison, not a setting).
SEARCH_SETTINGS = {"weights": "weights", "fusion": "fusion", "norm": "norm", "rrf_k": "rrf_k",
                   "candidates": "candidates", "bm25_k1": "bm25_k1", "bm25_b": "bm25_b",
                   "embedding_model": "embedder", "entity_boost": "entity_boost",
                   "entity_multiplier": "entity_multiplier", "coverage_weight": "coverage_weight"}
ANSWER_SETTINGS = {"provider": "answer_provider", "model": "gemini_model", "prompt_version": "answer_prompt_version"}
#: Settings that change what is indexed, not just how a query is scored: arms differing here need their own pool.
INDEX_SETTINGS = ("embedder", "bm25_k1", "bm25_b", "bm25_backend", "candidates")
#: How an arm fuses the retrievers: what every view of an A/B names for each arm, resolved ("workspace vs rrf" says
#: nothing once the workspace's weights have been tuned).
FUSION_KEYS = ("weights", "fusion", "norm")


class SearchConfig(BaseModel):
    """The ``[search]`` table; ``None`` keeps the workspace's setting."""

    model_config = ConfigDict(extra="forbid")

    weights: tuple[float, float, float] | None = None
    fusion: str | None = None
    norm: str | None = None
    k: int | None = Field(default=None, ge=1, le=1000)
    rrf_k: int | None = Field(default=None, ge=1)
    candidates: int | None = Field(default=None, ge=10)
    bm25_k1: float | None = Field(default=None, gt=0)
    bm25_b: float | None = Field(default=None, ge=0, le=1)
    embedding_model: Literal["minilm", "gemini"] | None = None
    entity_boost: bool | None = None
    entity_multiplier: float | None = Field(default=None, ge=1.0)
    coverage_weight: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("weights", mode="before")
    @classmethod
    def _weights_table(cls, value: Any) -> Any:
        if isinstance(value, dict):
            unknown = set(value) - set(RETRIEVERS)
            if unknown:
                raise ValueError(f"unknown retriever {sorted(unknown)[0]!r} in weights; use {', '.join(RETRIEVERS)}")
            return tuple(float(value.get(name, 0.0)) for name in RETRIEVERS)
        return value

    @field_validator("weights")
    @classmethod
    def _weights_valid(cls, value: tuple[float, float, float] | None) -> tuple[float, float, float] | None:
        return None if value is None else validate_weights(value, len(RETRIEVERS))  # type: ignore[return-value]

    @field_validator("fusion")
    @classmethod
    def _fusion_known(cls, value: str | None) -> str | None:
        if value is not None:
            lookup(FUSERS, value, "fusion")
        return value

    @field_validator("norm")
    @classmethod
    def _norm_known(cls, value: str | None) -> str | None:
        if value is not None:
            lookup(NORMALIZERS, value, "norm")
        return value


class AnswerConfig(BaseModel):
    """The ``[answer]`` table; ``None`` keeps the workspace's setting."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["auto", "extractive", "gemini"] | None = None
    model: str | None = None
    prompt_version: str | None = None

    @field_validator("prompt_version")
    @classmethod
    def _prompt_known(cls, value: str | None) -> str | None:
        from sherlock.answer.gemini import PROMPTS
        if value is not None:
            lookup(PROMPTS, value, "prompt version")
        return value


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str = ""
    search: SearchConfig = Field(default_factory=SearchConfig)
    answer: AnswerConfig = Field(default_factory=AnswerConfig)


@dataclass
class Variant:
    """One arm's configuration. ``settings(base)`` applies it to a workspace's settings; ``params(base)`` is the
    flattened, resolved configuration MLflow logs (``search.weights`` → ``"0.6,0.3,0.1"``)."""

    name: str
    search: SearchConfig = field(default_factory=SearchConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    description: str = ""
    path: Path | None = None

    def overrides(self) -> dict[str, Any]:
        """The ``Settings`` fields this variant sets (unset keys are absent)."""
        chosen = {SEARCH_SETTINGS[key]: value for key, value in self.search.model_dump().items()
                  if key in SEARCH_SETTINGS and value is not None}
        chosen.update({ANSWER_SETTINGS[key]: value for key, value in self.answer.model_dump().items()
                       if value is not None})
        return chosen

    def settings(self, base: Settings) -> Settings:
        """``base`` with this variant's overrides, validated like any settings (``ValueError`` names the variant)."""
        try:
            return Settings(**{**base.model_dump(), **self.overrides()})
        except ValidationError as exc:
            raise ValueError(f"variant {self.name!r}: {_first_error(exc)}") from None

    def depth(self, metrics: list[str] | tuple[str, ...] = ()) -> int:
        """How many results this arm returns per query: its ``k``, else the deepest metric cutoff (100 without)."""
        if self.search.k is not None:
            return self.search.k
        from sherlock.evaluation.metrics import parse_metric
        cutoffs = [parse_metric(m)[1] for m in metrics]
        return max([c if c is not None else 100 for c in cutoffs], default=10)

    def params(self, base: Settings, metrics: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
        """Every search and answer key with the value this arm really uses, as ``section.key`` → text."""
        resolved = self.settings(base)
        flat = {f"search.{key}": getattr(resolved, setting) for key, setting in SEARCH_SETTINGS.items()}
        flat["search.k"] = self.depth(metrics)
        flat["search.bm25_backend"] = resolved.bm25_backend
        flat.update({f"answer.{key}": getattr(resolved, setting) for key, setting in ANSWER_SETTINGS.items()})
        return {"variant": self.name, **{key: _text(value) for key, value in sorted(flat.items())}}

    def resolved(self, base: Settings) -> Variant:
        """This variant with the weights, fusion and normalisation it ranks with on ``base`` written in (``base``'s
        where it leaves them unset), so that it says what it compares — ``workspace`` included — after the workspace's
        settings change. Ranks exactly as ``self`` does on ``base``; ``ValueError`` as :meth:`settings`."""
        settings = self.settings(base)
        return replace(self, search=self.search.model_copy(update={key: getattr(settings, key) for key in FUSION_KEYS}))

    def describe(self) -> str:
        """The keys this variant sets, for a one-line summary (``fusion=rrf, k=10``); after :meth:`resolved`, its
        weights, fusion and normalisation always come first."""
        chosen = {**{k: v for k, v in self.search.model_dump().items() if v is not None},
                  **{f"answer.{k}": v for k, v in self.answer.model_dump().items() if v is not None}}
        return ", ".join(f"{k}={_text(v)}" for k, v in chosen.items()) or "the workspace's settings"


def fusion_summary(values: Mapping[str, Any]) -> str:
    """``weights=0.6,0.3,0.1, fusion=wsum, norm=minmax`` from ``{"weights", "fusion", "norm"}`` or an arm run's logged
    parameters (``search.weights``…); ``""`` when they hold none of them (a run logged by something else)."""
    found = {key: values.get(key, values.get(f"search.{key}")) for key in FUSION_KEYS}
    return ", ".join(f"{key}={_text(value)}" for key, value in found.items() if value not in (None, ""))


def default_variant(name: str = "workspace") -> Variant:
    """A variant that changes nothing: the workspace's own settings (the usual control arm)."""
    return Variant(name=name, description="the workspace's current settings")


def parse_variant(text: str, source: str = "<variant>", name: str | None = None) -> Variant:
    """A variant from TOML text; errors read ``source:line: what is wrong; what to do``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: {exc}; fix the TOML syntax") from None
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_located(exc, text, source)) from None
    return Variant(name=parsed.name or name or Path(source).stem, search=parsed.search, answer=parsed.answer,
                   description=parsed.description)


def load_variant(path: str | Path) -> Variant:
    """Read one variant file (``experiments/rrf.toml``); the name defaults to the file's stem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the variant file ({exc.strerror}); check the path") from None
    variant = parse_variant(text, str(path), path.stem)
    variant.path = path
    return variant


def candidates(spec: str | Path, directory: str | Path) -> tuple[Path, Path]:
    """Where an experiment file named ``spec`` may be: the path as given, then ``directory/NAME.toml``."""
    given = Path(spec).expanduser()
    return given, Path(directory) / (given.name if given.suffix == ".toml" else f"{given.name}.toml")


def resolve_variant(spec: str, directory: str | Path) -> Variant:
    """``workspace`` (the workspace's own settings), a variant file, or NAME for ``directory/NAME.toml``."""
    if spec == "workspace":
        return default_variant()
    given, named = candidates(spec, directory)
    for candidate in (given, named):
        if candidate.is_file():
            return load_variant(candidate)
    available = ", ".join(path.stem for path in list_variants(directory)) or "none"
    raise ValueError(f"no variant {spec!r}: neither {given} nor {named} exists; use a variant file, 'workspace', or "
                     f"one of {directory}: {available}")


def list_variants(directory: str | Path) -> list[Path]:
    """The variant files in ``directory`` (``*.toml`` without an ``[online]`` table), sorted by name."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if not re.search(r"^\s*\[online\]", p.read_text("utf-8"), re.M))


# -- error messages ------------------------------------------------------------------------------------------------

_VALID = {(): list(_File.model_fields), ("search",): list(SearchConfig.model_fields),
          ("answer",): list(AnswerConfig.model_fields)}


def _located(exc: ValidationError, text: str, source: str) -> str:
    error = exc.errors()[0]
    where = tuple(str(part) for part in error["loc"])
    section, key = where[:-1][:1], where[-1] if where else ""
    line = toml_line(text, ".".join(section), key)
    place = f"[{section[0]}] " if section else ""
    at = f"{source}:{line}" if line else source
    if error["type"] == "extra_forbidden":
        valid = _VALID.get(section, _VALID[()])
        return f"{at}: unknown key {place}{key!r}; valid keys: {', '.join(valid)}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{at}: {place}{key}: {message}"


def toml_line(text: str, table: str, key: str) -> int | None:
    """The 1-based line where ``key`` is set in ``[table]`` (``""``: the top level; dotted names as written, e.g.
    ``online.variants``), or where ``[table.key]`` opens, if it can be found — for ``file:line`` in errors."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$", line)
        if header:
            current = header.group(1).strip()
            if current == ".".join(part for part in (table, key) if part):
                return number
        elif current == table and re.match(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return number
    return None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)
