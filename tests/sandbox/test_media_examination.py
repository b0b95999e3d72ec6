"""Media the sandbox fetches from anywhere but its own /_sandbox/media is read whole and examined, as the platforms
examine what they fetch: the bytes decide what a file is, whatever the server called it, and what was fetched
(size, sha256, format, dimensions) is shown with the publish and at /_sandbox/fetches. The files are made by
tests/media_samples.py and served by a small HTTP server this module starts, with the content type each test
claims for them."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.media_samples import jpeg, mp4, png
from tests.sandbox.posting import (
    BAKERY,
    BAKERY_IG,
    GRAPH,
    bakery_tokens,
    graph_fails,
    graph_ok,
    publishes,
    settings,
    wait_until,
)

FILES: dict[str, tuple[bytes, str]] = {}


def create(http: httpx.Client, token: str, **params: str) -> httpx.Response:
    return http.post(f"{GRAPH}/{BAKERY_IG}/media", data={**params, "access_token": token})


def publish(http: httpx.Client, token: str, creation_id: str) -> httpx.Response:
    return http.post(f"{GRAPH}/{BAKERY_IG}/media_publish", params={"creation_id": creation_id, "access_token": token})


def status_code(http: httpx.Client, token: str, container_id: str) -> str:
    answer = graph_ok(http.get(f"{GRAPH}/{container_id}", params={"fields": "status_code", "access_token": token}))
    return str(answer["status_code"])


class Served(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        body, content_type = FILES.get(self.path, (b"", ""))
        self.send_response(200 if content_type else 404)
        self.send_header("Content-Type", content_type or "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Served)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def served(host: str, path: str, body: bytes, content_type: str) -> str:
    FILES[path] = (body, content_type)
    return f"{host}{path}"


def fetches(http: httpx.Client) -> list[dict[str, object]]:
    return list(http.get("/_sandbox/fetches").json())


def test_a_jpeg_is_fetched_whole_and_published_with_what_was_fetched(http: httpx.Client, host: str) -> None:
    user, _ = bakery_tokens(http)
    picture = jpeg(1080, 1350)
    url = served(host, "/bread.jpg", picture, "image/jpeg")

    created = graph_ok(create(http, user, image_url=url, caption="Bread"))
    graph_ok(publish(http, user, created["id"]))

    [live] = publishes(http, platform="instagram")
    [fetched] = live["fetched"]
    assert (fetched["sha256"], fetched["size"]) == (hashlib.sha256(picture).hexdigest(), len(picture))
    assert (fetched["format"], fetched["width"], fetched["height"]) == ("jpeg", 1080, 1350)


@pytest.mark.parametrize("body", [png(800, 800), jpeg(800, 800)[:3000]], ids=["png", "cut-off-jpeg"])
def test_an_image_that_is_no_jpeg_is_refused_whatever_its_content_type(http: httpx.Client, host: str,
                                                                        body: bytes) -> None:
    user, _ = bakery_tokens(http)
    url = served(host, f"/called-a-jpeg-{len(body)}.jpg", body, "image/jpeg")

    graph_fails(create(http, user, image_url=url), 36001, 2207005)

    [fetched] = fetches(http)
    assert fetched["sha256"] == hashlib.sha256(body).hexdigest()
    assert fetched["format"] == ("png" if body[:4] == b"\x89PNG" else None)


def test_bytes_that_are_no_video_leave_a_reel_in_error(http: httpx.Client, host: str) -> None:
    settings(http, instagram_processing_seconds=0.1)
    user, _ = bakery_tokens(http)
    url = served(host, "/clip.mp4", b"just some text, not a video\n" * 200, "video/mp4")

    created = graph_ok(create(http, user, media_type="REELS", video_url=url))

    wait_until(lambda: status_code(http, user, created["id"]) == "ERROR", what="the container fails")
    graph_fails(publish(http, user, created["id"]), 352, 2207026)


def test_a_real_video_is_examined_for_its_codec_size_and_length(http: httpx.Client, host: str) -> None:
    settings(http, instagram_processing_seconds=0.1)
    user, _ = bakery_tokens(http)
    clip = mp4(360, 640, 3.5, fps=30)
    url = served(host, "/real.mp4", clip, "application/octet-stream")  # the bytes decide, not the label

    created = graph_ok(create(http, user, media_type="REELS", video_url=url, caption="Real"))
    wait_until(lambda: status_code(http, user, created["id"]) == "FINISHED", what="the container finishes")
    graph_ok(publish(http, user, created["id"]))

    [fetched] = publishes(http, platform="instagram")[0]["fetched"]
    assert (fetched["format"], fetched["video_codec"], fetched["width"], fetched["height"]) == ("mp4", "h264", 360,
                                                                                                640)
    assert fetched["duration"] == pytest.approx(3.5, abs=0.1)


def test_a_page_photo_that_is_no_image_is_refused(http: httpx.Client, host: str) -> None:
    _, page = bakery_tokens(http)
    url = served(host, "/photo.jpg", b"%PDF-1.4 not a picture" * 50, "image/jpeg")

    graph_fails(http.post(f"{GRAPH}/{BAKERY}/photos", data={"url": url, "access_token": page}), 324)
