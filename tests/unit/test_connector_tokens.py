"""When the connector answers the TikTok token it holds instead of refreshing: never the one the platform refused,
and never one about to expire, whoever refreshed it last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.connector.service import still_usable

NOW = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)
MARGIN = timedelta(minutes=10)
REFUSED, OTHER = "a" * 64, "b" * 64


@pytest.mark.parametrize(("held", "expires_at", "rejected", "usable"), [
    # Nothing refused: the expiry alone decides.
    (OTHER, NOW + MARGIN, None, True),
    (OTHER, NOW + MARGIN - timedelta(seconds=1), None, False),
    (OTHER, None, None, False),
    # The refused token itself is refreshed however far its expiry.
    (REFUSED, NOW + timedelta(days=1), REFUSED, False),
    # Another token (refreshed meanwhile) is answered only while it is itself outside the margin.
    (OTHER, NOW + timedelta(days=1), REFUSED, True),
    (OTHER, NOW + MARGIN - timedelta(seconds=1), REFUSED, False),
    (OTHER, NOW - timedelta(seconds=1), REFUSED, False),
    (OTHER, None, REFUSED, False),
])
def test_the_held_token_is_answered_only_when_it_is_not_the_refused_one_and_not_expiring(
        held: str, expires_at: datetime | None, rejected: str | None, usable: bool) -> None:
    assert still_usable(held, expires_at, rejected=rejected, now=NOW, margin=MARGIN) is usable
