"""Where events travel, for a prefix P and a service S:
- `P.events`: one topic exchange, routing key = event type.
- `P.S`: the service's durable quorum queue, explicit delivery limit, dead-lettered at least once to
- `P.dead-letters` (direct exchange, routing key S) into `P.S.dead-letters`, where operators list and replay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

if TYPE_CHECKING:
    from faststream.rabbit.schemas.queue import QuorumQueueArgs

DELIVERY_LIMIT = 5
PREFETCH = 10
# Dead letters carry events, and events can name people and their accounts: an operator has two weeks to look and
# replay, then the broker drops them, so they never outlive a deletion or the retention periods by much.
DEAD_LETTER_TTL_DAYS = 14


@dataclass(frozen=True)
class Topology:
    prefix: str
    service: str

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dead-letters"

    @property
    def queue(self) -> str:
        return f"{self.prefix}.{self.service}"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}.{self.service}.dead-letters"

    @staticmethod
    def dead_letter_arguments() -> dict[str, Any]:
        return {"x-queue-type": "quorum", "x-message-ttl": DEAD_LETTER_TTL_DAYS * 86_400_000}

    def queue_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": self.service,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def events_exchange(self) -> RabbitExchange:
        return RabbitExchange(self.exchange, type=ExchangeType.TOPIC, durable=True)

    def dead_letters_exchange(self) -> RabbitExchange:
        return RabbitExchange(self.dead_letter_exchange, type=ExchangeType.DIRECT, durable=True)

    def service_queue(self) -> RabbitQueue:
        return RabbitQueue(self.queue, QueueType.QUORUM, durable=True,
                           arguments=cast("QuorumQueueArgs", self.queue_arguments()))
