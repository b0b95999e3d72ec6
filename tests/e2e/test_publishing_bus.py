"""Account events reach the publisher duplicated and out of order; the outcome is the same as one clean
delivery: the newest event decides, and a post still goes out exactly once."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from shared.events import AccountConnected, AccountReauthRequired, Envelope
from shared.messaging.broker import ServiceBroker
from shared.messaging.topology import Topology
from tests.e2e.publishing_support import Member, create, publishes, settled
from tests.support import Stack, wait_for


def envelope(event_type: type, account_id: str, user_id: str, at: datetime) -> Envelope:
    data = {"account_id": account_id, "user_id": user_id, "platform": "facebook", "kind": "facebook_page"}
    if event_type is AccountReauthRequired:
        data["reason"] = "test"
    return Envelope(type=event_type.type, producer="tests", occurred_at=at,
                    data=event_type.model_validate(data).model_dump(mode="json"))


async def test_duplicated_and_reordered_account_events_change_nothing(poster: Member, stack: Stack,
                                                                      db: asyncpg.Connection) -> None:
    account, user = poster.accounts["page"], poster.user_id
    sender = ServiceBroker(stack.amqp_url, Topology(stack.prefix, "tests-sender"))
    await sender.start()
    await sender.wait_connected(30)
    rng = random.Random(20261127)
    base = datetime.now(UTC)
    try:
        for round_ in range(5):
            start = base + timedelta(minutes=round_)
            history = [envelope(AccountReauthRequired, account, user, start),
                       envelope(AccountConnected, account, user, start + timedelta(seconds=1)),
                       envelope(AccountReauthRequired, account, user, start + timedelta(seconds=2)),
                       envelope(AccountConnected, account, user, start + timedelta(seconds=3))]
            deliveries = [e for e in history for _ in range(rng.randint(1, 3))]
            rng.shuffle(deliveries)
            for delivery in deliveries:
                await sender.publish(delivery)

            ids = [e.event_id for e in history]

            async def all_seen(ids: list[uuid.UUID] = ids) -> bool:
                seen = await db.fetchval("SELECT count(*) FROM publisher.inbox WHERE event_id = ANY($1::uuid[])", ids)
                return bool(seen == len(ids))
            await wait_for(all_seen, message="the publisher to take every event")
            row = await db.fetchrow("SELECT reauth_required, as_of FROM publisher.account_auth "
                                    "WHERE account_id = $1::uuid", uuid.UUID(account))
            assert row["reauth_required"] is False  # the newest event was a reconnect
            assert row["as_of"] == history[-1].occurred_at
    finally:
        await sender.close()

    post = await create(poster, caption="after the storm", media=[], targets=[{"account_id": account}])
    [target] = (await settled(poster, post["id"]))["targets"]
    assert target["status"] == "published"
    assert len(await publishes(stack)) == 1
