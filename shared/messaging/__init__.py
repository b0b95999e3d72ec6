"""Events between services on RabbitMQ, through FastStream: topology, the service's broker, consumers with an inbox,
the outbox and its relay, dead letters. The only place that speaks aio-pika."""
