"""The terms of threading that inbox.py's rules and the bulk import share.

Which statuses count as a conversation still going, how far back a subject
match reaches, and how a reply's idempotency key is written and found again in
a channel's own ids. Plain values, no store: the import's worker processes use
them without loading the ORM.
"""

from __future__ import annotations

from datetime import timedelta

ACTIVE = ("open", "pending", "snoozed")
"""A conversation in one of these states is still going: a customer's new message joins it."""

SUBJECT_WINDOW = timedelta(days=30)
"""A message whose subject matches a resolved conversation this recent reopens it."""

KEY_DOMAIN = "omnitui"
"""An idempotency key is "<32 hex>@omnitui"; a channel with ids of its own (an email's
Message-ID on the account's domain) derives them from the hex part."""


def idempotency_key_of(external_id: str) -> str | None:
    """The idempotency key an external id was made from: "<HEX@acme.example>" -> "HEX@omnitui"."""
    local = external_id.strip("<>").partition("@")[0]
    if len(local) != 32 or not all(c in "0123456789abcdef" for c in local):
        return None
    return f"{local}@{KEY_DOMAIN}"
