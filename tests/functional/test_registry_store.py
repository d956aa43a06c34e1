"""Registry stores against the moto server: S3 publish / load, and the directory store."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from chalicelib.errors import RegistryError, RegistryNotFoundError, RegistryValidationError
from chalicelib.registry.loader import load_directory
from chalicelib.registry.model import Registry, RegistryEntry, canonical_json
from chalicelib.registry.store import (
    FileRegistryStore,
    Location,
    S3RegistryStore,
    parse_location,
    pointer_key,
    publish,
    snapshot_key,
)
from tests.conftest import REGION, ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

SAMPLE = ROOT / "policies"
BUCKET = "dw-registry-test"
PREFIX = "driftwarden/registry"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class S3Calls:
    """Records the S3 operations a client makes (botocore ``before-call.s3.*`` events)."""

    def __init__(self, client: S3Client) -> None:
        self.calls: list[tuple[str, str]] = []
        client.meta.events.register("provide-client-params.s3.*", self._record)

    def _record(self, params: dict[str, Any], event_name: str, **_: Any) -> None:
        self.calls.append((event_name.rsplit(".", 1)[-1], str(params.get("Key", ""))))

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)


@pytest.fixture(scope="module")
def warm_session() -> boto3.Session:
    """One boto3 session for the module: its clients are cheap to create (models are cached)."""
    return boto3.Session(region_name=REGION)


@pytest.fixture
def session(aws: str, warm_session: boto3.Session) -> boto3.Session:
    """The emulated account, reset for each test (clients pick up AWS_ENDPOINT_URL)."""
    return warm_session


@pytest.fixture
def s3(session: boto3.Session) -> S3Client:
    """An S3 client on the emulator with a versioned registry bucket."""
    client: S3Client = session.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


@pytest.fixture
def make_client(session: boto3.Session) -> Callable[[], S3Client]:
    """Fresh S3 clients (a reader separate from the publisher)."""

    def make() -> S3Client:
        client: S3Client = session.client("s3")
        return client

    return make


@pytest.fixture
def sample() -> Registry:
    return load_directory(SAMPLE)


def _changed(registry: Registry) -> Registry:
    """The registry with one more (valid) entry."""
    entry = RegistryEntry(
        "iam/policies/extra.yaml",
        {
            "kind": "iam_policy",
            "id": "arn:${Partition}:iam::${AccountId}:policy/extra",
            "spec": {
                "document": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
                }
            },
        },
    )
    return Registry(registry.settings, (*registry.entries, entry), registry.location)


def _keys(s3: S3Client) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


# -- publish and load ---------------------------------------------------------------------------


def test_publish_then_load_round_trips_the_registry(s3: S3Client, sample: Registry) -> None:
    # GIVEN the sample registry published to a prefix
    result = publish(s3, BUCKET, PREFIX, sample, NOW)
    # WHEN an S3 store loads it
    loaded = S3RegistryStore(s3, BUCKET, PREFIX).load()
    # THEN it is the same registry, with the same digest
    assert loaded.digest == sample.digest == result.digest
    assert loaded.entries == sample.entries
    assert loaded.settings == sample.settings
    assert loaded.location == f"s3://{BUCKET}/{PREFIX}"


def test_publish_writes_the_documented_snapshot_and_pointer(s3: S3Client, sample: Registry) -> None:
    # GIVEN / WHEN the sample is published
    result = publish(s3, BUCKET, PREFIX, sample, NOW)
    # THEN the snapshot is content-addressed canonical JSON and the pointer names it
    hex_digest = sample.digest.removeprefix("sha256:")
    assert result.snapshot_key == f"{PREFIX}/snapshots/{hex_digest}.json"
    assert result.pointer_key == f"{PREFIX}/current.json"
    snapshot = s3.get_object(Bucket=BUCKET, Key=result.snapshot_key)
    assert snapshot["ContentType"] == "application/json"
    assert snapshot["Body"].read() == canonical_json(sample.body())
    pointer = json.loads(s3.get_object(Bucket=BUCKET, Key=result.pointer_key)["Body"].read())
    assert pointer == {
        "digest": sample.digest,
        "snapshot": result.snapshot_key,
        "published_at": "2026-01-02T03:04:05+00:00",
        "entries": 9,
    }


def test_publish_with_an_empty_prefix_uses_the_bucket_root(s3: S3Client, sample: Registry) -> None:
    # GIVEN / WHEN published without a prefix
    result = publish(s3, BUCKET, "", sample, NOW)
    # THEN keys sit at the root and the store finds them
    assert result.pointer_key == "current.json"
    assert result.snapshot_key.startswith("snapshots/")
    assert S3RegistryStore(s3, BUCKET, "").load().digest == sample.digest


def test_publish_is_idempotent(s3: S3Client, sample: Registry) -> None:
    # GIVEN a published registry
    first = publish(s3, BUCKET, PREFIX, sample, NOW)
    calls = S3Calls(s3)
    # WHEN the same registry is published again
    second = publish(s3, BUCKET, PREFIX, sample, NOW)
    # THEN same digest, no new snapshot written (only the pointer)
    assert (first.created, second.created) == (True, False)
    assert second.digest == first.digest
    assert [key for op, key in calls.calls if op == "PutObject"] == [second.pointer_key]
    assert _keys(s3) == sorted([first.pointer_key, first.snapshot_key])


def test_pointer_is_written_only_after_the_snapshot_exists(s3: S3Client, sample: Registry) -> None:
    # GIVEN a recorder on the publisher's client
    calls = S3Calls(s3)
    # WHEN publishing
    result = publish(s3, BUCKET, PREFIX, sample, NOW)
    # THEN the snapshot is checked, then written, and the pointer comes last
    assert calls.calls == [
        ("HeadObject", result.snapshot_key),
        ("PutObject", result.snapshot_key),
        ("PutObject", result.pointer_key),
    ]


def test_reader_mid_publish_sees_the_old_or_the_new_registry_never_a_mix(
    s3: S3Client, make_client: Callable[[], S3Client], sample: Registry
) -> None:
    # GIVEN the sample published, and a newer registry about to be published
    publish(s3, BUCKET, PREFIX, sample, NOW)
    newer = _changed(sample)
    reader_client = make_client()
    seen: list[tuple[str, str]] = []

    def read_before_each_write(params: dict[str, Any], **_: Any) -> None:
        # A reader (with its own client and cache) loads while each PutObject is about to run.
        loaded = S3RegistryStore(reader_client, BUCKET, PREFIX).load()
        seen.append((str(params["Key"]), loaded.digest))

    s3.meta.events.register("provide-client-params.s3.PutObject", read_before_each_write)
    # WHEN the newer registry is published
    result = publish(s3, BUCKET, PREFIX, newer, NOW)
    after = S3RegistryStore(reader_client, BUCKET, PREFIX).load()
    # THEN while the snapshot and the pointer were being written readers saw the old registry
    # in full, and afterwards the new one in full
    assert seen == [(result.snapshot_key, sample.digest), (result.pointer_key, sample.digest)]
    assert after.digest == newer.digest
    assert len(after.entries) == len(sample.entries) + 1


def test_every_published_snapshot_stays_readable(s3: S3Client, sample: Registry) -> None:
    # GIVEN two publications
    first = publish(s3, BUCKET, PREFIX, sample, NOW)
    publish(s3, BUCKET, PREFIX, _changed(sample), NOW)
    # WHEN the first snapshot is read directly / THEN it is still there and intact
    body = json.loads(s3.get_object(Bucket=BUCKET, Key=first.snapshot_key)["Body"].read())
    assert Registry.from_body(body, "x").digest == first.digest


# -- the ETag cache ------------------------------------------------------------------------------


def test_unchanged_pointer_is_not_followed_again(
    s3: S3Client, make_client: Callable[[], S3Client], sample: Registry
) -> None:
    # GIVEN a published registry and a store with a call recorder
    publish(s3, BUCKET, PREFIX, sample, NOW)
    client = make_client()
    calls = S3Calls(client)
    store = S3RegistryStore(client, BUCKET, PREFIX)
    # WHEN it loads twice without a new publication
    first = store.load()
    after_first = list(calls.calls)
    second = store.load()
    # THEN the second load is one conditional pointer read (304) and no snapshot read
    assert [op for op, _ in after_first] == ["GetObject", "GetObject"]
    assert calls.calls[len(after_first) :] == [("GetObject", pointer_key(PREFIX))]
    assert second is first


def test_a_new_publication_is_picked_up_by_a_warm_store(
    s3: S3Client, make_client: Callable[[], S3Client], sample: Registry
) -> None:
    # GIVEN a warm store
    publish(s3, BUCKET, PREFIX, sample, NOW)
    store = S3RegistryStore(make_client(), BUCKET, PREFIX)
    store.load()
    # WHEN a new registry is published / THEN the next load returns it
    newer = _changed(sample)
    publish(s3, BUCKET, PREFIX, newer, NOW)
    assert store.load().digest == newer.digest


def test_republishing_the_same_registry_does_not_reread_the_snapshot(
    s3: S3Client, make_client: Callable[[], S3Client], sample: Registry
) -> None:
    # GIVEN a warm store, and the same registry published again later (a new pointer ETag)
    publish(s3, BUCKET, PREFIX, sample, NOW)
    client = make_client()
    store = S3RegistryStore(client, BUCKET, PREFIX)
    store.load()
    publish(s3, BUCKET, PREFIX, sample, datetime(2026, 2, 1, tzinfo=UTC))
    calls = S3Calls(client)
    # WHEN the store loads / THEN it reads the pointer only: the digest is unchanged
    assert store.load().digest == sample.digest
    assert calls.calls == [("GetObject", pointer_key(PREFIX))]


# -- failures map to domain errors ---------------------------------------------------------------


def test_missing_bucket_is_registry_not_found(session: boto3.Session) -> None:
    # GIVEN no bucket / WHEN loading / THEN RegistryNotFoundError (not ClientError)
    with pytest.raises(RegistryNotFoundError, match="bucket does not exist"):
        S3RegistryStore(session.client("s3"), "no-such-bucket-here", PREFIX).load()


def test_missing_pointer_is_registry_not_found(s3: S3Client) -> None:
    # GIVEN an empty bucket / WHEN loading / THEN RegistryNotFoundError naming the pointer
    with pytest.raises(RegistryNotFoundError, match=r"current\.json"):
        S3RegistryStore(s3, BUCKET, PREFIX).load()


def test_missing_snapshot_is_registry_not_found(s3: S3Client, sample: Registry) -> None:
    # GIVEN a pointer whose snapshot was deleted
    result = publish(s3, BUCKET, PREFIX, sample, NOW)
    s3.delete_object(Bucket=BUCKET, Key=result.snapshot_key)
    # WHEN loading / THEN RegistryNotFoundError naming the snapshot
    with pytest.raises(RegistryNotFoundError, match="snapshot"):
        S3RegistryStore(s3, BUCKET, PREFIX).load()


def test_corrupt_snapshot_is_a_registry_error(s3: S3Client, sample: Registry) -> None:
    # GIVEN a snapshot overwritten with text that is not JSON
    result = publish(s3, BUCKET, PREFIX, sample, NOW)
    s3.put_object(Bucket=BUCKET, Key=result.snapshot_key, Body=b'{"format_version": 1, "ent')
    # WHEN loading / THEN a RegistryError that says the JSON is invalid
    with pytest.raises(RegistryError, match="not valid JSON"):
        S3RegistryStore(s3, BUCKET, PREFIX).load()


def test_corrupt_pointer_is_a_registry_error(s3: S3Client) -> None:
    # GIVEN a pointer without a digest / WHEN loading / THEN RegistryError
    s3.put_object(Bucket=BUCKET, Key=pointer_key(PREFIX), Body=b'{"snapshot": "x"}')
    with pytest.raises(RegistryError, match="digest"):
        S3RegistryStore(s3, BUCKET, PREFIX).load()


def test_snapshot_whose_digest_differs_from_the_pointer_is_refused(
    s3: S3Client, sample: Registry
) -> None:
    # GIVEN a snapshot replaced by another (valid) registry's body under the same key
    result = publish(s3, BUCKET, PREFIX, sample, NOW)
    other = canonical_json(_changed(sample).body())
    s3.put_object(Bucket=BUCKET, Key=result.snapshot_key, Body=other)
    # WHEN loading / THEN RegistryError about the digest, and not the wrong registry
    with pytest.raises(RegistryError, match="digest") as raised:
        S3RegistryStore(s3, BUCKET, PREFIX).load()
    assert not isinstance(raised.value, RegistryNotFoundError)


def test_invalid_snapshot_is_a_validation_error(s3: S3Client) -> None:
    # GIVEN a snapshot written by hand (not by publish) that holds an invalid entry
    invalid = Registry.from_body(
        {
            "format_version": 1,
            "settings": {"default_mode": None, "paused": False},
            "entries": [{"source": "x.yaml", "document": {"kind": "iam_user", "id": "x"}}],
        },
        "x",
    )
    key = snapshot_key(PREFIX, invalid.digest)
    s3.put_object(Bucket=BUCKET, Key=key, Body=canonical_json(invalid.body()))
    pointer = {"digest": invalid.digest, "snapshot": key}
    s3.put_object(Bucket=BUCKET, Key=pointer_key(PREFIX), Body=json.dumps(pointer).encode())
    # WHEN loading / THEN RegistryValidationError listing the problem
    with pytest.raises(RegistryValidationError) as raised:
        S3RegistryStore(s3, BUCKET, PREFIX).load()
    assert len(raised.value.problems) == 1


def test_publishing_an_invalid_registry_raises_and_writes_nothing(
    s3: S3Client, sample: Registry
) -> None:
    # GIVEN a registry with an entry of an unknown kind
    broken = RegistryEntry("bad.yaml", {"kind": "iam_user", "id": "x", "spec": {}})
    invalid = Registry(sample.settings, (*sample.entries, broken), sample.location)
    # WHEN published / THEN RegistryValidationError and the bucket stays empty
    with pytest.raises(RegistryValidationError):
        publish(s3, BUCKET, PREFIX, invalid, NOW)
    assert _keys(s3) == []


def test_publishing_to_a_missing_bucket_is_registry_not_found(
    session: boto3.Session, sample: Registry
) -> None:
    # GIVEN no bucket / WHEN publishing / THEN RegistryNotFoundError (not ClientError)
    with pytest.raises(RegistryNotFoundError):
        publish(session.client("s3"), "no-such-bucket-here", PREFIX, sample, NOW)


# -- locations and the directory store ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("s3://bucket/some/prefix/", Location("s3", "bucket", "some/prefix")),
        ("s3://bucket", Location("s3", "bucket", "")),
        ("policies/", Location("dir", "policies/", "")),
    ],
)
def test_parse_location_tells_s3_from_a_directory(value: str, expected: Location) -> None:
    # GIVEN a registry location / WHEN parsed / THEN scheme, bucket or path, and prefix
    assert parse_location(value) == expected


def test_file_store_loads_and_validates(tmp_path: Path) -> None:
    # GIVEN a copy of the sample / WHEN loaded through the directory store
    shutil.copytree(SAMPLE, tmp_path / "policies")
    store = FileRegistryStore(tmp_path / "policies")
    # THEN it is the sample, located at the directory
    assert store.load().digest == load_directory(SAMPLE).digest
    assert store.location == str(tmp_path / "policies")


def test_file_store_reuses_the_registry_until_a_file_changes(tmp_path: Path) -> None:
    # GIVEN a warm directory store
    shutil.copytree(SAMPLE, tmp_path / "p")
    store = FileRegistryStore(tmp_path / "p")
    first = store.load()
    # WHEN nothing changes / THEN the same object comes back
    assert store.load() is first
    # WHEN a file changes / THEN the registry is re-read
    settings_file = tmp_path / "p" / "registry.yaml"
    settings_file.write_text("paused: true\n")
    assert store.load().settings.paused is True


def test_file_store_refuses_an_invalid_directory(tmp_path: Path) -> None:
    # GIVEN a directory with an invalid entry / WHEN loaded / THEN RegistryValidationError
    (tmp_path / "bad.yaml").write_text("kind: iam_user\nid: x\nspec: {}\n")
    with pytest.raises(RegistryValidationError):
        FileRegistryStore(tmp_path).load()


def test_file_store_of_a_missing_directory_is_not_found(tmp_path: Path) -> None:
    # GIVEN / WHEN / THEN a missing directory is RegistryNotFoundError
    with pytest.raises(RegistryNotFoundError):
        FileRegistryStore(tmp_path / "missing").load()
