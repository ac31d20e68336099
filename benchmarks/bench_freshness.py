"""Freshness: what an ingest into an indexed workspace costs with the delta segment, and what the delta does to quality.

    .venv/bin/python benchmarks/bench_freshness.py [--sizes 10000] [--large] [--skip-nfcorpus] [--repeats 3]

(a) At each corpus size (generated as bench_speed generates them; ``--large`` adds 100k), the wall time of
    ``Workspace.ingest`` of 1 and of 100 new incidents into an indexed workspace, minus the time the model spent
    embedding them (measured by timing the embedder's own calls during the ingest), of that the time spent writing
    the vectors (Chroma's upsert into its HNSW index, and the embedding cache), and whether each new incident is the
    top hit of a hybrid query for it right after; then an ingest of 1 once the delta holds about 900 incidents (under
    the default ``delta_max`` of 1,000)
    (``--delta-sizes``: the delta is rebuilt from scratch each sync, so its cost follows its size). For contrast, one
    ingest with ``delta_max=0`` (the full rebuild every ingest cost before). Target: <= 0.5 s without the
    embedding, independent of corpus size.
(b) NFCorpus (BEIR, 323 test queries) with 10 % of the corpus ingested as the delta over a main of the other 90 %:
    nDCG@10 of the default hybrid, BM25 and TF-IDF alone, against a full rebuild, then after ``merge()``; and the
    delta's BM25 idf from the main's statistics (the default) against main + delta statistics. Target: hybrid within
    0.002 of the full rebuild, identical after the merge.

Workspaces are kept under benchmarks/results/ (git-ignored): the 10k one is copied from bench_speed's when it is
there (same corpus, vectors already in its embedding cache). The 100k one embeds with a hashing embedder
(:class:`HashingEmbedder`): MiniLM takes about 40 min for 100k texts on 2 cores, and the embedding time is subtracted
anyway — everything else (the store, Chroma's HNSW index, the lexical indexes) is the real thing at 100k.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from sherlock.cli.output import table
from sherlock.config import load_settings
from sherlock.embed.base import Embedder, check_texts, normalise
from sherlock.evaluation.metrics import evaluate
from sherlock.evaluation.query_sets import read_qrels, read_queries
from sherlock.retrievers.delta import BM25Delta
from sherlock.retrievers.segments import SegmentedBM25
from sherlock.schema import Incident
from sherlock.search.searcher import Searcher
from sherlock.storage.delta import layer
from sherlock.storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
NFCORPUS = ROOT.parent / "shared" / "data" / "beir" / "nfcorpus"


class HashingEmbedder(Embedder):
    """A stand-in for MiniLM at 100k: each word hashed to one of 384 signed dimensions (the hashing trick,
    Weinberger et al. 2009), rows L2-normalised. Fast and deterministic; similar texts get similar vectors."""

    name, dim = "hashing-384", 384

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(check_texts(texts)):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                rows[row, digest[0] * 256 % self.dim + digest[1] % 2] += 1.0 if digest[2] % 2 else -1.0
        return normalise(rows)


def open_workspace(home: Path, hashing: bool, **overrides: Any) -> Workspace:
    workspace = Workspace(load_settings(home=home, demo=False, **overrides))
    if hashing:
        workspace.embedder = HashingEmbedder()  # before anything reads the embedder (it names the collection)
    return workspace


def corpus_file(size: int, folder: Path) -> Path:
    from tools.demo.generator import generate_incidents
    path = folder / f"corpus-{size}.jsonl"
    if not path.exists():
        path.write_text("\n".join(json.dumps(i.to_json_dict()) for i in generate_incidents(n=size, seed=11)) + "\n")
    return path


def base_home(size: int, hashing: bool) -> tuple[Path, float | None]:
    """An indexed workspace of ``size`` generated incidents (built once; seconds it took, ``None`` when reused)."""
    folder = RESULTS / f"freshness-{size}"
    home = folder / "base"
    speed = RESULTS / f"speed-{size}" / "home"
    started = time.perf_counter()
    if not home.exists() and not hashing and speed.exists():
        shutil.copytree(speed, home)
    folder.mkdir(parents=True, exist_ok=True)
    workspace = open_workspace(home, hashing)
    manifest = home / "lexical" / "manifest.json"
    fresh = workspace.store.count() == size and workspace.is_synced() and manifest.exists() \
        and "build" in json.loads(manifest.read_text())
    if fresh:
        return home, None
    if workspace.store.count() != size:
        workspace.ingest([corpus_file(size, folder)])
    shutil.rmtree(workspace.settings.lexical_path, ignore_errors=True)  # a main that can take deltas
    shutil.rmtree(workspace.settings.delta_path, ignore_errors=True)
    workspace.sync()
    return home, round(time.perf_counter() - started, 1)


def new_incidents(n: int, tag: str) -> list[Incident]:
    """``n`` generated incidents with new ids, each with a word no other incident uses (what its query asks for)."""
    from tools.demo.generator import generate_incidents
    made = generate_incidents(n=n, seed=1000 + n + len(tag))
    return [incident.model_copy(update={"id": f"{tag}-{i}", "title": f"{incident.title} quux{tag.lower()}{i}"})
            for i, incident in enumerate(made)]


def warm_up(workspace: Workspace) -> None:
    """What a running app or service has loaded before an ingest lands: the model, the main snapshot, Chroma, the
    stemmer (NLTK: about 3 s to import, paid by the first word no stem was saved for — a new word each run)."""
    Searcher(workspace).search(f"warm up: payment gateway timeout zq{time.time_ns()}x")
    workspace.dense.count()


def timed(owner: Any, method: str) -> Callable[[], float]:
    """Wrap ``owner.method`` to add up the time spent in it; returns a reader of that total (which resets it)."""
    call, spent = getattr(owner, method), [0.0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    setattr(owner, method, wrapper)

    def read() -> float:
        total, spent[0] = spent[0], 0.0
        return total

    return read


def timers(workspace: Workspace) -> dict[str, Callable[[], float]]:
    """Time spent in the model's ``embed``, in the vector index's ``upsert`` (which embeds, then writes Chroma), and
    in the possible-duplicates check ingest runs once the indexes are fresh."""
    import sherlock.storage.workspace as workspace_module
    if not hasattr(workspace_module.find_duplicates, "timed"):
        workspace_module.find_duplicates.timed = timed(workspace_module, "find_duplicates")  # type: ignore[attr-defined]
    return {"embed": timed(getattr(workspace.embedder, "inner", workspace.embedder), "embed"),
            "upsert": timed(workspace.dense, "upsert"), "duplicates": workspace_module.find_duplicates.timed}


def write_jsonl(path: Path, items: list[Incident]) -> Path:
    path.write_text("\n".join(json.dumps(i.to_json_dict()) for i in items) + "\n")
    return path


def one_ingest(workspace: Workspace, items: list[Incident], folder: Path,
               spent: dict[str, Callable[[], float]]) -> dict:
    path = write_jsonl(folder / f"{items[0].id}.jsonl", items)
    for read in spent.values():
        read()
    started = time.perf_counter()
    report = workspace.ingest([path]).sync
    wall = time.perf_counter() - started
    embedded, upserted, duplicates = spent["embed"](), spent["upsert"](), spent["duplicates"]()
    searcher = Searcher(workspace)
    sample = items if len(items) <= 5 else items[::len(items) // 5]
    found = sum(searcher.search(f"{i.title} {i.description[:80]}", k=1).results[0].id == i.id for i in sample)
    return {"wall": wall, "embed": embedded, "rest": wall - embedded, "chroma": upserted - embedded, "sync": report,
            "duplicates": duplicates, "searchable": wall - embedded - duplicates, "top1": f"{found}/{len(sample)}"}


def row(size: int, n: int, kind: str, results: list[dict]) -> list[str]:
    def median(key: str) -> str:
        return f"{statistics.median(r[key] for r in results):.3f}"

    return [f"{size:,}", f"{n}", kind, median("wall"), median("embed"), median("rest"),
            f"{max(r['rest'] for r in results):.3f}", median("chroma"), median("duplicates"), median("searchable"),
            f"{results[-1]['sync'].delta}", " ".join(r["top1"] for r in results)]


def freshness(size: int, hashing: bool, repeats: int, delta_sizes: Sequence[int]) -> list[list[str]]:
    home, built_s = base_home(size, hashing)
    work = home.parent / "work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(home, work)
    workspace = open_workspace(work, hashing)
    warm_up(workspace)
    spent = timers(workspace)
    main_before = (work / "lexical" / "manifest.json").read_text()
    rows = []
    plan = [(1, 0), (100, 0), *((1, held) for held in delta_sizes)]
    in_delta = 0
    for n, held in plan:
        if held > in_delta:  # first grow the delta to about ``held`` incidents (not timed)
            grow = held - in_delta
            workspace.ingest([write_jsonl(work / f"grow-{held}.jsonl", new_incidents(grow, f"G{held}"))])
            in_delta += grow
        results = [one_ingest(workspace, new_incidents(n, f"F{n}H{held}R{r}"), work, spent)
                   for r in range(repeats)]
        in_delta += n * repeats
        rows.append(row(size, n, "delta", results))
    assert (work / "lexical" / "manifest.json").read_text() == main_before, "the main segment was rebuilt"
    full = open_workspace(work, hashing, delta_max=0)
    warm_up(full)
    rows.append(row(size, 1, "full rebuild", [one_ingest(full, new_incidents(1, "FULL"), work, timers(full))]))
    if built_s is not None:
        print(f"  ({size:,}: workspace built in {built_s:.0f} s)")
    return rows


def ndcg(qrels: dict, run: dict) -> float:
    return evaluate(qrels, run, ["ndcg@10"])["ndcg@10"]


def nfcorpus_quality(data: Path) -> list[list[str]]:
    """Full rebuild vs main (90 %) + delta (10 %) vs after merge, on NFCorpus."""
    source = RESULTS / "nfcorpus-home"
    folder = RESULTS / "freshness-nfcorpus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    qrels = read_qrels(data / "qrels" / "test.tsv")
    queries = {qid: text for qid, text in read_queries(data / "queries.jsonl").items() if qid in qrels}
    lines = (data / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    held_out = lines[::10]  # every tenth document comes back through the delta
    (folder / "delta.jsonl").write_text("\n".join(held_out) + "\n", encoding="utf-8")

    def home(name: str) -> Path:
        if source.exists():  # bench_quality's workspace: every vector already in its embedding cache
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("lexical*"))
        return folder / name

    full = open_workspace(home("full"), False)
    full.ingest([data / "corpus.jsonl"], fmt="beir")  # a main over the whole corpus
    split = open_workspace(home("delta"), False, delta_max=0)
    split.ingest([data / "corpus.jsonl"], fmt="beir")
    split.delete([json.loads(line)["_id"] for line in held_out])  # delta_max=0: a main over the other 90 %
    split = open_workspace(split.settings.home, False)
    started = time.perf_counter()
    report = split.ingest([folder / "delta.jsonl"], fmt="beir").sync
    ingest_s = time.perf_counter() - started
    if report.lexical_rebuilt or report.delta != len(held_out):
        raise RuntimeError(f"expected a delta of {len(held_out)} incidents, got {report}")
    texts = list(queries.values())

    def runs(workspace: Workspace, snapshot: Any = None) -> dict[str, float]:
        searcher = Searcher(workspace)
        if snapshot is not None:
            searcher.snapshot = lambda: snapshot  # type: ignore[method-assign]
        lexical = searcher.snapshot()
        return {"hybrid": ndcg(qrels, searcher.rank(queries, k=100)),
                "bm25": ndcg(qrels, dict(zip(queries, lexical.bm25.search_many(texts, 100), strict=True))),
                "tfidf": ndcg(qrels, dict(zip(queries, lexical.tfidf.search_many(texts, 100), strict=True)))}

    rebuilt, delta = runs(full), runs(split)
    # the delta's BM25 with main + delta statistics: the same layered snapshot, another BM25 delta
    layered = split.lexical()
    main, segment = layered.main, layered.delta
    incidents = split.store.get_many(segment.ids)
    combined_bm25 = BM25Delta(statistics="combined").fit([incidents[i] for i in segment.ids], main.bm25)
    combined = layer(main, replace(segment, bm25=combined_bm25))
    assert isinstance(combined.bm25, SegmentedBM25)
    combined_runs = runs(split, combined)
    merge = split.merge()
    merged = runs(split)
    rows = [["NFCorpus", "hybrid nDCG@10", "bm25 nDCG@10", "tfidf nDCG@10", "vs full (hybrid)"]]
    for name, scores in (("full rebuild", rebuilt), (f"main 90% + delta 10% ({report.delta} docs)", delta),
                         ("  delta bm25 idf: main + delta stats", combined_runs),
                         (f"after merge() ({merge.seconds:.1f} s)", merged)):
        rows.append([name, *(f"{scores[m]:.4f}" for m in ("hybrid", "bm25", "tfidf")),
                     f"{scores['hybrid'] - rebuilt['hybrid']:+.4f}"])
    print(f"NFCorpus: {full.store.count()} docs, {len(queries)} test queries; ingest of the 10% delta "
          f"{ingest_s:.2f} s (embedding cached)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--large", action="store_true", help="add 100k incidents (hashing embedder; ~10 min setup)")
    parser.add_argument("--repeats", type=int, default=3, help="ingests of each kind per size (the median shown)")
    parser.add_argument("--delta-sizes", type=int, nargs="*", default=[900],
                        help="also time an ingest of 1 once the delta holds about this many incidents")
    parser.add_argument("--skip-nfcorpus", action="store_true")
    parser.add_argument("--data", type=Path, default=NFCORPUS)
    args = parser.parse_args()
    sizes = [*args.sizes, *([100_000] if args.large else [])]
    rows = [["incidents", "ingest", "index", "wall s", "embed s", "wall - embed s", "max - embed s",
             "of which vectors s", "duplicate check s", "searchable after s", "delta size", "new is top-1"]]
    for size in sizes:
        rows.extend(freshness(size, hashing=size >= 100_000, repeats=args.repeats, delta_sizes=args.delta_sizes))
    print(table(rows))
    print("target: wall - embed <= 0.5 s for 1 and 100 incidents, independent of corpus size; the new incident top-1")
    if not args.skip_nfcorpus:
        print(table(nfcorpus_quality(args.data)))
        print("target: delta hybrid nDCG@10 within 0.002 of the full rebuild; identical after merge()")


if __name__ == "__main__":
    main()
