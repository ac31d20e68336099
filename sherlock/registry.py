"""Named registries (normalisations, fusion methods, metrics, embedders): one lookup that says what is valid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def lookup(registry: Mapping[str, T], name: str, what: str) -> T:
    """``registry[name]``, or ``ValueError`` naming the ``what`` that is unknown and listing the valid names."""
    if name not in registry:
        raise ValueError(f"unknown {what} {name!r}; choose one of: {', '.join(sorted(registry))}")
    return registry[name]
