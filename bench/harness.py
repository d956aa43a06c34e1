"""Runs the benchmark end to end and writes bench/results/latest.json plus a printed table.

Sections: the sweep at each size (driftwarden, the floor, a naive reader, Cloud Custodian,
and driftwarden with the what-if fixes), registry loading, per-event cost, cold start, and
the peak memory of a 10,000-role audit. See bench/README.md for the method.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import coldstart, custodian, workload
from bench.emulator import FAKE_CREDENTIALS, Emulator
from bench.projections import custodian_calls, floor_paging, naive_calls
from bench.report import render

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results" / "latest.json"


@dataclass
class Options:
    """What to run; ``--small`` sets the CI-sized defaults."""

    sizes: list[int] = field(default_factory=lambda: [100, 1000, 5000])
    data_sources: int = 300
    latency_ms: float = 20.0
    memory_roles: int = 10_000
    custodian: str = "install"  # install | existing | skip
    custodian_max_roles: int = 5000
    naive_max_roles: int = 1000
    naive_workers: int = 8
    whatif_max_roles: int = 5000
    event_roles: int = 1000
    reps: int = 3
    etag_events: int = 10
    growth: int = 5
    import_repeats: int = 5
    sections: tuple[str, ...] = ("sweep", "registry", "events", "cold", "memory")
    out: Path = DEFAULT_OUT
    keep_temp: bool = False
    small: bool = False


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="driftwarden benchmark (see bench/README.md)."
    )
    parser.add_argument("--small", action="store_true", help="a tiny run to check the harness")
    parser.add_argument("--sizes", help="comma-separated role counts (default 100,1000,5000)")
    parser.add_argument("--data-sources", type=int)
    parser.add_argument("--latency-ms", type=float)
    parser.add_argument("--memory-roles", type=int, help="roles of the memory run (0: skip)")
    parser.add_argument("--custodian", choices=("install", "existing", "skip"))
    parser.add_argument("--custodian-max-roles", type=int)
    parser.add_argument("--naive-max-roles", type=int)
    parser.add_argument("--naive-workers", type=int)
    parser.add_argument("--whatif-max-roles", type=int)
    parser.add_argument("--event-roles", type=int, help="registry size of the event section")
    parser.add_argument("--reps", type=int, help="events measured per event kind")
    parser.add_argument("--import-repeats", type=int)
    parser.add_argument("--sections", help="comma-separated: sweep,registry,events,cold,memory")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep-temp", action="store_true")
    args = parser.parse_args(argv)
    options = Options()
    if args.small:
        options = Options(
            sizes=[5],
            data_sources=3,
            memory_roles=0,
            custodian="existing",
            naive_workers=2,
            event_roles=5,
            reps=1,
            etag_events=3,
            growth=2,
            import_repeats=1,
            sections=("sweep", "registry", "events", "cold"),
            small=True,
        )
    if args.sizes:
        options.sizes = sorted(int(s) for s in args.sizes.split(","))
    for name in (
        "data_sources",
        "latency_ms",
        "memory_roles",
        "custodian",
        "custodian_max_roles",
        "naive_max_roles",
        "naive_workers",
        "whatif_max_roles",
        "event_roles",
        "reps",
        "import_repeats",
        "out",
    ):
        value = getattr(args, name)
        if value is not None:
            setattr(options, name, value)
    if args.sections:
        options.sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    options.keep_temp = args.keep_temp
    if options.event_roles not in options.sizes:
        smaller = [s for s in options.sizes if s <= options.event_roles]
        options.event_roles = smaller[-1] if smaller else options.sizes[0]
    return options


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The harness's environment without AWS profiles or driftwarden settings, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DRIFTWARDEN_", "AWS_", "POWERTOOLS_"))
    }
    env.update(
        {
            "POWERTOOLS_SERVICE_NAME": "driftwarden",
            "POWERTOOLS_METRICS_NAMESPACE": "Driftwarden",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


# ------------------------------------------------------------------------------ running


class Bench:
    """One benchmark run: the emulator, the temporary directory and the collected results."""

    def __init__(self, options: Options, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.registry_dir = workdir / "registry"
        self.registry_roles = 0
        self.emulator = Emulator(options.latency_ms)
        self.custodian_exe: Path | None = None
        self.custodian_note = ""
        self.results: dict[str, Any] = {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "options": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()
            },
            "environment": environment(),
            "sweep": [],
            "skipped": [],
        }

    # -------------------------------------------------------------------------- helpers

    def measured(self, label: str, command: list[str], env: dict[str, str]) -> dict[str, Any]:
        """Run ``command`` under bench/measure.py; its wall time, exit status and peak RSS."""
        out = self.workdir / f"measure-{label}.json"
        logfile = self.logs / f"{label}.log"
        wrapper = [sys.executable, "-S", str(ROOT / "bench" / "measure.py"), str(out), "--"]
        with logfile.open("w") as handle:
            subprocess.run(
                [*wrapper, *command], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
            )
        measured: dict[str, Any] = json.loads(out.read_text())
        if measured["exit"] != 0:
            tail = "".join(logfile.read_text().splitlines(keepends=True)[-30:])
            raise RuntimeError(f"{label} failed (exit {measured['exit']}):\n{tail}")
        return measured

    def grow(self, roles: int) -> None:
        started = time.perf_counter()
        self.emulator.grow(roles, self.options.data_sources)
        workload.write_registry(
            self.registry_dir, roles, self.options.data_sources, "json", start=self.registry_roles
        )
        self.registry_roles = roles
        log(f"account and registry hold {roles} roles ({time.perf_counter() - started:.1f} s)")

    def python_contender(self, name: str, size: int, *extra: str) -> dict[str, Any]:
        label = f"{name}{'-whatif' if '--what-if' in extra else ''}-{size}"
        out = self.workdir / f"{label}.json"
        command = [
            sys.executable,
            "-m",
            "bench.contenders",
            name,
            "--registry",
            str(self.registry_dir),
            "--out",
            str(out),
            *extra,
        ]
        self.emulator.reset_counts()
        measured = self.measured(label, command, child_env(self.emulator.env()))
        counts = self.emulator.counts()
        result: dict[str, Any] = json.loads(out.read_text())
        return self._row(label, name, size, measured, counts, result)

    def custodian_contender(self, size: int) -> dict[str, Any]:
        assert self.custodian_exe is not None
        output = self.workdir / f"c7n-{size}"
        policy = custodian.write_policy(self.workdir)
        command = custodian.command(policy, output, workload.REGION)
        env = child_env({**self.emulator.env(), "HOME": str(self.workdir)})
        self.emulator.reset_counts()
        measured = self.measured(f"custodian-{size}", command, env)
        counts = self.emulator.counts()
        result = custodian.results(output)
        result["work_s"] = result["custodian_duration_s"]
        return self._row(f"custodian-{size}", "custodian", size, measured, counts, result)

    def _row(
        self,
        label: str,
        name: str,
        size: int,
        measured: dict[str, Any],
        counts: dict[str, Any],
        result: dict[str, Any],
    ) -> dict[str, Any]:
        calls = dict(sorted(counts["calls"].items()))
        row = {
            "roles": size,
            "data_sources": self.options.data_sources,
            "contender": label.rsplit("-", 1)[0],
            "wall_s": measured["wall_s"],
            "work_s": result.get("work_s"),
            "aws_s": result.get("aws_s"),
            "peak_rss_mb": measured["maxrss_mb"],
            "calls": sum(calls.values()),
            "calls_by_operation": calls,
            "errors": counts["statuses"],
            "result": result,
        }
        log(
            f"{row['contender']:>18} at {size} roles: {row['wall_s']:.2f} s, "
            f"{row['calls']} calls, {row['peak_rss_mb']:.0f} MB"
        )
        return row

    # -------------------------------------------------------------------------- sections

    def set_up_custodian(self) -> None:
        mode = self.options.custodian
        if mode == "skip":
            self.custodian_note = "skipped (--custodian skip)"
            return
        exe, reason = custodian.ensure_venv(install=mode == "install")
        self.custodian_exe = exe
        self.custodian_note = reason
        if exe is not None:
            self.results["environment"]["c7n"] = custodian.version()
        log(f"Cloud Custodian: {exe or reason}")

    def sweep(self, size: int) -> None:
        rows: list[dict[str, Any]] = self.results["sweep"]
        options = self.options
        rows.append(self.python_contender("floor", size))
        rows.append(self.python_contender("driftwarden", size))
        if size <= options.whatif_max_roles:
            rows.append(self.python_contender("driftwarden", size, "--what-if"))
        if size <= options.naive_max_roles:
            workers = str(options.naive_workers)
            rows.append(self.python_contender("naive", size, "--workers", workers))
        else:
            self.skip(size, "naive", "above --naive-max-roles (time budget)")
        if self.custodian_exe is None:
            self.skip(size, "custodian", self.custodian_note)
        elif size <= options.custodian_max_roles:
            rows.append(self.custodian_contender(size))
        else:
            self.skip(size, "custodian", "above --custodian-max-roles (time budget)")
        self.check_formulas(size)

    def check_formulas(self, size: int) -> None:
        """Compare the computed call counts with the measured ones (they justify skipped rows)."""
        formulas = {"naive": naive_calls, "custodian": custodian_calls}
        for row in self.results["sweep"]:
            formula = formulas.get(row["contender"])
            if formula is None or row["roles"] != size:
                continue
            row["calls_computed"] = formula(size, self.options.data_sources)
            if row["calls_computed"] != row["calls"]:
                made, computed = row["calls"], row["calls_computed"]
                log(f"{row['contender']}: computed {computed} calls, made {made}")

    def skip(self, size: int, contender: str, reason: str) -> None:
        computed = {
            "naive": naive_calls(size, self.options.data_sources),
            "custodian": custodian_calls(size, self.options.data_sources),
        }.get(contender)
        self.results["skipped"].append(
            {"roles": size, "contender": contender, "reason": reason, "calls_computed": computed}
        )

    def registry_load(self) -> None:
        size = self.registry_roles
        yaml_dir = self.workdir / "registry-yaml"
        if not yaml_dir.exists():
            workload.write_registry(yaml_dir, size, self.options.data_sources, "yaml")
        out = self.workdir / "registry-load.json"
        command = [
            sys.executable,
            "-m",
            "bench.contenders",
            "registry",
            "--registry",
            str(self.registry_dir),
            "--yaml-registry",
            str(yaml_dir),
            "--out",
            str(out),
        ]
        measured = self.measured("registry-load", command, child_env({}))
        result = json.loads(out.read_text())
        result["roles"] = size
        result["peak_rss_mb"] = measured["maxrss_mb"]
        self.results["registry_load"] = result
        log(f"registry load measured at {size} roles")

    def events(self) -> None:
        from bench import events

        events.set_up(self.emulator.moto_url, str(self.registry_dir), self.registry_roles)
        out = self.workdir / "events.json"
        command = [
            sys.executable,
            "-m",
            "bench.events",
            "warm",
            "--proxy",
            self.emulator.proxy_url,
            "--moto",
            self.emulator.moto_url,
            "--registry",
            str(self.registry_dir),
            "--roles",
            str(self.registry_roles),
            "--reps",
            str(self.options.reps),
            "--etag-events",
            str(self.options.etag_events),
            "--growth",
            str(self.options.growth),
            "--out",
            str(out),
        ]
        env = child_env({**self.emulator.env(), **events.settings_env()})
        self.measured("events-warm", command, env)
        self.results["events"] = json.loads(out.read_text())
        log("per-event section done")
        self.first_event()

    def first_event(self) -> None:
        from bench import events

        drifter = events.Drifter(self.emulator.moto_url, self.registry_roles)
        first = drifter.inline_policy_put(1)
        second = drifter.inline_policy_put(2)
        event_file = self.workdir / "first-events.json"
        event_file.write_text(json.dumps([first, second]))
        out = self.workdir / "first-event.json"
        command = [
            sys.executable,
            "-m",
            "bench.events",
            "first-event",
            "--proxy",
            self.emulator.proxy_url,
            "--events",
            str(event_file),
            "--out",
            str(out),
        ]
        settings = {
            **events.settings_env(),
            "DRIFTWARDEN_JOURNAL": f"s3://{events.JOURNAL_BUCKET}/journal-cold",
        }
        env = child_env({**self.emulator.env(), **settings})
        measured = self.measured("first-event", command, env)
        result = json.loads(out.read_text())
        result["process_wall_s"] = measured["wall_s"]
        result["peak_rss_mb"] = measured["maxrss_mb"]
        self.results["first_event"] = result
        log(f"first event in a fresh process: {result['first_event']['latency_s'] * 1000:.0f} ms")

    def cold(self) -> None:
        env = child_env({**FAKE_CREDENTIALS})
        self.results["cold_start"] = coldstart.measure(env, self.options.import_repeats)
        log("import times measured")

    def memory(self) -> None:
        size = self.options.memory_roles
        self.grow(size)
        rows = [self.python_contender("floor", size), self.python_contender("driftwarden", size)]
        self.results["memory"] = {
            "roles": size,
            "rows": rows,
            "skipped": "naive, Cloud Custodian and what-if: not run at this size (time budget)",
        }

    # ------------------------------------------------------------------------------- run

    def run(self) -> dict[str, Any]:
        options = self.options
        started = time.perf_counter()
        if "sweep" in options.sections:
            self.set_up_custodian()
        if "cold" in options.sections:
            self.cold()
        with self.emulator:
            for size in options.sizes:
                self.grow(size)
                if "sweep" in options.sections:
                    self.sweep(size)
                if size == options.event_roles:
                    if "registry" in options.sections:
                        self.registry_load()
                    if "events" in options.sections:
                        self.events()
            if "memory" in options.sections and options.memory_roles:
                self.memory()
        self.results["duration_s"] = time.perf_counter() - started
        self.results["environment"]["load_average_end"] = os.getloadavg()
        self.results["targets"] = targets(self.results)
        return self.results


def environment() -> dict[str, Any]:
    import platform

    import boto3
    import moto

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "boto3": boto3.__version__,
        "moto": moto.__version__,
        # Other work on the machine skews every timing: compare these with the CPU count.
        "load_average_start": os.getloadavg(),
    }


# ------------------------------------------------------------------------------- targets


def _row(results: dict[str, Any], contender: str, roles: int) -> dict[str, Any] | None:
    return next(
        (r for r in results["sweep"] if r["contender"] == contender and r["roles"] == roles), None
    )


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets with the measured value, whether it is met and by how much not."""
    out: list[dict[str, Any]] = []
    sizes = sorted({r["roles"] for r in results["sweep"]})
    at = 1000 if 1000 in sizes else (sizes[-1] if sizes else 0)

    def add(name: str, goal: str, value: float | None, met: bool | None, note: str) -> None:
        out.append({"target": name, "goal": goal, "measured": value, "met": met, "note": note})

    dw, floor, c7n = (_row(results, c, at) for c in ("driftwarden", "floor", "custodian"))
    if dw and c7n:
        ratio = c7n["wall_s"] / dw["wall_s"]
        add(
            f"faster than Cloud Custodian ({at} roles)",
            ">= 40x",
            ratio,
            ratio >= 40,
            f"{c7n['wall_s']:.1f} s vs {dw['wall_s']:.1f} s",
        )
    if dw and floor:
        ratio = dw["wall_s"] / floor["wall_s"]
        add(
            f"time vs bare bulk read ({at} roles)",
            "<= 1.5x",
            ratio,
            ratio <= 1.5,
            f"{dw['wall_s']:.1f} s vs {floor['wall_s']:.1f} s",
        )
        calls = dw["calls"] / floor["calls"]
        add(
            f"API calls vs floor ({at} roles, moto)",
            "<= 1.10x",
            calls,
            calls <= 1.10,
            f"{dw['calls']} vs {floor['calls']} calls (moto: one GAAD page)",
        )
        paging = floor_paging(at, results["options"]["data_sources"])
        projected = (paging["max_page_size"] + 1) / paging["max_page_size"]
        add(
            f"API calls vs floor ({at} roles, real AWS paging)",
            "<= 1.10x",
            projected,
            projected <= 1.10,
            f"{paging['max_page_size'] + 1} vs {paging['max_page_size']} calls at 1,000 per page",
        )
    events = results.get("events")
    if events:
        beyond = max(
            k["median"]["split"]["read"]
            + k["median"]["split"]["registry"]
            + k["median"]["split"]["journal"]
            + k["median"]["split"]["other"]
            for k in events["kinds"]
        )
        add(
            "AWS calls per event beyond the revert",
            "<= 5",
            beyond,
            beyond <= 5,
            "worst event kind, first revert of the hour",
        )
    cold = results.get("cold_start")
    if cold and cold.get("ratio"):
        add(
            "import app vs import boto3",
            "<= 1.3x",
            cold["ratio"],
            cold["ratio"] <= 1.3,
            f"{cold['import_app_ms']:.0f} ms vs {cold['import_boto3_ms']:.0f} ms",
        )
    memory = results.get("memory")
    if memory:
        dw_mem = next((r for r in memory["rows"] if r["contender"] == "driftwarden"), None)
        if dw_mem:
            add(
                f"peak RSS, {memory['roles']}-role audit",
                "<= 128 MB",
                dw_mem["peak_rss_mb"],
                dw_mem["peak_rss_mb"] <= 128,
                "",
            )
    return out


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="driftwarden-bench-"))
    log(f"working in {workdir}")
    try:
        results = Bench(options, workdir).run()
    finally:
        if not options.keep_temp:
            shutil.rmtree(workdir, ignore_errors=True)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(results, indent=2, default=str))
    table = render(results)
    options.out.with_suffix(".txt").write_text(table)
    print(table)
    log(f"wrote {options.out} and {options.out.with_suffix('.txt')}")
    return 0
