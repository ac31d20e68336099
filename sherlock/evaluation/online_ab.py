"""Online A/B: chat sessions are split between variant arms by a salted hash, thumbs are recorded per arm, and
:func:`analyse` compares each arm's helpful rate with the control's.

An online experiment is a TOML file with an ``[online]`` table (``experiments/fusion-online.toml``)::

    [online]
    name = "fusion-online"        # optional; defaults to the file name
    holdout = 0.1                 # share of sessions served the workspace's settings and kept out of the arms
    salt = "fusion-online"        # optional; defaults to the name — a new salt reshuffles every session

    [online.variants]             # arm → variant file (relative to this file); the first arm is the control
    control = "baseline.toml"
    rrf = "rrf.toml"              # "workspace" means the workspace's own settings

    [online.split]                # optional relative weights (default equal); keys are the arms
    control = 1
    rrf = 1

It goes live in chat with ``SHERLOCK_ONLINE_EXPERIMENT=fusion-online`` (a name under ``experiments_dir``, or a path).

Units: the unit of analysis is the *vote* (a thumbs up or down on one answer); ``sessions`` counts the distinct chat
sessions behind them. Votes from one session are not independent, so when sessions are much fewer than votes the
intervals are optimistic. :func:`sherlock.evaluation.online_ab_mlflow.log_online` records an analysis in MLflow.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sherlock.config import SETTINGS_FILE, Settings
from sherlock.evaluation.variants import Variant, candidates, default_variant, load_variant, toml_line

if TYPE_CHECKING:
    from sherlock.storage.feedback import FeedbackRecord, FeedbackStore

HOLDOUT = "holdout"
WORKSPACE = "workspace"


class _OnlineTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1)
    holdout: float = 0.0
    salt: str | None = Field(default=None, min_length=1)
    variants: dict[str, str]
    split: dict[str, float] | None = None

    @field_validator("holdout")
    @classmethod
    def _holdout_share(cls, value: float) -> float:
        if not 0 <= value < 1:
            raise ValueError(f"holdout is the share of sessions kept out, 0 <= holdout < 1; got {value:g}")
        return value

    @field_validator("variants")
    @classmethod
    def _two_arms(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) < 2:
            raise ValueError(f"an experiment needs at least two arms (the first is the control), got {len(value)}")
        if HOLDOUT in value:
            raise ValueError(f"{HOLDOUT!r} is reserved for the held-out sessions; name the arm otherwise")
        return value

    @field_validator("split")
    @classmethod
    def _weights(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and (any(w < 0 for w in value.values()) or sum(value.values()) <= 0):
            raise ValueError(f"split weights must be non-negative and not all zero, got {value}")
        return value


class _OnlineFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    online: _OnlineTable


@dataclass
class OnlineExperiment:
    """A live experiment: ``arms`` (ordered; the first is the control), ``split`` (shares summing to 1), the
    ``holdout`` share and the hashing ``salt``."""

    name: str
    arms: dict[str, Variant]
    split: dict[str, float]
    holdout: float = 0.0
    salt: str = ""
    path: Path | None = None

    @property
    def control(self) -> str:
        return next(iter(self.arms))

    def assign(self, session_id: str) -> str:
        """The arm (or ``"holdout"``) of a session: ``u`` = the first 8 bytes of SHA-256 of ``"salt:session_id"``
        over 2**64; below ``holdout`` it is held out, else ``u`` is rescaled to [0, 1) and the split's cumulative
        shares pick the arm. Deterministic across processes and machines."""
        digest = hashlib.sha256(f"{self.salt}:{session_id}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        if u < self.holdout:
            return HOLDOUT
        u = (u - self.holdout) / (1 - self.holdout)
        cumulative = 0.0
        for arm, share in self.split.items():
            cumulative += share
            if u < cumulative:
                return arm
        return next(arm for arm, share in reversed(self.split.items()) if share > 0)  # float rounding at the top

    def settings_for(self, arm: str, base: Settings) -> Settings:
        """What ``arm`` is served: ``base`` with the arm's overrides (the holdout gets ``base`` itself)."""
        return base if arm == HOLDOUT else self.arms[arm].settings(base)


@dataclass(frozen=True)
class Served:
    """What a chat session is served: ``settings``, and the ``experiment`` and ``arm`` its feedback is recorded under
    (``None`` when no experiment is live); ``error`` says why a configured experiment could not be served."""

    settings: Settings
    experiment: str | None = None
    arm: str | None = None
    description: str = ""
    error: str | None = None


def serve(settings: Settings, session_id: str) -> Served:
    """The arm of ``settings.online_experiment`` that serves ``session_id``, with its settings. Never raises: a
    broken experiment serves the workspace's own settings and says why in ``error``."""
    if not settings.online_experiment:
        return Served(settings)
    try:
        experiment = load_online(settings.online_experiment, settings)
        arm = experiment.assign(session_id)
        chosen = experiment.settings_for(arm, settings)
    except (OSError, ValueError) as exc:
        return Served(settings, error=str(exc))
    if chosen.embedder != settings.embedder:
        return Served(settings, error=f"arm {arm!r} of {experiment.name!r} uses the {chosen.embedder!r} embedding "
                                      f"model, but this workspace is indexed with {settings.embedder!r}; an online "
                                      f"arm must search the workspace's index")
    description = "the workspace's settings, held out" if arm == HOLDOUT else experiment.arms[arm].describe()
    return Served(chosen, experiment.name, arm, description)


def resolve(path_or_name: str | Path, settings: Settings) -> Path:
    """The experiment file: an existing path as given, else ``experiments_dir/NAME.toml``."""
    given, named = candidates(path_or_name, settings.experiments_dir)
    for candidate in (given, named):
        if candidate.is_file():
            return candidate
    available = [path.stem for path in list_online(settings.experiments_dir)]
    raise ValueError(f"no online experiment {str(path_or_name)!r}: neither {given} nor {named} exists; online "
                     f"experiments in {settings.experiments_dir}: {', '.join(available) or 'none'}")


def list_online(directory: str | Path) -> list[Path]:
    """The online experiment files of ``directory`` (``*.toml`` with an ``[online]`` table), sorted by name."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if re.search(r"^\s*\[online", p.read_text("utf-8"), re.M))


def load_online(path_or_name: str | Path, settings: Settings) -> OnlineExperiment:
    """Read an online experiment file and each arm's variant file; errors read ``file:line: what; what to do``.
    Each arm is :meth:`~sherlock.evaluation.variants.Variant.resolved` on ``settings``: it names the weights, fusion
    and norm it serves (a ``workspace`` arm: the workspace's own)."""
    path = resolve(path_or_name, settings)
    text = path.read_text(encoding="utf-8")
    try:
        table = _OnlineFile.model_validate(tomllib.loads(text)).online
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}; fix the TOML syntax") from None
    except ValidationError as exc:
        raise ValueError(_located(exc, text, path)) from None
    arms: dict[str, Variant] = {}
    for arm, target in table.variants.items():
        try:
            variant = default_variant(arm) if target == WORKSPACE else load_variant(path.parent / target)
            arms[arm] = variant.resolved(settings)
        except ValueError as exc:
            raise ValueError(f"{_at(path, text, 'online.variants', arm)}: arm {arm!r}: {exc}") from None
    weights = table.split if table.split is not None else dict.fromkeys(arms, 1.0)
    if set(weights) != set(arms):
        raise ValueError(f"{_at(path, text, 'online', 'split')}: [online.split] keys must be the arms "
                         f"({', '.join(arms)}), got {', '.join(weights) or 'none'}")
    total = sum(weights.values())
    name = table.name or path.stem
    return OnlineExperiment(name=name, arms=arms, split={arm: weights[arm] / total for arm in arms},
                            holdout=table.holdout, salt=table.salt or name, path=path)


# -- starting and stopping -------------------------------------------------------------------------------------------

_LIVE_KEY = re.compile(r"""^\s*["']?online_experiment["']?\s*=""")


def set_online_experiment(home: Path, name: str | None) -> Path:
    """Start (``name``: a file name under ``experiments_dir``, or a path) or stop (``None``) the online experiment chat
    serves: set or remove ``online_experiment`` in ``<home>/sherlock.toml``. Only that line changes — other keys and
    comments stay as written — and the edit is read back before it replaces the file, atomically; ``ValueError``
    naming the file when it cannot be edited so. A ``SHERLOCK_ONLINE_EXPERIMENT`` variable still overrides the file."""
    path = home / SETTINGS_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}; fix or delete the file") from None
    lines = [line if line.endswith("\n") else line + "\n" for line in text.splitlines(keepends=True)]
    at = next((i for i, line in enumerate(lines) if _LIVE_KEY.match(line)), len(lines))
    kept = [line for line in lines if not _LIVE_KEY.match(line)]
    edited = "".join(kept[:at] + ([f"online_experiment = {json.dumps(name, ensure_ascii=False)}\n"] if name else [])
                     + kept[at:])
    expected = {key: value for key, value in before.items() if key != "online_experiment"}
    expected.update({"online_experiment": name} if name else {})
    try:
        same = tomllib.loads(edited) == expected
    except tomllib.TOMLDecodeError:
        same = False
    if not same:  # e.g. a value spread over several lines: say what to write instead of guessing
        change = f"online_experiment = {json.dumps(name)}" if name else "remove the online_experiment line"
        raise ValueError(f"{path}: online_experiment cannot be changed line by line here; edit the file by hand: "
                         f"{change}")
    home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(edited, encoding="utf-8")
    tmp.replace(path)
    return path


# -- analysis ------------------------------------------------------------------------------------------------------

@dataclass
class ArmStats:
    """One arm's feedback: distinct ``sessions``, ``votes`` (thumbs up or down), ``helpful`` (thumbs up), the
    helpful ``rate`` and its Wilson 95% interval (``None`` without votes)."""

    sessions: int = 0
    votes: int = 0
    helpful: int = 0
    rate: float | None = None
    ci95: list[float] | None = None


@dataclass
class Comparison:
    """An arm against the control: ``diff`` = rate(arm) − rate(control), its 95% CI, the test used (Fisher's exact
    test when any expected cell is below 5, else the two-proportion z-test), ``p`` and the Holm-adjusted ``p_holm``."""

    vs: str
    diff: float | None = None
    ci95: list[float] | None = None
    test: str | None = None
    p: float | None = None
    p_holm: float | None = None


@dataclass
class OnlineResult:
    experiment: str
    control: str
    variants: dict[str, ArmStats]
    comparisons: dict[str, Comparison]
    holdout: ArmStats
    notes: list[str] = field(default_factory=list)
    config: OnlineExperiment | None = field(default=None, repr=False)
    mlflow_run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The ``sherlock ab-online --json`` contract."""
        return {"experiment": self.experiment, "control": self.control,
                "variants": {arm: asdict(stats) for arm, stats in self.variants.items()},
                "comparisons": {arm: asdict(c) for arm, c in self.comparisons.items()},
                "holdout": asdict(self.holdout), "notes": self.notes, "mlflow_run_id": self.mlflow_run_id}


def analyse(experiment: OnlineExperiment, store: FeedbackStore) -> OnlineResult:
    """Each arm's helpful rate (votes tagged with this experiment), and each other arm against the control with
    p-values Holm-adjusted across the comparisons. No votes gives null rates and a note, never an error."""
    from sherlock.evaluation.stats import holm, two_proportion
    groups: dict[str, list[FeedbackRecord]] = {arm: [] for arm in [*experiment.arms, HOLDOUT]}
    strays: dict[str, int] = {}
    for record in store.records():
        if record.experiment != experiment.name:
            continue
        if record.variant in groups:
            groups[record.variant].append(record)
        else:
            strays[str(record.variant)] = strays.get(str(record.variant), 0) + 1
    per_arm = {arm: _arm_stats(rows) for arm, rows in groups.items()}
    control = per_arm[experiment.control]
    comparisons: dict[str, Comparison] = {}
    for arm in list(experiment.arms)[1:]:
        comparisons[arm] = Comparison(vs=experiment.control)
        if control.votes and per_arm[arm].votes:
            test = two_proportion(control.helpful, control.votes, per_arm[arm].helpful, per_arm[arm].votes)
            comparisons[arm] = Comparison(vs=experiment.control, diff=test["diff"], ci95=list(test["ci95"]),
                                          test=test["test"], p=test["p"])
    adjusted = holm({arm: c.p for arm, c in comparisons.items() if c.p is not None})
    for arm, p_holm in adjusted.items():
        comparisons[arm].p_holm = p_holm
    notes = []
    if not any(per_arm[arm].votes for arm in experiment.arms):
        notes.append(f"no votes recorded for experiment {experiment.name!r} yet: rates are null until chat sessions "
                     f"served under it leave thumbs up or down")
    elif any(c.p is None for c in comparisons.values()):
        notes.append("arms without votes (or a control without votes) are not compared")
    if strays:
        notes.append("rows of arms not in the file were left out: "
                     + ", ".join(f"{arm} ({n})" for arm, n in sorted(strays.items())))
    return OnlineResult(experiment.name, experiment.control, {arm: per_arm[arm] for arm in experiment.arms},
                        comparisons, per_arm[HOLDOUT], notes, experiment)


def _arm_stats(rows: list[FeedbackRecord]) -> ArmStats:
    from sherlock.evaluation.stats import wilson_ci
    votes = [r.helpful for r in rows if r.helpful is not None]
    helpful = sum(votes)
    sessions = len({r.session_id for r in rows if r.session_id})
    if not votes:
        return ArmStats(sessions=sessions)
    return ArmStats(sessions, len(votes), helpful, helpful / len(votes), list(wilson_ci(helpful, len(votes))))


# -- errors ----------------------------------------------------------------------------------------------------

_VALID = {"": list(_OnlineFile.model_fields), "online": list(_OnlineTable.model_fields)}


def _located(exc: ValidationError, text: str, path: Path) -> str:
    errors = exc.errors()  # a misspelt key explains a missing one ("[onlien]" → 'online' is missing): report it first
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    where = [str(part) for part in error["loc"]]
    table, key = ".".join(where[:-1]), where[-1] if where else ""
    at = _at(path, text, table, key)
    if error["type"] == "extra_forbidden":
        return f"{at}: unknown key {key!r} in [{table or 'top level'}]; valid keys: {', '.join(_VALID[table])}"
    if error["type"] == "missing":
        place = f"[{table}] " if table else ""
        return f"{at}: {place}{key!r} is missing; an online experiment needs an [online] table with [online.variants]"
    message = error["msg"].removeprefix("Value error, ")
    return f"{at}: [{table or 'top level'}] {key}: {message}"


def _at(path: Path, text: str, table: str, key: str) -> str:
    """``path:line`` where ``key`` is set in ``[table]`` (or is the ``[table.key]`` header), else ``path``."""
    line = toml_line(text, table, key)
    return f"{path}:{line}" if line else str(path)
