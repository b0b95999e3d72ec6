"""Fetching a URL a person gave us (media for TikTok's file upload today) without letting it reach into our own
network. The name is resolved once and every address it gave is vetted; the connection then goes to a vetted
address, with the URL's name sent as Host and as TLS SNI and the certificate verified against that name, so no
second lookup can swap in another address. Only http(s) on ports 80 and 443, no redirects, a deadline for the
whole download on top of the read timeout, a size cap checked on Content-Length and again while streaming, and
the body goes to a temporary file, never into memory. The file has no name (the kernel frees it when it is closed
or the process dies, even by SIGKILL), so nothing is left behind by a crash. A download runs in one of a fixed
number of slots, taken without waiting: a caller finding none free comes back later instead of queueing."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import IO

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

# IPv6 forms that carry or translate to an IPv4 address, or that belong to a site, which `is_global` lets through.
REFUSED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "64:ff9b::/96",  # NAT64, well-known prefix
    "64:ff9b:1::/48",  # NAT64, local-use prefix
    "2002::/16",  # 6to4
    "::ffff:0:0/96",  # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
    "::/96",  # IPv4-compatible (deprecated)
    "fec0::/10",  # site-local (deprecated)
    # Newer than the registry Python 3.11's ipaddress knows:
    "3fff::/20",  # documentation (RFC 9637)
    "5f00::/16",  # SRv6 segment identifiers (RFC 9602)
))
SCHEMES = frozenset({"http", "https"})
READ_PIECE = 1024 * 1024
USER_AGENT = "Postifys media fetcher"


class FetchError(Exception):
    """Why a URL was not fetched, as a clause for the person who gave it ("its URL answered HTTP 404").
    `transient`: the same URL may work later."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


def address_refused(address: IPAddress) -> bool:
    """Whether `address` lies outside the public internet (private, loopback, link-local, reserved, shared,
    multicast), or is an IPv6 form that leads to an IPv4 address or a site of its own."""
    if isinstance(address, ipaddress.IPv6Address) and any(address in network for network in REFUSED_NETWORKS):
        return True
    return not address.is_global or address.is_multicast


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    deadline_seconds: float
    read_timeout_seconds: float
    connect_timeout_seconds: float = 10.0
    # Only by an explicit setting (a development sandbox on this machine), never by "not production".
    allow_private: bool = False
    ports: frozenset[int] = frozenset({80, 443})


@dataclass(frozen=True)
class FetchTarget:
    url: httpx.URL
    host: str  # IDNA-encoded, what is resolved and what the certificate must name
    port: int


@dataclass(frozen=True)
class Download:
    """A fetched body in a temporary file without a name, which the caller discards (closes) when done."""

    file: IO[bytes]
    size: int
    content_type: str | None
    address: str

    async def read(self, start: int, end: int, piece: int = READ_PIECE) -> AsyncIterator[bytes]:
        """Bytes start..end-1 of the file, a piece at a time (by offset: several readers do not disturb each
        other)."""
        offset = start
        while offset < end:
            data = await asyncio.to_thread(os.pread, self.file.fileno(), min(piece, end - offset), offset)
            if not data:
                raise OSError(f"the downloaded file is shorter than its {self.size} bytes")
            offset += len(data)
            yield data

    def discard(self) -> None:
        self.file.close()


class Slot:
    """One of a fetcher's downloads at once, held from `Fetcher.reserve` until released (once; again is a no-op).
    `Fetcher.download` releases the slot it was given when it ends, however it ends."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._fetcher.in_use -= 1


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def human_size(size: int) -> str:
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GB"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.0f} MB"
    return f"{size} bytes"


class Fetcher:
    """One per process: `concurrency` bounds the downloads running at once. A slot is taken without waiting, so
    no caller sits on its other resources (a worker's place, a lease) while a queue of slow downloads drains."""

    def __init__(self, policy: FetchPolicy, *, concurrency: int, resolver: Resolver = resolve,
                 ssl_context: ssl.SSLContext | None = None, directory: str | None = None) -> None:
        self.policy = policy
        self.concurrency = concurrency
        self.in_use = 0
        self._resolve = resolver
        self._ssl = ssl_context or httpx.create_ssl_context()
        self._directory = directory

    def reserve(self) -> Slot | None:
        """A download slot if one is free now; None when all are taken."""
        if self.in_use >= self.concurrency:
            return None
        self.in_use += 1
        return Slot(self)

    def check(self, url: str) -> FetchTarget:
        """The URL's own rules, before anything is looked up."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            raise FetchError("its URL is not a valid URL") from None
        if parsed.scheme not in SCHEMES:
            raise FetchError("its URL must start with http:// or https://")
        if parsed.userinfo:
            raise FetchError("its URL must not carry a user name or password")
        if not parsed.raw_host:
            raise FetchError("its URL names no host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if port not in self.policy.ports:
            allowed = " or ".join(str(p) for p in sorted(self.policy.ports))
            raise FetchError(f"its URL may only use port {allowed}")
        return FetchTarget(parsed, parsed.raw_host.decode("ascii"), port)

    async def download(self, url: str, slot: Slot) -> Download:
        """The body of `url` in a temporary file, downloaded in `slot` (released at the end); FetchError when a
        rule refuses it or the download fails. Failed or cancelled at any point, it leaves no file open."""
        try:
            target = self.check(url)
            file = tempfile.TemporaryFile(  # noqa: SIM115 (the Download owns it)
                prefix="postifys-fetch-", dir=self._directory)
            try:
                async with asyncio.timeout(self.policy.deadline_seconds):
                    addresses = await self.vetted_addresses(target)
                    size, content_type, address = await self._download(target, addresses, file)
            except BaseException:
                file.close()
                raise
            return Download(file, size, content_type, address)
        except TimeoutError:
            raise FetchError(f"it took longer than {self.policy.deadline_seconds:g} s to download") from None
        finally:
            slot.release()

    async def vetted_addresses(self, target: FetchTarget) -> list[IPAddress]:
        try:
            answers: Sequence[str] = [str(ipaddress.ip_address(target.host))]
        except ValueError:
            try:
                answers = await self._resolve(target.host, target.port)
            except socket.gaierror as exc:
                raise FetchError("its host name does not resolve", transient=exc.errno == socket.EAI_AGAIN) from None
            except OSError:
                raise FetchError("its host name could not be looked up", transient=True) from None
        addresses = [ipaddress.ip_address(answer) for answer in answers]
        if not addresses:
            raise FetchError("its host name does not resolve")
        if not self.policy.allow_private and any(address_refused(a) for a in addresses):
            raise FetchError("its host name leads to a private or reserved address, which Postifys does not "
                             "fetch from")
        return addresses

    async def _download(self, target: FetchTarget, addresses: list[IPAddress],
                        file: IO[bytes]) -> tuple[int, str | None, str]:
        policy = self.policy
        timeout = httpx.Timeout(connect=policy.connect_timeout_seconds, read=policy.read_timeout_seconds,
                                write=policy.read_timeout_seconds, pool=policy.connect_timeout_seconds)
        # A client of its own for each download: a pooled connection made for one name must never serve another.
        async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(verify=self._ssl), timeout=timeout,
                                     trust_env=False, follow_redirects=False) as client:
            for index, address in enumerate(addresses):
                request = client.build_request(
                    "GET", target.url.copy_with(host=str(address)),
                    headers={"Host": target.url.netloc.decode("ascii"), "Accept-Encoding": "identity",
                             "User-Agent": USER_AGENT},
                    extensions={"sni_hostname": target.host})
                try:
                    response = await client.send(request, stream=True)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    if index + 1 < len(addresses) and not _certificate_problem(exc):
                        continue
                    raise _connect_failure(exc) from None
                except httpx.HTTPError as exc:
                    raise _transfer_failure(exc, policy) from None
                try:
                    size, content_type = await self._save(response, file)
                    return size, content_type, str(address)
                except httpx.HTTPError as exc:
                    raise _transfer_failure(exc, policy) from None
                finally:
                    await response.aclose()
        raise FetchError("its host name does not resolve")  # unreachable: no addresses are refused before

    async def _save(self, response: httpx.Response, file: IO[bytes]) -> tuple[int, str | None]:
        limit = self.policy.max_bytes
        status = response.status_code
        if 300 <= status < 400:
            raise FetchError(f"its URL redirects elsewhere (HTTP {status}); Postifys follows no redirects, so give "
                             "the final URL")
        if status != 200:
            raise FetchError(f"its URL answered HTTP {status}", transient=status == 429 or status >= 500)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchError(f"its host sent it compressed ({encoding[:40]}) although asked not to")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise FetchError(f"it is {human_size(int(length))}, more than the {human_size(limit)} Postifys "
                             "downloads")
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:
                raise FetchError(f"it is larger than the {human_size(limit)} Postifys downloads")
            await asyncio.to_thread(file.write, chunk)
        await asyncio.to_thread(file.flush)  # read back by offset from the descriptor, past the buffer
        content_type = response.headers.get("content-type")
        return size, content_type.split(";")[0].strip().lower() if content_type else None


def _certificate_problem(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    for _ in range(10):  # httpx wraps httpcore's error, which wraps the ssl module's
        if cause is None:
            return False
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _connect_failure(exc: httpx.HTTPError) -> FetchError:
    if _certificate_problem(exc):
        return FetchError("its host's TLS certificate is not valid for its name")
    return FetchError("its host could not be reached", transient=True)


def _transfer_failure(exc: httpx.HTTPError, policy: FetchPolicy) -> FetchError:
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"its host sent nothing for {policy.read_timeout_seconds:g} s", transient=True)
    return FetchError(f"the connection to its host broke ({type(exc).__name__})", transient=True)
