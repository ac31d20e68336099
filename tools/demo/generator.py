"""The demo corpus: a seeded generator of realistic payment-gateway and SRE incidents, plus labelled queries.

Everything here is written by us; nothing is copied from any real tracker. ``python -m tools.demo`` regenerates
``data/demo/`` byte for byte (same ``--n`` and ``--seed`` give the same files).

How a corpus is built
    * 36 recurring root-cause **families** (``FAMILIES``, in ``tools.demo.families``): UPI, cards, gateways,
      refunds, webhooks, settlements, merchant limits, OTP, Kubernetes, databases, networking, Kafka, and game days.
      Each family has several title / description / root-cause / resolution templates whose slots (merchant,
      gateway, bank, service, region, error code, numbers) are filled at random, so members are alike but not equal.
    * **Time structure**: a rising trend (about +30 % over the span), weekday > weekend, a festive-season bump
      (late October to November) and a smaller financial-year-end bump (March), a daytime (IST) hour profile, and
      a per-family trend (Kubernetes and tokenization grow, legacy settlement files fade).
    * **Spikes** (``SPIKES``): four families burst in one week each; :func:`active_spikes` says which fall inside a
      span and how many incidents each adds. With the defaults: ``upi_psp_timeout`` at Axis in the week of
      2024-10-28 (festive sale), ``settlement_recon_mismatch`` at HDFC in the week of 2025-03-31 (financial-year end),
      ``k8s_oomkilled`` on payments-api in the week of 2025-06-16 (leaky release), ``webhook_delivery`` to
      tripnest in the week of 2025-09-22 (merchant WAF rule).
    * **Game days**: about 0.5 % of records are planned chaos drills, tagged ``game-day``.
    * Severity is SEV1..SEV4 (mostly SEV3/SEV4, family-dependent); time to resolve is lognormal with a median of
      about 55 min (SEV1), 2.5 h (SEV2), 9 h (SEV3) and 30 h (SEV4). Incidents whose resolution would fall after the
      end of the span stay ``open`` or ``monitoring`` without ``resolved_at``.
    * Content is unique: no two incidents share title, description, root cause and resolution.

Labelled queries (:func:`generate_queries`) are on-call phrasings of a family's symptom, some naming the family's key
entity (a bank, gateway, merchant, service, region or error code). Grades: 2 for incidents of the family that share
every entity the query names (or, for a query naming none, the incident it was derived from), 1 for the family's
other incidents; at most ``RELEVANT_CAP`` ids, the most specific first (most shared entities, then nearest in time),
so the lists are a sample of each family, not all of it. ``OFF_TOPIC_QUERIES`` have no relevant incidents.
"""

from __future__ import annotations

import argparse
import json
import random
import string
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from sherlock.config import DEMO_DIR
from sherlock.schema import Incident
from sherlock.storage.demo import (
    DEFAULT_END,
    DEFAULT_START,
    LabelledQuery,
    active_spikes,
)

# every name of the families module stays importable from here (APP_SERVICES and SERVICES only for callers)
from tools.demo.families import (
    BANK_IDS,
    BANK_WEIGHTS,
    BANKS,
    BIN_RANGES,
    BRIDGE_PHRASES,
    CUSTOMER_FACING,
    DETECTION_PHRASES,
    DRILLS,
    FAMILIES,
    FAMILY_INDEX,
    GATEWAY_IDS,
    GATEWAY_SPOKEN,
    GATEWAY_WEIGHTS,
    GATEWAYS,
    HOSTS,
    IMPACT_PHRASES,
    MERCHANT_WEIGHTS,
    MERCHANTS,
    MONITORING_PHRASES,
    OFF_TOPIC_QUERIES,
    PLAIN_SUFFIXES,
    PSP_APPS,
    QUERY_PREFIXES,
    QUERY_SUFFIXES,
    REGION_WEIGHTS,
    REGIONS,
    TABLES,
    TEAMS,
    TOPICS,
    Family,
)

IST = timezone(timedelta(hours=5, minutes=30), "IST")
RELEVANT_CAP = 30

#: The entity slots a query may name; grading compares them with ``Incident.service`` / ``Incident.extra``.
ENTITY_SLOTS = ("bank", "gateway", "merchant", "service", "region", "error_code")

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
#: P(SEV1..SEV4) for a family's severity bias: -1 milder, 0 typical, +1 more severe.
SEVERITY_MIX = {-1: (0.01, 0.05, 0.39, 0.55), 0: (0.03, 0.12, 0.45, 0.40), 1: (0.08, 0.22, 0.45, 0.25)}
#: Lognormal time to resolve per severity: (median minutes, sigma).
MTTR_MINUTES = {"SEV1": (55, 0.45), "SEV2": (150, 0.6), "SEV3": (540, 0.8), "SEV4": (1800, 0.9)}
#: Relative incident rate by hour of day (IST).
HOUR_PROFILE = (1, .7, .5, .4, .4, .5, .8, 1.2, 1.8, 2.4, 2.8, 3,
                3, 2.8, 2.7, 2.6, 2.5, 2.5, 2.6, 2.8, 3, 2.8, 2.2, 1.5)
WEEKDAY_PROFILE = (1.1, 1.1, 1.05, 1.05, 1.0, 0.8, 0.75)
GAME_DAY_SHARE = 0.005


# -- the corpus ---------------------------------------------------------------------------------------------------

def generate_incidents(n: int = 2000, seed: int = 7, start: date = DEFAULT_START,
                       end: date = DEFAULT_END) -> list[Incident]:
    """``n`` synthetic incidents created between ``start`` and ``end`` (inclusive), ids ``INC-10001``... in creation
    order. Deterministic for a given ``(n, seed, start, end)``; 100k records take about 15 s."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    families, offsets, forced = _plan(n, rng, start, end)
    order = np.lexsort((np.arange(n), offsets))
    families, offsets = families[order], offsets[order]
    forced = [forced[i] for i in order]
    severity = _draw_severities(families, rng)
    mttr = _draw_mttr(severity, rng)
    clock = rng.random((n, 3))  # time format, stale-monitoring chance, open-vs-monitoring
    span_end = (end - start).days * 86400.0 + 86400.0
    seen: set[tuple[str, str, str, str]] = set()
    epoch = datetime.combine(start, time(0), IST)
    incidents = []
    for i in range(n):
        family = FAMILIES[families[i]]
        created = epoch + timedelta(seconds=int(offsets[i]))
        resolved = created + timedelta(minutes=int(round(float(mttr[i]))))
        status = "resolved"
        if offsets[i] + mttr[i] * 60 > span_end:
            status = "open" if clock[i, 2] < 0.6 else "monitoring"
        elif clock[i, 1] < 0.006:
            status = "monitoring"
        incidents.append(_build(10001 + i, family, SEVERITIES[severity[i]], status, created,
                                resolved, float(clock[i, 0]), forced[i], pyrng, seen))
    return incidents


def _plan(n: int, rng: np.random.Generator, start: date, end: date,
          ) -> tuple[np.ndarray, np.ndarray, list[dict[str, str] | None]]:
    """Family index, seconds since ``start`` (IST midnight) and forced slots, one per incident (unsorted)."""
    days = (end - start).days + 1
    day_weights = _daily_profile(start, days)
    hour_p = np.array(HOUR_PROFILE) / sum(HOUR_PROFILE)
    spikes = [s for s in active_spikes(start, end) if s.count(n) > 0]
    spike_total = sum(s.count(n) for s in spikes)
    game_key = FAMILY_INDEX["game_day"]
    game_total = round(GAME_DAY_SHARE * n) if n >= 100 else 0
    base = n - spike_total - game_total
    if base < 0:
        raise ValueError(f"n={n} is too small for the spikes and game days; use n >= 100")
    weights = np.array([f.weight if f.key != "game_day" else 0.0 for f in FAMILIES])
    counts = rng.multinomial(base, weights / weights.sum())
    counts[game_key] = game_total
    t = np.linspace(0.0, 1.0, days)
    fam_parts, day_parts, forced = [], [], []
    for index, (family, count) in enumerate(zip(FAMILIES, counts)):
        if count == 0:
            continue
        w = day_weights * (1 + family.slope * (t - 0.5))
        if family.key == "game_day":  # drills are planned for a Wednesday or Thursday
            weekday = np.array([(start + timedelta(days=int(d))).weekday() for d in range(days)])
            w = np.where(np.isin(weekday, (2, 3)), 1.0, 0.0)
        day_parts.append(rng.choice(days, size=count, p=w / w.sum()))
        fam_parts.append(np.full(count, index))
        forced.extend([None] * count)
    for spike in spikes:
        count = spike.count(n)
        first = (spike.week_start - start).days
        day_parts.append(first + rng.integers(0, 7, size=count))
        fam_parts.append(np.full(count, FAMILY_INDEX[spike.family]))
        on_entity = rng.random(count) < 0.85
        forced.extend({spike.slot: spike.value} if hit else None for hit in on_entity)
    day_index = np.concatenate(day_parts)
    hours = rng.choice(24, size=n, p=hour_p)
    seconds = day_index * 86400 + hours * 3600 + rng.integers(0, 3600, size=n)
    return np.concatenate(fam_parts), seconds.astype(np.int64), forced


def _daily_profile(start: date, days: int) -> np.ndarray:
    """Relative incident rate per day: trend x weekday x festive season x financial-year end."""
    dates = [start + timedelta(days=d) for d in range(days)]
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    weekday = np.array([WEEKDAY_PROFILE[d.weekday()] for d in dates])
    trend = 1 + 0.3 * np.linspace(0.0, 1.0, days)
    festive = 1 + 0.35 * np.exp(-(((doy - 310) / 22) ** 2))
    year_end = 1 + 0.15 * np.exp(-(((doy - 85) / 8) ** 2))
    return trend * weekday * festive * year_end


def _draw_severities(families: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Severity index 0..3 (SEV1..SEV4) per incident from its family's bias; game days are SEV4."""
    severity = np.empty(len(families), dtype=np.int64)
    for index, family in enumerate(FAMILIES):
        members = np.flatnonzero(families == index)
        if family.key == "game_day":
            severity[members] = 3
        elif len(members):
            severity[members] = rng.choice(4, size=len(members), p=SEVERITY_MIX[family.bias])
    return severity


def _draw_mttr(severity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Minutes to resolve: lognormal per severity (see ``MTTR_MINUTES``), at least 5."""
    medians = np.array([MTTR_MINUTES[s][0] for s in SEVERITIES], dtype=float)[severity]
    sigmas = np.array([MTTR_MINUTES[s][1] for s in SEVERITIES])[severity]
    return np.maximum(5.0, medians * np.exp(sigmas * rng.standard_normal(len(severity))))


def _build(number: int, family: Family, severity: str, status: str, created: datetime, resolved: datetime,
           time_format: float, forced: dict[str, str] | None, r: random.Random,
           seen: set[tuple[str, str, str, str]]) -> Incident:
    """One incident of ``family``: slots drawn (re-drawn until the text is new), templates filled."""
    for attempt in range(50):
        slots = _draw_slots(r, family, forced)
        cause = r.randrange(len(family.root_causes))  # description, root cause and fix tell one story
        title = r.choice(family.titles).format_map(slots)
        description = family.descriptions[cause].format_map(slots)
        if attempt >= 3:  # a crowded family (large n): an impact note with fresh numbers keeps the text unique
            description += " " + r.choice(IMPACT_PHRASES).format_map(slots)
        root_cause = family.root_causes[cause].format_map(slots)
        resolution = family.resolutions[cause].format_map(slots)
        content = (title, description, root_cause, resolution)
        if content not in seen:
            break
    else:
        raise RuntimeError(f"{family.key}: could not draw unique content; add templates or slot values")
    seen.add(content)
    detection = "customer" if r.random() < (0.25 if family.category in CUSTOMER_FACING else 0.1) else "alert"
    description = f"{description} {r.choice(DETECTION_PHRASES[detection])}"
    if severity in ("SEV1", "SEV2") and family.key != "game_day":
        description += f" {r.choice(BRIDGE_PHRASES).format(severity=severity)}"
    if status == "open":
        root_cause, resolution = f"Suspected: {root_cause[0].lower()}{root_cause[1:]}", ""
    elif status == "monitoring":
        resolution = f"{resolution} {r.choice(MONITORING_PHRASES)}"
    extra: dict[str, Any] = {"family": family.key, "region": slots["region"]}
    for key in family.extra_keys:
        extra[key] = slots[f"{key}_id"] if key in ("bank", "gateway") else slots[key]
    extra["detection"] = "synthetic" if family.key == "game_day" else detection
    tags = list(family.tags)
    if family.key_slot in ("bank", "gateway", "merchant"):
        tags.append(str(extra[family.key_slot]).replace(" ", "-"))
    if slots["error_code"] and r.random() < 0.5:
        tags.append(slots["error_code"].lower())
    if severity == "SEV1" or (severity == "SEV2" and detection == "customer"):
        tags.append("customer-impact")
    team = TEAMS[family.category]
    people: str | list[str] = f"oncall-{team + r.randrange(6):02d}@example.com"
    if r.random() < 0.15:
        people = [people, f"oncall-{team + r.randrange(6, 9):02d}@example.com"]
    when: date | datetime = created
    done: date | datetime = resolved
    if time_format < 0.05:  # legacy records carry dates only
        when, done = created.date(), resolved.date()
    elif time_format < 0.15:
        when, done = created.astimezone(UTC), resolved.astimezone(UTC)
    return Incident(
        id=f"INC-{number}", title=title, description=description, root_cause=root_cause, resolution=resolution,
        tags=list(dict.fromkeys(tags)), service=slots["service"], category=family.category, severity=severity,
        status=status, created_at=when, resolved_at=done if status == "resolved" else None,
        resolved_by=people if status != "open" else None, extra=extra)


def _draw_slots(r: random.Random, family: Family, forced: dict[str, str] | None) -> dict[str, Any]:
    """Every template slot, drawn; ``forced`` pins an entity (a spike's bank, service, ...).

    Draws use ``r.random()`` directly: ``random.choice`` / ``randint`` are several times slower, and this runs
    once per incident (100k in the speed benchmarks)."""
    u = r.random
    bank_id = BANK_IDS[bisect(BANK_CUMULATIVE, u())]
    gateway_id = GATEWAY_IDS[bisect(GATEWAY_CUMULATIVE, u())]
    merchant = MERCHANTS[bisect(MERCHANT_CUMULATIVE, u())]
    region = REGIONS[bisect(REGION_CUMULATIVE, u())]
    service = _pick(u, family.services)
    error_code = _pick(u, family.error_codes) if family.error_codes else ""
    if forced:
        bank_id = forced.get("bank", bank_id)
        gateway_id = forced.get("gateway", gateway_id)
        merchant = forced.get("merchant", merchant)
        service = forced.get("service", service)
        region = forced.get("region", region)
    bin_prefix, network = _pick(u, BIN_RANGES)
    secs, pool = _pick(u, (5, 8, 10, 12, 15, 20, 30)), _pick(u, (10, 16, 20, 25, 40, 50))
    mem, tps = _pick(u, (512, 768, 1024, 1536, 2048)), _pick(u, (50, 100, 200, 300, 500))
    return {
        "bank": _pick(u, BANKS[bank_id]), "bank_id": bank_id,
        "gateway": _pick(u, GATEWAYS[gateway_id]), "gateway_id": gateway_id,
        "merchant": merchant, "service": service, "region": region, "error_code": error_code,
        "secs": secs, "secs2": secs * _pick(u, (2, 3, 4)), "pool": pool, "pool2": pool * 2, "mem": mem,
        "mem2": mem * 2, "tps": tps, "tps2": tps * _pick(u, (3, 5, 8)), "pct": _int(u, 3, 45),
        "pct2": _int(u, 35, 70), "count": int(10 ** (2.0 + 2.6 * u())), "few": _int(u, 4, 60),
        "mins": _int(u, 6, 95), "hours": _int(u, 2, 14), "days": _int(u, 2, 9),
        "window": _pick(u, (90, 120, 180, 365)), "p99": 50 * _int(u, 18, 179),
        "replicas": _pick(u, (6, 8, 10, 12, 20, 24)), "lag": f"{_int(u, 12, 900)}k", "lag_s": _int(u, 20, 600),
        "amount": f"{_int(u, 1000, 99999):,}", "version": f"{_int(u, 2, 5)}.{_int(u, 0, 24)}.{_int(u, 0, 9)}",
        "bin": bin_prefix, "network": network, "table": _pick(u, TABLES), "topic": _pick(u, TOPICS),
        "host": _pick(u, HOSTS), "node": f"ip-10-{_int(u, 0, 63)}-{_int(u, 0, 255)}-{_int(u, 1, 254)}",
        "psp_app": _pick(u, PSP_APPS), "drill": _pick(u, DRILLS), "mdr": f"{_int(u, 15, 30) / 10:.1f}",
    }


def _cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    """Cut points in 0..1 for ``bisect``: ``options[bisect(cuts, u())]`` picks an option with these weights."""
    total, running, cuts = sum(weights), 0.0, []
    for weight in weights[:-1]:
        running += weight
        cuts.append(running / total)
    return tuple(cuts)


BANK_CUMULATIVE = _cumulative(BANK_WEIGHTS)
GATEWAY_CUMULATIVE = _cumulative(GATEWAY_WEIGHTS)
MERCHANT_CUMULATIVE = _cumulative(MERCHANT_WEIGHTS)
REGION_CUMULATIVE = _cumulative(REGION_WEIGHTS)


def _pick(u: Callable[[], float], options: Sequence[Any]) -> Any:
    return options[int(u() * len(options))]


def _int(u: Callable[[], float], low: int, high: int) -> int:
    """A uniform integer in ``low..high`` inclusive."""
    return low + int(u() * (high - low + 1))


# -- labelled queries ---------------------------------------------------------------------------------------------

def generate_queries(incidents: Sequence[Incident], n_queries: int = 150, seed: int = 7) -> list[LabelledQuery]:
    """``n_queries`` labelled queries over ``incidents`` (which must carry ``extra["family"]``), ids ``Q001``...

    About two thirds name the source incident's key entity; grading is described in the module docstring."""
    rng = random.Random(seed)
    by_family: dict[str, list[Incident]] = {}
    for incident in incidents:
        by_family.setdefault(str(incident.extra.get("family")), []).append(incident)
    families = [f for f in FAMILIES if f.key != "game_day" and len(by_family.get(f.key, ())) >= 3]
    if not families:
        raise ValueError("no family has 3 or more incidents; generate_queries needs a demo corpus")
    rng.shuffle(families)
    queries: list[LabelledQuery] = []
    used: set[tuple[str, tuple[Any, ...]]] = set()
    turn = 0
    while len(queries) < n_queries and turn < n_queries * 20:
        family = families[turn % len(families)]
        turn += 1
        members = by_family[family.key]
        source = rng.choice(members)
        templates = family.entity_queries if family.entity_queries and rng.random() < 0.7 else family.symptom_queries
        template = rng.choice(templates)
        named = [name for _, name, _, _ in string.Formatter().parse(template) if name]
        values = tuple(_entity(source, slot) for slot in named)
        if any(value in (None, "") for value in values) or (template, values) in used:
            continue  # one query per phrasing and entity: a repeat would only differ in its arbitrary source
        used.add((template, values))
        text = _casual(template.format_map({slot: _spoken(slot, _entity(source, slot), rng) for slot in named}), rng)
        queries.append(LabelledQuery(f"Q{len(queries) + 1:03d}", text, _grade(source, members, named)))
    return queries


def _entity(incident: Incident, slot: str) -> str | None:
    return incident.service if slot == "service" else incident.extra.get(slot)


def _spoken(slot: str, value: Any, rng: random.Random) -> str:
    """How an engineer would type an entity: a display variant or alias, often lower-cased."""
    if slot == "bank":
        value = rng.choice(BANKS[value])
    elif slot == "gateway":
        value = rng.choice(GATEWAYS[value] + GATEWAY_SPOKEN.get(value, ()))
    return str(value).lower() if rng.random() < 0.7 else str(value)


def _casual(text: str, rng: random.Random) -> str:
    """Wrap a symptom in on-call phrasing (a question prefix is not followed by a second question)."""
    prefix = rng.choice(QUERY_PREFIXES)
    suffixes = [s for s in (PLAIN_SUFFIXES if prefix else QUERY_SUFFIXES) if not s or s.strip() not in text]
    return f"{prefix}{text}{rng.choice(suffixes)}"


def _grade(source: Incident, members: list[Incident], named: list[str]) -> dict[str, int]:
    """Grade 2 for members sharing every named entity (only ``source`` when none is named), 1 for the rest of the
    family; the ``RELEVANT_CAP`` most specific (most shared entities, then nearest in time, then id)."""
    def specificity(incident: Incident) -> tuple[int, float, str]:
        shared = sum(_entity(incident, slot) == _entity(source, slot) for slot in ENTITY_SLOTS)
        return (-shared, abs(_timestamp(incident) - _timestamp(source)), incident.id)

    if named:
        top = [m for m in members if all(_entity(m, slot) == _entity(source, slot) for slot in named)]
    else:
        top = [source]
    top = [source] + sorted((m for m in top if m.id != source.id), key=specificity)
    grades = {m.id: 2 for m in top[:RELEVANT_CAP]}
    rest = sorted((m for m in members if m.id not in grades), key=specificity)
    grades.update({m.id: 1 for m in rest[:RELEVANT_CAP - len(grades)]})
    return grades


def _timestamp(incident: Incident) -> float:
    when = incident.created_at
    if isinstance(when, datetime):
        return when.timestamp()
    return datetime.combine(when, time(12), IST).timestamp() if when else 0.0


#: What on-call engineers paste or type that the templates above never produce: a cause named in other words and
#: log excerpts or stack traces (ids ``P01``...). Each judges one family: grade 2 where ``specific`` holds, else 1.
ONCALL_QUERIES: tuple[tuple[str, str, Callable[[Incident], bool]], ...] = (
    ("pods OOMKilled after deploy", "k8s_oomkilled", lambda i: "unbounded in-memory cache" in (i.root_cause or "")),
    ("2025-06-01 12:03:44.812 ERROR [payments-api,5f2c1a9e7b] c.a.p.gateway.RazorpayClient : POST "
     "https://api.razorpay.com/v1/payments failed\njava.net.SocketTimeoutException: Read timed out\n"
     "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)\n"
     "\tat okhttp3.internal.http1.Http1ExchangeCodec.readResponseHeaders(Http1ExchangeCodec.kt:181)\n"
     "\tat com.acme.payments.gateway.RazorpayClient.authorize(RazorpayClient.java:142)\n\t... 42 more",
     "gateway_failover", lambda i: "Razorpay" in i.text()),
    ("Traceback (most recent call last):\n  File \"/app/payments/db.py\", line 41, in charge\n"
     "    with engine.connect() as conn:\nsqlalchemy.exc.TimeoutError: QueuePool limit of size 20 overflow 0 "
     "reached, connection timed out, timeout 30.00", "db_pool_exhaustion", lambda i: i.service == "payments-api"),
    ("Back-off restarting failed container settlement-engine in pod settlement-engine-7d9f8b6c5-x2x4q\n"
     "Error: config validation failed: unknown field SETLEMENT_BATCH_SIZE", "k8s_crashloop",
     lambda i: i.service == "settlement-engine"),
    ("level=error ts=2025-03-02T10:11:12Z msg=\"handshake failed\" err=\"x509: certificate has expired or is not "
     "yet valid\" host=sftp.settlements.example.net", "tls_cert_expiry", lambda i: "sftp" in i.text()),
)


def oncall_queries(incidents: Sequence[Incident]) -> list[LabelledQuery]:
    """:data:`ONCALL_QUERIES` judged on ``incidents``: at most 30 ids each, the grade-2 ones first."""
    queries = []
    for number, (text, family, specific) in enumerate(ONCALL_QUERIES, start=1):
        members = sorted((i for i in incidents if i.extra.get("family") == family),
                         key=lambda i: (not specific(i), i.id))
        if members:
            queries.append(LabelledQuery(f"P{number:02d}", text, {i.id: 1 + specific(i) for i in members[:30]}))
    return queries


def offtopic_queries() -> list[LabelledQuery]:
    """Questions no incident answers (ids ``OT01``...), for calibrating abstention."""
    return [LabelledQuery(f"OT{i:02d}", text, {}) for i, text in enumerate(OFF_TOPIC_QUERIES, start=1)]


# -- files --------------------------------------------------------------------------------------------------------

def write_demo(out_dir: Path = DEMO_DIR, n: int = 2000, seed: int = 7, n_queries: int = 150,
               start: date = DEFAULT_START, end: date = DEFAULT_END) -> list[Path]:
    """Generate and write incidents.jsonl, queries.jsonl, qrels.tsv, offtopic.jsonl and README.md; returns them."""
    incidents = generate_incidents(n, seed, start, end)
    queries = generate_queries(incidents, n_queries, seed) + oncall_queries(incidents)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "incidents.jsonl": _jsonl(incident.to_json_dict() for incident in incidents),
        "queries.jsonl": _jsonl({"id": q.id, "query": q.query, "relevant": q.relevant} for q in queries),
        "qrels.tsv": "query-id\tcorpus-id\tscore\n" + "".join(
            f"{q.id}\t{doc}\t{grade}\n" for q in queries for doc, grade in q.relevant.items()),
        "offtopic.jsonl": _jsonl({"id": q.id, "query": q.query} for q in offtopic_queries()),
        "README.md": _readme(incidents, queries, n, seed, start, end),
    }
    paths = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def _jsonl(records: Any) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def corpus_stats(incidents: Sequence[Incident]) -> dict[str, Any]:
    """Counts, date span, family and severity mix, and median minutes to resolve per severity."""
    days = [i.created_date() for i in incidents if i.created_at]
    minutes: dict[str, list[float]] = {}
    for i in incidents:
        if isinstance(i.created_at, datetime) and isinstance(i.resolved_at, datetime):
            minutes.setdefault(i.severity or "?", []).append((i.resolved_at - i.created_at).total_seconds() / 60)
    return {
        "incidents": len(incidents), "first": min(days).isoformat(), "last": max(days).isoformat(),
        "families": dict(sorted(Counter(i.extra.get("family") for i in incidents).items())),
        "severity": dict(sorted(Counter(i.severity for i in incidents).items())),
        "status": dict(sorted(Counter(i.status for i in incidents).items())),
        "median_mttr_minutes": {s: round(float(np.median(v)), 1) for s, v in sorted(minutes.items())},
    }


def _readme(incidents: list[Incident], queries: list[LabelledQuery], n: int, seed: int, start: date,
            end: date) -> str:
    stats = corpus_stats(incidents)
    grades = Counter(g for q in queries for g in q.relevant.values())
    lines = [
        "# Demo corpus", "",
        "Synthetic payment-gateway and SRE incidents with labelled queries, written by `tools/demo/generator.py` "
        "(no real",
        "incident text). Regenerate byte for byte with:", "",
        f"    python -m tools.demo --out data/demo --n {n} --seed {seed}", "",
        "| file | contents |", "|---|---|",
        f"| incidents.jsonl | {stats['incidents']} incidents, one `Incident.to_json_dict()` per line |",
        f"| queries.jsonl | {len(queries)} labelled queries `{{id, query, relevant: {{doc_id: grade}}}}`: Q… from the "
        "families' phrasings, P… what on-call engineers paste (stack traces, log lines) |",
        f"| qrels.tsv | the same judgements, BEIR style ({grades[2]} at grade 2, {grades[1]} at grade 1) |",
        f"| offtopic.jsonl | {len(OFF_TOPIC_QUERIES)} questions no incident answers (for abstention) |", "",
        f"Span {stats['first']} .. {stats['last']} (asked for {start} .. {end}). Severity mix: "
        + ", ".join(f"{k} {v}" for k, v in stats["severity"].items()) + ". Status: "
        + ", ".join(f"{k} {v}" for k, v in stats["status"].items()) + ".", "",
        "Median minutes to resolve: " + ", ".join(f"{k} {v}" for k, v in stats["median_mttr_minutes"].items())
        + ".", "",
        "Grades: 2 = same family and every entity the query names (or the incident the query was derived from),",
        f"1 = same family. Lists hold at most {RELEVANT_CAP} ids (the most specific), so unlisted family members",
        "are unjudged rather than irrelevant. `extra.family` names each incident's family.", "",
        "## Spikes", "", "| family | week of | entity | incidents | why |", "|---|---|---|---|---|",
        *(f"| {s.family} | {s.week_start} | {s.slot}={s.value} | {s.count(n)} | {s.why} |"
          for s in active_spikes(start, end) if s.count(n)), "",
        "## Families", "", "| family | category | key entity | incidents |", "|---|---|---|---|",
        *(f"| {f.key} | {f.category} | {f.key_slot or '-'} | {stats['families'].get(f.key, 0)} |" for f in FAMILIES),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.demo [--out DIR] [--n N] [--seed S] [--queries Q]``."""
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="output folder (default: data/demo)")
    parser.add_argument("--n", type=int, default=2000, help="number of incidents (default: 2000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--queries", type=int, default=150, help="number of labelled queries (default: 150)")
    args = parser.parse_args(argv)
    for path in write_demo(args.out, args.n, args.seed, args.queries):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
