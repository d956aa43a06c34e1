"""Sessions per account: driftwarden's own credentials for its own account, an assumed role
(``DRIFTWARDEN_ASSUME_ROLE``, e.g. ``arn:${Partition}:iam::${AccountId}:role/driftwarden-member``)
for every other account. Assumed-role credentials are renewed five minutes before they expire.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import client_config
from chalicelib.errors import CollectorError, ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from boto3.session import Session

    from chalicelib.models import AccountContext

SESSION_NAME = "driftwarden"
RENEW_BEFORE = timedelta(minutes=5)


def role_arn_for(template: str, account: str, partition: str) -> str:
    """The member role ARN for ``account`` from the ``DRIFTWARDEN_ASSUME_ROLE`` template.

    Raises
    ------
    ConfigError
        The template does not name the account (no ``${AccountId}``) and is not a role ARN.
    """
    arn = template.replace("${AccountId}", account).replace("${Partition}", partition)
    if ":role/" not in arn or f":{account}:" not in arn:
        raise ConfigError(
            f"DRIFTWARDEN_ASSUME_ROLE must be a role ARN template with ${{AccountId}}: {template!r}"
        )
    return arn


class AccountSessions:
    """Boto3 sessions per account, built lazily and cached for the life of the container."""

    def __init__(
        self,
        base: Session,
        own: AccountContext,
        template: str | None,
        sts: Any = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.base = base
        self.sts = sts
        self.own = own
        self.template = template
        self.clock = clock
        self._sessions: dict[tuple[str, str], tuple[Session, datetime | None]] = {}

    @property
    def can_assume(self) -> bool:
        return bool(self.template)

    def session_for(self, account: str, region: str) -> Session:
        """A session acting in ``account`` and ``region``.

        Raises
        ------
        ConfigError
            Another account was asked for and no ``DRIFTWARDEN_ASSUME_ROLE`` is configured.
        CollectorError
            The role could not be assumed.
        """
        key = (account, region)
        cached = self._sessions.get(key)
        if cached is not None and (cached[1] is None or cached[1] - RENEW_BEFORE > self.clock()):
            return cached[0]
        expires: datetime | None = None
        if account == self.own.account:
            if region == self.base.region_name:
                session = self.base
            else:
                credentials = self.base.get_credentials()
                frozen = credentials.get_frozen_credentials() if credentials else None
                session = boto3.Session(
                    aws_access_key_id=frozen.access_key if frozen else None,
                    aws_secret_access_key=frozen.secret_key if frozen else None,
                    aws_session_token=frozen.token if frozen else None,
                    region_name=region,
                )
        else:
            if not self.template:
                raise ConfigError(
                    f"account {account} is not driftwarden's own ({self.own.account}) and "
                    "DRIFTWARDEN_ASSUME_ROLE is not set"
                )
            role_arn = role_arn_for(self.template, account, self.own.partition)
            session, expires = self._assumed(role_arn, region)
        self._sessions[key] = (session, expires)
        return session

    def _assumed(self, role_arn: str, region: str) -> tuple[Session, datetime]:
        sts = self.sts or self.base.client("sts", config=client_config())
        try:
            answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)
        except (ClientError, BotoCoreError) as err:
            raise CollectorError(f"cannot assume {role_arn}: {err}") from err
        creds = answer["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=region,
        )
        expiration = creds["Expiration"]
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return session, expiration
