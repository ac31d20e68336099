"""Import throughput: parsing 10,000 Jira Cloud v3 issues and 2,000 Markdown postmortems, against the embedder.

    .venv/bin/python benchmarks/bench_import.py [--jira 10000] [--postmortems 2000] [--repeats 3]
                                                [--sample 300] [--skip-ingest]

(a) Parsing, embedding excluded: :func:`sherlock.storage.ingest.read_file` (read, detect, map, validate: the whole
    ingest path before the store) on one Jira search envelope of ``--jira`` issues, and over a folder of
    ``--postmortems`` Markdown files listed by :func:`~sherlock.storage.ingest.expand_paths` (each file read with the
    folder as its root, as :func:`~sherlock.storage.ingest.ingest_paths` does); median of ``--repeats`` runs.
(b) The embedder's throughput on the same records' indexed text (``Incident.text()``): the workspace's MiniLM
    without its cache, on ``--sample`` texts of each kind, after a warm-up. Target: parsing >= 20x the embedder's
    texts/s, so the parse is never what an import waits on.
(c) ``Workspace.ingest`` (what ``sherlock ingest`` runs) of a slice (500 issues and 200 postmortems) into a fresh
    workspace: its wall time split into parse (timed as in (a)), embedding (the model's own calls, timed) and the rest
    (store, Chroma, lexical indexes, the possible-duplicates check).

The corpora are generated, seeded, from the shapes of the shared samples (``apa_v3_search_adf.json``; the dfds and
mybinder postmortems) with words drawn from those samples, to their sizes (an issue ~1-2 KB of JSON, a postmortem
~3-8 KB), under benchmarks/results/import/ (git-ignored; reused when present). The embedder's home there borrows the
ONNX graph from bench_speed's workspace when it exists (a hard link), else builds it on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sherlock.cli.output import table
from sherlock.schema import Incident
from sherlock.storage.ingest import expand_paths, read_file

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FOLDER = RESULTS / "import"
SHARED = ROOT.parent / "shared" / "data"
SAMPLES = (SHARED / "postmortems" / "dfds-raw", SHARED / "exports" / "postmortems-md" / "mybinder",
           SHARED / "exports" / "jira")
TARGET = 20.0

SERVICES = ("checkout", "payments", "search", "auth", "ingress", "kiam", "coredns", "binderhub", "jupyterhub",
            "traefik", "flux", "adfs", "postgres", "redis", "kafka", "elasticsearch", "prometheus", "grafana")
PRIORITIES = (("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest"))
STATUSES = (("10001", "Done", "done"), ("10002", "Closed", "done"), ("10003", "To Do", "new"),
            ("10004", "In Progress", "indeterminate"), ("10005", "Resolved", "done"))
RESOLUTIONS = ("Done", "Fixed", "Won't Do", "Duplicate", "Cannot Reproduce")
LABELS = ("outage", "kubernetes", "dns", "network", "database", "deploy", "config", "certificate", "capacity",
          "monitoring", "security", "latency", "timeout", "storage", "customer-facing")
OFFSETS = ("+0000", "+0100", "+0200", "-0500", "-0700", "+0530", "+0900")
ERRORS = (
    "Error: connect ETIMEDOUT 10.0.{a}.{b}:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (net.js:1141:16)",
    "kubelet[{a}]: E1204 00:{b:02d}:11 pod_workers.go:191] Error syncing pod: failed to \"StartContainer\" "
    "with CrashLoopBackOff",
    "Traceback (most recent call last):\n  File \"/app/worker.py\", line {a}, in run\n    conn = pool.get()\n"
    "psycopg2.OperationalError: FATAL: remaining connection slots are reserved ({b} in use)",
    "HTTP/1.1 503 Service Unavailable\nx-request-id: {a}-{b}\nupstream connect error or disconnect/reset before "
    "headers. reset reason: connection failure",
    "$ kubectl get nodes\nNo resources found.\n$ kubectl describe pod kiam-agent-{a}\n  Warning  FailedScheduling  "
    "0/{b} nodes are available: {b} Insufficient pods.",
    "java.lang.OutOfMemoryError: GC overhead limit exceeded\n\tat java.util.HashMap.resize(HashMap.java:{a})\n"
    "\tat com.example.cache.Loader.load(Loader.java:{b})",
)


# -- the generated corpora -----------------------------------------------------------------------------------------

def vocabulary() -> list[str]:
    """Every word of the shared samples, repeats kept (so common words stay common), in a fixed order."""
    words: list[str] = []
    for folder in SAMPLES:
        for path in sorted(folder.iterdir()):
            if path.suffix in (".md", ".json"):
                words.extend(re.findall(r"[A-Za-z][A-Za-z'-]{1,}", path.read_text(encoding="utf-8")))
    return [word for word in words if not word.startswith(("http", "self"))]


class Writer:
    """Sentences and paragraphs of sample words, seeded."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.words = vocabulary()

    def sentence(self, low: int = 8, high: int = 24) -> str:
        words = self.random.choices(self.words, k=self.random.randint(low, high))
        return " ".join(words).capitalize() + "."

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence() for _ in range(sentences))

    def title(self) -> str:
        return f"{self.random.choice(SERVICES).capitalize()} {' '.join(self.random.choices(self.words, k=5))}"

    def error(self) -> str:
        return self.random.choice(ERRORS).format(a=self.random.randint(1, 999), b=self.random.randint(1, 59))


def _adf_text(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "content": [{"type": "text", "text": text}]}


def jira_issue(writer: Writer, number: int) -> dict[str, Any]:
    """One issue as Jira Cloud's ``/rest/api/3/search`` returns it (``apa_v3_search_adf.json``'s shape, filled in)."""
    pick, site = writer.random, "https://example.atlassian.net/rest/api/3"
    issue_id, key = str(10000 + number), f"OPS-{number}"
    priority_id, priority = pick.choice(PRIORITIES)
    status_id, status, category = pick.choice(STATUSES)
    offset = pick.choice(OFFSETS)
    created = f"2023-{pick.randint(1, 12):02d}-{pick.randint(1, 28):02d}T{pick.randint(0, 23):02d}:" \
              f"{pick.randint(0, 59):02d}:00.000{offset}"
    person = {"accountId": f"5b10a2844c2016570{number:07d}", "displayName": pick.choice(("Ana Lopez", "Sam Berg",
              "Kim Tan", "Jo Smith")), "active": True}
    description = {"version": 1, "type": "doc", "content": [
        _adf_text(writer.paragraph(pick.randint(1, 3))),
        {"type": "codeBlock", "attrs": {"language": "text"}, "content": [{"type": "text", "text": writer.error()}]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [_adf_text(writer.sentence(4, 10))]}
                                           for _ in range(3)]},
        _adf_text(writer.sentence()),
    ]}
    fields: dict[str, Any] = {
        "summary": writer.title(), "description": description,
        "project": {"id": "10000", "key": "OPS", "name": "Operations", "self": f"{site}/project/10000"},
        "issuetype": {"id": "10002", "name": "Incident", "self": f"{site}/issuetype/10002"},
        "status": {"id": status_id, "name": status, "self": f"{site}/status/{status_id}",
                   "statusCategory": {"key": category}},
        "priority": {"id": priority_id, "name": priority, "self": f"{site}/priority/{priority_id}"},
        "created": created, "updated": created, "labels": pick.sample(LABELS, pick.randint(0, 3)),
        "reporter": person, "assignee": person,
        "customfield_10050": {"version": 1, "type": "doc", "content": [_adf_text(writer.sentence())]},
    }
    if category == "done":
        fields["resolution"] = {"id": "1", "name": pick.choice(RESOLUTIONS)}
        fields["resolutiondate"] = f"{created[:11]}{min(23, int(created[11:13]) + pick.randint(0, 3)):02d}" \
                                   f":{pick.randint(0, 59):02d}{created[16:]}"
    return {"id": issue_id, "key": key, "self": f"{site}/issue/{issue_id}", "fields": fields}


def jira_file(count: int) -> Path:
    """A search envelope of ``count`` issues, with the ``names`` map (``expand=names``) naming "Root cause"."""
    path = FOLDER / f"jira-v3-{count}.json"
    if not path.exists():
        writer = Writer(seed=12)
        names = {"summary": "Summary", "description": "Description", "priority": "Priority", "status": "Status",
                 "labels": "Labels", "customfield_10050": "Root cause", "created": "Created"}
        envelope = {"expand": "names,schema", "startAt": 0, "maxResults": count, "total": count,
                    "issues": [jira_issue(writer, number) for number in range(1, count + 1)], "names": names}
        FOLDER.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(envelope), encoding="utf-8")  # as the API sends it
    return path


def postmortem(writer: Writer, number: int) -> str:
    """A postmortem like the dfds and mybinder ones: front matter for a third of them, a title, Summary, Timeline
    (a table, or ``###`` times), Root cause with a code block, Resolution, Action items, sometimes Lessons learned."""
    pick = writer.random
    day = f"20{pick.randint(17, 23)}-{pick.randint(1, 12):02d}-{pick.randint(1, 28):02d}"
    title = writer.title()
    lines: list[str] = []
    if number % 3 == 0:
        lines += ["---", f"title: \"{title}\"", f"date: {day}", f"severity: SEV{pick.randint(1, 4)}",
                  f"tags: [{', '.join(pick.sample(LABELS, 2))}]", "---", ""]
    else:
        lines += [f"# PM{day[:4]}-{number:03d} - {title}", ""]
    lines += ["## Summary", "", writer.paragraph(pick.randint(3, 7)), "", writer.paragraph(pick.randint(2, 6)), ""]
    if number % 5 == 2:
        lines += ["## Impact", "", writer.paragraph(pick.randint(2, 4)), ""]
    lines += ["## Timeline", ""]
    if number % 2:
        lines += ["| Date and Time in CET | Event |", "|:--------------------|-------|"]
        lines += [f"|   {day} {hour:02d}:{pick.randint(0, 59):02d}   | {writer.sentence(10, 20)} |"
                  for hour in range(pick.randint(5, 12))]
    else:
        lines += ["All times in PST", ""]
        for hour in range(pick.randint(3, 7)):
            lines += [f"### {hour + 13}:{pick.randint(0, 59):02d}", "", writer.paragraph(pick.randint(1, 3)), ""]
    lines += ["", "## Root cause", "", writer.paragraph(pick.randint(2, 5)), "", "```", writer.error(), "```", "",
              writer.paragraph(pick.randint(1, 3)), "", "## Resolution", "", writer.paragraph(pick.randint(2, 5)), ""]
    if number % 2 == 1:
        lines += ["## Lessons Learned", "", writer.paragraph(pick.randint(2, 5)), ""]
    lines += ["## Action Items", ""]
    lines += [f"- **{writer.sentence(3, 6)[:-1]}**: {writer.sentence()}" for _ in range(pick.randint(2, 6))]
    return "\n".join(lines) + "\n"


def postmortem_folder(count: int) -> Path:
    folder = FOLDER / f"postmortems-{count}"
    if not folder.exists():
        writer = Writer(seed=13)
        building = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        for number in range(1, count + 1):
            (building / f"PM-{number:05d}.md").write_text(postmortem(writer, number), encoding="utf-8")
        building.rename(folder)
    return folder


# -- measures -------------------------------------------------------------------------------------------------------

def parse_jira(path: Path) -> list[Incident]:
    report, good = read_file(path)
    if report.error or report.rejected or report.format != "jira":
        raise RuntimeError(f"{path}: {report.format} {report.error or report.rejected[:3]}")
    return good


def parse_folder(folder: Path) -> list[Incident]:
    incidents: list[Incident] = []
    for path in expand_paths([folder]):
        report, good = read_file(path, root=folder)
        if report.error or report.rejected:
            raise RuntimeError(f"{path}: {report.error or report.rejected}")
        incidents.extend(good)
    return incidents


def timed_median(work: Callable[[], list[Incident]], repeats: int) -> tuple[float, list[Incident]]:
    seconds, result = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def embedder_home(home: Path | None = None, sources: tuple[Path, ...] = ()) -> Path:
    """An embedder's workspace home (default: this benchmark's), its ONNX graph hard-linked from the first of
    ``sources`` (default: bench_speed's home) that holds one, so it is not built again."""
    home = home or FOLDER / "home"
    models = home / "models"
    for source in sources or (RESULTS / "speed-10000" / "home" / "models",):
        if not models.exists() and source.exists():
            models.mkdir(parents=True)
            for file in source.iterdir():
                if file.is_file():
                    try:
                        os.link(file, models / file.name)
                    except OSError:
                        shutil.copy2(file, models / file.name)
    return home


def embed_rate(embedder: Any, texts: list[str]) -> float:
    """Texts per second of the model on ``texts`` (after a warm-up batch)."""
    embedder.embed(texts[:16])
    started = time.perf_counter()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def sample_texts(incidents: list[Incident], size: int) -> list[str]:
    step = max(1, len(incidents) // size)
    return [incident.text() for incident in incidents[::step][:size]]


def end_to_end(jira_slice: int, postmortem_slice: int) -> dict[str, Any]:
    """``Workspace.ingest`` of a slice into a fresh workspace: wall, parse, embedding and the rest."""
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace

    jira = jira_file(jira_slice)
    folder = postmortem_folder(postmortem_slice)
    parse_s = timed_median(lambda: parse_jira(jira), 1)[0] + timed_median(lambda: parse_folder(folder), 1)[0]
    home = FOLDER / "ingest-home"
    shutil.rmtree(home, ignore_errors=True)
    if (embedder_home() / "models").exists():
        shutil.copytree(embedder_home() / "models", home / "models")
    workspace = Workspace(load_settings(home=home, demo=False))
    model = workspace.embedder.inner
    model.load()
    embed_calls, spent = model.embed, [0.0]

    def embed(texts: Any) -> Any:
        started = time.perf_counter()
        try:
            return embed_calls(texts)
        finally:
            spent[0] += time.perf_counter() - started

    model.embed = embed  # type: ignore[method-assign]
    started = time.perf_counter()
    report = workspace.ingest([jira, folder])
    wall = time.perf_counter() - started
    stored = sum(len(file.added) for file in report.files)
    return {"records": stored, "wall_s": wall, "parse_s": parse_s, "embed_s": spent[0],
            "rest_s": wall - parse_s - spent[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jira", type=int, default=10_000)
    parser.add_argument("--postmortems", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample", type=int, default=300, help="texts of each kind the embedder is timed on")
    parser.add_argument("--slice", type=int, nargs=2, default=[500, 200], metavar=("ISSUES", "POSTMORTEMS"),
                        help="the end-to-end ingest's slice")
    parser.add_argument("--skip-ingest", action="store_true", help="leave out the end-to-end ingest")
    parser.add_argument("--skip-embed", action="store_true", help="parse only (for profiling)")
    args = parser.parse_args()

    jira, folder = jira_file(args.jira), postmortem_folder(args.postmortems)
    sizes = {"jira": os.path.getsize(jira) / args.jira,
             "markdown": statistics.mean(os.path.getsize(p) for p in folder.iterdir())}
    corpora = {"jira": (f"Jira Cloud v3 ({sizes['jira'] / 1024:.1f} KB/issue)", lambda: parse_jira(jira)),
               "markdown": (f"Markdown postmortems ({sizes['markdown'] / 1024:.1f} KB/file)",
                            lambda: parse_folder(folder))}
    embedder = None
    if not args.skip_embed:
        from sherlock.config import load_settings
        from sherlock.embed.factory import make_embedder
        embedder = make_embedder(load_settings(home=embedder_home(), demo=False)).inner
        embedder.load()
    rows = [["corpus", "records", "parse s", "parse records/s", "embedder texts/s", "ratio", f"target ≥ {TARGET:g}×"]]
    results: dict[str, Any] = {"cores": os.cpu_count(), "corpora": {}}
    for key, (name, work) in corpora.items():
        seconds, incidents = timed_median(work, args.repeats)
        rate = len(incidents) / seconds
        texts = sample_texts(incidents, args.sample)
        embed = embed_rate(embedder, texts) if embedder is not None else float("nan")
        ratio = rate / embed
        results["corpora"][key] = {"records": len(incidents), "parse_s": seconds, "parse_records_per_s": rate,
                                   "bytes_per_record": sizes[key], "embed_sample": len(texts),
                                   "embed_texts_per_s": embed, "ratio": ratio,
                                   "mean_text_chars": statistics.mean(map(len, texts))}
        verdict = "–" if embedder is None else "met" if ratio >= TARGET else "missed"
        rows.append([name, f"{len(incidents):,}", f"{seconds:.2f}", f"{rate:,.0f}", f"{embed:.1f}", f"{ratio:.0f}×",
                     verdict])
    print(table(rows))
    if not (args.skip_ingest or args.skip_embed):
        run = end_to_end(*args.slice)
        results["ingest"] = run
        print(table([["end-to-end ingest", "records", "wall s", "parse s", "embed s", "rest s"],
                     [f"{args.slice[0]} issues + {args.slice[1]} postmortems", f"{run['records']:,}",
                      *(f"{run[k]:.1f}" for k in ("wall_s", "parse_s", "embed_s", "rest_s"))]]))
    if embedder is None:
        return  # parse only: the results file keeps the last full run
    (FOLDER / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"target: parse records/s ≥ {TARGET:g}× the embedder's texts/s ({os.cpu_count()} cores); "
          f"results in {FOLDER.relative_to(ROOT)}/results.json")


if __name__ == "__main__":
    main()
