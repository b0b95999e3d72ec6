"""The public privacy pages: the policy, rendered from its text file, and how to ask for deletion.

Meta accepts the deletion instructions page in place of (and beside) the data-deletion callback, so it states
every way to ask, what is deleted, what is kept and why, and how long it takes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

DELETION_INSTRUCTIONS_PATH = "/privacy/deletion-instructions"
# The address the policy gives for privacy questions; a unit test keeps the two in step.
PRIVACY_CONTACT = "info@postifys.com"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_SENTENCE_END = (".", ":", ";", "!", "?", ")")


@dataclass(frozen=True)
class Document:
    """A page of text for the layout: its title and its body, every line of it already escaped."""

    title: str
    body: str


def render_privacy_policy(text: str) -> Document:
    """The policy as HTML: its first line is the title, short lines without a final stop are section headings,
    lines starting with "- " are list items, the rest are paragraphs. Every line is escaped."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    title, body = (lines[0], lines[1:]) if lines else ("Privacy Policy", [])
    links = (f"<p><a href='{DELETION_INSTRUCTIONS_PATH}'>How to delete your data</a> · "
             "<a href='/'>Home</a></p>")
    return Document(title, f"<h1>{html.escape(title)}</h1>{_policy_body(body)}{links}")


def render_deletion_instructions(contact: str = PRIVACY_CONTACT) -> Document:
    email = _linked_emails(html.escape(contact))
    return Document("How to delete your data", DELETION_INSTRUCTIONS.format(email=email))


def _policy_body(lines: list[str]) -> str:
    parts: list[str] = []
    items: list[str] = []
    for line in lines:
        if line.startswith("- "):
            items.append(f"<li>{_inline(line[2:])}</li>")
            continue
        if items:
            parts.append(f"<ul>{''.join(items)}</ul>")
            items = []
        parts.append(f"<h2>{_inline(line)}</h2>" if _is_heading(line) else f"<p>{_inline(line)}</p>")
    if items:
        parts.append(f"<ul>{''.join(items)}</ul>")
    return "".join(parts)


def _is_heading(line: str) -> bool:
    return len(line) <= 80 and not line.endswith(_SENTENCE_END)


def _inline(text: str) -> str:
    return _linked_emails(html.escape(text))


def _linked_emails(escaped: str) -> str:
    # Runs on escaped text: an address has no character that escaping changes, so the match is the address.
    return _EMAIL.sub(lambda match: f"<a href='mailto:{match[0]}'>{match[0]}</a>", escaped)


DELETION_INSTRUCTIONS = """<h1>How to delete your data</h1>
<p>You can ask Postifys to delete your data in any of the three ways below. Each request gets a confirmation code
and a status page, <code>/privacy/deletion/&lt;confirmation code&gt;</code>, where you can follow it.</p>

<h2>1. In Postifys, signed in</h2>
<p>Sign in; under <strong>Your data</strong> on the home page, choose what to delete:</p>
<ul>
<li><strong>Your whole account</strong>: choose to delete the account and re-enter your password to confirm.</li>
<li><strong>Only connected accounts</strong>: all of your connected Facebook, Instagram and TikTok accounts, or the
ones you pick. Your Postifys account stays.</li>
</ul>
<p>Programs can make the same request with <code>POST /api/v1/privacy/deletion-requests</code> and the body
<code>{{"scope": "account", "password": "…"}}</code> or <code>{{"scope": "connections"}}</code> (with
<code>"account_ids"</code> to pick accounts). The answer carries the request's <code>id</code>, its
<code>confirmation_code</code> and its <code>status</code>; <code>GET /api/v1/privacy/deletion-requests/{{id}}</code>
follows it.</p>

<h2>2. From Facebook</h2>
<p>In Facebook, open <strong>Settings &amp; privacy → Settings → Apps and Websites</strong>, select Postifys and
remove it. Facebook tells Postifys at once, and Postifys disconnects the Facebook Pages and Instagram accounts
connected through that Facebook account and destroys their access tokens. To have their data deleted as well, send
Postifys a deletion request from the same screen (Facebook offers it for removed apps). Facebook then passes the
request on; Postifys starts the deletion at once and gives Facebook a confirmation code and the address of the
request's status page, <code>/privacy/deletion/&lt;confirmation code&gt;</code>, which Facebook shows you. This
deletes what Postifys received through that Facebook account: the Pages and Instagram accounts connected with it,
their access tokens, their details, their scheduled and past posts in Postifys and the platform events about
them.</p>

<h2>3. By email</h2>
<p>Write to {email} from the address of your Postifys account and say whether you want your whole account deleted
or only your connected accounts. We may ask you to confirm from that address first, so that nobody else can delete
your data. We reply with the confirmation code and the status page.</p>

<h2>What is deleted</h2>
<p>When you delete your whole account:</p>
<ul>
<li>Your account: name, email address, password hash, sessions and verification state.</li>
<li>Access to your connected accounts: the platform tokens are revoked at the platform where it allows it, and
destroyed.</li>
<li>Your connected accounts' details: Page and account names and ids, usernames, permissions.</li>
<li>Your posts in Postifys: captions, media, schedules, statuses and the history of each attempt; scheduled posts
are cancelled.</li>
<li>Platform events (webhooks) about your accounts.</li>
</ul>
<p>When you delete only connected accounts, the same happens for those accounts: their access is revoked, their
details are deleted and posts scheduled to them are cancelled. Posts already published stay on Facebook, Instagram
or TikTok: they belong to your accounts there, and you can delete them on the platform.</p>

<h2>What is kept, and why</h2>
<p>A minimal record of the request: its confirmation code, what was asked (the whole account or connected
accounts), when it was asked and completed, and the outcome in each part of Postifys. It holds no email address,
name or platform account id in the clear. It is kept so that you, and Meta, can check the status page, and so that
Postifys can show that the deletion was done.</p>

<h2>How long it takes</h2>
<p>Deletion starts as soon as the request is received and normally completes within minutes. In any case it is
completed within one month of the request. If a platform cannot be reached, Postifys keeps trying, and the status
page shows what is still pending.</p>

<p><a href='/privacy'>Privacy policy</a> · <a href='/'>Home</a></p>"""
