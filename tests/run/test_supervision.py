"""The runner's supervision, on a fake clock and fake processes: when a dead service is started again, and when
the runner gives up on one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deploy.run import Backoff, Supervisor
from deploy.system import System, settings_from


@dataclass
class FakeProcess:
    returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


@dataclass
class FakeSystem:
    ready: set[str] = field(default_factory=set)
    processes: dict[str, FakeProcess] = field(default_factory=dict)
    starts: list[str] = field(default_factory=list)

    def start_one(self, name: str) -> None:
        self.starts.append(name)
        self.processes[name] = FakeProcess()

    def log_path(self, name: str) -> Path:
        return Path(f"/logs/{name}.log")

    def is_ready(self, name: str, timeout: float = 2) -> bool:
        return name in self.ready


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def supervised(*names: str) -> tuple[FakeSystem, Supervisor, Clock, list[str]]:
    system, clock, said = FakeSystem(), Clock(), []
    for name in names:
        system.start_one(name)
    supervisor = Supervisor(system, list(names), said.append, stopping=lambda: False, clock=clock,  # type: ignore[arg-type]
                            backoff=Backoff(first=0.5, cap=4, give_up_after=5, stable_after=60))
    return system, supervisor, clock, said


def die_and_restart(system: FakeSystem, supervisor: Supervisor, clock: Clock, name: str) -> float:
    """Kills it, lets the supervisor notice, and answers how long it waited before starting it again."""
    system.processes[name].returncode = -9
    assert supervisor.tick() is None
    died_at, starts = clock.now, len(system.starts)
    while len(system.starts) == starts:
        clock.now += 0.25
        assert supervisor.tick() is None
    return clock.now - died_at


def test_a_dead_service_is_started_again_with_a_doubling_capped_delay_and_said_so() -> None:
    system, supervisor, clock, said = supervised("publisher")
    delays = [die_and_restart(system, supervisor, clock, "publisher") for _ in range(4)]
    assert delays == [0.5, 1, 2, 4]
    assert said[0] == "publisher stopped (killed by SIGKILL); starting it again in 0.5s; log: /logs/publisher.log"
    assert said[1] == "publisher started again (restart 1); log: /logs/publisher.log"


def test_it_gives_up_on_a_service_that_keeps_dying_before_it_is_ready() -> None:
    system, supervisor, clock, _ = supervised("publisher", "identity")
    for _ in range(4):
        die_and_restart(system, supervisor, clock, "publisher")
    system.processes["publisher"].returncode = 1
    failing = supervisor.tick()
    assert failing is not None
    assert (failing.name, failing.deaths) == ("publisher", 5)


def test_becoming_ready_in_between_means_it_never_gives_up() -> None:
    system, supervisor, clock, said = supervised("publisher")
    for _ in range(12):
        system.ready.add("publisher")
        supervisor.tick()
        system.ready.clear()
        die_and_restart(system, supervisor, clock, "publisher")
    assert len(system.starts) == 13
    assert "publisher is ready again" in said


def test_the_delay_starts_small_again_after_a_long_healthy_run() -> None:
    system, supervisor, clock, _ = supervised("publisher")
    for _ in range(4):
        die_and_restart(system, supervisor, clock, "publisher")
    system.ready.add("publisher")
    supervisor.tick()
    clock.now += 61
    assert die_and_restart(system, supervisor, clock, "publisher") == 0.5


def test_nothing_is_restarted_while_the_runner_stops() -> None:
    system, clock = FakeSystem(), Clock()
    system.start_one("publisher")
    supervisor = Supervisor(system, ["publisher"], [].append, stopping=lambda: True, clock=clock)  # type: ignore[arg-type]
    system.processes["publisher"].returncode = -15
    clock.now += 100
    assert supervisor.tick() is None
    assert supervisor.watches["publisher"].deaths == 0


def test_the_addresses_come_from_the_settings_defaults_when_nothing_is_set() -> None:
    system = System(env={}, log_dir=Path("/nonexistent"))
    assert [system.url(name) for name in ("gateway", "identity", "publisher", "sandbox", "devmail")] == [
        "http://127.0.0.1:8000", "http://127.0.0.1:8001", "http://127.0.0.1:8003", "http://127.0.0.1:8090",
        "http://127.0.0.1:8026"]


def test_the_addresses_are_read_from_the_environment_the_processes_get_not_the_runners(monkeypatch) -> None:
    monkeypatch.setenv("POSTIFYS_PORT", "9999")
    system = System(env={"POSTIFYS_IDENTITY_URL": "http://127.0.0.1:1234", "POSTIFYS_TRUSTED_PROXIES": '["10.0.0.1"]'},
                    log_dir=Path("/nonexistent"))
    assert system.url("identity") == "http://127.0.0.1:1234"
    assert system.url("gateway") == "http://127.0.0.1:8000"
    assert settings_from(system.env).trusted_proxies == ["10.0.0.1"]
