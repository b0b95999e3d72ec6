"""Shared steps for the publishing tests: a member with every kind of account, posts, and the sandbox's view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.support import Stack, items, sandbox, wait_for

FINAL = {"published", "failed", "cancelled"}


@dataclass
class Member:
    http: httpx.AsyncClient
    user_id: str
    accounts: dict[str, str]  # page / ig_page / ig_login / tiktok -> account id


def media_url(stack: Stack, name: str, **params: Any) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{stack.env['POSTIFYS_SANDBOX_URL']}/_sandbox/media/{name}{query}"


def image(stack: Stack, name: str = "photo.jpg") -> dict[str, Any]:
    return {"url": media_url(stack, name), "type": "image"}


def video(stack: Stack, name: str = "clip.mp4", duration: int = 15, **extra: Any) -> dict[str, Any]:
    return {"url": media_url(stack, name, duration=duration), "type": "video", "duration_sec": duration, **extra}


async def create(member: Member, *, caption: str, media: list[dict[str, Any]], targets: list[dict[str, Any]],
                 expect: int = 201, **extra: Any) -> dict[str, Any]:
    response = await member.http.post("/api/v1/posts", json={"caption": caption, "media": media, "targets": targets,
                                                            **extra})
    assert response.status_code == expect, response.text
    return dict(response.json())


async def settled(member: Member, post_id: str, timeout: float = 40) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        post = (await member.http.get(f"/api/v1/posts/{post_id}")).json()
        return post if all(t["status"] in FINAL for t in post["targets"]) else None
    return await wait_for(done, timeout=timeout, interval=0.2, message=f"post {post_id} to settle")


async def publishes(stack: Stack, **params: str) -> list[dict[str, Any]]:
    return items(await sandbox(stack, "GET", "/_sandbox/publishes", params=params))
