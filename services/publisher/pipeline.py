"""Publishing one target, step by step. Every platform id is saved (committed) before the next call; a call
whose outcome is unknown is never blindly repeated: an intent is saved before it, and a later run finds the
intent and asks the platform what happened first (Instagram container status, the Page's recent posts).
TikTok offers no way to find a post by its content, so an init left without an answer is flagged for review.

`run` is re-entered from the top after every wait, crash or restart: the checkpoint says where it stands."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from services.publisher import rules
from services.publisher.rules import Media
from shared import platform_http
from shared.crash import crash_point
from shared.fetching import Download, Fetcher, FetchError, Slot, human_size
from shared.platform_http import Answer, PlatformError

MIN_CHUNK = 5 * 1024 * 1024
CHUNK = 10 * 1024 * 1024
RECONCILE_CHECKS = 3
RECONCILE_WAIT = 5.0
MEDIA_FETCH_WAIT = 5.0  # the first wait for a download slot; it doubles with each wait after, up to the cap
MEDIA_FETCH_WAIT_CAP = 60.0


@dataclass(frozen=True)
class Published:
    remote_id: str
    permalink: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Wait:
    seconds: float
    status: str
    reason: str
    # Checkpoint entries saved with the wait (None removes one), for a wait that counts itself.
    checkpoint: dict[str, Any] | None = None


@dataclass(frozen=True)
class Failed:
    error_class: str
    message: str
    needs_review: bool = False


Outcome = Published | Wait | Failed


class Journal(Protocol):
    checkpoint: dict[str, Any]

    async def save(self, *, step: str, status: str, ids: dict[str, Any] | None = None, request: str | None = None,
                   response_code: str | None = None, message: str | None = None) -> None: ...

    async def may_call(self, endpoint: str, limit: int, per_seconds: int) -> float: ...

    async def published_in_last_day(self) -> int: ...

    async def observe_usage(self, headers: dict[str, str]) -> None: ...

    async def early_outcome(self, publish_id: str) -> tuple[str, dict[str, Any]] | None: ...

    async def claim_media_fetch(self, per_user: int) -> bool: ...


class Library(Protocol):
    """The person's media library, for media given by id: a fresh signed URL the platform pulls from, or the
    stored bytes for an upload."""

    async def url(self, media: Media) -> str: ...

    def read(self, media: Media, start: int, stop: int) -> AsyncIterator[bytes]: ...


@dataclass(kw_only=True)
class Job:
    platform: str
    kind: str
    external_id: str
    via_page_id: str | None
    settings: dict[str, Any]
    caption: str
    media: list[Media]
    journal: Journal
    http: httpx.AsyncClient
    urls: dict[str, str]
    fetcher: Fetcher
    verified_prefixes: list[str] = field(default_factory=list)
    daily_cap: int = 15
    poll_seconds: float = 2.0
    media_fetches_per_user: int = 2
    # Fetched once the run is sure to call the platform (after before_calls).
    token: str = ""
    # Asks the connector for a new token when the platform refused this one early; None: it could not.
    renew_token: Callable[[str], Awaitable[str | None]] | None = None
    download_slot: Slot | None = None  # this process's download slot, held for this run's download
    library: Library | None = None

    async def url_of(self, media: Media) -> str:
        """Where the platform fetches a medium from: the URL given, or a library item's signed URL, made now."""
        if media.media_id is None:
            assert media.url is not None
            return media.url
        assert self.library is not None
        return await self.library.url(media)

    @property
    def cp(self) -> dict[str, Any]:
        return self.journal.checkpoint

    def poll_delay(self) -> float:
        """Polls back off as processing drags on: every poll_seconds at first, at most once a minute."""
        started = self.cp.get("processing_since")
        elapsed = (datetime.now(UTC) - datetime.fromisoformat(started)).total_seconds() if started else 0.0
        return max(self.poll_seconds, min(60.0, elapsed / 5))


async def before_calls(job: Job) -> Wait | None:
    """What a run settles before it calls anyone (the connector, the platform): a run that will download the video
    first takes its download slot and the user's share, so that one sent away to wait has spent no platform budget
    (TikTok's creator_info calls) on the way."""
    return await reserve_download(job) if downloads_video(job) else None


def downloads_video(job: Job) -> bool:
    """Whether this run goes on to download the video (to upload it to TikTok), unless it waits or fails first."""
    cp = job.cp
    if job.platform != "tiktok" or cp.get("uploaded") or not needs_upload(job) or from_library(job):
        return False
    return bool(cp.get("upload_url")) if cp.get("publish_id") else not cp.get("intent")


def needs_upload(job: Job) -> bool:
    """TikTok pulls only from verified URL prefixes; any other video is uploaded from here."""
    media = job.media
    return len(media) == 1 and media[0].type == "video" and (from_library(job) or not any(
        (media[0].url or "").startswith(prefix) for prefix in job.verified_prefixes))


def from_library(job: Job) -> bool:
    """A TikTok video of the person's library: sent by FILE_UPLOAD straight from storage, never downloaded."""
    return len(job.media) == 1 and job.media[0].media_id is not None and job.media[0].type == "video"


async def reserve_download(job: Job) -> Wait | None:
    """One of this process's download slots and one of the user's shares, taken without waiting. None: go on (the
    slot is in job.download_slot); a Wait: come back later, a little later each time, calling no one meanwhile."""
    if job.download_slot is not None and job.download_slot.held:
        return None
    status = rules.PROCESSING if job.cp.get("publish_id") else rules.QUEUED
    waits = int(job.cp.get("download_waits") or 0)
    slot = job.fetcher.reserve()
    if slot is None:
        reason = (f"waiting for a free download slot (this publisher downloads at most {job.fetcher.concurrency} "
                  f"video{'' if job.fetcher.concurrency == 1 else 's'} at once)")
    elif not await job.journal.claim_media_fetch(job.media_fetches_per_user):
        slot.release()
        reason = (f"waiting for this user's other video downloads to finish (at most {job.media_fetches_per_user} "
                  "at once)")
    else:
        job.download_slot = slot
        return None
    delay = rules.backoff(waits + 1, base=MEDIA_FETCH_WAIT, cap=MEDIA_FETCH_WAIT_CAP).total_seconds()
    return Wait(delay, status, reason, checkpoint={"download_waits": waits + 1})


def release_download(job: Job) -> None:
    if job.download_slot is not None:
        job.download_slot.release()


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def since(iso: str | None) -> datetime:
    return datetime.fromisoformat(iso) if iso else datetime.now(UTC) - timedelta(minutes=5)


async def run(job: Job) -> Outcome:
    if job.platform == "tiktok":
        flow = TikTokFlow(job)
        try:
            return await flow.run()
        finally:
            if flow.video is not None:
                flow.video.discard()
    if job.kind == "instagram":
        return await InstagramFlow(job).run()
    return await FacebookFlow(job).run()


# --- Graph (Facebook Pages, Instagram) ------------------------------------------------------------------

class GraphFlow:
    platform = "facebook"

    def __init__(self, job: Job, base: str) -> None:
        self.job = job
        self.base = base

    async def call(self, method: str, path: str, *, data: dict[str, Any] | None = None,
                   params: dict[str, Any] | None = None) -> Answer:
        try:
            answer = await platform_http.graph(self.job.http, self.platform, method, f"{self.base}/{path}",
                                               data=data, params=params,
                                               headers={"Authorization": f"Bearer {self.job.token}"})
        except PlatformError as exc:
            await self.job.journal.observe_usage(exc.headers)
            raise
        await self.job.journal.observe_usage(answer.headers)
        return answer


class FacebookFlow(GraphFlow):
    def __init__(self, job: Job) -> None:
        super().__init__(job, job.urls["facebook_graph"])
        self.page = job.external_id

    async def run(self) -> Outcome:
        job, cp = self.job, self.job.cp
        if cp.get("remote_id"):
            return await self.finish(cp["remote_id"])
        form = rules.facebook_format(job.media)
        link = job.settings.get("link")
        if form == "video":
            return await self.video()
        if form == "photo":
            return await self.send_once("photo", "photos", {"url": await job.url_of(job.media[0]),
                                                            "caption": job.caption})
        data: dict[str, Any] = {"message": job.caption} if job.caption else {}
        if link:
            data["link"] = link
        if form == "photos":
            photo_ids: list[str] = list(cp.get("photo_ids") or [])
            for media in job.media[len(photo_ids):]:
                # Unpublished photos are invisible until attached: uploading one twice is harmless.
                answer = await self.call("POST", f"{self.page}/photos",
                                         data={"url": await job.url_of(media), "published": "false"})
                photo_ids.append(str(answer.body["id"]))
                await job.journal.save(step="photo_uploaded", status=rules.PUBLISHING, ids={"photo_ids": photo_ids},
                                       request=f"POST /{self.page}/photos published=false",
                                       response_code=str(answer.status))
            data["attached_media"] = json.dumps([{"media_fbid": pid} for pid in photo_ids])
        return await self.send_once("feed", "feed", data)

    async def send_once(self, name: str, edge: str, data: dict[str, Any]) -> Outcome:
        job, cp = self.job, self.job.cp
        found = await self.reconcile(name)
        if isinstance(found, (Published, Wait)):
            return found
        earlier = cp.get("intent")
        await job.journal.save(step=f"{name}_sending", status=rules.PUBLISHING,
                               ids={"intent": earlier or now_iso(), "intent_checks": 0},
                               request=f"POST /{self.page}/{edge}")
        try:
            answer = await self.call("POST", f"{self.page}/{edge}", data=data)
        except PlatformError as exc:
            # "Duplicate status message": the earlier, unanswered call did go through after all.
            duplicate = exc.code == 506 and job.caption and \
                await self.find_on_page(since(cp["intent"]) - timedelta(minutes=10))
            if duplicate:
                await job.journal.save(step=f"{name}_reconciled", status=rules.PUBLISHING,
                                       ids={"remote_id": str(duplicate["id"]), "intent": None},
                                       message="Facebook called it a duplicate: the earlier call had gone through.")
                return Published(str(duplicate["id"]), duplicate.get("permalink_url"))
            raise
        crash_point("publish_after_send")
        remote_id = str(answer.body.get("post_id") or answer.body["id"])
        await job.journal.save(step=f"{name}_sent", status=rules.PUBLISHING, ids={"remote_id": remote_id},
                               response_code=str(answer.status))
        crash_point("publish_after_answer")
        del cp["intent"]
        return await self.finish(remote_id)

    async def reconcile(self, name: str) -> Outcome | None:
        """An intent without a result: the call may have gone through. Look at the Page's recent posts."""
        job, cp = self.job, self.job.cp
        if not cp.get("intent"):
            return None
        found = await self.find_on_page(since(cp["intent"]) - timedelta(seconds=60))
        if found is not None:
            await job.journal.save(step=f"{name}_reconciled", status=rules.PUBLISHING,
                                   ids={"remote_id": str(found["id"]), "intent": None},
                                   message="Found on the Page after an unanswered request.")
            return Published(str(found["id"]), found.get("permalink_url"))
        checks = int(cp.get("intent_checks") or 0)
        if checks < RECONCILE_CHECKS:
            await job.journal.save(step=f"{name}_reconciling", status=rules.UNKNOWN, ids={"intent_checks": checks + 1},
                                   message="Not on the Page yet; checking again before sending anything.")
            return Wait(RECONCILE_WAIT, rules.UNKNOWN, "waiting to see whether the post appeared")
        if not job.caption:
            return Failed("outcome_unknown", "Facebook did not answer and a post without text cannot be matched on "
                          "the Page. Check the Page; retry only if the post is not there.", needs_review=True)
        return None  # it never arrived: sending again is safe

    async def find_on_page(self, started: datetime) -> dict[str, Any] | None:
        params: dict[str, Any] = {"fields": "id,message,created_time,permalink_url", "limit": 100,
                                  "since": int(started.timestamp())}
        for _ in range(20):  # pages of 100 posts since the intent
            answer = await self.call("GET", f"{self.page}/posts", params=params)
            for post in answer.body.get("data", []):
                if (post.get("message") or "") == self.job.caption:
                    return dict(post)
            after = ((answer.body.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not answer.body.get("data"):
                return None
            params["after"] = after
        return None

    async def video(self) -> Outcome:
        job, cp = self.job, self.job.cp
        if not cp.get("video_id"):
            found = await self.reconcile("video")
            if isinstance(found, (Published, Wait, Failed)):
                return found
            await job.journal.save(step="video_sending", status=rules.PUBLISHING,
                                   ids={"intent": now_iso(), "intent_checks": 0}, request=f"POST /{self.page}/videos")
            answer = await self.call("POST", f"{self.page}/videos", data={
                "file_url": await job.url_of(job.media[0]), "description": job.caption,
                "title": job.settings.get("title", "")})
            crash_point("publish_after_send")
            await job.journal.save(step="video_sent", status=rules.PROCESSING,
                                   ids={"video_id": str(answer.body["id"]), "intent": None,
                                        "processing_since": now_iso()},
                                   response_code=str(answer.status))
        status = await self.call("GET", str(cp["video_id"]), params={"fields": "status"})
        video_status = ((status.body.get("status") or {}).get("video_status") or "").lower()
        if video_status == "error":
            return Failed("platform_rejected", "Facebook could not process this video.")
        if video_status not in ("ready", "upload_complete", "published"):
            return Wait(job.poll_delay(), rules.PROCESSING, f"Facebook is processing the video ({video_status})")
        return await self.finish(str(cp["video_id"]))

    async def finish(self, remote_id: str) -> Outcome:
        answer = await self.call("GET", remote_id, params={"fields": "permalink_url"})
        return Published(remote_id, answer.body.get("permalink_url"))


class InstagramFlow(GraphFlow):
    platform = "instagram"

    def __init__(self, job: Job) -> None:
        via_page = job.via_page_id is not None
        super().__init__(job, job.urls["facebook_graph" if via_page else "instagram_graph"])
        self.user = job.external_id

    async def run(self) -> Outcome:
        job, cp = self.job, self.job.cp
        if cp.get("media_id"):
            return await self.finish(cp["media_id"])
        if not cp.get("container_id"):
            quota = await self.call("GET", f"{self.user}/content_publishing_limit",
                                    params={"fields": "quota_usage,config"})
            entry = (quota.body.get("data") or [{}])[0]
            total = int((entry.get("config") or {}).get("quota_total") or 0)
            if total and int(entry.get("quota_usage") or 0) >= total:
                return Wait(3600, rules.QUEUED, "the account's Instagram publishing quota for 24 hours is used up")
            await self.create_container()
        status = await self.call("GET", str(cp["container_id"]), params={"fields": "status_code,status"})
        code = status.body.get("status_code")
        if code == "IN_PROGRESS":
            return Wait(job.poll_delay(), rules.PROCESSING, "Instagram is processing the media")
        if code == "ERROR":
            return Failed("platform_rejected", f"Instagram could not use the media: {status.body.get('status')}")
        if code == "EXPIRED":
            if cp.get("recreated"):
                return Failed("platform_rejected", "The Instagram container expired twice before publishing.")
            await job.journal.save(step="container_expired", status=rules.QUEUED,
                                   ids={"container_id": None, "children": [], "recreated": True})
            return Wait(0, rules.QUEUED, "the container expired; creating a new one")
        if code == "PUBLISHED":
            return await self.find_published()
        return await self.publish()

    async def create_container(self) -> None:
        job, cp = self.job, self.job.cp
        form = rules.instagram_format(job.media, job.settings)
        data: dict[str, Any] = {}
        if form == "carousel":
            children: list[str] = list(cp.get("children") or [])
            for media in job.media[len(children):]:
                child = {"is_carousel_item": "true", **_media_fields(media, await job.url_of(media), carousel=True)}
                answer = await self.call("POST", f"{self.user}/media", data=child)
                children.append(str(answer.body["id"]))
                await job.journal.save(step="child_container_created", status=rules.PUBLISHING,
                                       ids={"children": children}, request=f"POST /{self.user}/media (carousel item)",
                                       response_code=str(answer.status))
            data = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": job.caption}
        elif form == "story":
            data = {"media_type": "STORIES", **_media_fields(job.media[0], await job.url_of(job.media[0]))}
        elif form == "reel":
            data = {"media_type": "REELS", "video_url": await job.url_of(job.media[0]), "caption": job.caption,
                    "share_to_feed": str(bool(job.settings.get("share_to_feed", True))).lower()}
            for key in ("cover_url", "thumb_offset"):
                if job.settings.get(key) is not None:
                    data[key] = str(job.settings[key])
        else:
            data = {**_media_fields(job.media[0], await job.url_of(job.media[0])), "caption": job.caption}
        answer = await self.call("POST", f"{self.user}/media", data=data)
        crash_point("instagram_after_container_created")
        await job.journal.save(step="container_created", status=rules.PROCESSING,
                               ids={"container_id": str(answer.body["id"]), "processing_since": now_iso()},
                               request=f"POST /{self.user}/media ({form})", response_code=str(answer.status))

    async def publish(self) -> Outcome:
        job, cp = self.job, self.job.cp
        # The container says whether an earlier media_publish went through, so FINISHED means it did not.
        await job.journal.save(step="publish_sending", status=rules.PUBLISHING, ids={"intent": now_iso()},
                               request=f"POST /{self.user}/media_publish creation_id={cp['container_id']}")
        try:
            answer = await self.call("POST", f"{self.user}/media_publish", data={"creation_id": cp["container_id"]})
        except PlatformError as exc:
            if exc.code == 9007 or exc.subcode == 2207027:
                return Wait(job.poll_delay(), rules.PROCESSING, "Instagram says the media is not ready yet")
            if exc.code == 9 and exc.subcode == 2207042:
                return Wait(3600, rules.QUEUED, "the account's Instagram publishing quota for 24 hours is used up")
            raise
        crash_point("publish_after_send")
        media_id = str(answer.body["id"])
        await job.journal.save(step="published", status=rules.PUBLISHING, ids={"media_id": media_id},
                               response_code=str(answer.status))
        crash_point("publish_after_answer")
        return await self.finish(media_id)

    async def find_published(self) -> Outcome:
        job, cp = self.job, self.job.cp
        listed = await self.call("GET", f"{self.user}/media", params={"fields": "id,caption,timestamp,permalink",
                                                                     "limit": 25})
        started = since(cp.get("intent")) - timedelta(seconds=60)
        for media in listed.body.get("data", []):
            created = _parse_time(media.get("timestamp"))
            if (media.get("caption") or "") == job.caption and (created is None or created >= started):
                await job.journal.save(step="reconciled", status=rules.PUBLISHING, ids={"media_id": str(media["id"])},
                                       message="The container was already published; found the post.")
                return Published(str(media["id"]), media.get("permalink"))
        return Failed("outcome_unknown", "Instagram reports the post as published but it could not be found on the "
                      "account. Check the account before retrying.", needs_review=True)

    async def finish(self, media_id: str) -> Outcome:
        answer = await self.call("GET", media_id, params={"fields": "permalink"})
        return Published(media_id, answer.body.get("permalink"))


def _media_fields(media: Media, url: str, carousel: bool = False) -> dict[str, str]:
    if media.type == "video":
        return {"video_url": url, **({"media_type": "VIDEO"} if carousel else {})}
    return {"image_url": url, **({"alt_text": media.alt_text} if media.alt_text else {})}


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("+0000", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- TikTok ---------------------------------------------------------------------------------------------

TIKTOK_LIMITS = {"creator_info": (20, 60), "init": (6, 60), "status": (30, 60)}
FAIL_REASONS = {
    "duration_check_failed": "The video is longer than this creator may post.",
    "video_pull_failed": "TikTok could not download the video from its URL.",
    "photo_pull_failed": "TikTok could not download the photos from their URLs.",
    "file_format_check_failed": "TikTok does not accept this video format.",
    "frame_rate_check_failed": "TikTok does not accept this video's frame rate.",
    "picture_size_check_failed": "TikTok does not accept this picture size.",
    "spam_risk_too_many_posts": "The creator reached TikTok's daily limit of posts through apps.",
    "auth_removed": "The creator removed Postifys' access on TikTok.",
}
UNAUDITED = ("This TikTok app is not audited yet: TikTok lets it post only privately (SELF_ONLY) to private "
             "accounts. Choose SELF_ONLY on a private account, or wait until Postifys' TikTok audit is through.")


def tiktok_webhook_outcome(event: str, content: dict[str, Any], publish_id: str,
                           username: str | None) -> Outcome:
    if event == "post.publish.failed":
        reason = str(content.get("reason") or "unknown")
        return Failed("platform_rejected", FAIL_REASONS.get(reason, f"TikTok could not publish it ({reason})."))
    if event == "post.publish.inbox_delivered":
        return Published(publish_id, None, note="Sent to the creator's TikTok inbox.")
    post_id = content.get("post_id")
    link = f"https://www.tiktok.com/@{username}/video/{post_id}" if post_id and username else None
    return Published(str(post_id or publish_id), link)


class TikTokFlow:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.api = job.urls["tiktok_api"]
        self.video: Download | None = None  # downloaded in this run, kept for the upload

    async def call(self, endpoint: str, path: str, body: dict[str, Any], status: str = rules.QUEUED) -> Answer | Wait:
        limit, per = TIKTOK_LIMITS[endpoint]
        wait = await self.job.journal.may_call(f"tiktok_{endpoint}", limit, per)
        if wait > 0:
            return Wait(wait, status, f"keeping under TikTok's {limit} {endpoint} calls per minute")
        return await platform_http.tiktok(self.job.http, "POST", f"{self.api}{path}", json=body,
                                          headers={"Authorization": f"Bearer {self.job.token}"})

    async def run(self) -> Outcome:
        try:
            return await self.steps()
        except PlatformError as exc:
            if not await self.token_renewed(exc):
                raise
        return await self.steps()  # from the top: the checkpoint says where the refused call left off

    async def token_renewed(self, exc: PlatformError) -> bool:
        """TikTok refused a token we hold as valid: the connector refreshes it once, and the run goes on with it."""
        job = self.job
        if not exc.token_invalid or job.renew_token is None:
            return False
        fresh = await job.renew_token(job.token)
        if fresh is None:
            return False
        job.token = fresh
        await job.journal.save(step="token_refreshed", status=rules.PROCESSING if job.cp.get("publish_id")
                               else rules.QUEUED, response_code=str(exc.code),
                               message="TikTok refused the access token before its expiry; Postifys refreshed it "
                                       "and carried on.")
        return True

    async def steps(self) -> Outcome:
        job, cp = self.job, self.job.cp
        if not cp.get("publish_id"):
            if cp.get("intent"):
                return Failed("outcome_unknown", "TikTok did not answer whether it accepted this post, and TikTok "
                              "offers no way to look it up. Check the creator's profile and inbox; retry only if "
                              "the post is not there.", needs_review=True)
            outcome = await self.init()
            if outcome is not None:
                return outcome
        if cp.get("upload_url") and not cp.get("uploaded"):
            outcome = await self.upload()
            if outcome is not None:
                return outcome
        early = await job.journal.early_outcome(str(cp["publish_id"]))
        if early is not None:
            return tiktok_webhook_outcome(early[0], early[1], str(cp["publish_id"]), cp.get("creator_username"))
        answer = await self.call("status", "/v2/post/publish/status/fetch/", {"publish_id": cp["publish_id"]},
                                 rules.PROCESSING)
        if isinstance(answer, Wait):
            return answer
        data = answer.body.get("data") or {}
        status = data.get("status")
        if status == "PUBLISH_COMPLETE":
            post_ids = data.get("publicaly_available_post_id") or []
            remote = str(post_ids[0]) if post_ids else str(cp["publish_id"])
            username = cp.get("creator_username")
            link = f"https://www.tiktok.com/@{username}/video/{post_ids[0]}" if post_ids and username else None
            return Published(remote, link)
        if status == "SEND_TO_USER_INBOX":
            return Published(str(cp["publish_id"]), None,
                             note="Sent to the creator's TikTok inbox; they finish posting in the TikTok app.")
        if status == "FAILED":
            reason = str(data.get("fail_reason") or "unknown")
            return Failed("platform_rejected", FAIL_REASONS.get(reason, f"TikTok could not publish it ({reason})."))
        return Wait(job.poll_delay(), rules.PROCESSING, f"TikTok is processing the post ({status})")

    async def init(self) -> Outcome | None:
        job = self.job
        info = await self.call("creator_info", "/v2/post/publish/creator_info/query/", {})
        if isinstance(info, Wait):
            return info
        creator = info.body.get("data") or {}
        problems = rules.Problems()
        rules.check_tiktok(problems, 0, "", job.caption, job.media, job.settings, creator)
        if problems:
            return Failed("validation", " ".join(p["message"] for p in problems.items))
        if await job.journal.published_in_last_day() >= job.daily_cap:
            return Wait(3600, rules.QUEUED, f"keeping under TikTok's daily cap of {job.daily_cap} posts per creator")
        if from_library(job) and not job.cp.get("video_size"):
            size = self.library_size()
            await job.journal.save(step="media_ready", status=rules.PUBLISHING, ids={"video_size": size},
                                   request=f"library video ({human_size(size)}), sent from storage")
        elif needs_upload(job) and not job.cp.get("video_size"):
            fetched = await self.fetch_video()
            if not isinstance(fetched, Download):
                return fetched
        path, body = await self.init_request()
        limit_wait = await job.journal.may_call("tiktok_init", *TIKTOK_LIMITS["init"])
        if limit_wait > 0:
            return Wait(limit_wait, rules.QUEUED, "keeping under TikTok's 6 posts per minute")
        await job.journal.save(step="init_sending", status=rules.PUBLISHING,
                               ids={"intent": now_iso(), "creator_username": creator.get("creator_username")},
                               request=f"POST {path} ({body['source_info']['source']})")
        try:
            answer = await platform_http.tiktok(job.http, "POST", f"{self.api}{path}", json=body,
                                                headers={"Authorization": f"Bearer {job.token}"})
        except PlatformError as exc:
            # TikTok's own error envelope is a definite answer: nothing was created. A bare 5xx from something
            # in between is not, and neither is no answer at all.
            if exc.status is not None and (exc.status < 500 or exc.code == "internal_error"):
                await job.journal.save(step="init_refused", status=rules.QUEUED, ids={"intent": None},
                                       response_code=str(exc.code), message=exc.message)
                if exc.code == "unaudited_client_can_only_post_to_private_accounts":
                    return Failed("platform_rejected", UNAUDITED)
            raise
        crash_point("publish_after_send")
        data = answer.body.get("data") or {}
        await job.journal.save(step="initialized", status=rules.PROCESSING,
                               ids={"publish_id": str(data["publish_id"]), "upload_url": data.get("upload_url"),
                                    "intent": None, "processing_since": now_iso()}, response_code=str(answer.status))
        crash_point("publish_after_answer")
        return None

    def library_size(self) -> int:
        probe = self.job.media[0].probe
        assert probe is not None  # a library item is always probed
        return probe.size_bytes

    async def init_request(self) -> tuple[str, dict[str, Any]]:
        job = self.job
        s = job.settings
        photo = all(m.type == "image" for m in job.media)
        if photo:
            return "/v2/post/publish/content/init/", {
                "media_type": "PHOTO", "post_mode": "MEDIA_UPLOAD" if s.get("post_mode") == "inbox" else "DIRECT_POST",
                "post_info": {"title": (s.get("title") or job.caption)[:90], "description": job.caption[:4000],
                              "privacy_level": s["privacy_level"], "disable_comment": not s.get("allow_comment"),
                              "auto_add_music": bool(s.get("auto_add_music", True)),
                              "brand_content_toggle": bool(s.get("brand_content_toggle")),
                              "brand_organic_toggle": bool(s.get("brand_organic_toggle"))},
                "source_info": {"source": "PULL_FROM_URL", "photo_images": [await job.url_of(m) for m in job.media],
                                "photo_cover_index": int(s.get("photo_cover_index", 0))}}
        video = job.media[0]
        source: dict[str, Any] = {"source": "FILE_UPLOAD", **chunking(int(job.cp.get("video_size") or 0))} \
            if needs_upload(job) else {"source": "PULL_FROM_URL", "video_url": await job.url_of(video)}
        if s.get("post_mode") == "inbox":
            return "/v2/post/publish/inbox/video/init/", {"source_info": source}
        post_info = {"title": s.get("title") or job.caption, "privacy_level": s["privacy_level"],
                     "disable_comment": not s.get("allow_comment"), "disable_duet": not s.get("allow_duet"),
                     "disable_stitch": not s.get("allow_stitch"),
                     "brand_content_toggle": bool(s.get("brand_content_toggle")),
                     "brand_organic_toggle": bool(s.get("brand_organic_toggle")), "is_aigc": bool(s.get("is_aigc"))}
        if s.get("video_cover_timestamp_ms") is not None:
            post_info["video_cover_timestamp_ms"] = int(s["video_cover_timestamp_ms"])
        return "/v2/post/publish/video/init/", {"post_info": post_info, "source_info": source}

    async def fetch_video(self) -> Download | Outcome:
        """Downloads the video to a temporary file, in the slot reserved for it (as one of the user's few downloads
        and one of the process's)."""
        job = self.job
        waiting = await reserve_download(job)  # reserved before the run's first call, unless that run did not know
        if waiting is not None:
            return waiting
        slot = job.download_slot
        assert slot is not None
        await job.journal.save(step="media_downloading", status=rules.PUBLISHING, ids={"download_waits": None})
        try:
            self.video = await job.fetcher.download(await job.url_of(job.media[0]), slot)
        except FetchError as exc:
            message = f"The video could not be downloaded to upload it to TikTok: {exc.reason}."
            if exc.transient:
                raise PlatformError("tiktok", message, transient=True, sent=False) from None
            return Failed("media_unusable", message)
        await job.journal.save(step="media_fetched", status=rules.PUBLISHING, ids={
            "media_fetching": None, **({} if job.cp.get("video_size") else {"video_size": self.video.size})},
            request=f"GET video ({human_size(self.video.size)})")
        return self.video

    async def upload(self) -> Outcome | None:
        """PUTs the video in TikTok's chunks, each read from the file (or the library's storage) as it is sent."""
        job, cp = self.job, self.job.cp
        if from_library(job):
            assert job.library is not None
            library, medium = job.library, job.media[0]
            return await self.send_chunks(int(cp["video_size"]), lambda start, stop: library.read(medium, start, stop),
                                          medium.probe.mime_type if medium.probe else "video/mp4")
        video = self.video
        if video is None:  # a later run than the one that downloaded it (a wait, a restart): download it again
            fetched = await self.fetch_video()
            if not isinstance(fetched, Download):
                return fetched
            video = fetched
        size = int(cp["video_size"])
        if video.size != size:
            return Failed("media_unusable", f"The video at its URL changed between downloads ({size} bytes, then "
                          f"{video.size}); TikTok expects the size it was told. Post it again.")
        return await self.send_chunks(size, video.read)

    async def send_chunks(self, size: int, read: Callable[[int, int], AsyncIterator[bytes]],
                          content_type: str = "video/mp4") -> Outcome | None:
        job, cp = self.job, self.job.cp
        plan = chunking(size)
        chunk, count = plan["chunk_size"], plan["total_chunk_count"]
        for index in range(count):
            first = index * chunk
            last = size - 1 if index == count - 1 else first + chunk - 1
            response = await platform_http.send(job.http, "tiktok", "PUT", cp["upload_url"],
                                                content=read(first, last + 1), headers={
                                                    "Content-Type": content_type,
                                                    "Content-Length": str(last - first + 1),
                                                    "Content-Range": f"bytes {first}-{last}/{size}"})
            if response.status_code not in (200, 201, 206):
                raise PlatformError("tiktok", f"TikTok refused the upload (HTTP {response.status_code}).",
                                    status=response.status_code, transient=response.status_code >= 500)
        await job.journal.save(step="uploaded", status=rules.PROCESSING, ids={"uploaded": True, "upload_url": None},
                               request=f"PUT upload ({size} bytes)")
        return None


def chunking(size: int) -> dict[str, int]:
    """TikTok's FILE_UPLOAD rules: under 5 MB one chunk; otherwise 10 MB chunks, the last one taking the rest."""
    if size < CHUNK:
        return {"video_size": size, "chunk_size": size, "total_chunk_count": 1}
    return {"video_size": size, "chunk_size": CHUNK, "total_chunk_count": max(1, math.floor(size / CHUNK))}
