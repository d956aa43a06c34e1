"""The executor interface and the shared apply loop: one table from call name to client method.

Executors make every write of driftwarden. They receive their client through ``__init__``,
translate every botocore error into a domain error (``ClientError`` never escapes) and are
idempotent: applying the same plan twice is harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import RemediationError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from chalicelib.models import Kind
    from chalicelib.remediation.planner import PlanStep


class PartialRemediationError(RemediationError):
    """A plan failed after some of its calls were made.

    Attributes
    ----------
    calls
        The calls made before the failure, in order (the live state changed).
    failed_call
        The call that failed.
    """

    def __init__(self, message: str, calls: tuple[str, ...], failed_call: str) -> None:
        super().__init__(message)
        self.calls = calls
        self.failed_call = failed_call


class Executor(Protocol):
    """Applies plan steps for the kinds it declares.

    ``permissions`` lists every write action it may call plus the reads it makes itself.
    """

    kinds: ClassVar[tuple[Kind, ...]]
    permissions: ClassVar[tuple[str, ...]]

    def apply(self, steps: Sequence[PlanStep], dry_run: bool = False) -> tuple[str, ...]:
        """Make the steps' calls in order; with ``dry_run`` make none.

        Returns
        -------
        tuple of str
            The calls made (or, in dry run, planned), e.g. ``("iam:PutRolePolicy",)``.

        Raises
        ------
        PartialRemediationError
            A step failed after earlier calls were made (``calls`` lists them).
        RemediationError
            The first step failed (nothing changed), or a step names a call this executor
            does not make.
        """
        ...


def error_code(err: ClientError) -> str:
    """The AWS error code of a ``ClientError`` (empty when absent)."""
    return str(err.response.get("Error", {}).get("Code", ""))


def describe_failure(
    step: PlanStep, index: int, total: int, err: ClientError | BotoCoreError
) -> str:
    """``iam:PutRolePolicy failed (step 2 of 3: ...): AWS error Code: message``."""
    head = f"{step.call} failed (step {index} of {total}: {step.summary})"
    if isinstance(err, BotoCoreError):
        return f"{head}: {type(err).__name__}: {err}"
    message = str(err.response.get("Error", {}).get("Message", "")).strip()
    tail = f"AWS error {error_code(err) or 'Unknown'}"
    return f"{head}: {tail}: {message}" if message else f"{head}: {tail}"


class TableExecutor:
    """The apply loop shared by every executor.

    Subclasses declare ``kinds``, ``permissions``, ``methods`` (call name → client method
    name, the explicit table) and ``already_done`` (call name → error codes meaning the call's
    effect is already there, e.g. detaching a policy that is not attached).
    """

    kinds: ClassVar[tuple[Kind, ...]] = ()
    permissions: ClassVar[tuple[str, ...]] = ()
    methods: ClassVar[Mapping[str, str]] = {}
    already_done: ClassVar[Mapping[str, frozenset[str]]] = {}

    def __init__(self, client: Any) -> None:
        self._client = client

    def apply(self, steps: Sequence[PlanStep], dry_run: bool = False) -> tuple[str, ...]:
        """Make the steps' calls in order; with ``dry_run`` make none.

        Parameters
        ----------
        steps
            The plan, in the order to apply it.
        dry_run
            Return the planned calls without calling anything.

        Returns
        -------
        tuple of str
            The calls made (or planned), including any the executor adds itself.

        Raises
        ------
        PartialRemediationError
            A step failed after earlier calls were made; ``calls`` lists them.
        RemediationError
            The first call failed (nothing changed), or a step names a call this executor
            does not make (checked before any call).
        """
        unknown = sorted({step.call for step in steps if step.call not in self.methods})
        if unknown:
            raise RemediationError(
                f"{type(self).__name__} cannot make {', '.join(unknown)}; "
                f"it makes {', '.join(sorted(self.methods))}"
            )
        if dry_run:
            return tuple(step.call for step in steps)
        made: list[str] = []
        for index, step in enumerate(steps, 1):
            try:
                self._apply_step(step, made)
            except (ClientError, BotoCoreError) as err:
                message = describe_failure(step, index, len(steps), err)
                if made:
                    raise PartialRemediationError(message, tuple(made), step.call) from err
                raise RemediationError(message) from err
        return tuple(made)

    def _apply_step(self, step: PlanStep, made: list[str]) -> None:
        """Make one step's call, appending every call made to ``made``.

        Raises
        ------
        ClientError, BotoCoreError
            Translated by ``apply``.
        """
        self._call(step.call, step.params, made)

    def _call(self, call: str, params: Mapping[str, Any], made: list[str]) -> Any:
        method = getattr(self._client, self.methods[call])
        try:
            response = method(**params)
        except ClientError as err:
            if error_code(err) not in self.already_done.get(call, frozenset()):
                raise
            response = None
        made.append(call)
        return response
