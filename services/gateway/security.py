"""Who the client is (behind trusted proxies) and whether a state-changing request is cross-site."""

from __future__ import annotations

from ipaddress import ip_address

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: list[str]) -> str:
    address = peer or "unknown"
    if forwarded_for and address in trusted_proxies:
        for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
            try:
                ip_address(hop)
            except ValueError:
                break
            address = hop
            if hop not in trusted_proxies:
                break
    return address


def is_cross_site(method: str, origin: str | None, fetch_site: str | None, public_origin: str) -> bool:
    """Browsers send Origin on every cross-origin POST and Sec-Fetch-Site on every request; a request
    with neither comes from a non-browser client, which cannot carry a victim's cookie by accident."""
    if method in SAFE_METHODS:
        return False
    if fetch_site is not None:
        # No page can set it, so where it is sent it decides. Without it, Origin does: pages are served with
        # Referrer-Policy: same-origin, so a browser names our origin on our own forms' posts (no-referrer would
        # make it "null").
        return fetch_site not in ("same-origin", "none")
    return origin is not None and origin.rstrip("/") != public_origin
