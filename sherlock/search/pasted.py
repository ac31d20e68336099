"""Pasted logs and stack traces as queries: keep what names the failure, drop what only locates it.

A stack trace is one of the most common things an on-call engineer pastes, and most of it is noise to a search:
dozens of frames (``at okhttp3.internal.http1.Http1ExchangeCodec.readResponseHeaders(Http1ExchangeCodec.kt:181)``),
timestamps, request ids, thread names and addresses. Those words rarely occur in an incident report, so they drown the
few that do (the exception, its message, the service, the endpoint): BM25 spreads over framework class names, the
embedding model sees the first 256 tokens of frames, and abstention counts every unknown frame word as missing
evidence. :func:`condense` keeps the exception and log-message lines, without their stamps and ids, once each.

>>> condense('''2025-06-01 12:03:44.812 ERROR [payments-api] RazorpayClient - POST /v1/payments failed
... java.net.SocketTimeoutException: Read timed out
...     at java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)
...     at okhttp3.internal.http1.Http1ExchangeCodec.readResponseHeaders(Http1ExchangeCodec.kt:181)
... ''')
'[payments-api] RazorpayClient - POST /v1/payments failed\\njava.net.SocketTimeoutException: Read timed out'

Text that is not a log (no frame, no timestamped or levelled line, no exception name) is returned unchanged.
"""

from __future__ import annotations

import re

#: Lines that only say where code ran: JVM/Kotlin/.NET frames, "... 12 more", Python's "File ..., line N" and the
#: source line under it, Go's "goroutine 7 [running]:" and "/src/x.go:42 +0x1d", JavaScript's "at fn (file.js:1:2)".
_FRAME = re.compile(
    r"^\s*(?:at\s+\S.*|\.\.\.\s*\d+\s+(?:more|common frames omitted)|File\s+\".*\",\s+line\s+\d+.*"
    r"|Traceback\s+\(most recent call last\):|goroutine\s+\d+\s+\[.*\]:?|\S+\.(?:go|rs|py|js|ts|java|kt|scala|rb|cs|"
    r"php|c|cc|cpp):\d+(?::\d+)?(?:\s+\+0x[0-9a-f]+)?|created by\s+\S+.*|\S+\(.*\)\s*$)$", re.IGNORECASE)
#: An exception or error class name (``SocketTimeoutException``, ``requests.exceptions.ReadTimeout: ...``).
_EXCEPTION = re.compile(r"\b[\w.$]*[a-z](?:Exception|Error|Timeout|Fault)\b(?::|\s|$)")
_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
                        r"|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b")
_LEVEL = re.compile(r"(?<![\w-])(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE)(?![\w-])|"
                    r"^\s*(?:[EWIDF]\d{4}\s)")
#: Values that identify one request or one machine, never a kind of failure: UUIDs, long hex, IPv4, long numbers.
_NOISE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
                    r"|\b(?:0x)?(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b"
                    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\b\d{7,}\b", re.IGNORECASE)
#: Python source lines shown under a frame are indented deeper than the frame; other continuations stay.
_INDENTED = re.compile(r"^(?:\s{4,}|\t)")
_CAUSED_BY = re.compile(r"^\s*Caused by:\s*")
#: Separators left dangling where a stamp or id was removed: "[payments-api, ]" -> "[payments-api]".
_EMPTIED = re.compile(r"[\s,;]+([\])}])")
MAX_LINES = 12


def looks_pasted(text: str) -> bool:
    """Whether ``text`` reads as a log excerpt or stack trace rather than a question."""
    lines = [line for line in text.splitlines() if line.strip()]
    if any(_FRAME.match(line) for line in lines[1:]) or "Traceback (most recent call last)" in text:
        return True
    stamped = sum(bool(_TIMESTAMP.search(line) or _LEVEL.search(line)) for line in lines)
    return stamped >= 2 or (stamped >= 1 and bool(_EXCEPTION.search(text))) or (
        len(lines) >= 2 and bool(_EXCEPTION.search(text)))


def condense(text: str) -> str:
    """The lines of a pasted log or stack trace that name the failure (at most :data:`MAX_LINES`), without frames,
    timestamps, log levels, request ids and addresses, each once; ``text`` itself when it does not look pasted."""
    if not looks_pasted(text):
        return text
    kept: list[str] = []
    after_file_frame = False
    for line in text.splitlines():
        if _FRAME.match(line):
            after_file_frame = line.strip().startswith("File ")
            continue
        if after_file_frame and _INDENTED.match(line):  # the Python source line under "File ..., line N"
            after_file_frame = False
            continue
        after_file_frame = False
        cleaned = _CAUSED_BY.sub("", _NOISE.sub(" ", _LEVEL.sub(" ", _TIMESTAMP.sub(" ", line))))
        cleaned = _EMPTIED.sub(r"\1", " ".join(cleaned.split())).strip(" -|:")
        if cleaned and cleaned not in kept and re.search(r"[A-Za-z]{3}", cleaned):
            kept.append(cleaned)
    return "\n".join(kept[:MAX_LINES]) or text
