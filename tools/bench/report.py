"""docs/benchmarks.md from the results run.py collected (the same results go to the JSON)."""

from __future__ import annotations

from typing import Any

import prices

TARGETS = {
    "overhead_s": 0.5,          # overhead beyond ECS, rolling without migration
    "usd_per_release": 0.0005,
    "cold_start_ms": 20,
    "rss_mb": 30,
    "zip_mb": 6,
    "burst_s": 60,
}


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.6f}"


def mmm_row(label: str, s: dict[str, Any], digits: int = 3, extra: list[str] | None = None) -> str:
    cells = [label, fmt(s.get("min"), digits), fmt(s.get("median"), digits), fmt(s.get("max"), digits)]
    return "| " + " | ".join(cells + (extra or [])) + " |"


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= target else "**missed**"


def header(results: dict[str, Any]) -> list[str]:
    m, meta = results["machine"], results["meta"]
    return [
        "# Benchmarks",
        "",
        "Measured on the local emulator (tools/local-aws), not on AWS: the ECS rollouts are the",
        "emulator's simulation, scaled down in time, so only what Stevedore adds on top of them,",
        "the tools' relative speed and the counted billable work carry over to AWS.",
        "",
        f"- Made by: `{meta['command']}` (`make bench`; `make bench-smoke` runs one round of",
        "  everything into a temporary directory). Every figure below comes from that one run.",
        f"- When: {meta['started']} (UTC), {meta['rounds']} rounds per figure (after one warm-up",
        "  release per scenario that is not counted: it starts each function's process).",
        f"- Binaries: {meta['profile']} profile, run by `cargo lambda watch` "
        f"({'--release' if meta['profile'] == 'release' else 'dev'}); each function started as "
        f"{meta.get('function_start', 'cargo run')}.",
        f"- Machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_gib']} GiB, {m['os']};"
        f" load average at start {', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}"
        " (the machine is shared).",
        f"- Emulator time scale: {meta.get('sim_settings')}",
        "",
    ]


def overhead_section(results: dict[str, Any]) -> list[str]:
    out = ["## Overhead beyond ECS's rollout (push -> SUCCEEDED recorded)", "",
           "Push: the harness's clock just before PutImage. SUCCEEDED recorded: the release's",
           "`finished_at`. ECS rollout: the emulator's record of the release's ECS deployment, from",
           "its creation to its completion (what ListServiceDeployments reports as createdAt ->",
           "finishedAt). With a migration the migration task's own run (DescribeTasks createdAt ->",
           "stoppedAt) is ECS's time too. Blue/green: Stevedore's lifecycle hook (the smoke test)",
           "runs inside ECS's rollout, so it is in the rollout's time, not in the overhead.",
           "\"emulator: StartExecution -> ExecutionStarted\": moto's Step Functions interpreter parses",
           "the state machine's definition (ANTLR, in Python) at every execution's start, before its",
           "first event; AWS does not, so the last row takes that time out. Seconds.", ""]
    target = TARGETS["overhead_s"]
    for name, fig in results["overhead"].items():
        s = fig["summary"]
        out += [f"### {name.replace('_', ' ')}", "",
                "| figure | min | median | max |", "| --- | --- | --- | --- |",
                mmm_row("push -> SUCCEEDED recorded", s["push_to_succeeded_s"]),
                mmm_row("ECS rollout", s["rollout_s"])]
        if "migration_task_s" in s:
            out.append(mmm_row("migration task run (ECS)", s["migration_task_s"]))
            out.append(mmm_row("overhead beyond the rollout", s["overhead_s"]))
        out.append(mmm_row("**Stevedore's overhead beyond ECS**", s["overhead_beyond_ecs_s"]))
        if "emulator_execution_start_s" in s:
            out.append(mmm_row("emulator: StartExecution -> ExecutionStarted", s["emulator_execution_start_s"]))
            out.append(mmm_row("overhead beyond ECS, less that", s["overhead_beyond_ecs_without_emulator_start_s"]))
        out.append("")
        med = s["overhead_beyond_ecs_s"]["median"]
        if name == "rolling":
            out += [f"Target: <= {target} s without migration (median): {verdict(med, target)}"
                    f" ({fmt(med)} s).", ""]
        out += ["Phases (consecutive spans between recorded moments):", "",
                "| span | min | median | max |", "| --- | --- | --- | --- |"]
        out += [mmm_row(k, v) for k, v in fig["phases"].items()]
        out += ["", "Deploy state machine, time in each state (entered -> exited, from the execution history):",
                "", "| state | min | median | max |", "| --- | --- | --- | --- |"]
        out += [mmm_row(k, v) for k, v in fig["states"].items()]
        out.append("")
    return out


def alternatives_section(results: dict[str, Any]) -> list[str]:
    alt = results["alternatives"]
    out = ["## The same deployment by other tools", "",
           "Same run, same emulator, same ECS service (`" + alt["service"] + "`, the rolling",
           "scenario's): each round, after Stevedore's release, each tool deploys a new image to the",
           "service and is timed from its start to its exit 0. Ratio: the tool's time / Stevedore's",
           "push -> SUCCEEDED of the same round (above 1: slower than Stevedore). Seconds.", "",
           "How each reaches the emulator: the standard `AWS_ENDPOINT_URL` environment variable",
           "(botocore honours it, so boto3 under ecs-deploy and the AWS CLI do), dummy credentials,",
           "`AWS_DEFAULT_REGION`; no flag and no code change. Versions: " + alt["versions"] + ".", "",
           "| tool | min | median | max | ratio (median) | ECS rollout (median) | time after ECS completed (median) |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, fig in alt["tools"].items():
        out.append(mmm_row(name, fig["wall_s"], extra=[
            fmt(fig["ratio"]["median"], 2), fmt(fig["rollout_s"]["median"]),
            fmt(fig["after_ecs_s"]["median"])]))
    out += ["", "- `ecs deploy CLUSTER SERVICE --image web IMAGE --timeout 300` (defaults otherwise:",
            "  it polls DescribeServices every `--sleep-time` 1 s).",
            "- The AWS CLI script is tools/bench/awscli_deploy.sh: describe-services,",
            "  describe-task-definition, register-task-definition, update-service, `ecs wait",
            "  services-stable`. That waiter polls every 15 s (40 attempts) as shipped and has no",
            "  option to change it in awscli v1; the second row overrides only its `delay` (1 s)",
            "  through botocore's documented AWS_DATA_PATH model path. \"Time after ECS completed\" is",
            "  what the poll interval costs: with no interval at all the script would end when ECS",
            "  completed, i.e. at (its time - that column).", ""]
    return out


def cost_section(results: dict[str, Any]) -> list[str]:
    c = results["cost"]
    target = TARGETS["usd_per_release"]
    out = ["## AWS cost per release", "",
           "Counted in the emulator while each release ran (tools/bench/cost.py says how), priced",
           f"at the list prices below. USD per release, median of {results['meta']['rounds']} rounds.", "",
           "| scenario | transitions | Lambda invocations | Lambda GB-s | DynamoDB RRU | DynamoDB WRU | log KB | EMF metrics | marginal cost | + EMF metric-hours (release alone in its hour) |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, fig in c["per_release"].items():
        s = fig["summary"]
        out.append("| " + " | ".join([
            name.replace("_", " "), fmt(s["transitions"]["median"], 0),
            fmt(s["lambda_invocations"]["median"], 0), fmt(s["lambda_gb_seconds"]["median"], 4),
            fmt(s["read_units"]["median"], 1), fmt(s["write_units"]["median"], 1),
            fmt(s["log_kb"]["median"], 1), fmt(s["emf_metrics"]["median"], 0),
            usd(s["usd_per_release"]["median"]),
            usd(s["usd_per_release_alone_in_its_hour"]["median"])]) + " |")
    out += ["", "Where the marginal cost of the rolling release goes (median round):", "",
            "| part | USD |", "| --- | --- |"]
    for part, value in c["per_release"]["rolling"]["breakdown"].items():
        out.append(f"| {part} | {usd(value)} |")
    roll = c["per_release"]["rolling"]["summary"]
    marginal = roll["usd_per_release"]["median"]
    alone = roll["usd_per_release_alone_in_its_hour"]["median"]
    out += ["", f"Target: <= ${target} per release. Marginal cost: {verdict(marginal, target)}"
                f" ({usd(marginal)}). With the EMF metrics of a release alone in its hour:"
                f" {verdict(alone, target)} ({usd(alone)}).", ""]
    out += c.get("notes", [])
    out += ["", "Calls per rolling release (median round's counts):", ""]
    fig = c["per_release"]["rolling"]
    out.append("- DynamoDB: " + ", ".join(f"{k} {v}" for k, v in fig["sample"]["dynamodb"]["operations"].items()))
    out.append("- priced API calls: " + (", ".join(f"{k} {v}" for k, v in fig["sample"]["priced_calls"].items()) or "none"))
    out.append("- API calls without a charge: " + ", ".join(f"{k} {v}" for k, v in fig["sample"]["free_calls"].items()))
    out.append("- by caller: " + "; ".join(
        f"{caller}: " + ", ".join(f"{k} {v}" for k, v in calls.items())
        for caller, calls in fig["sample"]["calls_by_caller"].items()))
    out.append("- Lambda: " + ", ".join(f"{k} {int(v['invocations'])} x {v['ms'] / max(1, v['invocations']):.0f} ms"
                                        for k, v in fig["sample"]["lambda"]["by_function"].items()))
    idle = c["idle"]
    out += ["", "### Idle cost per month (no release at all)", "", "| item | USD / month |", "| --- | --- |"]
    out += [f"| {line['item']} | ${line['usd']:.4f} |" for line in idle["lines"]]
    out += [f"| **total** | **${idle['usd']:.4f}** |", "",
            "No charge while idle: " + ", ".join(idle["no_idle_charge"]) + " (DynamoDB on-demand bills",
            "requests and storage only; the table's storage and continuous backup are $0.25 and $0.20",
            "per GB-month, about 2 KB per release item, so 10,000 releases cost < $0.01 a month;",
            "Lambda reading the table's stream is free). KMS keys in the template: "
            f"{idle['kms_keys']} (the queues use SQS-managed encryption, no charge).", "",
            f"### Prices (US East, N. Virginia; read {prices.READ_ON})", "",
            "| item | USD | unit | page |", "| --- | --- | --- | --- |"]
    out += [f"| {p['item']} | {p['usd']} | {p['unit']} | {p['page']} |" for p in prices.table()]
    out.append("")
    return out


def generic_section(title: str, data: Any) -> list[str]:
    """A figure from another module (binaries, burst): its own markdown when it gives one,
    else its numbers as tables."""
    out = [f"## {title}", ""]
    if isinstance(data, dict) and isinstance(data.get("markdown"), str):
        return out + [data["markdown"].rstrip(), ""]
    out += _generic(data, 0)
    return out + [""]


def _generic(data: Any, depth: int) -> list[str]:
    if isinstance(data, dict):
        stats = {k: v for k, v in data.items() if isinstance(v, dict) and "median" in v}
        rest = {k: v for k, v in data.items() if k not in stats}
        out: list[str] = []
        if stats:
            out += ["| figure | min | median | max |", "| --- | --- | --- | --- |"]
            out += [mmm_row(k, v) for k, v in stats.items()]
            out.append("")
        for key, value in rest.items():
            if isinstance(value, (dict, list)):
                out += [f"{'#' * min(6, depth + 3)} {key}", ""] + _generic(value, depth + 1)
            else:
                out.append(f"- {key}: {fmt(value)}")
        return out
    if isinstance(data, list):
        if data and all(isinstance(x, dict) for x in data):
            keys = list(dict.fromkeys(k for x in data for k in x))
            return (["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
                    + ["| " + " | ".join(fmt(x.get(k)) for k in keys) + " |" for x in data] + [""])
        return [f"- {fmt(x)}" for x in data] + [""]
    return [f"- {fmt(data)}", ""]


def timeline_section(results: dict[str, Any]) -> list[str]:
    """The rolling release's calls from the push to UpdateService (median-cost round): which
    calls run one after another before ECS is asked to roll out."""
    timeline = results["cost"]["per_release"]["rolling"]["sample"].get("timeline") or []
    cut = next((i for i, e in enumerate(timeline) if e["call"] == "ecs:UpdateService"), len(timeline) - 1)
    out = ["### Calls from the push to UpdateService (rolling; seconds after the push)", "",
           "From the emulator's request audit and Lambda bridge (the harness's own calls left out).", "",
           "| t | caller | call | status |", "| --- | --- | --- | --- |"]
    out += [f"| {e['t']:.3f} | {e['caller']} | {e['call']} | {e['status']} |" for e in timeline[:cut + 1]]
    return out + [""]


def targets_section(results: dict[str, Any]) -> list[str]:
    rows = results.get("targets", [])
    out = ["## Targets", "", "| target | measured | verdict |", "| --- | --- | --- |"]
    out += [f"| {r['target']} | {r['measured']} | {r['verdict']} |" for r in rows]
    return out + [""]


def render(results: dict[str, Any]) -> str:
    lines = header(results) + targets_section(results) + overhead_section(results)
    lines += alternatives_section(results) + cost_section(results)
    for key, title in (("binaries", "Function binaries: cold start, RSS, zip size"),
                       ("burst", "Burst: many pushes at once")):
        if key in results:
            lines += generic_section(title, results[key])
    lines += results.get("findings", [])
    lines += timeline_section(results)
    return "\n".join(lines).rstrip() + "\n"
