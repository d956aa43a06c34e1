"""The append-only action journal (S3 or a directory): what every revert saw, planned and did.

Layout, the same in S3 (under ``<prefix>/``) and on disk (under the directory)::

    actions/<action_id>/intent.json    written by ``begin``, BEFORE any write to AWS
    actions/<action_id>/outcome.json   written by ``finish``
    actions/<action_id>/undone.json    written by ``mark_undone``

No object is ever overwritten (S3 ``If-None-Match: *``; on disk an exclusive create). Action
ids start with a UTC timestamp, so they sort by time and ``recent`` is one listing that starts
after ``actions/act-<since>``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import JournalError
from chalicelib.models import Kind, ResourceRef
from chalicelib.remediation.planner import PlanStep
from chalicelib.remediation.safety import FLAP_WINDOW, REVERT_WINDOW

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from chalicelib.models import ChangeNotice, LiveResource

ACTION_ID_RE = re.compile(r"^act-\d{8}T\d{6}Z-[0-9a-f]{8}$")
"""``act-YYYYMMDDTHHMMSSZ-<8 hex>``."""

_STAMP = "%Y%m%dT%H%M%SZ"
_INTENT, _OUTCOME, _UNDONE = "intent.json", "outcome.json", "undone.json"


class ActionStatus(enum.StrEnum):
    """Where an action stands."""

    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"
    UNDONE = "undone"
    DRY_RUN = "dry_run"


class ActionNotFoundError(JournalError):
    """The journal has no action with that id."""


# ----------------------------------------------------------------------------- values


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat().replace("+00:00", "Z")


def _parse_time(text: Any) -> datetime:
    return _utc(datetime.fromisoformat(str(text).replace("Z", "+00:00")))


def new_action_id(now: datetime, rand: Callable[[int], bytes] = os.urandom) -> str:
    """A new, time-sortable action id: ``act-YYYYMMDDTHHMMSSZ-<8 hex>``.

    Parameters
    ----------
    now
        The current time (a naive value is taken as UTC).
    rand
        Returns ``n`` random bytes (``os.urandom`` unless a test gives a fixed one).

    Example
    -------
    >>> new_action_id(datetime(2024, 5, 1, 12, 0, tzinfo=UTC), lambda n: bytes(n))
    'act-20240501T120000Z-00000000'
    """
    return f"act-{_utc(now).strftime(_STAMP)}-{rand(4).hex()}"


def check_action_id(action_id: str) -> str:
    """Return ``action_id`` if it is well formed.

    Raises
    ------
    ActionNotFoundError
        It is not of the form ``act-YYYYMMDDTHHMMSSZ-<8 hex>`` (so no such action exists).
    """
    if not ACTION_ID_RE.match(action_id):
        raise ActionNotFoundError(
            f"{action_id!r} is not an action id (expected act-YYYYMMDDTHHMMSSZ-<8 hex>)"
        )
    return action_id


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def notice_json(notice: ChangeNotice) -> dict[str, Any]:
    """A change notice as the dict the journal keeps in ``event``."""
    out: dict[str, Any] = _plain(dataclasses.asdict(notice))
    return out


def before_of(live: LiveResource) -> dict[str, Any]:
    """The ``before`` record of a live read: ``{"exists": bool, "state": {...}}``."""
    return {"exists": live.exists, "state": _plain(live.state)}


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One action (revert or undo) as the journal records it.

    ``before`` is ``{"exists": bool, "state": {...}}`` (the live state in spec shape when the
    action was planned); ``after`` is the state read after applying, or None; ``plan`` the
    steps as dicts; ``calls`` the API calls made; ``undoes`` the action an undo reverses;
    ``undone_by`` the undo that reversed this action.
    """

    action_id: str
    created_at: datetime
    resource: ResourceRef
    plan: tuple[Mapping[str, Any], ...]
    before: Mapping[str, Any]
    event: Mapping[str, Any] | None = None
    actor: str | None = None
    after: Mapping[str, Any] | None = None
    status: ActionStatus = ActionStatus.PENDING
    calls: tuple[str, ...] = ()
    error: str | None = None
    undoes: str | None = None
    undone_by: str | None = None
    finished_at: datetime | None = None

    @classmethod
    def intent(
        cls,
        action_id: str,
        now: datetime,
        live: LiveResource,
        steps: Sequence[PlanStep],
        *,
        event: ChangeNotice | Mapping[str, Any] | None = None,
        actor: str | None = None,
        dry_run: bool = False,
        undoes: str | None = None,
    ) -> JournalEntry:
        """The entry to ``begin`` before applying ``steps`` to the resource read as ``live``."""
        if event is not None and not isinstance(event, Mapping):
            event = notice_json(event)
        return cls(
            action_id=check_action_id(action_id),
            created_at=_utc(now),
            resource=live.ref,
            plan=tuple(step.to_json() for step in steps),
            before=before_of(live),
            event=None if event is None else _plain(event),
            actor=actor,
            status=ActionStatus.DRY_RUN if dry_run else ActionStatus.PENDING,
            undoes=undoes,
        )

    @property
    def steps(self) -> tuple[PlanStep, ...]:
        """The plan as ``PlanStep`` values."""
        return tuple(PlanStep.from_json(step) for step in self.plan)

    def intent_json(self) -> dict[str, Any]:
        """What ``begin`` writes (``intent.json``)."""
        return {
            "format_version": 1,
            "action_id": self.action_id,
            "created_at": _iso(self.created_at),
            "resource": {
                "kind": str(self.resource.kind),
                "id": self.resource.id,
                "account": self.resource.account,
                "region": self.resource.region,
            },
            "event": _plain(self.event),
            "actor": self.actor,
            "plan": _plain(self.plan),
            "before": _plain(self.before),
            "status": str(self.status),
            "undoes": self.undoes,
        }

    def to_json(self) -> dict[str, Any]:
        """The whole entry as a JSON-safe dict."""
        out = self.intent_json()
        out.update(
            after=_plain(self.after),
            status=str(self.status),
            calls=list(self.calls),
            error=self.error,
            undone_by=self.undone_by,
            finished_at=None if self.finished_at is None else _iso(self.finished_at),
        )
        return out

    @classmethod
    def from_json(
        cls,
        intent: Mapping[str, Any],
        outcome: Mapping[str, Any] | None = None,
        undone: Mapping[str, Any] | None = None,
    ) -> JournalEntry:
        """Rebuild an entry from its intent, outcome and undone records.

        Raises
        ------
        JournalError
            A record does not have the expected shape.
        """
        try:
            res = intent["resource"]
            entry = cls(
                action_id=str(intent["action_id"]),
                created_at=_parse_time(intent["created_at"]),
                resource=ResourceRef(
                    Kind(res["kind"]), str(res["id"]), str(res["account"]), str(res["region"])
                ),
                plan=tuple(dict(step) for step in intent.get("plan") or ()),
                before=dict(intent["before"]),
                event=intent.get("event"),
                actor=intent.get("actor"),
                status=ActionStatus(intent.get("status", ActionStatus.PENDING)),
                undoes=intent.get("undoes"),
            )
            if outcome is not None:
                finished = outcome.get("finished_at")
                entry = dataclasses.replace(
                    entry,
                    after=outcome.get("after"),
                    status=ActionStatus(outcome["status"]),
                    calls=tuple(str(c) for c in outcome.get("calls") or ()),
                    error=outcome.get("error"),
                    finished_at=None if finished is None else _parse_time(finished),
                )
            if undone is not None:
                entry = dataclasses.replace(
                    entry, status=ActionStatus.UNDONE, undone_by=undone.get("undone_by")
                )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise JournalError(f"malformed journal record: {err!r}") from err
        return entry


#: Statuses of actions that attempted a write (they count toward the limits).
ATTEMPTED: frozenset[ActionStatus] = frozenset(
    {ActionStatus.PENDING, ActionStatus.APPLIED, ActionStatus.FAILED, ActionStatus.UNDONE}
)


def count_reverts(
    entries: Iterable[JournalEntry],
    ref: ResourceRef,
    now: datetime,
    window: timedelta = REVERT_WINDOW,
    flap_window: timedelta = FLAP_WINDOW,
) -> tuple[int, int]:
    """``(reverts in window, reverts of ref in flap_window)`` for ``safety.Guard``.

    Counts reverts that attempted a write (pending, applied, failed, undone); dry runs and
    undo actions do not count.
    """
    now = _utc(now)
    total = mine = 0
    for entry in entries:
        if entry.status not in ATTEMPTED or entry.undoes is not None:
            continue
        age = now - entry.created_at
        if age <= window:
            total += 1
        if age <= flap_window and entry.resource == ref:
            mine += 1
    return total, mine


# ---------------------------------------------------------------------------- protocol


class Journal(Protocol):
    """Append-only record of every action, so that each can be undone."""

    def begin(self, entry: JournalEntry) -> None:
        """Record the intent (before any write).

        Raises
        ------
        JournalError
            It cannot be written (then no revert may happen), or the action already exists.
        """
        ...

    def finish(
        self,
        action_id: str,
        after: Mapping[str, Any] | None,
        status: ActionStatus | str,
        calls: Sequence[str],
        error: str | None = None,
    ) -> None:
        """Record the outcome of a begun action (once).

        Raises
        ------
        JournalError
            It cannot be written, the action was never begun, or it is already finished.
        """
        ...

    def mark_undone(self, action_id: str, undone_by: str) -> None:
        """Record that the undo ``undone_by`` reversed ``action_id`` (once).

        Raises
        ------
        JournalError
            It cannot be written, the action does not exist, or it is already undone.
        """
        ...

    def get(self, action_id: str) -> JournalEntry:
        """The entry with its outcome and undo marker merged in.

        Raises
        ------
        ActionNotFoundError
            No such action.
        JournalError
            It cannot be read.
        """
        ...

    def recent(self, since: datetime) -> list[JournalEntry]:
        """Every action created at or after ``since``, oldest first.

        Raises
        ------
        JournalError
            The journal cannot be listed or read.
        """
        ...


# ---------------------------------------------------------------------- shared logic


def _encode(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, indent=1).encode()


def _decode(body: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as err:
        raise JournalError(f"journal record {where} is not JSON") from err
    if not isinstance(value, dict):
        raise JournalError(f"journal record {where} is not a JSON object")
    return value


class _KeyedJournal:
    """The journal logic over a store of named, never-overwritten blobs."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock

    # storage primitives, implemented per backend
    def _where(self, name: str) -> str:
        raise NotImplementedError

    def _put_new(self, name: str, body: bytes) -> None:
        raise NotImplementedError

    def _read(self, name: str) -> bytes | None:
        raise NotImplementedError

    def _names_after(self, start_after: str) -> Iterator[str]:
        raise NotImplementedError

    # journal API
    def begin(self, entry: JournalEntry) -> None:
        """Record the intent of ``entry`` (before any write).

        Raises
        ------
        JournalError
            It cannot be written, or an action with that id exists.
        """
        check_action_id(entry.action_id)
        if entry.status not in (ActionStatus.PENDING, ActionStatus.DRY_RUN):
            raise JournalError(f"begin needs a pending or dry-run entry, not {entry.status}")
        self._put_new(f"actions/{entry.action_id}/{_INTENT}", _encode(entry.intent_json()))

    def finish(
        self,
        action_id: str,
        after: Mapping[str, Any] | None,
        status: ActionStatus | str,
        calls: Sequence[str],
        error: str | None = None,
    ) -> None:
        """Record the outcome of a begun action.

        Raises
        ------
        JournalError
            It cannot be written, was never begun, or is already finished.
        """
        self._require(action_id)
        outcome = {
            "action_id": action_id,
            "status": str(ActionStatus(status)),
            "after": _plain(after),
            "calls": list(calls),
            "error": error,
            "finished_at": _iso(self._clock()),
        }
        self._put_new(f"actions/{action_id}/{_OUTCOME}", _encode(outcome))

    def mark_undone(self, action_id: str, undone_by: str) -> None:
        """Record that ``undone_by`` reversed ``action_id``.

        Raises
        ------
        JournalError
            It cannot be written, the action does not exist, or it is already undone.
        """
        self._require(action_id)
        check_action_id(undone_by)
        record = {"action_id": action_id, "undone_by": undone_by, "at": _iso(self._clock())}
        self._put_new(f"actions/{action_id}/{_UNDONE}", _encode(record))

    def get(self, action_id: str) -> JournalEntry:
        """The entry with outcome and undo marker merged in.

        Raises
        ------
        ActionNotFoundError
            No such action.
        JournalError
            It cannot be read.
        """
        intent = self._require(action_id)
        return self._entry(action_id, intent, True, True)

    def recent(self, since: datetime) -> list[JournalEntry]:
        """Every action created at or after ``since``, oldest first.

        Raises
        ------
        JournalError
            The journal cannot be listed or read.
        """
        since = _utc(since)
        found: dict[str, set[str]] = {}
        for name in self._names_after(f"actions/act-{since.strftime(_STAMP)}"):
            parts = name.split("/")
            if len(parts) == 3 and parts[0] == "actions" and ACTION_ID_RE.match(parts[1]):
                found.setdefault(parts[1], set()).add(parts[2])
        out: list[JournalEntry] = []
        for action_id in sorted(found):
            files = found[action_id]
            if _INTENT not in files:
                continue
            body = self._read(f"actions/{action_id}/{_INTENT}")
            if body is None:
                continue
            intent = _decode(body, self._where(f"actions/{action_id}/{_INTENT}"))
            entry = self._entry(action_id, intent, _OUTCOME in files, _UNDONE in files)
            if entry.created_at >= since:
                out.append(entry)
        return out

    def _require(self, action_id: str) -> dict[str, Any]:
        name = f"actions/{check_action_id(action_id)}/{_INTENT}"
        body = self._read(name)
        if body is None:
            raise ActionNotFoundError(f"no action {action_id} in the journal {self._where('')}")
        return _decode(body, self._where(name))

    def _entry(
        self, action_id: str, intent: Mapping[str, Any], outcome: bool, undone: bool
    ) -> JournalEntry:
        records: list[dict[str, Any] | None] = []
        for wanted, leaf in ((outcome, _OUTCOME), (undone, _UNDONE)):
            body = self._read(f"actions/{action_id}/{leaf}") if wanted else None
            where = self._where(f"actions/{action_id}/{leaf}")
            records.append(None if body is None else _decode(body, where))
        return JournalEntry.from_json(intent, records[0], records[1])


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------- S3


class S3Journal(_KeyedJournal):
    """The journal in S3 under ``s3://bucket/prefix/actions/``.

    Writes use ``put_object(IfNoneMatch="*")`` so an existing record is never overwritten.

    Parameters
    ----------
    s3
        An S3 client.
    bucket
        The journal bucket (versioning recommended).
    prefix
        Key prefix without a trailing slash ("" for the bucket root).
    clock
        Returns the current time (for ``finished_at``).
    """

    permissions: ClassVar[tuple[str, ...]] = ("s3:GetObject", "s3:ListBucket", "s3:PutObject")

    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        prefix: str = "",
        clock: Callable[[], datetime] = _now,
    ) -> None:
        super().__init__(clock)
        self._s3 = s3
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _where(self, name: str) -> str:
        return f"s3://{self.bucket}/{self._key(name)}"

    def _put_new(self, name: str, body: bytes) -> None:
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self._key(name),
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise JournalError(
                    f"journal record {self._where(name)} already exists; never overwritten"
                ) from err
            raise JournalError(f"cannot write {self._where(name)}: AWS error {code}") from err
        except BotoCoreError as err:
            raise JournalError(f"cannot write {self._where(name)}: {err}") from err

    def _read(self, name: str) -> bytes | None:
        try:
            got = self._s3.get_object(Bucket=self.bucket, Key=self._key(name))
            return got["Body"].read()
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404"):
                return None
            raise JournalError(f"cannot read {self._where(name)}: AWS error {code}") from err
        except BotoCoreError as err:
            raise JournalError(f"cannot read {self._where(name)}: {err}") from err

    def _names_after(self, start_after: str) -> Iterator[str]:
        base = self._key("")
        listing = f"{base}actions/"
        try:
            paginator = self._s3.get_paginator("list_objects_v2")
            pages = paginator.paginate(
                Bucket=self.bucket, Prefix=listing, StartAfter=f"{base}{start_after}"
            )
            keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            raise JournalError(f"cannot list {self._where('actions/')}: AWS error {code}") from err
        except BotoCoreError as err:
            raise JournalError(f"cannot list {self._where('actions/')}: {err}") from err
        for key in keys:
            yield key[len(base) :]


# -------------------------------------------------------------------------- directory


class DirectoryJournal(_KeyedJournal):
    """The journal in a directory (the CLI default ``.driftwarden/journal/``).

    Records are written to a temporary file and hard-linked into place, which fails if the
    record exists, so nothing is overwritten and no reader sees a half-written record.

    Parameters
    ----------
    path
        The journal directory (created on first write).
    clock
        Returns the current time (for ``finished_at``).
    """

    def __init__(self, path: Path | str, clock: Callable[[], datetime] = _now) -> None:
        super().__init__(clock)
        self.path = Path(path)

    def _where(self, name: str) -> str:
        return str(self.path / name)

    def _put_new(self, name: str, body: bytes) -> None:
        target = self.path / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(body)
                    handle.flush()
                    os.fsync(handle.fileno())
                target.hardlink_to(tmp)
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        except FileExistsError as err:
            raise JournalError(
                f"journal record {target} already exists; never overwritten"
            ) from err
        except OSError as err:
            raise JournalError(f"cannot write {target}: {err.strerror or err}") from err

    def _read(self, name: str) -> bytes | None:
        target = self.path / name
        try:
            return target.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise JournalError(f"cannot read {target}: {err.strerror or err}") from err

    def _names_after(self, start_after: str) -> Iterator[str]:
        actions = self.path / "actions"
        threshold = start_after.split("/", 1)[1]
        try:
            ids = sorted(p.name for p in actions.iterdir() if p.is_dir() and p.name > threshold)
            for action_id in ids:
                for leaf in sorted(p.name for p in (actions / action_id).iterdir()):
                    if not leaf.startswith("."):
                        yield f"actions/{action_id}/{leaf}"
        except FileNotFoundError:
            return
        except OSError as err:
            raise JournalError(f"cannot list {actions}: {err.strerror or err}") from err


# ---------------------------------------------------------------------------- factory


def open_journal(
    location: str,
    s3_client_factory: Callable[[], S3Client],
    clock: Callable[[], datetime] = _now,
) -> S3Journal | DirectoryJournal:
    """The journal at ``s3://bucket/prefix`` or in a directory.

    Parameters
    ----------
    location
        ``s3://BUCKET[/PREFIX]`` or a directory path.
    s3_client_factory
        Builds the S3 client; called only for an ``s3://`` location.
    clock
        Returns the current time.

    Raises
    ------
    JournalError
        An ``s3://`` location without a bucket, or an empty location.
    """
    if not location.strip():
        raise JournalError("no journal location given")
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not bucket:
            raise JournalError(f"no bucket in journal location {location!r}")
        return S3Journal(s3_client_factory(), bucket, prefix.strip("/"), clock)
    return DirectoryJournal(Path(location), clock)


__all__ = [
    "ACTION_ID_RE",
    "ATTEMPTED",
    "ActionNotFoundError",
    "ActionStatus",
    "DirectoryJournal",
    "Journal",
    "JournalEntry",
    "S3Journal",
    "before_of",
    "check_action_id",
    "count_reverts",
    "new_action_id",
    "notice_json",
    "open_journal",
]
