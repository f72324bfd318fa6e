"""The key that signs the pages' session cookies: SESSION_SECRET, or one generated once per installation.

Generated keys live in a file (SESSION_SECRET_FILE, mode 0600) rather than in memory, so every gunicorn
worker and every restart signs with the same key; a worker that loses the race to create it reads the
winner's. Nothing is derived from the WeCom secret, so rotating that does not sign everyone out, and
knowing it does not forge a session.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from factorybot.config import ConfigError, Settings

KEY_BYTES = 32


def session_key(settings: Settings) -> bytes:
    if settings.session_secret:
        return settings.session_secret.encode()
    return _kept_key(Path(settings.session_secret_file))


def _kept_key(path: Path) -> bytes:
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise ConfigError(f"SESSION_SECRET_FILE {path} 无法读取 / cannot be read: {exc}") from exc
    if existing:
        return existing.encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: a reader sees no file or the whole key,
        # and link() fails if another worker got there first, whose key then wins.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(KEY_BYTES) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip().encode()
    except OSError as exc:
        raise ConfigError(f"SESSION_SECRET_FILE {path} 无法创建 / cannot be created ({exc}); "
                          "set SESSION_SECRET or a writable SESSION_SECRET_FILE") from exc
