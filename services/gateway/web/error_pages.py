"""The gateway's own refusals as pages in the layout, for a browser asking for a page: an address nothing serves,
and too many requests. The API and everything else keep the JSON error."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from services.gateway.web.context import page


def wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def not_found_page(request: Request) -> Response:
    """Without the person: resolving a session costs identity a call for an address that serves nothing."""
    return page(request, "not_found.html", None, title="Page not found", status_code=404)


def rate_limited_page(request: Request, retry_after: int) -> Response:
    wait = "a minute" if retry_after >= 60 else f"{retry_after} second{'s' if retry_after != 1 else ''}"
    response = page(request, "unavailable.html", None, title="Too many requests", status_code=429,
                    heading="Too many requests", explanation=f"This browser has sent a lot of requests in a short "
                    f"time. Wait {wait} and it will work again.")
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response
