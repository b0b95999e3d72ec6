"""`make run` exactly as the README says, in a fresh copy of the checkout, with no POSTIFYS_* variable set: the
fixed default ports, the `postifys` database and broker prefix. One `make run` at a time, in file order: a shared
one for the journeys and the three minutes, then short ones for every way of stopping it."""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from deploy.system import ROOT
from tests.support import STRONG_PASSWORD, approve, callback_path, items, unique_email, wait_for

GATEWAY = "http://127.0.0.1:8000"
SANDBOX = "http://127.0.0.1:8090"
SERVICES = {"identity": 8001, "connector": 8002, "publisher": 8003, "webhooks": 8004, "privacy": 8005, "media": 8006}
PORTS = (8000, *SERVICES.values(), 8025, 8026, 8090)
POSTIFYS_PROCESS = ("-m services.", "-m sandbox", "deploy.devmail", "deploy.run")
READY_SECONDS = 150  # the runner's own deadline is 120 s
GONE_SECONDS = 30  # the runner gives its services 10 s before it kills them

pytestmark = pytest.mark.timeout(900)


def fresh_checkout(into: Path) -> Path:
    """What a clone of this checkout would hold (tracked and new files, nothing ignored), with the working tree's
    changes, so that the test runs the code under test. It shares this checkout's virtualenv, installed already,
    as `make run`'s second run would find it."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    venv = Path(sys.prefix)
    (into / ".venv").symlink_to(venv, target_is_directory=True)
    stamp = venv / ".installed"  # the Makefile's $(READY): older than pyproject.toml means "install again"
    if not stamp.exists():
        stamp.touch()
    installed = stamp.stat().st_mtime
    os.utime(into / "pyproject.toml", (installed - 60, installed - 60))
    return into


def user_environment() -> dict[str, str]:
    nested_make = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    return {k: v for k, v in os.environ.items() if not k.startswith("POSTIFYS_") and k not in nested_make}


def processes_of(checkout: Path) -> dict[int, str]:
    """Every live Postifys process started from `checkout`, by pid, with its command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == str(checkout) and any(marker in command for marker in POSTIFYS_PROCESS):
            found[int(entry.name)] = command
    return found


def bound_ports() -> list[int]:
    """The Postifys ports the next `make run` could not listen on."""
    taken = []
    for port in PORTS:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            try:
                probe.bind(("127.0.0.1", port))
                probe.listen()
            except OSError:
                taken.append(port)
    return taken


def pid_of(checkout: Path, marker: str) -> int | None:
    return next((pid for pid, command in processes_of(checkout).items() if marker in command), None)


@dataclass
class MakeRun:
    checkout: Path
    make: subprocess.Popen[bytes]
    output: Path
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, checkout: Path, held: tuple[int, ...] = ()) -> MakeRun:
        busy = [port for port in bound_ports() if port not in held]
        assert not busy, f"ports {busy} are in use: is a `make run` running already?"
        output = checkout / f"make-run-{time.time_ns()}.out"
        with output.open("wb") as out:
            # A session of its own, as a terminal gives its foreground job: Ctrl-C is a SIGINT to that group.
            make = subprocess.Popen(["make", "run"], cwd=checkout, env=user_environment(), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return cls(checkout, make, output)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    @property
    def runner(self) -> int | None:
        return pid_of(self.checkout, "deploy.run")

    async def ready(self) -> None:
        async def running() -> bool:
            if self.make.poll() is not None:
                raise AssertionError(f"make run exited with {self.make.returncode}:\n{self.text()}")
            return "Postifys is running at http://127.0.0.1:8000" in self.text() and await gateway_ready()
        await wait_for(running, timeout=READY_SECONDS, interval=0.5, message=f"make run to serve:\n{self.text()}")

    async def said(self, words: str, timeout: float = 30) -> None:
        async def present() -> bool:
            return words in self.text()
        await wait_for(present, timeout=timeout, interval=0.1, message=f"{words!r} in the output:\n{self.text()}")

    def ctrl_c(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # nobody left in the group to press it to
            os.killpg(self.make.pid, signal.SIGINT)

    async def gone(self) -> None:
        """make, the runner and every process it started have ended, and every port is free again."""
        async def nothing_left() -> bool:
            return self.make.poll() is not None and not processes_of(self.checkout) and not bound_ports()
        with contextlib.suppress(AssertionError):
            await wait_for(nothing_left, timeout=GONE_SECONDS, interval=0.2)
        assert self.make.poll() is not None, f"make still running:\n{self.text()}"
        assert processes_of(self.checkout) == {}, self.text()
        assert bound_ports() == [], self.text()

    def end(self) -> None:
        """Stops it if a test did not, and whatever a failed test left behind, so that the next one can start."""
        if self.make.poll() is None:
            self.ctrl_c()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.make.wait(timeout=GONE_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.make.pid, signal.SIGKILL)
        self.make.wait()
        deadline = time.monotonic() + GONE_SECONDS
        while (left := processes_of(self.checkout)) or bound_ports():
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise AssertionError(f"could not clean up: {left}, ports {bound_ports()}")
            time.sleep(0.2)


async def gateway_ready() -> bool:
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            return (await http.get(f"{GATEWAY}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


def browser() -> httpx.AsyncClient:
    """A client from an address of its own on the loopback network: the `postifys` database outlives every run,
    and its per-address limits with it."""
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    return httpx.AsyncClient(base_url=GATEWAY, timeout=30,
                             transport=httpx.AsyncHTTPTransport(local_address=address))


MAIL = re.compile(r"<article><h2>(?P<subject>.*?)</h2><p>To (?P<to>.*?) · .*?</p><pre>(?P<text>.*?)</pre></article>",
                  re.DOTALL)


async def mailed_token(http: httpx.AsyncClient, address: str, subject: str) -> str:
    """The link's token from the mail in the development mailbox, read through the gateway as a developer would."""
    async def find() -> str | None:
        page = await http.get("/dev/mailbox")
        assert page.status_code == 200, page.text
        for mail in MAIL.finditer(page.text):
            if address in html.unescape(mail["to"]) and subject in html.unescape(mail["subject"]):
                return html.unescape(mail["text"]).split("#token=", 1)[1].split()[0]
        return None
    return await wait_for(find, timeout=30, interval=0.5, message=f"mail {subject!r} to {address}")


async def signed_up_and_in(http: httpx.AsyncClient) -> str:
    email = unique_email("make-run")
    signup = await http.post("/api/v1/auth/signup", json={"name": "Make Run", "email": email,
                                                          "password": STRONG_PASSWORD})
    assert signup.status_code == 201, signup.text
    token = await mailed_token(http, email, "Confirm your email")
    verified = await http.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    signin = await http.post("/api/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD})
    assert signin.status_code == 200, signin.text
    me = await http.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
    return email


async def connected_facebook_page(http: httpx.AsyncClient) -> str:
    start = await http.get("/api/v1/connections/facebook/start")
    assert start.status_code == 302, start.text
    assert start.headers["location"].startswith(f"{SANDBOX}/facebook-www/"), start.headers["location"]
    consent = await approve(start.headers["location"], user=None, decision="allow", granted=None)
    callback = await http.get(callback_path(consent))
    assert callback.status_code in (302, 303), callback.text
    accounts = (await http.get("/api/v1/accounts")).json()["items"]
    return next(a["id"] for a in accounts if a["external_id"] == "1029")  # the sandbox's publishable page


async def published(http: httpx.AsyncClient, account: str, caption: str) -> dict[str, str]:
    created = await http.post("/api/v1/posts", json={"caption": caption, "media": [],
                                                     "targets": [{"account_id": account}]})
    assert created.status_code == 201, created.text

    async def settled() -> dict[str, str] | None:
        [target] = (await http.get(f"/api/v1/posts/{created.json()['id']}")).json()["targets"]
        return target if target["status"] in ("published", "failed", "cancelled") else None
    target = await wait_for(settled, timeout=60, interval=0.3, message=f"post {caption!r} to settle")
    assert target["status"] == "published", target
    return target


async def all_ready() -> dict[str, bool]:
    async with httpx.AsyncClient(timeout=10) as http:
        async def ready(url: str) -> bool:
            try:
                return (await http.get(f"{url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False
        urls = {"gateway": GATEWAY, **{name: f"http://127.0.0.1:{port}" for name, port in SERVICES.items()}}
        answers = await asyncio.gather(*(ready(url) for url in urls.values()))
        return dict(zip(urls, answers, strict=True))


class Runs:
    """Hands out one `make run` at a time: starting one ends the one before."""

    def __init__(self, checkout: Path) -> None:
        self.checkout = checkout
        self.current: MakeRun | None = None

    def start(self, held: tuple[int, ...] = ()) -> MakeRun:
        self.end()
        self.current = MakeRun.start(self.checkout, held)
        return self.current

    def end(self) -> None:
        if self.current is not None:
            self.current.end()
            self.current = None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    if shutil.which("make") is None or not (ROOT / ".git").exists():
        pytest.fail("these tests need make and a git checkout")
    runs = Runs(fresh_checkout(tmp_path_factory.mktemp("clone")))
    try:
        yield runs
    finally:
        runs.end()


@pytest.fixture(scope="module")
async def shared_run(runs: Runs) -> MakeRun:
    run = runs.start()
    await run.ready()
    return run


async def test_a_new_user_signs_up_reads_the_mail_verifies_signs_in_and_starts_a_facebook_connection(
        shared_run: MakeRun) -> None:
    async with browser() as http:
        await signed_up_and_in(http)
        start = await http.get("/api/v1/connections/facebook/start")
        assert start.status_code == 302, start.text
        assert start.headers["location"].startswith(f"{SANDBOX}/facebook-www/"), start.headers["location"]
        async with httpx.AsyncClient() as sandbox_browser:
            consent_page = await sandbox_browser.get(start.headers["location"])
        assert consent_page.status_code == 200, consent_page.text


def test_the_operators_tools_reach_the_running_system(shared_run: MakeRun) -> None:
    """They sign as the operator with the key make run derived from the root it keeps in .run/."""
    listed = subprocess.run(["make", "webhook-deliveries"], cwd=shared_run.checkout, env=user_environment(),
                            capture_output=True, timeout=60)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    secret = shared_run.checkout / ".run" / "internal-secret"
    assert secret.stat().st_mode & 0o077 == 0
    assert secret.read_text() not in shared_run.text()


async def test_a_killed_service_is_started_again_and_publishing_goes_on(shared_run: MakeRun) -> None:
    async with browser() as http:
        await signed_up_and_in(http)
        page = await connected_facebook_page(http)
        assert (await published(http, page, "Before the crash"))["remote_id"]

        publisher = pid_of(shared_run.checkout, "-m services.publisher")
        assert publisher is not None
        os.kill(publisher, signal.SIGKILL)
        log = shared_run.checkout / ".run" / "logs" / "publisher.log"
        await shared_run.said(f"publisher stopped (killed by SIGKILL); starting it again in 0.5s; log: {log}")
        await shared_run.said("publisher is ready again")
        assert pid_of(shared_run.checkout, "-m services.publisher") not in (None, publisher)
        assert shared_run.make.poll() is None

        assert (await published(http, page, "After the crash"))["remote_id"]
        async with httpx.AsyncClient() as sandbox:
            publishes = (await sandbox.get(f"{SANDBOX}/_sandbox/publishes", params={"platform": "facebook"})).json()
        assert {"Before the crash", "After the crash"} <= {p["text"] for p in items(publishes)}, publishes


async def test_it_still_serves_three_minutes_after_it_started(shared_run: MakeRun) -> None:
    last_ready = time.monotonic()
    while (elapsed := time.monotonic() - shared_run.started) < 180:
        assert shared_run.make.poll() is None, f"make run stopped after {elapsed:.0f}s:\n{shared_run.text()}"
        checks = await all_ready()
        if all(checks.values()):
            last_ready = time.monotonic()
        assert time.monotonic() - last_ready < 20, f"not ready for 20s at {elapsed:.0f}s: {checks}"
        await asyncio.sleep(2)  # the point of this test is the time passing; it checks all the while
    assert all((await all_ready()).values())
    async with browser() as http:
        await signed_up_and_in(http)
    assert "giving up" not in shared_run.text()
    assert "not ready after" not in shared_run.text()


async def press_ctrl_c(run: MakeRun, times: int) -> None:
    """As a person would: again once the runner has shown it heard the last one (if it is still there)."""
    for pressed in range(1, times + 1):
        run.ctrl_c()
        heard = "postifys: stopping" if pressed == 1 else "Killing every Postifys process now."

        async def answered(count: int = 1 if pressed == 1 else pressed - 1, words: str = heard) -> bool:
            return run.text().count(words) >= count or run.runner is None
        await wait_for(answered, timeout=GONE_SECONDS, message=f"the runner to answer Ctrl-C {pressed}")


@pytest.mark.parametrize("stop", ["one Ctrl-C", "two Ctrl-C", "three Ctrl-C", "SIGTERM", "SIGKILL"])
async def test_stopping_the_runner_leaves_no_process_and_no_port(runs: Runs, stop: str) -> None:
    run = runs.start()
    await run.ready()
    if stop.endswith("Ctrl-C"):
        await press_ctrl_c(run, ["one", "two", "three"].index(stop.split()[0]) + 1)
    else:
        runner = run.runner
        assert runner is not None
        os.kill(runner, signal.SIGTERM if stop == "SIGTERM" else signal.SIGKILL)
    await run.gone()


async def test_a_service_that_cannot_start_stops_everything_and_says_where_its_log_is(runs: Runs) -> None:
    runs.end()
    with socket.socket() as squatter:  # another program listens on the gateway's port
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 8000))
        squatter.listen()
        run = runs.start(held=(8000,))
        assert run.make.wait(timeout=READY_SECONDS) != 0
        log = run.checkout / ".run" / "logs" / "gateway.log"
        assert f"gateway keeps dying at start-up (5 times in a row without becoming ready); giving up. " \
               f"Its log: {log}" in run.text()
        assert "address already in use" in run.text()  # the log's last lines, shown
        assert run.text().count("gateway stopped (exit code 3); starting it again") == 4
        assert processes_of(run.checkout) == {}
    assert bound_ports() == []
