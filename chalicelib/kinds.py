"""The explicit table from a resource kind to the AWS service that holds it.

Adding a kind: a collector, a normaliser, a spec schema, an executor, and one row here.
"""

from __future__ import annotations

from chalicelib.models import Kind

#: kind -> the boto3 service name whose collector (and executor) handles it
SERVICE_OF_KIND: dict[Kind, str] = {
    Kind.IAM_ROLE: "iam",
    Kind.IAM_POLICY: "iam",
    Kind.QUICKSIGHT_DATA_SOURCE: "quicksight",
    Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION: "cleanrooms",
    Kind.CLEANROOMS_MEMBERSHIP: "cleanrooms",
}
