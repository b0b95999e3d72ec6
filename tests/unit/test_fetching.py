"""The fetcher for URLs people give us: the address rules, and through real sockets (a local HTTP server in this
process) the pinned connection, TLS checked against the name, redirects, size, deadline, the concurrency cap, and
the temporary file (never a name on disk, closed however the download ends)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.fetching import Download, Fetcher, FetchError, FetchPolicy, address_refused
from tests.support import wait_for

REFUSED = [
    "0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1", "169.254.169.254", "172.16.0.1", "192.0.0.1", "192.0.2.1",
    "192.168.1.1", "198.18.0.1", "198.51.100.1", "203.0.113.1", "224.0.0.1", "240.0.0.1", "255.255.255.255",
    "::", "::1", "100::1", "2001::1", "2001:db8::1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1",
    "ff0e::1",
    # NAT64 (well-known and local-use), 6to4, IPv4-mapped and IPv4-compatible: whatever IPv4 address they carry
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::808:808", "64:ff9b:1::a00:1",
    "2002:7f00:1::1", "2002:a00:1::1", "2002:808:808::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:8.8.8.8",
    "::127.0.0.1", "::8.8.8.8",
    # IPv4-translated (SIIT), which `is_global` lets through whatever IPv4 address it carries
    "::ffff:0:7f00:1", "::ffff:0:a00:1", "::ffff:0:a9fe:a9fe", "::ffff:0:808:808",
    # documentation (RFC 9637) and SRv6 segment identifiers (RFC 9602), unknown to Python 3.11
    "3fff::1", "3fff:fff:ffff::1", "5f00::1", "5f00:ffff::1",
]
PUBLIC = ["1.1.1.1", "8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:82b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_outside_the_public_internet_are_refused(address: str) -> None:
    assert address_refused(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_fetched_from(address: str) -> None:
    assert not address_refused(ipaddress.ip_address(address))


def policy(port: int, **overrides: Any) -> FetchPolicy:
    values: dict[str, Any] = {"max_bytes": 1024 * 1024, "deadline_seconds": 10.0, "read_timeout_seconds": 5.0,
                              "connect_timeout_seconds": 2.0, "ports": frozenset({80, 443, port})}
    return FetchPolicy(**{**values, **overrides})


async def fetch(fetcher: Fetcher, url: str) -> Download:
    slot = fetcher.reserve()
    assert slot is not None, "no free download slot"
    return await fetcher.download(url, slot)


def resolving_to(*addresses: str) -> Callable[[str, int], Awaitable[list[str]]]:
    async def resolver(host: str, port: int) -> list[str]:
        return list(addresses)
    return resolver


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://media.example/a.mp4", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("gopher://media.example:70/", "http:// or https://"),
    ("http://media.example:8080/a.mp4", "port 80 or 443"),
    ("https://media.example:22/a.mp4", "port 80 or 443"),
    ("http://127.0.0.1:6379/", "port 80 or 443"),
    ("https://user:secret@media.example/a.mp4", "user name or password"),
    ("http:///a.mp4", "no host"),
])
async def test_urls_outside_the_rules_are_refused_before_any_lookup(url: str, reason: str) -> None:
    looked_up: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    # Even with private addresses allowed, the scheme, port and credential rules hold.
    fetcher = Fetcher(FetchPolicy(max_bytes=1, deadline_seconds=1, read_timeout_seconds=1, allow_private=True),
                      concurrency=1, resolver=resolver)
    with pytest.raises(FetchError) as refused:
        await fetch(fetcher, url)
    assert reason in refused.value.reason
    assert not refused.value.transient
    assert looked_up == []
    assert fetcher.in_use == 0


# --- a real HTTP server in this process -----------------------------------------------------------------------

Handler = Callable[["MediaServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class MediaServer:
    routes: dict[str, Handler]
    port: int = 0
    connections: int = 0
    active: int = 0
    most_active: int = 0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            _, path, _ = head[0].split(" ")
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:] if line)}
            self.requests.append((path, headers))
            await self.routes[path](self, reader, writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.active -= 1
            writer.close()


@contextlib.asynccontextmanager
async def serving(routes: dict[str, Handler], host: str = "127.0.0.1",
                  tls: ssl.SSLContext | None = None) -> AsyncIterator[MediaServer]:
    media = MediaServer(routes)
    if tls is not None:
        def sni(_: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
            media.server_names.append(name)
        tls.sni_callback = sni
    server = await asyncio.start_server(media.handle, host, 0, ssl=tls)
    media.port = server.sockets[0].getsockname()[1]
    try:
        yield media
    finally:
        media.release.set()
        server.close()


BODY = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 64


def head(status: str, **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def ok(_: MediaServer, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", Content_Type="video/mp4", Content_Length=str(len(BODY))) + BODY)


async def held(media: MediaServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await media.release.wait()
    await ok(media, reader, writer)


async def redirect(_: MediaServer, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("302 Found", Location="http://127.0.0.1:6379/", Content_Length="0"))


async def declared_huge(_: MediaServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", Content_Type="video/mp4", Content_Length=str(10 * 1024 ** 3)))
    await writer.drain()
    await reader.read(1)  # until the client hangs up


async def endless(_: MediaServer, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", Content_Type="video/mp4", Transfer_Encoding="chunked"))
    piece = b"\xab" * 65536
    while True:
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await writer.drain()


async def drip(_: MediaServer, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", Content_Type="video/mp4", Content_Length=str(len(BODY))))
    for byte in BODY:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.05)  # the server's pace, well inside the read timeout


async def stall(_: MediaServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", Content_Type="video/mp4", Content_Length=str(len(BODY))) + BODY[:100])
    await writer.drain()
    await reader.read(1)


async def gzipped(_: MediaServer, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", Content_Type="video/mp4", Content_Encoding="gzip", Content_Length="4") + b"\x1f\x8b..")


async def missing(_: MediaServer, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("404 Not Found", Content_Length="0"))


ROUTES: dict[str, Handler] = {"/video.mp4": ok, "/held.mp4": held, "/redirect.mp4": redirect,
                              "/huge.mp4": declared_huge, "/endless.mp4": endless, "/drip.mp4": drip,
                              "/stall.mp4": stall, "/gzip.mp4": gzipped, "/missing.mp4": missing}


async def test_a_name_that_changes_its_answer_is_only_connected_to_at_the_address_it_was_vetted_at(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name answers a public address when it is checked and this machine's own address when
    anyone asks again. The one connection attempt goes to the public address; the local server never sees one."""
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("media.example", b"media.example"):  # anyio asks with the IDNA bytes
            lookups.append(host if isinstance(host, str) else host.decode())
            return real_getaddrinfo("1.1.1.1" if len(lookups) == 1 else "127.0.0.1", port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    loop = asyncio.get_running_loop()
    real_connect = loop.create_connection
    attempts: list[tuple[str, int]] = []

    async def recording_connect(protocol: Any, host: Any = None, port: Any = None, **kwargs: Any) -> Any:
        attempts.append((host, port))
        return await real_connect(protocol, host, port, **kwargs)

    async with serving(ROUTES) as local:
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        monkeypatch.setattr(loop, "create_connection", recording_connect)
        fetcher = Fetcher(policy(local.port, connect_timeout_seconds=1.0), concurrency=1)
        with pytest.raises(FetchError) as failed:
            await fetch(fetcher, f"http://media.example:{local.port}/video.mp4")
    assert lookups == ["media.example"]
    assert attempts == [("1.1.1.1", local.port)]
    assert local.connections == 0
    assert failed.value.transient
    assert "could not be reached" in failed.value.reason


@pytest.mark.parametrize("answers", [["127.0.0.1"], ["1.1.1.1", "127.0.0.1"], ["::ffff:127.0.0.1"],
                                     ["64:ff9b::7f00:1"]])
async def test_a_name_with_any_private_answer_is_refused_without_connecting(answers: list[str]) -> None:
    async with serving(ROUTES) as local:
        fetcher = Fetcher(policy(local.port), concurrency=1, resolver=resolving_to(*answers))
        with pytest.raises(FetchError) as refused:
            await fetch(fetcher, f"http://media.example:{local.port}/video.mp4")
    assert "private or reserved address" in refused.value.reason
    assert not refused.value.transient
    assert local.connections == 0


async def test_private_addresses_are_fetched_from_only_when_allowed(tmp_path: Path) -> None:
    async with serving(ROUTES) as local:
        fetcher = Fetcher(policy(local.port, allow_private=True), concurrency=1,
                          resolver=resolving_to("127.0.0.1"), directory=str(tmp_path))
        download = await fetch(fetcher, f"http://media.example:{local.port}/video.mp4")
    try:
        assert list(tmp_path.iterdir()) == []  # the body is in a file without a name, which a crash cannot leave
        assert open_files_in(tmp_path)
        assert b"".join([piece async for piece in download.read(0, download.size)]) == BODY
        assert download.size == len(BODY)
        assert download.content_type == "video/mp4"
        assert download.address == "127.0.0.1"
        assert b"".join([piece async for piece in download.read(100, 3000, piece=512)]) == BODY[100:3000]
        [(_, headers)] = local.requests
        assert headers["host"] == f"media.example:{local.port}"
        assert headers["accept-encoding"] == "identity"
    finally:
        download.discard()
    assert list(tmp_path.iterdir()) == []
    assert open_files_in(tmp_path) == []


async def test_the_next_vetted_address_is_tried_when_one_does_not_answer() -> None:
    async with serving(ROUTES, host="127.0.0.1") as local:
        # Nothing listens on 127.0.0.2 at that port: refused, then 127.0.0.1 answers.
        fetcher = Fetcher(policy(local.port, allow_private=True), concurrency=1,
                          resolver=resolving_to("127.0.0.2", "127.0.0.1"))
        download = await fetch(fetcher, f"http://media.example:{local.port}/video.mp4")
    download.discard()
    assert download.address == "127.0.0.1"


@pytest.mark.parametrize(("path", "reason", "transient"), [
    ("/redirect.mp4", "follows no redirects", False),
    ("/huge.mp4", "it is 10.0 GB, more than the 1 MB Postifys downloads", False),
    ("/endless.mp4", "larger than the 1 MB Postifys downloads", False),
    ("/gzip.mp4", "compressed (gzip)", False),
    ("/missing.mp4", "answered HTTP 404", False),
    ("/stall.mp4", "sent nothing for 0.5 s", True),
])
async def test_answers_outside_the_rules_end_in_a_clear_reason_and_leave_no_file(
        tmp_path: Path, path: str, reason: str, transient: bool) -> None:
    async with serving(ROUTES) as local:
        fetcher = Fetcher(policy(local.port, allow_private=True, read_timeout_seconds=0.5), concurrency=1,
                          resolver=resolving_to("127.0.0.1"), directory=str(tmp_path))
        with pytest.raises(FetchError) as failed:
            await fetch(fetcher, f"http://media.example:{local.port}{path}")
    assert reason in failed.value.reason
    assert failed.value.transient is transient
    assert [p for p, _ in local.requests] == [path]  # the redirect was not followed
    assert list(tmp_path.iterdir()) == []
    assert open_files_in(tmp_path) == []
    assert fetcher.in_use == 0


async def test_a_slow_drip_ends_at_the_deadline_although_every_read_is_quick(tmp_path: Path) -> None:
    async with serving(ROUTES) as local:
        fetcher = Fetcher(policy(local.port, allow_private=True, deadline_seconds=0.6, read_timeout_seconds=2),
                          concurrency=1, resolver=resolving_to("127.0.0.1"), directory=str(tmp_path))
        with pytest.raises(FetchError) as failed:
            await fetch(fetcher, f"http://media.example:{local.port}/drip.mp4")
    assert failed.value.reason == "it took longer than 0.6 s to download"
    assert not failed.value.transient
    assert list(tmp_path.iterdir()) == []
    assert open_files_in(tmp_path) == []


async def test_no_more_downloads_run_at_once_than_the_cap_and_none_waits_for_a_slot() -> None:
    """A slot is taken without waiting: with both held by slow downloads, a third caller is told at once (and can
    do something else) instead of queueing behind them; a slot comes free when its download ends."""
    async with serving(ROUTES) as local:
        fetcher = Fetcher(policy(local.port, allow_private=True), concurrency=2, resolver=resolving_to("127.0.0.1"))
        url = f"http://media.example:{local.port}/held.mp4"
        tasks = [asyncio.create_task(fetch(fetcher, url)) for _ in range(2)]
        try:
            await wait_for(lambda: answer(local.active == 2), timeout=10, interval=0.01, message="two downloads held")
            assert fetcher.reserve() is None
        finally:
            local.release.set()
        downloads = await asyncio.gather(*tasks)
        for download in downloads:
            download.discard()
        assert fetcher.in_use == 0
        third = await fetch(fetcher, url)
        third.discard()
    assert local.most_active == 2
    assert local.connections == 3


def test_a_slot_released_twice_frees_one_place() -> None:
    fetcher = Fetcher(policy(8080), concurrency=1)
    slot = fetcher.reserve()
    assert slot is not None
    assert fetcher.reserve() is None
    slot.release()
    slot.release()
    assert fetcher.in_use == 0
    again = fetcher.reserve()
    assert again is not None
    assert fetcher.reserve() is None


async def answer(value: bool) -> bool:
    return value


def open_files_in(directory: Path) -> list[str]:
    """What this process has open in `directory` (an unnamed file shows as `<directory>/#inode (deleted)`)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(f"{directory}/"):
                found.append(target)
    return found


async def test_a_download_in_progress_has_no_name_on_disk_and_cancelled_leaves_nothing_open(tmp_path: Path) -> None:
    """Killed mid-download (SIGKILL, a crash), a process leaves behind only what has a name in the directory: a
    download in progress has none. Cancelled, it closes its file and frees its slot."""
    async with serving(ROUTES) as local:
        fetcher = Fetcher(policy(local.port, allow_private=True), concurrency=1, resolver=resolving_to("127.0.0.1"),
                          directory=str(tmp_path))
        task = asyncio.create_task(fetch(fetcher, f"http://media.example:{local.port}/stall.mp4"))
        await wait_for(lambda: answer(bool(local.requests and open_files_in(tmp_path))), timeout=10,
                       interval=0.01, message="the download's file open while its body streams")
        assert list(tmp_path.iterdir()) == []
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert open_files_in(tmp_path) == []
    assert fetcher.in_use == 0


async def test_a_download_cancelled_while_its_response_closes_leaves_nothing_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The body is all in, and the task is cancelled while the response is being closed: the download is never
    handed over, so its file must not outlive it."""
    real_aclose = httpx.Response.aclose
    closing = asyncio.Event()

    async def slow_aclose(self: httpx.Response) -> None:
        if not self.is_closed:  # the close at the end of the body's stream
            await real_aclose(self)
            return
        closing.set()  # the one after the body is saved: it takes its time, until the cancel
        await asyncio.Event().wait()

    async with serving(ROUTES) as local:
        fetcher = Fetcher(policy(local.port, allow_private=True), concurrency=1, resolver=resolving_to("127.0.0.1"),
                          directory=str(tmp_path))
        monkeypatch.setattr(httpx.Response, "aclose", slow_aclose)
        task = asyncio.create_task(fetch(fetcher, f"http://media.example:{local.port}/video.mp4"))
        await asyncio.wait_for(closing.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert list(tmp_path.iterdir()) == []
    assert open_files_in(tmp_path) == []
    assert fetcher.in_use == 0


# --- TLS: the connection goes to the address, the certificate is checked against the name -----------------------

@dataclass(frozen=True)
class Certificates:
    ca_pem: bytes
    chain: Path
    key: Path


def certificates(tmp_path: Path, name: str) -> Certificates:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Postifys test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
          .not_valid_after(now + timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    chain, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Certificates(ca.public_bytes(serialization.Encoding.PEM), chain, key_path)


def server_context(certs: Certificates) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.chain, certs.key)
    return context


@pytest.mark.parametrize(("served_name", "fetched"), [("media.example", True), ("other.example", False)])
async def test_https_goes_to_the_vetted_address_with_the_name_as_sni_and_the_certificate_checked_against_it(
        tmp_path: Path, served_name: str, fetched: bool) -> None:
    certs = certificates(tmp_path, served_name)
    trust = ssl.create_default_context(cadata=certs.ca_pem.decode())
    async with serving(ROUTES, tls=server_context(certs)) as local:
        fetcher = Fetcher(policy(local.port, allow_private=True), concurrency=1, resolver=resolving_to("127.0.0.1"),
                          ssl_context=trust, directory=str(tmp_path))
        url = f"https://media.example:{local.port}/video.mp4"
        if fetched:
            download = await fetch(fetcher, url)
            download.discard()
            assert download.size == len(BODY)
            assert local.requests[0][1]["host"] == f"media.example:{local.port}"
        else:
            with pytest.raises(FetchError) as refused:
                await fetch(fetcher, url)
            assert refused.value.reason == "its host's TLS certificate is not valid for its name"
            assert not refused.value.transient
            assert local.requests == []
    assert local.server_names == ["media.example"]
