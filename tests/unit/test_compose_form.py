"""The composer's form: what was typed becomes the posts API body, and the API's refusals land next to the
fields they concern."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.gateway.web import compose_form as cf

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TIKTOK, PAGE, IG, READONLY = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                              "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444")
ACCOUNTS = [
    cf.Account(id=TIKTOK, platform="tiktok", kind="tiktok", name="Tia Creator", avatar_url=None, status="active",
               publishable=True, unpublishable_reason=None, provider="tiktok"),
    cf.Account(id=PAGE, platform="facebook", kind="facebook_page", name="Acme Bakery", avatar_url=None,
               status="active", publishable=True, unpublishable_reason=None, provider="facebook"),
    cf.Account(id=IG, platform="instagram", kind="instagram", name="acmebakery", avatar_url=None, status="active",
               publishable=True, unpublishable_reason=None, provider="facebook"),
    cf.Account(id=READONLY, platform="facebook", kind="facebook_page", name="Acme Fans", avatar_url=None,
               status="active", publishable=False, unpublishable_reason="No CREATE_CONTENT task.", provider="facebook"),
]


def form(*pairs: tuple[str, str]) -> cf.ComposeForm:
    return cf.parse([("token", "k1"), ("timezone", "Europe/Paris"), *pairs], default_zone="UTC")


def body(*pairs: tuple[str, str]) -> dict[str, Any]:
    outcome = cf.to_body(form(*pairs), ACCOUNTS, now=NOW)
    assert outcome.errors == {}, outcome.errors
    assert outcome.body is not None
    return outcome.body


def errors(*pairs: tuple[str, str]) -> dict[str, str]:
    outcome = cf.to_body(form(*pairs), ACCOUNTS, now=NOW)
    assert outcome.body is None
    return outcome.errors


def test_a_photo_post_to_tiktok_sends_only_what_photos_take_and_no_music_unless_asked() -> None:
    sent = body(("caption", "Hello"), ("when", "now"), ("media-0-url", "https://cdn.test/a.jpg"),
                ("media-0-type", "image"), ("media-0-alt", " A loaf "), ("media-1-url", ""), ("accounts", TIKTOK),
                (f"t-{TIKTOK}-privacy_level", "SELF_ONLY"), (f"t-{TIKTOK}-allow_duet", "on"),
                (f"t-{TIKTOK}-title", "Loaf"))

    assert sent == {"caption": "Hello", "media": [{"url": "https://cdn.test/a.jpg", "type": "image",
                                                   "alt_text": "A loaf"}],
                    "targets": [{"account_id": TIKTOK, "settings": {
                        "privacy_level": "SELF_ONLY", "allow_comment": False, "auto_add_music": False,
                        "title": "Loaf", "brand_organic_toggle": False, "brand_content_toggle": False}}],
                    "scheduled_at": None, "timezone": "Europe/Paris", "draft": False}


def test_a_video_to_tiktok_sends_duet_and_stitch_and_no_title_or_music() -> None:
    sent = body(("media-0-url", "https://cdn.test/v.mp4"), ("media-0-type", "video"), ("media-0-duration", "12,5"),
                ("accounts", TIKTOK), (f"t-{TIKTOK}-privacy_level", "PUBLIC_TO_EVERYONE"),
                (f"t-{TIKTOK}-allow_stitch", "on"), (f"t-{TIKTOK}-auto_add_music", "on"),
                (f"t-{TIKTOK}-title", "ignored for videos"), (f"t-{TIKTOK}-commercial", "on"),
                (f"t-{TIKTOK}-brand_organic", "on"), (f"t-{TIKTOK}-brand_content", "on"))

    assert sent["media"] == [{"url": "https://cdn.test/v.mp4", "type": "video", "duration_sec": 12.5}]
    assert sent["targets"][0]["settings"] == {
        "privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": False, "allow_duet": False, "allow_stitch": True,
        "brand_organic_toggle": True, "brand_content_toggle": True}


def test_no_privacy_chosen_sends_none_so_the_publisher_refuses_it() -> None:
    sent = body(("accounts", TIKTOK), ("media-0-url", "https://cdn.test/v.mp4"), ("media-0-type", "video"))

    assert "privacy_level" not in sent["targets"][0]["settings"]


def test_brand_choices_count_only_with_the_disclosure_on_and_the_disclosure_needs_one() -> None:
    off = body(("accounts", TIKTOK), (f"t-{TIKTOK}-brand_content", "on"))
    neither = errors(("accounts", TIKTOK), (f"t-{TIKTOK}-commercial", "on"))

    assert off["targets"][0]["settings"]["brand_content_toggle"] is False
    assert list(neither) == [f"t-{TIKTOK}-commercial"]
    assert "promotes your brand" in neither[f"t-{TIKTOK}-commercial"]


def test_each_platform_gets_its_own_settings_and_an_own_caption_only_when_written() -> None:
    sent = body(("caption", "All"), ("accounts", PAGE), ("accounts", IG), (f"t-{PAGE}-link", "https://acme.test"),
                (f"t-{PAGE}-caption", "  "), (f"t-{IG}-media_type", "STORIES"), (f"t-{IG}-caption", "Just IG"))

    assert sent["targets"] == [{"account_id": PAGE, "settings": {"link": "https://acme.test"}},
                               {"account_id": IG, "settings": {"media_type": "STORIES"}, "caption": "Just IG"}]


def test_the_schedule_is_a_wall_clock_time_in_the_chosen_zone() -> None:
    sent = body(("accounts", PAGE), ("when", "schedule"), ("schedule-date", "2026-07-14"), ("schedule-time", "09:30"))

    assert (sent["scheduled_at"], sent["timezone"], sent["draft"]) == ("2026-07-14T09:30:00", "Europe/Paris", False)


def test_a_draft_keeps_a_time_when_one_is_given_and_needs_none() -> None:
    assert body(("accounts", PAGE), ("when", "draft"))["scheduled_at"] is None
    timed = body(("accounts", PAGE), ("when", "draft"), ("schedule-date", "2026-07-14"), ("schedule-time", "09:30"))
    assert (timed["draft"], timed["scheduled_at"]) == (True, "2026-07-14T09:30:00")


def test_times_that_cannot_be_are_refused_in_plain_words() -> None:
    skipped = errors(("accounts", PAGE), ("when", "schedule"), ("schedule-date", "2026-03-29"),
                     ("schedule-time", "02:30"))
    past = errors(("accounts", PAGE), ("when", "schedule"), ("schedule-date", "2026-02-01"), ("schedule-time", "09:00"))
    missing = errors(("accounts", PAGE), ("when", "schedule"))
    bad_time = errors(("accounts", PAGE), ("when", "schedule"), ("schedule-date", "2026-07-14"),
                      ("schedule-time", "25:00"))
    zone = cf.to_body(cf.parse([("timezone", "Mars/Olympus"), ("accounts", PAGE)], default_zone="UTC"), ACCOUNTS,
                      now=NOW).errors

    assert "the clocks skip it" in skipped["schedule-time"]
    assert past == {"schedule-date": "Choose a time in the future, or publish now."}
    assert list(missing) == ["schedule-date"]
    assert list(bad_time) == ["schedule-time"]
    assert zone == {"timezone": "Choose a time zone from the list."}


def test_media_rows_are_checked_and_empty_rows_left_out() -> None:
    found = errors(("accounts", PAGE), ("media-0-url", "ftp://x"), ("media-1-url", ""), ("media-1-alt", "orphan"),
                   ("media-2-url", "https://cdn.test/v.mp4"), ("media-2-type", "video"),
                   ("media-2-duration", "long"), ("media-3-url", "https://cdn.test/b.jpg"), ("media-3-type", "gif"))

    assert set(found) == {"media-0-url", "media-1-url", "media-2-duration", "media-3-type"}


def test_accounts_must_be_chosen_and_publishable() -> None:
    assert errors() == {"accounts": "Choose at least one account to post to."}
    assert "No CREATE_CONTENT task." in errors(("accounts", READONLY))["accounts"]


def test_every_value_typed_is_kept_and_add_another_adds_a_row() -> None:
    typed = form(("caption", "Keep"), ("media-0-url", "https://cdn.test/a.jpg"), ("media-6-url", "x"),
                 ("accounts", TIKTOK), (f"t-{TIKTOK}-commercial", "on"), (f"t-{TIKTOK}-caption", "Own"),
                 ("when", "schedule"), ("schedule-date", "2026-07-14"), ("schedule-time", "09:30"),
                 ("action", "add_media"))

    assert typed.caption == "Keep"
    assert typed.ticked == [TIKTOK]
    assert typed.when == "schedule"
    assert [m.url for m in typed.media] == ["https://cdn.test/a.jpg", "x", "", "", ""]  # renumbered, one more
    assert typed.target(TIKTOK).commercial
    assert typed.target(TIKTOK).caption == "Own"
    assert not typed.target(TIKTOK).brand_content
    assert len(cf.blank("k", "UTC").media) == cf.EMPTY_MEDIA_ROWS


def test_the_calendar_time_prefills_the_schedule_only_when_it_is_a_time() -> None:
    assert (cf.blank("k", "UTC", "2026-05-06T14:15").when, cf.blank("k", "UTC", "2026-05-06T14:15").time) == (
        "schedule", "14:15")
    assert cf.blank("k", "UTC", "2026-13-06T14:15").when == "now"
    assert cf.blank("k", "UTC", "<script>").date == ""


def test_the_publishers_refusals_land_next_to_their_fields() -> None:
    typed = form(("caption", "x" * 2300), ("accounts", TIKTOK), ("accounts", IG), ("accounts", PAGE),
                 (f"t-{PAGE}-caption", "own"))
    sent = {"targets": [{"account_id": TIKTOK}, {"account_id": IG}, {"account_id": PAGE}]}
    details = [
        {"target": 0, "account_id": TIKTOK, "rule": "tiktok_privacy_required", "message": "… (privacy_level) …"},
        {"target": 0, "account_id": TIKTOK, "rule": "tiktok_allow_duet", "message": "…"},
        {"target": 0, "account_id": None, "rule": "tiktok_duration", "message": "This video is 400 s."},
        {"target": 1, "account_id": None, "rule": "instagram_caption_length", "message": "Too long (2300)."},
        {"target": 1, "account_id": IG, "rule": "instagram_jpeg_only", "message": "Instagram only takes JPEG."},
        {"target": 2, "account_id": PAGE, "rule": "setting_url", "message": "link must be an http(s) URL."},
        {"target": 2, "account_id": PAGE, "rule": "facebook_empty", "message": "…"},
        {"target": None, "account_id": None, "rule": "scheduled_at_invalid", "message": "Skipped."},
    ]

    found = cf.field_errors({"code": "post_invalid", "message": "Some targets…", "details": details}, typed, ACCOUNTS,
                            sent, [])

    assert found == {
        f"t-{TIKTOK}-privacy_level": "Tia Creator: Choose who can see this post on TikTok.",
        f"t-{TIKTOK}-allow_duet": "Tia Creator: The creator has turned off duets on TikTok.",
        f"t-{TIKTOK}-panel": "Tia Creator: This video is 400 s.",
        "caption": "acmebakery: Too long (2300).",
        "media": "acmebakery: Instagram only takes JPEG.",
        f"t-{PAGE}-link": "Acme Bakery: link must be an http(s) URL.",
        f"t-{PAGE}-caption": "Acme Bakery: A Facebook post needs text, a link, photos or a video.",
        "schedule-time": "Skipped.",
    }


def test_request_validation_details_land_on_the_rows_they_name() -> None:
    typed = form(("media-0-url", ""), ("media-1-url", "https://cdn.test/a.jpg"), ("accounts", PAGE))
    sent = {"targets": [{"account_id": PAGE}]}
    details = [{"field": "media.0.url", "message": "String should match pattern"},
               {"field": "targets.0.caption", "message": "Extra inputs are not permitted"},
               {"field": "caption", "message": "too long"}, {"field": None, "message": "?"}]

    found = cf.field_errors({"code": "validation_error", "details": details}, typed, ACCOUNTS, sent, [1])

    assert set(found) == {"media-1-url", f"t-{PAGE}-caption", "caption", cf.GENERAL}
    assert "https://" in found["media-1-url"]


def test_other_refusals_go_to_the_summary_in_their_own_words() -> None:
    typed = form()
    assert cf.field_errors({"code": "post_limit_reached", "message": "At most 10 posts a minute."}, typed, ACCOUNTS,
                           None, []) == {cf.GENERAL: "At most 10 posts a minute."}
    assert "already sent" in cf.field_errors({"code": "idempotency_key_reused", "message": "…"}, typed, ACCOUNTS,
                                             None, [])[cf.GENERAL]


def test_counts_and_previews_cut_where_each_platform_does() -> None:
    text = "#a #b @c " + "x" * 200
    counts = {c.label: (c.used, c.limit) for c in cf.caption_counts(text, "instagram")}

    assert counts == {"characters": (len(text), 2200), "hashtags": (2, 30), "mentions": (1, 20)}
    assert [c.label for c in cf.caption_counts(text, "tiktok")] == ["characters"]
    assert cf.caption_counts("é" * 2201, "tiktok")[0].over
    assert cf.preview_caption(text, "instagram") == (text[:125], True)
    assert cf.preview_caption(text, "facebook") == (text, False)


def test_a_post_is_shown_for_editing_in_its_own_zone() -> None:
    post = {"id": "p1", "caption": "Hi", "draft": False, "timezone": "Europe/Paris",
            "scheduled_at": "2026-07-14T07:30:00+00:00",
            "media": [{"url": "https://cdn.test/v.mp4", "type": "video", "duration_sec": 20.0, "alt_text": None}],
            "targets": [{"account_id": TIKTOK,
                         "settings": {"privacy_level": "SELF_ONLY", "brand_content_toggle": True}}]}

    shown = cf.from_post(post, "k", "UTC")

    assert (shown.date, shown.time, shown.timezone, shown.when) == ("2026-07-14", "09:30", "Europe/Paris", "schedule")
    assert shown.media[0].duration == "20"
    assert len(shown.media) == cf.EMPTY_MEDIA_ROWS
    assert shown.target(TIKTOK).commercial
    assert shown.target(TIKTOK).brand_content
    edited = cf.to_body(shown, ACCOUNTS, now=NOW, editing=True).body
    assert edited is not None
    assert edited["targets"] == [{"account_id": TIKTOK, "caption": None}]  # only the accounts' own captions change
    assert edited["scheduled_at"] == "2026-07-14T09:30:00"


def test_an_instagram_account_names_the_login_it_came_through() -> None:
    via_instagram = cf.Account.from_api({"id": IG, "platform": "instagram", "kind": "instagram", "status":
                                         "reauth_required", "provider": "instagram"})
    via_facebook = cf.Account.from_api({"id": IG, "platform": "instagram", "kind": "instagram", "status": "active",
                                        "provider": "facebook"})

    assert via_instagram.reconnect_url == "/api/v1/connections/instagram/start"
    assert via_facebook.provider == "facebook"
    assert via_facebook.reconnect_url is None


def test_a_date_beyond_what_the_publisher_takes_is_refused_next_to_the_date() -> None:
    sentence = "Choose a date between 2 January 1970 and 30 December 2199."
    for zone, day, time in (("America/New_York", "9999-12-31", "23:59"), ("Europe/Paris", "0001-01-01", "00:00"),
                            ("UTC", "2200-01-01", "00:00"), ("Pacific/Kiritimati", "1970-01-01", "09:00")):
        for when in ("schedule", "draft"):
            typed = cf.parse([("token", "k1"), ("timezone", zone), ("accounts", PAGE), ("when", when),
                              ("schedule-date", day), ("schedule-time", time)], default_zone="UTC")
            outcome = cf.to_body(typed, ACCOUNTS, now=NOW)
            assert (outcome.body, outcome.errors) == (None, {"schedule-date": sentence}), (zone, day, when)


def test_the_last_date_is_taken_in_any_zone() -> None:
    typed = cf.parse([("token", "k1"), ("timezone", "Etc/GMT+12"), ("accounts", PAGE), ("when", "schedule"),
                      ("schedule-date", "2199-12-30"), ("schedule-time", "23:59")], default_zone="UTC")
    outcome = cf.to_body(typed, ACCOUNTS, now=NOW)
    assert outcome.body is not None, outcome.errors
    assert outcome.body["scheduled_at"] == "2199-12-30T23:59:00"


def test_the_calendar_prefills_no_date_beyond_the_last() -> None:
    assert cf.blank("k", "UTC", "9999-12-31T10:00").when == "now"
    assert cf.blank("k", "UTC", "2199-12-30T10:00").date == "2199-12-30"


LIBRARY_VIDEO, LIBRARY_PHOTO = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


def test_library_files_go_first_by_id_with_their_descriptions_and_decide_the_kind_of_post() -> None:
    sent = body(("library", LIBRARY_VIDEO), (f"library-{LIBRARY_VIDEO}-kind", "video"),
                (f"library-{LIBRARY_VIDEO}-duration", "12.5"), (f"library-{LIBRARY_VIDEO}-alt", " Rising dough "),
                (f"library-{LIBRARY_PHOTO}-kind", "image"),  # listed, not ticked
                ("library", "not-an-id"), ("media-0-url", "https://cdn.test/a.jpg"), ("accounts", TIKTOK),
                (f"t-{TIKTOK}-privacy_level", "SELF_ONLY"), (f"t-{TIKTOK}-allow_duet", "on"))

    assert sent["media"] == [{"media_id": LIBRARY_VIDEO, "alt_text": "Rising dough"},
                             {"url": "https://cdn.test/a.jpg", "type": "image"}]
    assert sent["targets"][0]["settings"]["allow_duet"] is True  # a video post's settings
    typed = form(("library", LIBRARY_VIDEO), (f"library-{LIBRARY_VIDEO}-kind", "video"),
                 (f"library-{LIBRARY_VIDEO}-duration", "700"))
    assert (typed.media_kind, typed.longest_video(), typed.media_count) == ("video", 700, 1)


def test_a_post_of_library_media_comes_back_chosen_for_editing() -> None:
    post = {"id": "p1", "caption": "", "targets": [], "media": [
        {"media_id": LIBRARY_PHOTO, "type": "image", "name": "a.jpg", "alt_text": "A loaf", "url": None,
         "probe": {"kind": "image"}},
        {"media_id": None, "type": "video", "url": "https://cdn.test/v.mp4", "duration_sec": 9}]}

    typed = cf.from_post(post, "k", "UTC")

    assert [(c.media_id, c.kind, c.alt) for c in typed.library] == [(LIBRARY_PHOTO, "image", "A loaf")]
    assert [m.url for m in typed.used_media()] == ["https://cdn.test/v.mp4"]


def test_the_limits_on_files_themselves_land_on_the_media_section() -> None:
    typed = form(("library", LIBRARY_VIDEO), ("accounts", IG))
    sent = {"targets": [{"account_id": IG}]}
    details = [{"target": 0, "account_id": IG, "rule": rule, "message": message} for rule, message in [
        ("instagram_story_aspect_ratio", "This video is 1:1; Instagram story videos must be 9:16."),
        ("instagram_reel_duration", "Too short."), ("instagram_carousel_aspect_ratio", "Two shapes."),
        ("instagram_story_single", "…")]]
    details.append({"target": None, "account_id": None, "rule": "media_not_found", "message": "No such media."})

    found = cf.field_errors({"code": "post_invalid", "details": details}, typed, ACCOUNTS, sent, [cf.LIBRARY_ROW])

    assert found == {
        "media": "acmebakery: This video is 1:1; Instagram story videos must be 9:16. acmebakery: Too short. "
                 "acmebakery: Two shapes. No such media.",
        f"t-{IG}-media_type": "acmebakery: A story takes exactly one image or video.",
    }
    unreadable = cf.field_errors({"code": "validation_error", "details": [{"field": "media.0.media_id"}]}, typed,
                                 ACCOUNTS, sent, [cf.LIBRARY_ROW])
    assert list(unreadable) == ["media"]
