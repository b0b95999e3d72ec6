"""The event contract: the committed AsyncAPI document is the one the code generates, it names every event model,
and every type a service consumes is one that some service publishes."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from deploy.asyncapi import DOCUMENT, document, rendered, runtimes
from shared import events
from shared.runtime import ServiceRuntime


@pytest.fixture(scope="module")
def services() -> list[ServiceRuntime]:
    return runtimes()


@pytest.fixture(scope="module")
def spec(services: list[ServiceRuntime]) -> dict[str, Any]:
    return document(services)


def event_models() -> list[type[events.EventData]]:
    return [model for _, model in inspect.getmembers(events, inspect.isclass)
            if issubclass(model, events.EventData) and "type" in vars(model)]


def topic_matches(pattern: str, key: str) -> bool:
    """RabbitMQ's topic matching, for the patterns we use: exact, or `prefix.#`."""
    return key == pattern or (pattern.endswith(".#") and key.startswith(pattern[:-1]))


def test_the_committed_document_is_regenerated_with_every_change_to_an_event(spec: dict[str, Any]) -> None:
    assert DOCUMENT.read_text() == rendered(spec), (
        "docs/asyncapi.json is stale: run `make asyncapi` and commit it (a breaking change to an event is a new type)")


def test_every_event_model_is_in_the_document_with_its_schema_and_description(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for model in event_models():
        assert model.__name__ in schemas, f"{model.__name__} is neither published nor consumed by any service"
        assert schemas[model.__name__]["description"] == inspect.cleandoc(model.__doc__ or "")


def test_no_service_consumes_a_type_that_nobody_publishes(services: list[ServiceRuntime],
                                                          spec: dict[str, Any]) -> None:
    published = [channel["address"] for name, channel in spec["channels"].items()
                 if channel["bindings"]["amqp"]["is"] == "routingKey"]
    for service in services:
        for key in service.broker.bindings:
            assert any(topic_matches(pattern, key) for pattern in published), (
                f"{service.service} consumes {key}, which no service publishes")


def test_every_published_type_is_consumed_or_known_to_be_only_informational(services: list[ServiceRuntime],
                                                                            spec: dict[str, Any]) -> None:
    consumed = [key for service in services for key in service.broker.bindings]
    published = [channel["address"] for channel in spec["channels"].values()
                 if channel["bindings"]["amqp"]["is"] == "routingKey"]
    # Published for whoever comes next (an analytics consumer, a notifier), consumed by no service today.
    informational = {"user.password_changed", "post.scheduled", "post.target.published"}
    unconsumed = {key for key in published if not any(topic_matches(pattern, key) or topic_matches(key, pattern)
                                                       for pattern in consumed)}
    assert unconsumed == informational
