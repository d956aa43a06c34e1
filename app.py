"""Chalice entry point: the event, schedule and audit handlers. All logic lives in chalicelib."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from chalice.app import (
    BadRequestError,
    Chalice,
    ConvertToMiddleware,
    IAMAuthorizer,
    NotFoundError,
    Rate,
    Response,
)

from chalicelib.audit.endpoint import AuditRequest, answer
from chalicelib.errors import RegistryError, ResourceNotFoundError
from chalicelib.events.routes import event_patterns
from chalicelib.service import lambda_wiring

app = Chalice(app_name="driftwarden")
logger = Logger()
metrics = Metrics()

# powertools' decorators expect (event, context); Chalice event handlers take one event object.
# ConvertToMiddleware hands them the original event and the Lambda context instead.
app.register_middleware(
    ConvertToMiddleware(
        logger.inject_lambda_context(
            correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True
        )
    )
)
app.register_middleware(ConvertToMiddleware(metrics.log_metrics(capture_cold_start_metric=True)))
# X-Ray tracing is optional: the tracer (and aws_xray_sdk, a sixth of the cold start) is loaded
# only for stages that turn it on (`"xray": true` and POWERTOOLS_TRACE_DISABLED=false).
if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() != "true":
    from aws_lambda_powertools import Tracer

    app.register_middleware(ConvertToMiddleware(Tracer().capture_lambda_handler))

PATTERNS = event_patterns()
authorizer = IAMAuthorizer()


def _handle(event: Any) -> dict[str, Any]:
    outcome = lambda_wiring(metrics).responder.handle_event(event.to_dict())
    return outcome.to_json()


@app.on_cw_event(PATTERNS["aws.iam"], name="on_iam_change")
def on_iam_change(event: Any) -> dict[str, Any]:
    return _handle(event)


@app.on_cw_event(PATTERNS["aws.quicksight"], name="on_quicksight_change")
def on_quicksight_change(event: Any) -> dict[str, Any]:
    return _handle(event)


@app.on_cw_event(PATTERNS["aws.cleanrooms"], name="on_cleanrooms_change")
def on_cleanrooms_change(event: Any) -> dict[str, Any]:
    return _handle(event)


@app.schedule(Rate(1, unit=Rate.HOURS), name="sweep")
def sweep(event: Any) -> dict[str, Any]:
    return lambda_wiring(metrics).sweep().to_json()


@app.route("/audit", methods=["GET"], authorizer=authorizer)
def audit_all() -> Response:
    return _audit(None)


@app.route("/audit/{kind}/{resource_id}", methods=["GET"], authorizer=authorizer)
def audit_one(kind: str, resource_id: str) -> Response:
    # Ids with slashes (policy ARNs, Clean Rooms associations) arrive URL-encoded.
    return _audit(f"{kind}/{unquote(resource_id)}")


def _audit(selector: str | None) -> Response:
    request = app.current_request
    asked = AuditRequest.from_http(
        selector,
        request.query_params if request else None,
        dict(request.headers) if request else None,
    )
    wiring = lambda_wiring(metrics)
    try:
        result = answer(
            asked,
            lambda chosen: wiring.audit(chosen).to_json(),
            lambda: wiring.history.latest() if wiring.history else None,
        )
    except ResourceNotFoundError as err:
        raise NotFoundError(str(err)) from err
    except RegistryError as err:
        raise BadRequestError(f"registry unusable: {err}") from err
    return Response(result.body, status_code=200, headers={"Content-Type": result.content_type})
