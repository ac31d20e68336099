"""Redaction: precision and recall of each rule on a planted corpus, false positives on real corpora, and throughput
against the embedder.

    .venv/bin/python benchmarks/bench_redaction.py [--incidents 2000] [--repeats 3] [--sample 200] [--skip-real]

(a) A generated corpus of ``--incidents`` incidents, seeded: each is a real demo incident's text (data/demo; none of
    it is redacted) with 1-3 planted items in its fields and ``extra``: secrets of every built-in rule (random card
    numbers of each network in every print format, AWS keys, bearer tokens, Basic credentials, PEM blocks, URL
    passwords, ``password=`` pairs, JWTs, Slack tokens and webhooks, GitHub, Stripe and Google keys) and their
    look-alikes (Luhn-invalid cards, order ids, phone numbers, timestamps, git SHAs, certificates, prose). Per rule:
    recall = planted secrets gone from the redacted incident / planted; precision = redactions of planted secrets /
    all the rule's redactions (counts beyond what was planted in an incident are false positives). Look-alikes kept
    are counted per kind; random 16-digit ids (not planted as cards) show the Luhn check's chance hits: about 1 in
    10 of those with an issuer prefix.
(b) Throughput: ``Redactor.redact_incident`` over the corpus (median of ``--repeats``), against the MiniLM
    embedder's texts/s on ``--sample`` of the same incidents' text (the model, cache off, after a warm-up), as
    benchmarks/bench_import.py compares parsing to it. Target: redaction ≥ 20× the embedder, so ingest never waits
    on it.
(c) Real corpora with no planted secret (the shared postmortems, incident-tool exports and BEIR NFCorpus/ArguAna,
    ~13,000 documents): every redaction there is a false positive; listed per rule.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import string
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sherlock.cli.output import table
from sherlock.config import load_settings
from sherlock.redaction import RedactionCounts, Redactor, luhn_valid
from sherlock.schema import Incident

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FOLDER = RESULTS / "redaction"
SHARED = ROOT.parent / "shared" / "data"
TARGET = 20.0

#: (network prefix, length, print groups) of the random cards planted.
NETWORKS = (("4", 16, (4, 4, 4, 4)), ("4", 13, None), ("51", 16, (4, 4, 4, 4)), ("55", 16, (4, 4, 4, 4)),
            ("2221", 16, (4, 4, 4, 4)), ("34", 15, (4, 6, 5)), ("37", 15, (4, 6, 5)), ("6011", 16, (4, 4, 4, 4)),
            ("62", 16, (4, 4, 4, 4)), ("3528", 16, (4, 4, 4, 4)), ("36", 14, (4, 6, 4)), ("4", 19, None))
B64 = string.ascii_letters + string.digits + "+/"
B64URL = string.ascii_letters + string.digits + "-_"
ALNUM = string.ascii_letters + string.digits


class Planter:
    """Random secrets and look-alikes, seeded. Each maker returns ``(text to plant, exact secret or look-alike)``."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.random.choices(alphabet, k=n))

    def card_digits(self, valid: bool = True) -> tuple[str, tuple[int, ...] | None]:
        prefix, length, groups = self.random.choice(NETWORKS)
        body = prefix + self.chars(string.digits, length - len(prefix) - 1)
        check = next(d for d in string.digits if luhn_valid(body + d) == valid)
        return body + check, groups

    def printed(self, digits: str, groups: tuple[int, ...] | None) -> str:
        style = self.random.choice(("whole", "spaces", "dashes")) if groups else "whole"
        if style == "whole":
            return digits
        parts, start = [], 0
        for size in groups or ():
            parts.append(digits[start:start + size])
            start += size
        return (" " if style == "spaces" else "-").join(parts)

    # -- secrets, by rule ------------------------------------------------------------------------------------------

    def card_number(self) -> tuple[str, str]:
        card = self.printed(*self.card_digits())
        template = self.random.choice(("card {} declined", "PAN={} in the log", "refund to {} failed",
                                       "customer paid with {} (exp 12/27)", "GET /v1/cards/{}/status 500"))
        return template.format(card), card

    def aws_access_key(self) -> tuple[str, str]:
        key = self.random.choice(("AKIA", "ASIA")) + self.chars(string.ascii_uppercase + string.digits, 16)
        return f"boto3 used key {key} from the env", key

    def aws_secret_key(self) -> tuple[str, str]:
        secret = self.chars(B64, 40)
        label = self.random.choice(("aws_secret_access_key=", "AWS_SECRET_ACCESS_KEY: ", '"SecretAccessKey": "'))
        return f"{label}{secret}", secret

    def bearer_token(self) -> tuple[str, str]:
        token = self.chars(ALNUM + "-._", 32)
        return f"curl -H 'Authorization: Bearer {token}' https://api.internal/v2/refunds", token

    def basic_auth(self) -> tuple[str, str]:
        import base64
        credentials = base64.b64encode(f"svc:{self.chars(ALNUM, 12)}".encode()).decode()
        return f"proxy sent Authorization: Basic {credentials} upstream", credentials

    def slack_webhook(self) -> tuple[str, str]:
        path = f"T{self.chars(string.ascii_uppercase + string.digits, 8)}/B{self.chars(string.ascii_uppercase, 8)}/" \
               f"{self.chars(ALNUM, 24)}"
        return f"alerts posted to https://hooks.slack.com/services/{path}", path

    def private_key(self) -> tuple[str, str]:
        lines = [self.chars(B64, 64) for _ in range(self.random.randint(3, 8))] + [self.chars(B64, 20) + "=="]
        kind = self.random.choice(("RSA ", "EC ", "OPENSSH ", ""))
        block = f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(lines) + f"\n-----END {kind}PRIVATE KEY-----"
        return f"pasted the deploy key:\n{block}\nthen revoked it", lines[1]

    def url_password(self) -> tuple[str, str]:
        password = self.chars(ALNUM + "!*", 14)
        scheme = self.random.choice(("postgres", "mysql", "amqp", "redis", "https"))
        return f"DSN {scheme}://svc_{self.chars(string.ascii_lowercase, 5)}:{password}@db-{self.random.randint(1, 9)}" \
               f".internal:5432/payments", password

    def password(self) -> tuple[str, str]:
        value = self.chars(ALNUM + "#%", 12)
        key = self.random.choice(("password=", "passwd: ", "pwd=", "secret=", "api_key=", "DB_PASSWORD="))
        return f"job config had {key}{value} in plain text", value

    def jwt(self) -> tuple[str, str]:
        token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJ" + self.chars(B64URL, 60) + "." + self.chars(B64URL, 43)
        return f"session cookie {token} replayed", token

    def slack_token(self) -> tuple[str, str]:
        token = f"xox{self.random.choice('bp')}-{self.chars(string.digits, 12)}-{self.chars(string.digits, 13)}-" \
                f"{self.chars(ALNUM, 24)}"
        return f"bot token {token} leaked to #ops", token

    def github_token(self) -> tuple[str, str]:
        token = self.random.choice(("ghp_", "gho_", "ghs_")) + self.chars(ALNUM, 36)
        return f"CI used {token} with repo scope", token

    def stripe_key(self) -> tuple[str, str]:
        key = f"sk_live_{self.chars(ALNUM, 24)}"
        return f"payment worker ran with {key}", key

    def google_api_key(self) -> tuple[str, str]:
        key = "AIza" + self.chars(ALNUM + "-_", 35)
        return f"GEMINI_API_KEY={key} in the runbook", key

    # -- look-alikes, by kind --------------------------------------------------------------------------------------

    def luhn_invalid_card(self) -> tuple[str, str]:
        card = self.printed(*self.card_digits(valid=False))
        return f"card {card} declined", card

    def order_id(self) -> tuple[str, str]:
        order = f"ORD-{self.chars(string.digits, 16)}"
        return f"order {order} stuck in PENDING", order

    def phone(self) -> tuple[str, str]:
        number = self.random.choice((f"+1 {self.random.randint(200, 999)} 555 {self.random.randint(0, 9999):04d}",
                                     f"+91 {self.chars(string.digits, 5)} {self.chars(string.digits, 5)}",
                                     f"+44 20 {self.chars(string.digits, 4)} {self.chars(string.digits, 4)}"))
        return f"merchant called from {number}", number

    def timestamp(self) -> tuple[str, str]:
        when = self.random.choice((f"2024-{self.random.randint(1, 12):02d}-{self.random.randint(1, 28):02d} "
                                   f"{self.random.randint(0, 23):02d}:{self.random.randint(0, 59):02d}:00",
                                   f"17{self.chars(string.digits, 11)}",
                                   f"20{self.random.randint(10, 25)}{self.chars(string.digits, 10)}"))
        return f"first error at {when}", when

    def git_sha(self) -> tuple[str, str]:
        sha = self.chars("0123456789abcdef", 40)
        return f"rolled back to {sha}", sha

    def certificate(self) -> tuple[str, str]:
        body = self.chars(B64, 64)
        return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----", body

    def prose(self) -> tuple[str, str]:
        text = self.random.choice(("password reset for 40 users", "the bearer of the pager", "secret rotation "
                                   "runbook", "Bearer token expired", "see https://status.example.com:8443/x",
                                   "ssh://git@github.com/org/repo", "api key rotation is due", "eyJ prefix"))
        return f"note: {text}", text

    def random_id(self) -> tuple[str, str]:
        digits = self.chars(string.digits, 16)
        return f"txn {digits} settled", digits


SECRETS: dict[str, Callable[[Planter], tuple[str, str]]] = {
    name: getattr(Planter, name) for name in ("card_number", "aws_access_key", "aws_secret_key", "bearer_token",
                                              "basic_auth", "private_key", "url_password", "password", "jwt",
                                              "slack_token", "slack_webhook", "github_token", "stripe_key",
                                              "google_api_key")}
LOOK_ALIKES: dict[str, Callable[[Planter], tuple[str, str]]] = {
    name: getattr(Planter, name) for name in ("luhn_invalid_card", "order_id", "phone", "timestamp", "git_sha",
                                              "certificate", "prose")}


def base_incidents() -> list[dict[str, Any]]:
    path = ROOT / "data" / "demo" / "incidents.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def planted_corpus(count: int, seed: int = 16) -> tuple[list[Incident], list[list[tuple[str, str, str]]]]:
    """``count`` incidents with their plants: per incident ``[(kind, "secret" | "look-alike" | "random", value)]``."""
    planter, bases = Planter(seed), base_incidents()
    incidents, plants = [], []
    for number in range(count):
        record = dict(bases[number % len(bases)], id=f"RED-{number:05d}")
        record["extra"] = {"source": "bench"}
        mine = []
        for _ in range(planter.random.randint(1, 3)):
            roll = planter.random.random()
            if roll < 0.55:
                kind = planter.random.choice([*SECRETS, "card_number", "card_number"])  # cards weighted x3
                text, value = SECRETS[kind](planter)
                mine.append((kind, "secret", value))
            elif roll < 0.95:
                kind = planter.random.choice(list(LOOK_ALIKES))
                text, value = LOOK_ALIKES[kind](planter)
                mine.append((kind, "look-alike", value))
            else:
                text, value = planter.random_id()
                mine.append(("random_16_digit_id", "random", value))
            where = planter.random.choice(("description", "root_cause", "resolution", "extra"))
            if where == "extra":
                record["extra"].setdefault("log", []).append({"line": text})
            else:
                record[where] = f"{record.get(where) or ''}\n{text}".strip()
        incidents.append(Incident.from_record(record))
        plants.append(mine)
    return incidents, plants


def score(redactor: Redactor, incidents: list[Incident], plants: list[list[tuple[str, str, str]]],
          ) -> tuple[dict[str, Counter], Counter, Counter]:
    """Per rule: planted, gone (recall), true and false positives; per look-alike kind: planted and kept."""
    rules: dict[str, Counter] = {}
    kept, randoms = Counter(), Counter()
    for incident, mine in zip(incidents, plants, strict=True):
        redacted, counts = redactor.redact_incident(incident)
        text = json.dumps(redacted.to_json_dict(), ensure_ascii=False)
        planted = Counter(kind for kind, role, _ in mine if role == "secret")
        for kind, role, value in mine:
            present = value in text or json.dumps(value)[1:-1] in text
            if role == "secret":
                rules.setdefault(kind, Counter())["planted"] += 1
                rules[kind]["gone"] += not present
            elif role == "look-alike":
                kept[f"{kind} planted"] += 1
                kept[f"{kind} kept"] += present
            else:
                randoms["planted"] += 1
                randoms["masked"] += not present
        for rule, count in counts.items():
            true = min(count, planted[rule])
            rules.setdefault(rule, Counter())["tp"] += true
            rules[rule]["fp"] += count - true
    return rules, kept, randoms


def real_corpora_hits(redactor: Redactor) -> tuple[int, RedactionCounts, list[str]]:
    """Redactions in the shared real corpora (none planted): documents read, counts per rule, a few examples."""
    from sherlock.storage.ingest import expand_paths, read_file
    paths = [SHARED / "postmortems" / name for name in ("danluu_post_mortems.jsonl", "dfds_postmortems.jsonl",
                                                        "idds_cloud_incidents.jsonl")]
    paths += expand_paths([SHARED / "exports"]) + [SHARED / "beir" / "nfcorpus" / "corpus.jsonl",
                                                   SHARED / "beir" / "arguana" / "corpus.jsonl"]
    total, counts, examples = 0, RedactionCounts(), []
    for path in paths:
        if not path.exists():
            continue
        _, good = read_file(path)
        for incident in good:
            total += 1
            _, found = redactor.redact_incident(incident)
            counts.update(found)
            if found and len(examples) < 5:
                examples.append(f"{path.name} {incident.id}: {found.describe()}")
    return total, counts, examples


def embedder_rate(texts: list[str]) -> float:
    """MiniLM texts/s on ``texts`` (no cache, after a warm-up), its ONNX graph borrowed from another benchmark."""
    from bench_import import embedder_home

    from sherlock.embed.factory import make_embedder
    home = embedder_home(FOLDER / "home", (RESULTS / "speed-10000" / "home" / "models",
                                           RESULTS / "import" / "home" / "models"))
    model = make_embedder(load_settings(home=home, demo=False)).inner
    model.embed(texts[:16])
    started = time.perf_counter()
    model.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample", type=int, default=200, help="texts the embedder is timed on")
    parser.add_argument("--skip-real", action="store_true", help="leave out the real corpora (c)")
    args = parser.parse_args()
    FOLDER.mkdir(parents=True, exist_ok=True)
    redactor = Redactor.from_settings(load_settings(home=FOLDER / "home", demo=False))
    incidents, plants = planted_corpus(args.incidents)

    rules, kept, randoms = score(redactor, incidents, plants)
    rows = [["rule", "planted", "recall", "redactions", "precision"]]
    for name in redactor.names:
        row = rules.get(name, Counter())
        found = row["tp"] + row["fp"]
        rows.append([name, str(row["planted"]), f"{row['gone'] / row['planted']:.3f}" if row["planted"] else "–",
                     str(found), f"{row['tp'] / found:.3f}" if found else "–"])
    total = sum(rules.values(), Counter())
    rows.append(["all", str(total["planted"]), f"{total['gone'] / total['planted']:.3f}",
                 str(total["tp"] + total["fp"]), f"{total['tp'] / (total['tp'] + total['fp']):.3f}"])
    print(f"(a) {args.incidents:,} incidents, {sum(map(len, plants)):,} planted items")
    print(table(rows))
    looks = [["look-alike", "planted", "kept"]] + [
        [kind, str(kept[f"{kind} planted"]), f"{kept[f'{kind} kept'] / kept[f'{kind} planted']:.3f}"]
        for kind in LOOK_ALIKES if kept[f"{kind} planted"]]
    looks.append(["random 16-digit id", str(randoms["planted"]),
                  f"{1 - randoms['masked'] / randoms['planted']:.3f}" if randoms["planted"] else "–"])
    print(table(looks))

    seconds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        redactor.redact_incidents(incidents)
        seconds.append(time.perf_counter() - started)
    rate = len(incidents) / statistics.median(seconds)
    chars = sum(len(json.dumps(incident.to_json_dict())) for incident in incidents) / len(incidents)
    step = max(1, len(incidents) // args.sample)
    embed = embedder_rate([incident.text() for incident in incidents[::step][:args.sample]])
    print(f"(b) throughput ({os.cpu_count()} cores)")
    print(table([["redaction incidents/s", "KB/incident", "embedder texts/s", "ratio", f"target ≥ {TARGET:g}×"],
                 [f"{rate:,.0f}", f"{chars / 1024:.1f}", f"{embed:.1f}", f"{rate / embed:.0f}×",
                  "met" if rate / embed >= TARGET else "missed"]]))
    results: dict[str, Any] = {"incidents": args.incidents, "rules": {k: dict(v) for k, v in rules.items()},
                               "look_alikes": dict(kept), "random_ids": dict(randoms), "incidents_per_s": rate,
                               "embedder_texts_per_s": embed, "cores": os.cpu_count()}
    if not args.skip_real:
        documents, counts, examples = real_corpora_hits(redactor)
        print(f"(c) real corpora, nothing planted: {documents:,} documents, redactions (all false positives): "
              f"{counts.describe() or 'none'}")
        for example in examples:
            print(f"    {example}")
        results["real"] = {"documents": documents, "redactions": dict(counts)}
    (FOLDER / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
