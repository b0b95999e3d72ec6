"""What the screens are given: the services, and who is signed in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request

from services.gateway.settings import GatewaySettings
from services.gateway.web.context import Person, Upstream


@dataclass(frozen=True)
class WebDeps:
    settings: GatewaySettings
    upstream: Callable[[], Upstream]
    resolve_session: Callable[[Request], Awaitable[dict[str, Any] | None]]

    async def person(self, request: Request) -> Person | None:
        session = await self.resolve_session(request)
        if session is None:
            return None
        person = Person(user_id=str(session["user_id"]), session_id=str(session["session_id"]),
                        email_verified=bool(session["email_verified"]), name=str(session.get("name") or ""),
                        email=str(session.get("email") or ""), timezone=str(session.get("timezone") or "UTC"))
        if "name" in session:
            return person
        try:
            me = await self.upstream().call(request, person, "GET", "identity", "/api/v1/me")
        except httpx.HTTPError:
            return person
        if me.status_code != 200:
            return person
        body = me.json()
        return Person(user_id=person.user_id, session_id=person.session_id, email_verified=person.email_verified,
                      name=str(body.get("name") or ""), email=str(body.get("email") or ""),
                      timezone=str(body.get("timezone") or "UTC"))
