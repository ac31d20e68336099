"""The text analyzers: :func:`tokenize` (search: BM25, TF-IDF, abstention coverage and the "matched terms" of an
explanation) and :func:`readable_terms` (theme labels, which people read). Entity names are matched as whole tokens
by :func:`sherlock.search.entities.surface_names`.

Incident text mixes prose ("payment failed") with identifiers (``snapdeal_test``, ``JSP-1052``, ``OOMKilled``,
``INTERNAL_SERVER_ERROR``, ``/txns``). An identifier is indexed both *whole* (lowercased, not stemmed) and *split*
into its parts (on ``_ - .`` and camelCase); parts and plain words are lowercased, stopword-filtered and
Snowball-stemmed. So a query for ``snapdeal`` finds ``snapdeal_test`` and a query for ``snapdeal_test`` prefers it.
An HTTP status code right after ``http`` also yields a joined token (``HTTP 502`` -> ``http_502``).

>>> tokenize("Snapdeal (MID: snapdeal_test) got HTTP 502 failures")
['snapdeal', 'mid', 'snapdeal_test', 'snapdeal', 'test', 'got', 'http', '502', 'http_502', 'fail']
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Container
from importlib import resources

#: A word or an identifier: runs of letters/digits joined by ``_``, ``-``, ``.`` or an apostrophe.
_WORD = re.compile(r"[^\W_]+(?:[_\-.'\u2019][^\W_]+)*")
_JOINER = re.compile(r"[_\-.]")
#: camelCase boundaries: ``messageNot`` -> message|Not, ``OOMKilled`` -> OOM|Killed, ``md5Hash`` -> md5|Hash.
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z0-9])(?=[A-Z][a-z])")
_POSSESSIVE = re.compile(r"'s$", re.IGNORECASE)
_HTTP_STATUS = re.compile(r"[1-5]\d\d")

#: Where Snowball keeps apart what incident text means as one thing ("failure" stems to "failur", "failed" to
#: "fail"); applied after stemming.
_STEM_OVERRIDES = {"failur": "fail"}


@functools.cache
def stopwords() -> frozenset[str]:
    """The English stopword list in ``sherlock/resources/stopwords.txt`` (read once, on first use)."""
    text = resources.files("sherlock").joinpath("resources", "stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@functools.cache
def _stemmer():
    from nltk.stem.snowball import SnowballStemmer  # pure code, needs no NLTK data download

    return SnowballStemmer("english")


#: Every stem computed in this process, word -> stem. A cache of a pure function, and what makes a cold search fast:
#: the index snapshot saves the stems of its corpus (:func:`known_stems`) and loading it seeds them back
#: (:func:`remember_stems`), so a query made of corpus words never imports NLTK (about 1.5 s of a cold start, as NLTK
#: imports scipy.stats and scikit-learn on the way).
_STEMS: dict[str, str] = {}


def stem(word: str) -> str:
    """Snowball (Porter2) English stem of a lowercase word (NLTK's ``SnowballStemmer``), memoised: Snowball costs
    ~10 us a call."""
    stemmed = _STEMS.get(word)
    if stemmed is None:
        stemmed = _stemmer().stem(word)
        stemmed = _STEM_OVERRIDES.get(stemmed, stemmed)
        _STEMS[word] = stemmed
    return stemmed


def known_stems() -> dict[str, str]:
    """A copy of every word -> stem computed (or remembered) so far in this process."""
    return dict(_STEMS)


def remember_stems(stems: dict[str, str]) -> None:
    """Seed the memo with stems computed earlier by :func:`stem` (e.g. saved with an index snapshot)."""
    _STEMS.update(stems)


@functools.lru_cache(maxsize=1 << 18)
def _analyze(raw: str) -> tuple[str, ...]:
    """The tokens of one word or identifier as written (original case, so camelCase can be split)."""
    stop = stopwords()
    if "'" in raw or "\u2019" in raw:
        raw = raw.replace("\u2019", "'")
        if raw.lower() in stop:  # don't, isn't, it's ...
            return ()
        raw = _POSSESSIVE.sub("", raw).replace("'", "")
    pieces = [piece for segment in _JOINER.split(raw) for piece in _CAMEL.split(segment) if piece]
    whole = raw.lower()
    if len(pieces) <= 1:  # a plain word
        return () if whole in stop else (stem(whole),)
    tokens = [whole]  # the identifier itself, not stemmed
    previous = ""
    for piece in pieces:
        part = piece.lower()
        if part in stop:
            continue
        tokens.append(stem(part))
        if previous == "http" and _HTTP_STATUS.fullmatch(part):
            tokens.append(f"http_{part}")
        previous = part
    return tuple(tokens)


def tokenize(text: str) -> list[str]:
    """The index/query tokens of ``text``: stemmed words, identifiers whole and split, ``http_<code>`` bigrams."""
    tokens: list[str] = []
    after_http = False
    for raw in _WORD.findall(text):
        analyzed = _analyze(raw)
        tokens.extend(analyzed)
        if after_http and _HTTP_STATUS.fullmatch(raw):
            tokens.append(f"http_{raw}")
        after_http = analyzed == ("http",)
    return tokens


#: A word or identifier starting with a letter (``oomkilled``, ``payments-api``, ``u30``); bare numbers are left out.
_READABLE = re.compile(r"[a-z][a-z0-9_\-]*[a-z0-9]")


@functools.cache
def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words (318 words, broader than the search list: labels drop "also", "due" …),
    kept in ``sherlock/resources/english_stopwords.txt``: importing scikit-learn for them costs over a second."""
    text = resources.files("sherlock").joinpath("resources", "english_stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def readable_terms(text: str) -> list[str]:
    """Lowercase words and identifiers as written — not stemmed, so a label reads ``failures``, not ``failur`` —
    minus :func:`english_stop_words`: the terms of recurring-theme labels."""
    stop = english_stop_words()
    return [term for term in _READABLE.findall(text.lower()) if term not in stop]


def query_terms(text: str) -> list[str]:
    """The unique tokens of ``text``, in first-seen order."""
    return list(dict.fromkeys(tokenize(text)))


@functools.cache
def synonyms() -> dict[str, tuple[str, ...]]:
    """Each stem of ``sherlock/resources/synonyms.txt`` -> the other stems of its line (read once, on first use).
    Raises ``ValueError`` naming the line when an entry is not one token."""
    path = resources.files("sherlock").joinpath("resources", "synonyms.txt")
    groups: dict[str, tuple[str, ...]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        stems = []
        for word in (w.strip() for w in line.split(",")):
            tokens = tokenize(word)
            if len(tokens) != 1:
                raise ValueError(f"synonyms.txt:{number}: {word!r} is not one search token ({tokens}); "
                                 "write single words, comma-separated")
            stems.append(tokens[0])
        for stemmed in stems:
            groups[stemmed] = tuple(dict.fromkeys(s for s in (*groups.get(stemmed, ()), *stems) if s != stemmed))
    return groups


def expand_query_tokens(tokens: list[str]) -> list[str]:
    """``tokens`` followed by the :func:`synonyms` of each that the query does not already contain, each once."""
    table = synonyms()
    present = set(tokens)
    extra = [s for token in tokens for s in table.get(token, ()) if s not in present]
    return tokens + list(dict.fromkeys(extra))


def query_tokens(text: str) -> list[str]:
    """What the lexical retrievers search for: :func:`tokenize` of the query, the other spelling of each one-piece
    word (:func:`spelling_variants`), then the synonyms."""
    tokens = tokenize(text)
    present = set(tokens)
    variants = [v for v in dict.fromkeys(spelling_variants(text).values()) if v not in present]
    return expand_query_tokens(tokens + variants)


def spelling_variants(text: str) -> dict[str, str]:
    """Token -> its other spelling, for words written in one piece. An incident may write ``OOMKilled`` (indexed
    whole, ``oomkilled``) or the tag ``oomkilled`` (a plain word, stemmed to ``oomkil``): a query with either
    spelling finds both."""
    variants: dict[str, str] = {}
    for raw in _WORD.findall(text):
        if _JOINER.search(raw) or "'" in raw or "\u2019" in raw:
            continue
        analyzed = _analyze(raw)
        lower = raw.lower()
        if len(analyzed) == 1 and analyzed[0] != lower:  # a plain word: also as an identifier's whole token
            variants[analyzed[0]] = lower
        elif len(analyzed) > 1:  # a camelCase identifier: also as the plain word
            variants[analyzed[0]] = stem(lower)
    return variants


#: Words people wrap a request in ("can someone please help here on priority? sharing the logs below"): they say
#: nothing about the incident, yet weigh as rare terms in a small corpus, so term coverage leaves them out.
REQUEST_CHATTER = re.compile(
    r"\b(please|pls|plz|kindly|help|helps|someone|anyone|anybody|priority|urgent|urgently|asap|hi|hello|hey|team|"
    r"thanks|thank|regards|share|sharing|shared|below|above|attached|attaching|however|tried|trying|facing|getting|"
    r"seeing|noticed|here|there|check|checking|look|looking|guys|folks)\b", re.IGNORECASE)


def coverage_terms(text: str, known: Container[str]) -> dict[str, frozenset[str]]:
    """The query terms that term coverage counts, each with the tokens that count as finding it (itself and its
    :func:`synonyms`). An identifier's whole token that ``known`` (the corpus vocabulary) lacks is left out when the
    identifier has parts: ``java.net.SocketTimeoutException`` is judged by ``socket``, ``timeout`` and ``exception``
    rather than counted once more as a missing rare term. :data:`REQUEST_CHATTER` is left out."""
    text = REQUEST_CHATTER.sub(" ", text)
    table = synonyms()
    variants = spelling_variants(text)
    unknown_wholes = {w for w in compound_wholes(text) if w not in known and variants.get(w) not in known}
    return {t: frozenset((t, *table.get(t, ()), *([variants[t]] if t in variants else [])))
            for t in query_terms(text) if t not in unknown_wholes}


def compound_wholes(text: str) -> set[str]:
    """The whole-identifier tokens of ``text``'s identifiers (``java.net.sockettimeoutexception``), which
    :func:`tokenize` emits next to their parts."""
    wholes = set()
    for raw in _WORD.findall(text):
        analyzed = _analyze(raw)
        if len(analyzed) > 1:  # an identifier: its whole token first, then its parts
            wholes.add(analyzed[0])
    return wholes


def matched_terms(query: str, doc_text: str) -> list[str]:
    """The query's words and identifiers (as the query wrote them, each once) with a token that occurs in
    ``doc_text`` — the evidence to show next to a lexical hit."""
    doc_tokens = set(tokenize(doc_text))
    matched: list[str] = []
    seen: set[str] = set()
    for raw in _WORD.findall(query):
        key = raw.lower()
        if key in seen:
            continue
        seen.add(key)
        if any(token in doc_tokens for token in _analyze(raw)):
            matched.append(raw)
    return matched


def informative_words(weighted_texts: list[tuple[str, float]], idf: Callable[[list[str]], dict[str, float]],
                      limit: int) -> list[str]:
    """The ``limit`` words (as first written; case-insensitive) of a long text that best tell it apart, for a lexical
    query built from a whole incident: each distinct word scores ``max idf of its tokens x (1 + ln(weighted count))``
    over the ``(text, weight)`` parts (a title part weighted 2 counts each of its words twice). A long report used
    whole as a BM25 query drowns its few telling words in common ones; keeping the top terms by tf-idf is the classic
    remedy (Salton & Buckley 1988's term weights, as in "more like this" queries — Lucene's ``MoreLikeThis``)."""
    counts: dict[str, float] = {}
    tokens_of: dict[str, tuple[str, ...]] = {}
    written: dict[str, str] = {}
    for text, weight in weighted_texts:
        for raw in _WORD.findall(text):
            key = raw.lower()
            if key not in tokens_of:
                tokens_of[key], written[key] = _analyze(raw), raw
            if tokens_of[key]:
                counts[key] = counts.get(key, 0.0) + weight
    idf_of = idf(sorted({token for tokens in tokens_of.values() for token in tokens}))
    scored = {word: max(idf_of[t] for t in tokens_of[word]) * (1.0 + math.log(count))
              for word, count in counts.items()}
    return [written[word] for word in sorted(scored, key=lambda word: (-scored[word], word))[:limit]]
