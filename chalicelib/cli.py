"""The ``driftwarden`` command line: validate, publish, capture, audit, sweep, handle-event,
undo, demo.

``main(argv, out, err)`` returns the exit code (0 ok / in sync, 1 error, 3 drift or findings) so
it can be tested without a subprocess; ``run()`` is the console-script entry point.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from chalicelib.config import DEFAULT_CLI_JOURNAL, DEFAULT_REGISTRY, Settings
from chalicelib.errors import DriftError, RegistryValidationError
from chalicelib.registry.model import Problem

if TYPE_CHECKING:
    from rich.console import Console

    from chalicelib.wiring import Wiring

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 3


class CliError(Exception):
    """A usage problem reported as a one-line error with exit code 1."""


def _console(out: TextIO) -> Console:
    from rich.console import Console

    interactive = hasattr(out, "isatty") and out.isatty()
    return Console(file=out, highlight=False, soft_wrap=False, width=None if interactive else 120)


def _registry_help() -> str:
    return (
        "registry: a directory or s3://BUCKET/PREFIX "
        f"(default: $DRIFTWARDEN_REGISTRY, else {DEFAULT_REGISTRY})"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftwarden",
        description=(
            "Hold IAM roles, customer-managed policies, QuickSight data sources and Clean Rooms "
            "resources to a desired-state registry. Talks to AWS the way boto3 does (profiles, "
            "AWS_REGION, AWS_ENDPOINT_URL)."
        ),
        epilog="exit codes: 0 ok / in sync, 1 error, 3 drift or findings",
    )
    parser.add_argument("--profile", help="AWS profile to use")
    parser.add_argument("--region", help="AWS region (default: from the environment or profile)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check the registry (schema, references, rules)")
    p.add_argument("--registry", help=_registry_help())
    p.add_argument("--json", action="store_true", help="print the problems as JSON")

    p = sub.add_parser("publish", help="validate, then publish the registry atomically to S3")
    p.add_argument("--bucket", required=True, help="destination bucket (should be versioned)")
    p.add_argument("--prefix", default="", help="key prefix inside the bucket")
    p.add_argument("--registry", help="registry directory to publish (default: policies/)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("capture", help="write registry files from live state (adopt what exists)")
    p.add_argument("--out", required=True, help="directory to write the registry files into")
    p.add_argument("--role", action="append", default=[], metavar="NAME", help="role by name")
    p.add_argument("--path-prefix", help="roles whose path starts with this, e.g. /service-role/")
    p.add_argument("--tag", metavar="KEY[=VALUE]", help="roles carrying this tag")
    p.add_argument(
        "--data-source", action="append", default=[], metavar="ID", help="QuickSight data source"
    )
    p.add_argument("--quicksight", action="store_true", help="all QuickSight data sources")
    p.add_argument(
        "--cleanrooms", action="store_true", help="Clean Rooms service roles and memberships"
    )
    p.add_argument("--mode", choices=["enforce", "alert", "ignore"], help="mode of the entries")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--json", action="store_true", help="print the written files as JSON")

    p = sub.add_parser("audit", help="compare the registry with live state; changes nothing")
    p.add_argument("--registry", help=_registry_help())
    p.add_argument("--bucket", help="read the registry published to this bucket")
    p.add_argument("--prefix", default="", help="prefix of the published registry")
    p.add_argument("--resource", metavar="KIND/ID", help="audit one resource")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("sweep", help="audit, then respond per mode (alert or revert)")
    p.add_argument("--registry", help=_registry_help())
    p.add_argument("--dry-run", action="store_true", help="plan and report without writing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("handle-event", help="process one EventBridge event as the Lambda does")
    p.add_argument("file", nargs="?", default="-", help="event JSON file, or - for stdin")
    p.add_argument("--registry", help=_registry_help())
    p.add_argument("--dry-run", action="store_true", help="plan and report without writing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("undo", help="restore the state saved before an action")
    p.add_argument("action_id", metavar="ACTION_ID")
    p.add_argument("--journal", help="journal: s3://BUCKET/PREFIX or a directory")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("demo", help="the local demonstration against an embedded AWS emulator")
    p.add_argument("--registry", default=DEFAULT_REGISTRY, help="registry directory to seed from")
    p.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the emulator running at the end (Ctrl-C to stop)",
    )
    return parser


def _wiring(args: argparse.Namespace, settings: Settings) -> Wiring:
    from chalicelib.aws import make_session
    from chalicelib.wiring import Wiring

    return Wiring(
        settings,
        make_session(region=args.region, profile=args.profile),
        default_journal=DEFAULT_CLI_JOURNAL,
    )


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    registry = getattr(args, "registry", None)
    if getattr(args, "bucket", None) and args.command == "audit":
        if registry:
            raise CliError("give either --registry or --bucket, not both")
        prefix = args.prefix.strip("/")
        registry = f"s3://{args.bucket}/{prefix}" if prefix else f"s3://{args.bucket}"
    return settings.with_overrides(
        registry=registry,
        dry_run=True if getattr(args, "dry_run", False) else None,
        journal=getattr(args, "journal", None),
    )


def _print_json(out: TextIO, payload: Any) -> None:
    out.write(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chalicelib.registry.validate import validate_directory

    settings = _settings(args)
    location = settings.registry
    registry: Any = None
    problems: list[Any] = []
    if location.startswith("s3://"):
        try:
            registry = _wiring(args, settings).store_for(location).load()
        except RegistryValidationError as error:
            problems = list(error.problems)
    else:
        registry, problems = validate_directory(Path(location))
    if args.json:
        _print_json(
            out,
            {
                "registry": location,
                "valid": not problems,
                "entries": len(registry.entries) if registry else None,
                "problems": [_problem_json(p) for p in problems],
            },
        )
    else:
        console = _console(out)
        for problem in problems:
            console.print(_problem_text(problem), style="red", markup=False)
        if problems:
            console.print(f"{location}: invalid, {len(problems)} problem(s)", style="bold red")
        else:
            count = len(registry.entries) if registry else 0
            console.print(f"{location}: valid, {count} entries", style="bold green")
    return EXIT_ERROR if problems else EXIT_OK


def _problem_json(problem: Any) -> dict[str, Any]:
    if isinstance(problem, Problem):
        return problem.to_json()
    return {"file": None, "path": None, "code": None, "message": str(problem)}


def _problem_text(problem: Any) -> str:
    data = _problem_json(problem)
    where = data["file"] or "?"
    if data["path"]:
        where += f": {data['path']}"
    code = f" [{data['code']}]" if data["code"] else ""
    return f"{where}: {data['message']}{code}"


def cmd_publish(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chalicelib.registry.loader import load_directory
    from chalicelib.registry.store import publish

    settings = _settings(args)
    source = args.registry or DEFAULT_REGISTRY
    if source.startswith("s3://"):
        raise CliError("publish reads a registry directory; --registry must be a directory")
    registry = load_directory(Path(source))
    wiring = _wiring(args, settings)
    result = publish(
        wiring.client("s3"), args.bucket, args.prefix.strip("/"), registry, datetime.now(UTC)
    )
    payload = {
        "bucket": args.bucket,
        "digest": result.digest,
        "snapshot": result.snapshot_key,
        "pointer": result.pointer_key,
        "created": result.created,
        "entries": len(registry.entries),
    }
    if args.json:
        _print_json(out, payload)
    else:
        state = "new snapshot" if result.created else "snapshot already present"
        _console(out).print(
            f"published {len(registry.entries)} entries to s3://{args.bucket}/{result.pointer_key}"
            f" -> {result.snapshot_key} ({state}, {result.digest})",
            markup=False,
        )
    return EXIT_OK


def cmd_audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chalicelib.audit.render import report_renderables

    settings = _settings(args)
    wiring = _wiring(args, settings)
    report = wiring.audit(args.resource)
    if args.json:
        _print_json(out, report.to_json())
    else:
        console = _console(out)
        for renderable in report_renderables(report):
            console.print(renderable)
    return report.exit_code()


def cmd_capture(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chalicelib.capture import CaptureFilters, capture_live
    from chalicelib.models import Mode
    from chalicelib.registry.capture import render_entries

    settings = _settings(args)
    wiring = _wiring(args, settings)
    tag: tuple[str, str | None] | None = None
    if args.tag:
        key, sep, value = args.tag.partition("=")
        tag = (key, value if sep else None)
    filters = CaptureFilters(
        roles=tuple(args.role),
        path_prefix=args.path_prefix,
        tag=tag,
        data_sources=tuple(args.data_source),
        all_data_sources=args.quicksight,
        cleanrooms=args.cleanrooms,
    )
    lives = capture_live(wiring, filters)
    files = render_entries(lives, wiring.account, Mode(args.mode) if args.mode else None)
    target = Path(args.out)
    existing = [name for name, _ in files if (target / name).exists()]
    if existing and not args.force:
        raise CliError(
            f"{len(existing)} file(s) already exist under {target} (e.g. {existing[0]}); "
            "use --force to overwrite"
        )
    for name, text in files:
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if args.json:
        _print_json(out, {"out": str(target), "files": [name for name, _ in files]})
    else:
        console = _console(out)
        for name, _ in files:
            console.print(f"wrote {target / name}", markup=False)
        console.print(f"captured {len(files)} resource(s) into {target}", style="bold")
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chalicelib.audit.render import response_renderables

    wiring = _wiring(args, _settings(args))
    outcome = wiring.sweep()
    if args.json:
        _print_json(out, outcome.to_json())
    else:
        console = _console(out)
        for renderable in response_renderables(outcome.responses, outcome.decision, None):
            console.print(renderable)
    return outcome.exit_code()


def _read_event(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    try:
        return json.loads(text)
    except ValueError:
        # A malformed event is still processed: the responder reports it as ignored.
        return text


def cmd_handle_event(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chalicelib.audit.render import response_renderables

    try:
        raw = _read_event(args.file)
    except OSError as error:
        raise CliError(f"cannot read event {args.file}: {error.strerror}") from error
    wiring = _wiring(args, _settings(args))
    outcome = wiring.responder.handle_event(raw)
    if args.json:
        _print_json(out, outcome.to_json())
    else:
        console = _console(out)
        console.print(f"event {outcome.event_id}", style="bold", markup=False)
        for renderable in response_renderables(outcome.responses, outcome.decision, outcome.reason):
            console.print(renderable)
    return outcome.exit_code()


def cmd_undo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    wiring = _wiring(args, _settings(args))
    record = wiring.responder.undo(args.action_id)
    if args.json:
        _print_json(out, {"undone": args.action_id, "action": record.to_json()})
    else:
        _console(out).print(
            f"undid {args.action_id} with {record.action_id}: {record.resource} restored "
            f"({', '.join(record.calls) or 'no call needed'})",
            markup=False,
        )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chalicelib.local.demo import run_demo

    return run_demo(Path(args.registry), out, keep_running=args.keep_running)


COMMANDS = {
    "validate": cmd_validate,
    "publish": cmd_publish,
    "capture": cmd_capture,
    "audit": cmd_audit,
    "sweep": cmd_sweep,
    "handle-event": cmd_handle_event,
    "undo": cmd_undo,
    "demo": cmd_demo,
}


def main(
    argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run one command and return its exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) if exit_.code in (0, None) else EXIT_ERROR
    _send_logs_to(err)
    handler = COMMANDS.get(args.command)
    if handler is None:
        err.write(f"driftwarden: error: {args.command} is not available\n")
        return EXIT_ERROR
    try:
        return handler(args, out, err)
    except RegistryValidationError as error:
        for problem in error.problems:
            err.write(_problem_text(problem) + "\n")
        err.write(f"driftwarden: error: {error}\n")
        return EXIT_ERROR
    except (DriftError, CliError) as error:
        err.write(f"driftwarden: error: {error}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.write("driftwarden: interrupted\n")
        return EXIT_ERROR


def _send_logs_to(err: TextIO) -> None:
    """Keep stdout for results: driftwarden's structured logs go to ``err`` (warnings and up
    unless POWERTOOLS_LOG_LEVEL says otherwise)."""
    from aws_lambda_powertools import Logger

    level = os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING").upper()
    Logger(service="driftwarden", level=level)
    stdlib_logger = logging.getLogger("driftwarden")
    stdlib_logger.setLevel(level)
    for handler in stdlib_logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(err)


def run() -> None:
    """Console-script entry point."""
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "driftwarden")
    sys.exit(main())
