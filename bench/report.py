"""Plain-text tables of a benchmark result (the same text goes to the terminal and the README)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.projections import floor_paging

if TYPE_CHECKING:
    from collections.abc import Sequence

CONTENDER_ORDER = ("driftwarden", "driftwarden-whatif", "floor", "naive", "custodian")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: bool = True) -> str:
    """A fixed-width table; numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 or not right else v.rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _by_size(results: dict[str, Any]) -> dict[int, dict[str, dict[str, Any]]]:
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for row in results.get("sweep", []):
        out.setdefault(row["roles"], {})[row["contender"]] = row
    return out


def sweep_section(results: dict[str, Any]) -> str:
    options = results["options"]
    lines = [
        f"SWEEP: N roles (2 inline + 2 attached customer-managed policies each) + "
        f"{options['data_sources']} QuickSight data sources, {options['latency_ms']:g} ms "
        "injected per AWS call",
        "",
    ]
    rows = []
    skipped = {(s["roles"], s["contender"]): s for s in results.get("skipped", [])}
    for size, contenders in sorted(_by_size(results).items()):
        dw = contenders.get("driftwarden")
        for name in CONTENDER_ORDER:
            row = contenders.get(name)
            if row is None:
                skip = skipped.get((size, name))
                if skip:
                    rows.append(
                        [
                            size,
                            name,
                            None,
                            None,
                            None,
                            skip["calls_computed"],
                            None,
                            None,
                            "skipped",
                        ]
                    )
                continue
            ratio = row["wall_s"] / dw["wall_s"] if dw else None
            rows.append(
                [
                    size,
                    name,
                    row["wall_s"],
                    row["work_s"],
                    row["aws_s"],
                    row["calls"],
                    row["peak_rss_mb"],
                    ratio,
                    _note(row),
                ]
            )
    lines.append(
        table(
            [
                "roles",
                "contender",
                "wall s",
                "work s",
                "in AWS s",
                "API calls",
                "peak RSS MB",
                "x driftwarden",
                "note",
            ],
            rows,
        )
    )
    lines.append("")
    lines.append(
        "wall: the contender's whole process (interpreter, imports, work); work: measured inside "
        "the process (Custodian: its own policy durations); in AWS: summed time inside botocore "
        "calls (request, latency, moto, parsing; summed over threads for the naive reader); "
        "x driftwarden: wall time relative to driftwarden. Skipped rows show the computed call "
        "count."
    )
    for skip in results.get("skipped", []):
        lines.append(f"- skipped {skip['contender']} at {skip['roles']} roles: {skip['reason']}")
    return "\n".join(lines)


def _note(row: dict[str, Any]) -> str:
    result = row.get("result") or {}
    if row["contender"].startswith("driftwarden"):
        summary = result.get("summary") or {}
        phases = result.get("phases") or {}
        text = f"{summary.get('in_sync', 0)} in sync"
        others = {k: v for k, v in summary.items() if k != "in_sync" and v}
        if others:
            text += ", " + ", ".join(f"{v} {k}" for k, v in others.items())
        if phases:
            text += f"; registry {phases.get('registry_s', 0):.1f} s"
        return text
    if row["contender"] == "naive":
        return f"{result.get('workers')} threads"
    if row["contender"] == "custodian":
        matched = result.get("matched") or {}
        return "matched " + "+".join(str(v) for v in matched.values())
    if row["contender"] == "floor":
        return "pages " + "/".join(str(v) for v in (result.get("pages") or {}).values())
    return ""


def calls_section(results: dict[str, Any]) -> str:
    lines = ["API CALLS BY OPERATION (largest size each contender ran at)", ""]
    latest: dict[str, dict[str, Any]] = {}
    for row in results.get("sweep", []):
        if row["contender"] == "driftwarden-whatif":
            continue
        if row["contender"] not in latest or row["roles"] >= latest[row["contender"]]["roles"]:
            latest[row["contender"]] = row
    rows = []
    for name in CONTENDER_ORDER:
        row = latest.get(name)
        if row is None:
            continue
        ops = ", ".join(f"{op} {n:,}" for op, n in row["calls_by_operation"].items())
        rows.append([name, row["roles"], ops])
    lines.append(table(["contender", "roles", "calls"], rows, right=False))
    return "\n".join(lines)


def floor_section(results: dict[str, Any]) -> str:
    lines = [
        "FLOOR AS REAL AWS WOULD PAGE IT (moto returns GAAD and ListDataSources in one page)",
        "",
    ]
    rows = []
    data_sources = results["options"]["data_sources"]
    for size, contenders in sorted(_by_size(results).items()):
        floor = contenders.get("floor")
        dw = contenders.get("driftwarden")
        paging = floor_paging(size, data_sources)
        rows.append(
            [
                size,
                floor["calls"] if floor else None,
                dw["calls"] if dw else None,
                paging["max_page_size"],
                paging["max_page_size"] + 1,
                paging["default_page_size"],
                paging["max_page_size_with_permissions"],
            ]
        )
    lines.append(
        table(
            [
                "roles",
                "floor (moto)",
                "driftwarden (moto)",
                "floor, 1,000/page",
                "driftwarden, 1,000/page",
                "floor, 100/page",
                "+ permissions/data source",
            ],
            rows,
        )
    )
    lines.append("")
    lines.append(
        "Real AWS pages GAAD (roles + customer-managed policies, 3 items per benchmark role) and "
        "ListRoles at 100 items by default and 1,000 at most, ListDataSources at 100. "
        "driftwarden asks for 1,000 per IAM page and adds one sts:GetCallerIdentity. The last "
        "column is the issue's floor when the registry declares data source permissions (one "
        "DescribeDataSourcePermissions each; moto 5.2.5 has no such API, so the benchmark "
        "registry declares none)."
    )
    return "\n".join(lines)


def registry_section(results: dict[str, Any]) -> str:
    load = results.get("registry_load")
    if not load:
        return ""
    base, fixed = load["baseline"], load["what_if"]
    rows = [
        ["parse YAML directory", base["parse_yaml_dir_s"], fixed["parse_yaml_dir_s"]],
        ["parse JSON directory", base["parse_json_dir_s"], fixed["parse_json_dir_s"]],
        ["parse S3 snapshot body", base["parse_snapshot_s"], fixed["parse_snapshot_s"]],
        ["validate", base["validate_s"], fixed["validate_s"]],
    ]
    lines = [
        f"REGISTRY LOAD ({load['roles']} roles: {base['entries']:,} entries, snapshot "
        f"{base['snapshot_bytes'] / 1e6:.1f} MB)",
        "",
        table(["step", "seconds", "what-if seconds"], rows),
    ]
    return "\n".join(lines)


def events_section(results: dict[str, Any]) -> str:
    events = results.get("events")
    if not events:
        return ""
    rows = []
    for kind in events["kinds"]:
        median = kind["median"]
        s = median["split"]
        total = sum(s.values())
        rows.append(
            [
                f"{kind['kind']} ({kind['event_name']})",
                _ms(kind["latency_median_s"]),
                _ms(median["aws_s"]),
                s["read"],
                s["write"],
                s["registry"],
                s["journal"],
                s["other"],
                total,
                total - s["write"],
                " ".join(c for calls in median["revert_calls"] for c in calls),
            ]
        )
    lines = [
        f"PER EVENT, warm handler (registry of {events['registry_roles']:,} roles published to "
        f"S3; median of {events['reps']} events per kind; each the first revert of the hour)",
        "",
        table(
            [
                "event kind",
                "latency ms",
                "in AWS ms",
                "reads",
                "writes",
                "registry",
                "journal",
                "other",
                "total",
                "beyond revert",
                "revert",
            ],
            rows,
        ),
        "",
    ]
    growth = events.get("journal_growth") or []
    if growth:
        lines.append(
            "Journal I/O per revert as reverts accumulate within the hour: "
            + ", ".join(f"{g['reverts_before']} before -> {g['journal_calls']}" for g in growth)
        )
    etag = events["etag"]
    lines.append("")
    lines.append(
        f"Registry reads across {events.get('etag_events', 10)} in-sync events "
        "(S3 calls; 304 = not modified):"
    )
    for label, key in (
        ("no republish", "no_republish"),
        ("after a republish", "after_republish"),
    ):
        part = etag[key]
        calls = ", ".join(f"{op} {n}" for op, n in sorted(part["calls"].items()))
        not_modified = sum(part["not_modified"].values())
        lines.append(f"- {label}: {calls}; {not_modified} answered 304")
    return "\n".join(lines)


def cold_section(results: dict[str, Any]) -> str:
    cold = results.get("cold_start")
    first = results.get("first_event")
    if not cold and not first:
        return ""
    lines = ["COLD START", ""]
    rows = []
    if cold:
        runs = f"fastest of {cold['repeats']}; median"
        rows.append(
            [
                "import app (-X importtime)",
                cold["import_app_ms"],
                f"{runs} {cold.get('import_app_median_ms', 0):.0f} ms",
            ]
        )
        rows.append(
            [
                "import boto3 alone",
                cold["import_boto3_ms"],
                f"{runs} {cold.get('import_boto3_median_ms', 0):.0f} ms",
            ]
        )
        rows.append(["ratio", cold["ratio"], "target <= 1.3"])
    if first:
        fe = first["first_event"]
        se = first.get("second_event") or {}
        rows.append(["import app in the fresh process", _ms(first["import_app_s"]), ""])
        rows.append(
            ["first event (cold container)", _ms(fe["latency_s"]), _calls_text(fe["split"])]
        )
        if se:
            rows.append(["second event (now warm)", _ms(se["latency_s"]), _calls_text(se["split"])])
        rows.append(["fresh process, start to exit", _ms(first["process_wall_s"]), ""])
    lines.append(table(["", "ms", "note"], rows))
    if cold:
        lines.append("")
        lines.append(
            "Slowest imports under app: "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in cold["app_slowest_imports_ms"])
        )
    return "\n".join(lines)


def _calls_text(split: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in split.items() if v) + " calls"


def memory_section(results: dict[str, Any]) -> str:
    memory = results.get("memory")
    if not memory:
        return ""
    rows = [
        [r["contender"], r["wall_s"], r["calls"], r["peak_rss_mb"], _note(r)]
        for r in memory["rows"]
    ]
    return "\n".join(
        [
            f"MEMORY: audit of {memory['roles']:,} roles + {results['options']['data_sources']} "
            "data sources",
            "",
            table(["contender", "wall s", "API calls", "peak RSS MB", "note"], rows),
            f"({memory['skipped']})",
        ]
    )


def targets_section(results: dict[str, Any]) -> str:
    rows = []
    for t in results.get("targets", []):
        met = "yes" if t["met"] else "NO"
        rows.append([t["target"], t["goal"], t["measured"], met, t["note"]])
    return "\n".join(
        ["TARGETS (issue 6)", "", table(["target", "goal", "measured", "met", "note"], rows)]
    )


def render(results: dict[str, Any]) -> str:
    env = results.get("environment", {})
    head = (
        f"driftwarden benchmark, {results.get('started_at', '')}: Python {env.get('python')}, "
        f"{env.get('cpus')} CPUs, boto3 {env.get('boto3')}, moto {env.get('moto')}, "
        f"c7n {env.get('c7n', 'not installed')}; run took {results.get('duration_s', 0):.0f} s"
    )
    start, end = env.get("load_average_start"), env.get("load_average_end")
    if start and end:
        head += f"; load average {start[0]:.2f} at start, {end[0]:.2f} at end"
    parts = [
        head,
        sweep_section(results) if results.get("sweep") else "",
        floor_section(results) if results.get("sweep") else "",
        calls_section(results) if results.get("sweep") else "",
        registry_section(results),
        events_section(results),
        cold_section(results),
        memory_section(results),
        targets_section(results),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"
