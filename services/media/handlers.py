"""Every event the media service consumes, and every event it writes to its outbox: each concern declares its own
`Subscriptions` in its module, and this one takes them all."""

from __future__ import annotations

from services.media.erasure import erasure
from services.media.usage import usage
from shared.messaging.consumer import Subscriptions

subscriptions = Subscriptions(erasure, usage)
