"""Semantic diff: the IAM policy grammar, per-kind normalisers and the compare engine (pure)."""

from __future__ import annotations

from chalicelib.diff.engine import KIND_FIELDS, compare, diff_spec
from chalicelib.diff.iam_policy import (
    diff_documents,
    equivalent,
    fingerprint,
    parse_document,
)

__all__ = [
    "KIND_FIELDS",
    "compare",
    "diff_documents",
    "diff_spec",
    "equivalent",
    "fingerprint",
    "parse_document",
]
