"""Server-rendered pages that need data: the accounts page."""

from __future__ import annotations

import html
from typing import Any

PROVIDER_NAMES = {
    "facebook": "Facebook Pages (and their Instagram accounts)",
    "instagram": "Instagram (Instagram Login)",
    "tiktok": "TikTok",
}
PLATFORM_NAMES = {"facebook": "Facebook", "instagram": "Instagram", "tiktok": "TikTok"}
# Only these fixed sentences are shown: nothing from the query string is echoed into the page.
OUTCOMES = {
    "connected": "{platform} is connected.",
    "denied": "You did not allow Postifys to access {platform}. Nothing was connected.",
    "failed": "{platform} did not complete the connection. Please try again; if it keeps failing, "
              "{platform} may be having trouble.",
    "platform_error": "{platform} reported an error during the connection. Nothing was connected.",
}


def outcome_message(result: str | None, provider: str | None) -> str | None:
    if result not in OUTCOMES or provider not in PLATFORM_NAMES:
        return None
    return OUTCOMES[result].format(platform=PLATFORM_NAMES[provider])


def render_accounts(accounts: list[dict[str, Any]], message: str | None, *, instagram_login: bool) -> str:
    e = html.escape
    rows = []
    for a in accounts:
        label = e(str(a.get("name") or a.get("username") or a["external_id"]))
        if a.get("username"):
            label += f" <small>@{e(str(a['username']))}</small>"
        state = "can publish" if a["publishable"] else e(str(a.get("unpublishable_reason") or ""))
        declined = ", ".join(a["permissions"]["declined"])
        rows.append(
            f"<tr><td>{e(PLATFORM_NAMES.get(a['platform'], a['platform']))}</td><td>{label}</td>"
            f"<td>{e(a['status'])}</td><td>{state}</td><td>{e(declined) or '—'}</td>"
            f"<td><button data-disconnect='{e(a['id'])}'>Disconnect</button></td></tr>")
    table = ("<table><thead><tr><th>Platform</th><th>Account</th><th>Status</th><th>Publishing</th>"
             "<th>Declined permissions</th><th></th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
             if rows else "<p>No accounts connected yet.</p>")
    connect = "".join(f"<li><a href='/api/v1/connections/{p}/start'>Connect {e(name)}</a></li>"
                      for p, name in PROVIDER_NAMES.items() if p != "instagram" or instagram_login)
    notice = f"<p class='message' id='outcome'>{e(message)}</p>" if message else ""
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Accounts · Postifys</title>"
            "<meta name='referrer' content='no-referrer'><link rel='stylesheet' href='/static/app.css'></head>"
            f"<body data-page='accounts'><h1>Connected accounts</h1>{notice}{table}<h2>Connect</h2><ul>{connect}</ul>"
            "<p><a href='/'>Home</a></p><p id='result' class='message' hidden></p>"
            "<script src='/static/app.js'></script></body></html>")


def render_post(post: dict[str, Any]) -> str:
    e = html.escape
    sections = []
    for target in post["targets"]:
        rows = "".join(
            f"<tr><td>{e(str(step['at']))}</td><td>{e(step['step'])}</td><td>{e(step['status'])}</td>"
            f"<td>{e(step.get('request') or '')}</td><td>{e(step.get('response_code') or '')}</td>"
            f"<td>{e(step.get('message') or '')}</td></tr>" for step in target.get("timeline") or [])
        outcome = target.get("permalink") or target.get("error_message") or ""
        sections.append(
            f"<h2>{e(PLATFORM_NAMES.get(target['platform'], target['platform']))}: {e(target['status'])}</h2>"
            f"<p>{e(outcome)}</p><table><thead><tr><th>Time (UTC)</th><th>Step</th><th>Status</th><th>Request</th>"
            f"<th>Answer</th><th>Message</th></tr></thead><tbody>{rows}</tbody></table>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Post · Postifys</title>"
            "<meta name='referrer' content='no-referrer'><link rel='stylesheet' href='/static/app.css'></head>"
            f"<body><h1>Post</h1><p>{e(post['caption'])}</p>{''.join(sections)}"
            "<p><a href='/'>Home</a></p></body></html>")
