"""Who is using the product, when a team server knows it (issue 24).

A signed-in person is a ``User``: the identity the sign-in provider vouched for (``id``: the
e-mail, else the OIDC subject), the groups its claims list, and whether the operator made them
an admin (``COMPARATOR_ADMINS``, ``COMPARATOR_ADMIN_GROUPS``). The library never asks who is
using it: the dashboard registers a *resolver* (``use``) that reads the signed-in user of the
script run calling it, and every rule that depends on a person (their folder, the folders they
may open, whether they may start runs) asks ``current()``. No resolver, or no one signed in
(the CLI, a single-user dashboard): ``None``, and everything behaves as it always has.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1


class User(BaseModel):
    """A signed-in person (persisted in the audit log and in records that name who made them)."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    id: str  # the e-mail when the provider gives one, else the subject (``sub``)
    email: str | None = None
    name: str | None = None
    groups: tuple[str, ...] = ()
    admin: bool = False

    @property
    def folder(self) -> str:
        """The name of this person's folder: a safe slug plus a hash of the exact id."""
        return slug(self.id, "user")

    @property
    def shown(self) -> str:
        return f"{self.name} <{self.id}>" if self.name and self.name != self.id else self.id


def slug(name: str, default: str) -> str:
    """A file or folder name for any text: letters, digits, ``_-`` (at most 32) plus 12 hex
    digits of the exact text's hash, so two names never share one and none is a path."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")[:32] or default
    return f"{base}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:12]}"


_resolver: Callable[[], User | None] | None = None


def use(resolver: Callable[[], User | None] | None) -> None:
    """Register how to find the signed-in user of the calling code (the dashboard's script
    run); None removes it."""
    global _resolver
    _resolver = resolver


def current() -> User | None:
    """The signed-in user of the calling code, or None (single-user: the CLI, a dashboard with
    no sign-in configured)."""
    return _resolver() if _resolver is not None else None
