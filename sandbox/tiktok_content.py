"""TikTok's Content Posting API: publish tasks (Direct Post video and photos, uploads to the creator's inbox),
the FILE_UPLOAD chunk rules, processing and its outcome, and the per-creator daily post count. The router in
tiktok_publishing.py validates requests, fetches pulled media and renders the envelopes; an upload's bytes are kept
in a temporary file until they are complete and examined, as TikTok examines what it was sent."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from sandbox.ledger import Ledger, Publish
from sandbox.media import SNIFF_BYTES, MediaFacts, sniff_video
from sandbox.media_check import examine

MB = 1024 * 1024
MIN_CHUNK_BYTES = 5 * MB
MAX_CHUNK_BYTES = 64 * MB
MAX_LAST_CHUNK_BYTES = 128 * MB
MAX_CHUNKS = 1000
MAX_VIDEO_BYTES = 4 * 1024 * MB
DAILY_WINDOW_SECONDS = 86400
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
PHOTO_TYPES = ("image/jpeg", "image/webp")
PHOTO_MAX_BYTES = 20 * MB
PHOTO_MAX_SIDES = (1920, 1080)  # "1080p at most", either way round; checked on photos whose bytes were read
FIRST_TASK_NUMBER = 1_000_001
FIRST_POST_ID = 7_400_000_000_000_000_001

TaskKind = Literal["video", "inbox", "photo", "photo_inbox"]
Source = Literal["FILE_UPLOAD", "PULL_FROM_URL"]
LEDGER_KINDS: dict[TaskKind, str] = {"video": "tiktok_video", "inbox": "tiktok_inbox", "photo": "tiktok_photo",
                                     "photo_inbox": "tiktok_inbox"}
ID_PREFIXES: dict[tuple[TaskKind, Source], str] = {
    ("video", "FILE_UPLOAD"): "v_pub_file", ("video", "PULL_FROM_URL"): "v_pub_url",
    ("inbox", "FILE_UPLOAD"): "v_inbox_file", ("inbox", "PULL_FROM_URL"): "v_inbox_url",
    ("photo", "PULL_FROM_URL"): "p_pub_url", ("photo_inbox", "PULL_FROM_URL"): "p_inbox_url",
}


def chunk_plan_problem(video_size: int, chunk_size: int, total_chunk_count: int) -> str | None:
    """What is wrong with a FILE_UPLOAD plan under TikTok's rules, or None: under 5 MB one chunk of the whole
    file; otherwise chunks of 5 to 64 MB, floor(video_size / chunk_size) of them (1 to 1000), the last one taking
    the remainder and at most 128 MB."""
    if not 0 < video_size <= MAX_VIDEO_BYTES:
        return f"video_size must be between 1 and {MAX_VIDEO_BYTES} bytes."
    if video_size < MIN_CHUNK_BYTES:
        if chunk_size != video_size or total_chunk_count != 1:
            return "A video smaller than 5 MB must be uploaded as one chunk: chunk_size = video_size, " \
                   "total_chunk_count = 1."
        return None
    if not MIN_CHUNK_BYTES <= chunk_size <= MAX_CHUNK_BYTES:
        return "chunk_size must be between 5 MB and 64 MB."
    if total_chunk_count != video_size // chunk_size:
        return f"total_chunk_count must be {video_size // chunk_size} (video_size / chunk_size, rounded down)."
    if not 1 <= total_chunk_count <= MAX_CHUNKS:
        return f"total_chunk_count must be between 1 and {MAX_CHUNKS}."
    if video_size - (total_chunk_count - 1) * chunk_size > MAX_LAST_CHUNK_BYTES:
        return "The last chunk may not exceed 128 MB."
    return None


class ChunkRefused(Exception):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


@dataclass
class Upload:
    upload_id: str
    upload_token: str
    video_size: int
    chunk_size: int
    total_chunk_count: int
    expires_at: float
    received: int = 0
    chunks: set[tuple[int, int]] = field(default_factory=set)
    head: bytes = b""
    digest: Any = field(default_factory=hashlib.sha256)
    spool: IO[bytes] | None = None

    @property
    def complete(self) -> bool:
        return self.received >= self.video_size

    def expected_last(self, first: int) -> int:
        index = first // self.chunk_size
        return self.video_size - 1 if index >= self.total_chunk_count - 1 else first + self.chunk_size - 1


@dataclass
class PublishTask:
    publish_id: str
    open_id: str
    kind: TaskKind
    source: Source
    created_at: float
    private: bool
    post_info: dict[str, Any]
    media_urls: tuple[str, ...] = ()
    upload: Upload | None = None
    # When processing ends; None while the bytes are still being uploaded.
    done_at: float | None = None
    fail_reason: str | None = None
    post_id: int | None = None
    downloaded_bytes: int = 0


class TikTokContent:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._next_task = FIRST_TASK_NUMBER
        self._next_post = FIRST_POST_ID
        self.tasks: dict[str, PublishTask] = {}
        self.uploads: dict[str, str] = {}
        self.post_times: dict[str, list[float]] = {}

    def posts_today(self, open_id: str, now: float) -> int:
        return sum(1 for at in self.post_times.get(open_id, []) if now - at < DAILY_WINDOW_SECONDS)

    def start(self, open_id: str, *, kind: TaskKind, source: Source, now: float, private: bool,
              post_info: dict[str, Any], media_urls: tuple[str, ...] = (), upload: Upload | None = None,
              ) -> PublishTask:
        number = self._next_task
        self._next_task += 1
        task = PublishTask(publish_id=f"{ID_PREFIXES[(kind, source)]}~v2-1.{number}", open_id=open_id, kind=kind,
                           source=source, created_at=now, private=private, post_info=post_info,
                           media_urls=media_urls, upload=upload)
        self.tasks[task.publish_id] = task
        if upload is not None:
            self.uploads[upload.upload_id] = task.publish_id
        self.post_times.setdefault(open_id, []).append(now)
        return task

    def task_for_upload(self, upload_id: str) -> PublishTask | None:
        return self.tasks.get(self.uploads.get(upload_id, ""))

    def finish(self, task: PublishTask, *, done_at: float, fail_reason: str | None,
               downloaded_bytes: int = 0, received: dict[str, Any] | None = None) -> None:
        """Processing ends at `done_at`; a task that succeeds is recorded as published from then on."""
        task.done_at = done_at
        task.fail_reason = fail_reason
        task.downloaded_bytes = downloaded_bytes
        if fail_reason is not None:
            return
        if task.kind in ("video", "photo"):
            task.post_id = self._next_post
            self._next_post += 1
        info = task.post_info
        self._ledger.record_publish(Publish(
            platform="tiktok", account=task.open_id, kind=LEDGER_KINDS[task.kind], id=task.publish_id, at=done_at,
            text=info.get("title") or None, media_urls=task.media_urls,
            post_id=None if task.post_id is None else str(task.post_id),
            details={"title": info.get("title"), "description": info.get("description"),
                     "privacy_level": info.get("privacy_level"), "source": task.source,
                     "media_type": "PHOTO" if task.kind.startswith("photo") else "VIDEO",
                     **({"uploaded": received} if received else {})}))

    def receive_chunk(self, upload_id: str, upload_token: str, *, first: int, last: int, total: int, body: bytes,
                      now: float, processing_seconds: float, max_duration: float) -> tuple[PublishTask, int]:
        """Takes one chunk; answers the task and the HTTP status (206 for more to come, 201 when complete). A
        chunk sent again with the same range is accepted again and changes nothing."""
        task = self.task_for_upload(upload_id)
        upload = task.upload if task else None
        if task is None or upload is None or upload.upload_token != upload_token:
            raise ChunkRefused(404, "upload_not_found", "No upload task exists for this upload URL.")
        if (first, last) in upload.chunks and total == upload.video_size:
            return task, 201 if upload.complete else 206
        if now >= upload.expires_at:
            raise ChunkRefused(403, "upload_url_expired", "The upload URL has expired.")
        if total != upload.video_size or first != upload.received or last != upload.expected_last(first):
            raise ChunkRefused(416, "range_not_satisfiable",
                               f"Expected bytes {upload.received}-{upload.expected_last(upload.received)}/"
                               f"{upload.video_size}.")
        if len(body) != last - first + 1:
            raise ChunkRefused(400, "invalid_file_upload", "The body length does not match Content-Range.")
        if first == 0:
            upload.head = body[:SNIFF_BYTES]
        if upload.spool is None:
            upload.spool = tempfile.NamedTemporaryFile(prefix="sandbox-upload-")  # noqa: SIM115 (closed when complete)
        upload.spool.write(body)
        upload.digest.update(body)
        upload.chunks.add((first, last))
        upload.received = last + 1
        if not upload.complete:
            return task, 206
        reason, received = self._examine_upload(upload, max_duration)
        self.finish(task, done_at=now + processing_seconds, fail_reason=reason, received=received)
        return task, 201

    @staticmethod
    def _examine_upload(upload: Upload, max_duration: float) -> tuple[str | None, dict[str, Any]]:
        """The video's container and length as read from the bytes (PyAV); the sandbox's own generated files are
        only a header and filler, so what PyAV cannot open is judged by its container's header instead."""
        assert upload.spool is not None
        upload.spool.flush()
        found = examine(Path(upload.spool.name))
        upload.spool.close()
        sniffed = sniff_video(upload.head)
        received = {"size": upload.received, "sha256": upload.digest.hexdigest(), **found.describe()}
        if found.format is not None:
            duration = found.duration
            wrong_format = found.content_type not in VIDEO_TYPES
        else:
            duration, wrong_format = sniffed.duration, sniffed.format is None
            received["format"] = sniffed.format
        reason = ("file_format_check_failed" if wrong_format else "duration_check_failed"
                  if duration is not None and duration > max_duration else None)
        return reason, received

    def status(self, task: PublishTask, now: float) -> dict[str, Any]:
        transferred: dict[str, Any] = (
            {"uploaded_bytes": task.upload.received} if task.upload else {"downloaded_bytes": task.downloaded_bytes})
        if task.done_at is None or now < task.done_at:
            processing = "PROCESSING_UPLOAD" if task.source == "FILE_UPLOAD" else "PROCESSING_DOWNLOAD"
            return {"status": processing, **({"downloaded_bytes": 0} if task.upload is None else transferred)}
        if task.fail_reason is not None:
            return {"status": "FAILED", "fail_reason": task.fail_reason, "publicaly_available_post_id": [],
                    **transferred}
        if task.kind in ("inbox", "photo_inbox"):
            return {"status": "SEND_TO_USER_INBOX", **transferred}
        public = [] if task.private or task.post_id is None else [task.post_id]
        return {"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": public, **transferred}


def pulled_video_problem(facts: MediaFacts, max_duration: float) -> str | None:
    if not facts.ok:
        return "video_pull_failed"
    if facts.content_type not in VIDEO_TYPES:
        return "file_format_check_failed"
    if facts.duration is not None and facts.duration > max_duration:
        return "duration_check_failed"
    return None


def pulled_photos_problem(all_facts: list[MediaFacts]) -> str | None:
    for facts in all_facts:
        if not facts.ok:
            return "photo_pull_failed"
        if facts.content_type not in PHOTO_TYPES:
            return "file_format_check_failed"
        if facts.size is not None and facts.size > PHOTO_MAX_BYTES:
            return "picture_size_check_failed"
        longer, shorter = sorted((facts.width or 0, facts.height or 0), reverse=True)
        if facts.sha256 is not None and (longer > PHOTO_MAX_SIDES[0] or shorter > PHOTO_MAX_SIDES[1]):
            return "picture_size_check_failed"
    return None
