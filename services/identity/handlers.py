"""Every event identity consumes, and every event it writes to its outbox."""

from __future__ import annotations

from services.identity.erasure import erasure
from services.identity.notifications import notifications
from shared.events import ErasureStepDone, UserEmailVerified, UserPasswordChanged, UserRegistered
from shared.messaging.consumer import Subscriptions

subscriptions = Subscriptions(notifications, erasure)
subscriptions.publishes(UserRegistered)
subscriptions.publishes(UserEmailVerified)
subscriptions.publishes(UserPasswordChanged)
subscriptions.publishes(ErasureStepDone)
