"""The storage contract, the same for both backends: the local filesystem, and S3 over real HTTP against a moto
server that this module starts on a free port (no in-process mock)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.media.storage import (
    FileStorage,
    ObjectMissing,
    Partial,
    S3Storage,
    Storage,
    StorageError,
    storage_from_url,
    user_prefix,
)
from tests.s3_server import moto_server, s3_storage_environment

# Small parts, so a few hundred kilobytes exercise multipart uploads and their tails.
PART = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["file", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "file":
        backend: Storage = FileStorage(tmp_path / "media")
    else:
        env = await s3_storage_environment(request.getfixturevalue("s3_url"), prefix="unit")
        backend = storage_from_url(env["POSTIFYS_MEDIA_STORAGE_URL"],
                                   endpoint_url=env["POSTIFYS_MEDIA_S3_ENDPOINT_URL"],
                                   access_key_id=env["POSTIFYS_MEDIA_S3_ACCESS_KEY_ID"],
                                   secret_access_key=env["POSTIFYS_MEDIA_S3_SECRET_ACCESS_KEY"])
        assert isinstance(backend, S3Storage)
        backend.part_size = PART
    try:
        yield backend
    finally:
        await backend.close()


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at:at + size]


async def read_all(storage: Storage, key: str, start: int = 0, stop: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, start, stop)])


def key() -> str:
    return f"{user_prefix(uuid.uuid4())}{uuid.uuid4()}"


class TestWholeObjects:
    @pytest.mark.parametrize("size", [0, 10, PART + 12345])
    async def test_an_object_written_in_chunks_reads_back_the_same(self, storage: Storage, size: int) -> None:
        data = os.urandom(size)
        name = key()
        assert await storage.write(name, chunks_of(data)) == size
        assert await storage.size(name) == size
        assert await read_all(storage, name) == data

    async def test_a_range_reads_only_those_bytes(self, storage: Storage) -> None:
        data = os.urandom(300_000)
        name = key()
        await storage.write(name, chunks_of(data))
        assert await read_all(storage, name, 1000, 2000) == data[1000:2000]
        assert await read_all(storage, name, 299_990) == data[299_990:]
        assert await read_all(storage, name, 5, 5) == b""

    async def test_a_missing_object_has_no_size_and_cannot_be_read(self, storage: Storage) -> None:
        assert await storage.size(key()) is None
        with pytest.raises(ObjectMissing):
            await read_all(storage, key())

    async def test_deleting_removes_the_object_and_deleting_again_is_no_error(self, storage: Storage) -> None:
        name = key()
        await storage.write(name, chunks_of(b"abc"))
        await storage.delete(name)
        await storage.delete(name)
        assert await storage.size(name) is None

    async def test_a_failed_write_leaves_nothing(self, storage: Storage) -> None:
        name = key()

        async def broken() -> AsyncIterator[bytes]:
            yield os.urandom(PART + 1)
            raise RuntimeError("the client went away")

        with pytest.raises(RuntimeError):
            await storage.write(name, broken())
        assert await storage.size(name) is None

    def test_keys_cannot_climb_out_of_the_store(self, tmp_path: Path) -> None:
        storage = FileStorage(tmp_path)
        for bad in ("../etc/passwd", "/abs", "users/../../x", "", "a//b"):
            with pytest.raises(StorageError):
                storage.local_path(bad)


class TestUserPrefix:
    async def test_deleting_a_users_prefix_removes_all_their_objects_and_only_theirs(self, storage: Storage) -> None:
        user, other = uuid.uuid4(), uuid.uuid4()
        mine = [f"{user_prefix(user)}{uuid.uuid4()}" for _ in range(3)]
        theirs = f"{user_prefix(other)}{uuid.uuid4()}"
        for name in [*mine, theirs]:
            await storage.write(name, chunks_of(b"x" * 100))
        unfinished = await storage.start_upload(f"{user_prefix(user)}{uuid.uuid4()}")
        await storage.append(unfinished, chunks_of(os.urandom(1000)))

        assert await storage.delete_prefix(user_prefix(user)) >= 3
        assert all([await storage.size(name) is None for name in mine])
        assert await storage.size(theirs) == 100
        assert await storage.delete_prefix(user_prefix(user)) == 0


class TestResumableUploads:
    async def test_chunks_of_any_size_make_the_same_file(self, storage: Storage) -> None:
        data = os.urandom(2 * PART + 777)
        partial = await storage.start_upload(key())
        for start, stop in [(0, 1000), (1000, PART + 10), (PART + 10, PART + 11), (PART + 11, len(data))]:
            partial = await storage.append(partial, chunks_of(data[start:stop]))
            assert partial.offset == stop
        await storage.complete(partial)
        stored = await read_all(storage, partial.key)
        assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()

    async def test_an_upload_resumes_from_a_state_kept_elsewhere(self, storage: Storage) -> None:
        """What the service keeps in the upload's row is enough for another process to go on."""
        data = os.urandom(PART + 5000)
        partial = await storage.start_upload(key())
        partial = await storage.append(partial, chunks_of(data[:3000]))
        kept = Partial(key=partial.key, offset=partial.offset, state=dict(partial.state))
        resumed = await storage.append(kept, chunks_of(data[3000:]))
        await storage.complete(resumed)
        assert await read_all(storage, partial.key) == data

    async def test_an_append_whose_state_was_not_kept_is_written_over(self, storage: Storage) -> None:
        partial = await storage.start_upload(key())
        first = await storage.append(partial, chunks_of(b"a" * 100))
        await storage.append(first, chunks_of(b"lost" * 10))  # its state never reached the row
        done = await storage.append(first, chunks_of(b"b" * 50))
        await storage.complete(done)
        assert await read_all(storage, partial.key) == b"a" * 100 + b"b" * 50

    async def test_an_aborted_upload_leaves_no_object(self, storage: Storage) -> None:
        partial = await storage.append(await storage.start_upload(key()), chunks_of(os.urandom(1000)))
        await storage.abort(partial)
        assert await storage.size(partial.key) is None


def test_the_storage_url_chooses_the_backend(tmp_path: Path) -> None:
    assert isinstance(storage_from_url(tmp_path.as_uri()), FileStorage)
    s3 = storage_from_url("s3://bucket/some/prefix", endpoint_url="http://127.0.0.1:9")
    assert isinstance(s3, S3Storage)
    assert (s3.config.bucket, s3.config.prefix) == ("bucket", "some/prefix/")
    with pytest.raises(ValueError, match="POSTIFYS_MEDIA_STORAGE_URL"):
        storage_from_url("ftp://x/y")
