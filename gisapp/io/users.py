"""The users file of the app's sign-in: who may sign in, their password hash and their role.

The file is named by ``$GISAPP_USERS`` (no variable: the app runs without sign-in).  It is YAML::

    users:
      zhangsan:
        password: "scrypt$16384$8$1$<salt hex>$<hash hex>"   # from hash_password("...")
        role: planner          # viewer | planner | admin
        display: 张三           # the name shown and recorded as a scenario's author

Passwords are stored as salted scrypt hashes (standard library, one random salt per user) and
compared in constant time.  Managing users means editing this file; the app reads it again
when it changes (the caller caches by the file's modification time).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

import yaml

from gisapp._errors import GisAppError
from gisapp.i18n import Term

__all__ = ["ROLES", "USERS_ENV", "User", "hash_password", "read_users", "users_file", "users_file_stamp",
           "verify_password"]

#: the environment variable naming the users file
USERS_ENV = "GISAPP_USERS"
#: the roles, least rights first
ROLES = ("viewer", "planner", "admin")

_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1
_MAX_N = 2**20


@dataclasses.dataclass(frozen=True)
class User:
    """One user of the users file."""

    name: str
    password: str  #: the stored hash (``scrypt$n$r$p$salt_hex$hash_hex``)
    role: str
    display: str


def hash_password(password: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    """Return the stored form of ``password``: ``scrypt$n$r$p$salt_hex$hash_hex`` with a fresh salt.

    Examples
    --------
    >>> h = hash_password("secret", n=2**10)
    >>> verify_password("secret", h), verify_password("Secret", h)
    (True, False)
    """
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=0, dklen=32)
    return f"{_SCHEME}${n}${r}${p}${salt.hex()}${digest.hex()}"


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    if n < 2 or n > _MAX_N or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or not salt or not digest:
        return None
    return n, r, p, salt, digest


def verify_password(password: str, stored: str) -> bool:
    """Return whether ``password`` matches the stored hash (False for a malformed hash)."""
    parsed = _parse_hash(stored)
    if parsed is None:
        return False
    n, r, p, salt, digest = parsed
    got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                         maxmem=128 * n * r * p + 2**20, dklen=len(digest))
    return hmac.compare_digest(got, digest)


def users_file() -> Path | None:
    """Return the users file named by ``$GISAPP_USERS`` (None: sign-in is off)."""
    value = os.environ.get(USERS_ENV, "").strip()
    return Path(value) if value else None


def users_file_stamp(path: Path) -> float:
    """Return the modification time of the users file (-1 when it cannot be read), a cache key."""
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


def _bad(path: Path, field: str, expected: str) -> GisAppError:
    """Return the error of a wrong field; ``expected`` is the catalogue key saying what it should be."""
    return GisAppError(code="users_file_field", params={"file": path.name, "field": field, "expected": Term(expected)})


def read_users(path: Path) -> dict[str, User]:
    """Read the users file; return the users by name.

    Raises
    ------
    gisapp._errors.GisAppError
        ``users_file_unreadable`` when the file is missing or not YAML; ``users_file_field``
        (``users_file_role``) naming the file and the field when a field is missing or wrong.
    """
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise GisAppError(code="users_file_unreadable", params={"file": path.name}) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("users"), dict) or not raw["users"]:
        raise _bad(path, "users", "users.expect.users")
    out: dict[str, User] = {}
    for name, entry in raw["users"].items():
        key = f"users.{name}"
        if not isinstance(name, str) or not name.strip():
            raise _bad(path, key, "users.expect.name")
        if not isinstance(entry, dict):
            raise _bad(path, key, "users.expect.entry")
        pw = entry.get("password")
        if not isinstance(pw, str) or _parse_hash(pw) is None:
            raise _bad(path, f"{key}.password", "users.expect.password")
        role = entry.get("role")
        if role not in ROLES:
            raise GisAppError(code="users_file_role",
                              params={"file": path.name, "field": f"{key}.role", "roles": ", ".join(ROLES)})
        display = entry.get("display", name)
        if not isinstance(display, str | int) or not str(display).strip():
            raise _bad(path, f"{key}.display", "users.expect.display")
        out[name] = User(name=name, password=pw, role=str(role), display=str(display).strip())
    return out
