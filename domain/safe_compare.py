"""One constant-time comparison for every secret a request carries (form tokens, bearer tokens, signatures)."""

from __future__ import annotations

import hmac


def safe_equal(given: str, expected: str) -> bool:
    """Whether two secrets match, in time that does not depend on where they differ.

    hmac.compare_digest refuses a str with any non-ASCII character (TypeError), which a hostile request can
    always send; bytes it compares whatever they hold. surrogatepass: a lone surrogate decoded from a bad
    request still encodes instead of raising."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
