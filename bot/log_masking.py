"""Secrets never reach a log line, at any level and from any logger (ours, urllib3, werkzeug, gunicorn, celery).

What is masked keeps its name so the line stays useful: `corpsecret=***`, `"access_token": "***"`,
`Bearer ***`, `postgresql://fb:***@db/fb`. Two kinds of secret:
- by name: query, form and JSON fields whose name says secret (access_token, corpsecret, token, code…),
  Authorization / X-Display-Token headers, the password in a URL or an ODBC string;
- by value: the configured secrets themselves (WECOM_SECRET, WECOM_AES_KEY, …), wherever they appear.

It runs in two places, because neither alone sees every record: a log-record factory masks each record as it
is made, so handlers we do not own (gunicorn's access log, which does not propagate to the root; Celery's,
which replace ours; pytest's caplog) get it masked; and a filter on our root handler masks the `extra=` fields,
which logging sets on a record only after the factory made it. Masking twice changes nothing.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
# Shorter configured values are not masked by value: "1" or "fb" would blank half of every line.
MIN_LITERAL_CHARS = 6

# Field names whose value is a credential, alone or as the end of a longer name (access_token, WECOM_SECRET,
# label_key, PWD). `code` is the OAuth code (single use, but a login while fresh), matched only alone:
# wo_code is a work order. echostr, msg_signature and signature are not secret, so they stay for debugging.
_SUFFIXED = ("corpsecret", "secret", "token", "key", "aeskey", "encodingaeskey", "apikey", "password", "passwd", "pwd")
_ALONE = ("code", "auth_code", "fb_session")
_NAME = rf"(?:[a-z0-9]+_)*(?:{'|'.join(_SUFFIXED)})|{'|'.join(_ALONE)}"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON or a Python repr: "access_token": "…" / 'corpsecret': '…'
    (re.compile(rf"""(?i)(["'](?:{_NAME})["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2"""), rf"\1\2{MASK}\2"),
    # query strings, form bodies, ODBC strings: corpsecret=… / PWD={…};  (\b: EventKey= and errcode= stay)
    (re.compile(rf"(?i)(?<![\w-])((?:{_NAME})\s*=\s*)(?:\{{[^}}]*\}}|[^&\s\"';,)}}\]]+)"), rf"\1{MASK}"),
    # headers: Authorization: Bearer … / Basic …, and the board's X-Display-Token
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+"), rf"\1\2{MASK}"),
    (re.compile(r"""(?i)\b(x-display-token|x-ops-token)(["']?\s*[:=]\s*["']?)[^\s"',;]+"""), rf"\1\2{MASK}"),
    # a password in a URL: postgresql://user:…@host, redis://:…@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+(@)"), rf"\1{MASK}\2"),
)

# The attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {"message", "asctime"}


class Masker:
    """The rules and the configured secret values; values are added as each entry point reads its settings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._literals: tuple[str, ...] = ()

    def add_secrets(self, values: Iterable[str | None]) -> None:
        found = set(self._literals)
        for value in values:
            if value and len(value) >= MIN_LITERAL_CHARS:
                # As written, and as it appears in a URL (an AES key's + and /, a password's @).
                found.update({value, quote(value, safe=""), quote_plus(value, safe="")})
        with self._lock:
            # Longest first: a secret that contains another is masked whole.
            self._literals = tuple(sorted(found, key=len, reverse=True))

    def mask(self, text: str) -> str:
        # Names first: a configured value that is also part of a name ("secret") must not hide the name
        # from its rule and leave the value after it.
        for pattern, replacement in _RULES:
            text = pattern.sub(replacement, text)
        for literal in self._literals:
            if literal in text:
                text = text.replace(literal, MASK)
        return text

    def mask_record(self, record: logging.LogRecord) -> None:
        """Render the message with its arguments and mask it; mask the traceback, stack and extra fields."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging's error report would print the arguments raw
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
            # The exception object still holds its message unmasked; a formatter prints exc_text when it is set.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, self.mask(value))


MASKER = Masker()


class SecretFilter(logging.Filter):
    """For a handler: masks every record it is given, extra fields included; never drops one."""

    def __init__(self, masker: Masker = MASKER) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        self.masker.mask_record(record)
        return True


def _masking_factory(previous: Callable[..., logging.LogRecord], masker: Masker) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        masker.mask_record(record)
        return record

    factory._factorybot_masking = True  # type: ignore[attr-defined]
    return factory


def install(secrets: Iterable[str | None] = (), masker: Masker = MASKER) -> None:
    """Mask every record this process makes from now on; idempotent, and each call adds its secrets."""
    masker.add_secrets(secrets)
    current = logging.getLogRecordFactory()
    if not getattr(current, "_factorybot_masking", False):
        logging.setLogRecordFactory(_masking_factory(current, masker))


SECRET_SETTINGS = ("wecom_secret", "wecom_aes_key", "wecom_token", "ops_token", "label_key", "label_key_previous",
                   "session_secret")
URL_SETTINGS = ("database_url", "redis_url")


def secret_values(settings: Any) -> list[str]:
    """The configured secrets, by value: the WeCom keys, the ops and label keys, and database passwords."""
    values = [getattr(settings, name, None) for name in SECRET_SETTINGS]
    for name in URL_SETTINGS:
        url = getattr(settings, name, None)
        try:
            password = urlsplit(url).password if url else None
        except ValueError:
            password = None
        if password:
            values += [password, unquote(password)]
    odbc = getattr(settings, "kis_odbc", None) or ""
    for match in re.finditer(r"(?i)(?:^|;)\s*(?:pwd|password)\s*=\s*(\{[^}]*\}|[^;]*)", odbc):
        value = match.group(1).strip()
        values += [value, value.strip("{}")]
    return [v for v in values if v]


def env_secret_values(environ: Mapping[str, str]) -> list[str]:
    """The same, read from environment variables: for a process that logs before it has Settings."""
    names = (*SECRET_SETTINGS, *URL_SETTINGS, "kis_odbc")
    return secret_values(SimpleNamespace(**{name: environ.get(name.upper()) for name in names}))
