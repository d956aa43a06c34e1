"""The collector interface and the shared mapping of AWS read errors to domain errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import AccessDeniedError, CollectorError
from chalicelib.models import Kind, LiveResource, ResourceRef

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from chalicelib.models import DesiredResource

T = TypeVar("T")

#: AWS error codes that mean "this resource does not exist" (IAM, QuickSight, Clean Rooms).
NOT_FOUND_CODES: frozenset[str] = frozenset(
    {
        "NoSuchEntity",
        "NoSuchEntityException",
        "ResourceNotFoundException",
        "ResourceNotFound",
        "NotFoundException",
        "NotFound",
    }
)


class Collector(Protocol):
    """Reads the live state of the kinds it declares, in the registry's spec shape.

    Implementations receive their boto3 clients through ``__init__`` and never create any.
    ``permissions`` lists every IAM action the implementation can call.
    """

    kinds: ClassVar[tuple[Kind, ...]]
    permissions: ClassVar[tuple[str, ...]]

    def read(self, ref: ResourceRef, desired: DesiredResource | None = None) -> LiveResource:
        """Read one resource; a resource that does not exist gives ``exists=False``.

        Raises
        ------
        AccessDeniedError
            AWS refused a read for lack of permission.
        CollectorError
            Any other failure to read.
        """
        ...

    def read_all(
        self,
        refs: Sequence[ResourceRef],
        desired: Mapping[ResourceRef, DesiredResource] | None = None,
    ) -> dict[ResourceRef, LiveResource]:
        """Read many resources with the service's bulk APIs; one entry per ref, never raises
        for one resource (its failure becomes ``LiveResource(error=...)``)."""
        ...


def error_code(err: ClientError) -> str:
    """The AWS error code of a ``ClientError`` (empty string when absent)."""
    return str(err.response.get("Error", {}).get("Code", ""))


def is_not_found(err: ClientError) -> bool:
    """True when the error says the resource does not exist."""
    return error_code(err) in NOT_FOUND_CODES


def is_access_denied(err: ClientError) -> bool:
    """True for ``AccessDenied``, ``AccessDeniedException`` and the like."""
    return error_code(err).startswith("AccessDenied")


def domain_error(err: ClientError | BotoCoreError, what: str) -> CollectorError:
    """Translate a botocore error into the domain error to raise ``from`` it.

    Parameters
    ----------
    err
        The botocore error.
    what
        The resource being read, e.g. ``"iam_role/reader"``; it starts the message.

    Returns
    -------
    CollectorError
        ``AccessDeniedError`` for ``AccessDenied*`` codes, else ``CollectorError``; the message
        names the resource, the AWS error code and the operation.
    """
    if isinstance(err, BotoCoreError):
        return CollectorError(f"cannot read {what}: {type(err).__name__}: {err}")
    code = error_code(err) or "Unknown"
    message = str(err.response.get("Error", {}).get("Message", "")).strip()
    text = f"cannot read {what}: AWS error {code} on {err.operation_name}"
    if message:
        text = f"{text}: {message}"
    if is_access_denied(err):
        return AccessDeniedError(text)
    return CollectorError(text)


def call(what: str, fn: Callable[[], T]) -> T:
    """Run one read, translating every botocore error into a domain error.

    Not-found errors are translated too (into ``CollectorError``); use ``call_or_none`` where
    not-found means ``exists=False``.

    Raises
    ------
    AccessDeniedError
        AWS refused the read.
    CollectorError
        Any other botocore error.
    """
    try:
        return fn()
    except (ClientError, BotoCoreError) as err:
        raise domain_error(err, what) from err


def call_or_none(what: str, fn: Callable[[], T]) -> T | None:
    """Like ``call``, but a not-found error gives ``None``.

    Raises
    ------
    AccessDeniedError
        AWS refused the read.
    CollectorError
        Any other botocore error.
    """
    try:
        return fn()
    except ClientError as err:
        if is_not_found(err):
            return None
        raise domain_error(err, what) from err
    except BotoCoreError as err:
        raise domain_error(err, what) from err


def missing(ref: ResourceRef, facts: Mapping[str, object] | None = None) -> LiveResource:
    """The live resource for a ref that AWS says does not exist."""
    return LiveResource(ref=ref, exists=False, facts=dict(facts or {}))


def failed(ref: ResourceRef, err: CollectorError | str) -> LiveResource:
    """The live resource for a ref that could not be read.

    ``exists`` is False and ``state`` empty; ``error`` carries the reason and takes precedence
    over ``exists`` for every consumer (an unreadable resource is never "missing").
    """
    return LiveResource(ref=ref, exists=False, error=str(err))


def read_each(
    refs: Iterable[ResourceRef], read_one: Callable[[ResourceRef], LiveResource]
) -> dict[ResourceRef, LiveResource]:
    """Apply ``read_one`` to each distinct ref, turning a ``CollectorError`` into ``failed``."""
    out: dict[ResourceRef, LiveResource] = {}
    for ref in refs:
        if ref in out:
            continue
        try:
            out[ref] = read_one(ref)
        except CollectorError as err:
            out[ref] = failed(ref, err)
    return out


def unsupported(ref: ResourceRef, kinds: Sequence[Kind], collector: str) -> CollectorError:
    """The error for a ref whose kind the collector does not handle."""
    names = ", ".join(str(k) for k in kinds)
    return CollectorError(f"cannot read {ref}: {collector} reads only {names}")
