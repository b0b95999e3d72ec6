"""Every event the webhooks service consumes, and every event it writes to its outbox."""

from __future__ import annotations

from services.webhooks.erasure import erasure
from shared.events import ErasureStepDone, PlatformWebhook
from shared.messaging.consumer import Subscriptions

subscriptions = Subscriptions(erasure)
subscriptions.publishes(ErasureStepDone)
# One type per platform event: `webhook.<provider>.<event>`.
subscriptions.publishes(PlatformWebhook, "webhook.#")
