"""`spidra-contract`: serve the mock, score the suite against the fault catalogue, manage baselines."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click

from spidra_contract.mock import catalogue
from spidra_contract.mock.app import make_state
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY
from spidra_contract.tools.runner import SUITE, run_suite, suite_args, with_paths_from


@click.group()
@click.version_option(package_name="spidra-contract", prog_name="spidra-contract")
def main() -> None:
    """Contract suite for the Spidra crawl-status endpoint, GET /crawl/{jobId}."""


@main.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the contract suite from any folder, with the options, reports and exit codes of `pytest` in the
    project; pytest's own options go through as they are. Reports go to ./reports unless --report-dir (or
    SPIDRA_REPORT_DIR) says otherwise."""
    import os

    from spidra_contract.tools.runner import Supervised

    args = [a for a in ctx.args if a != "--"]
    if "--pytest-help" in args:
        args = ["--help"]
    elif "--help" in args or "-h" in args:
        click.echo(suite_help(ctx))
        return
    args, env = with_paths_from(args, Path.cwd())
    # A pytest process of its own (this one has imported what pytest must see first, to rewrite plugins), run in
    # the packaged suite's folder so its test paths stay short; every path the user gave is absolute by now.
    with Supervised() as supervised:
        code = supervised.call(
            [sys.executable, "-m", "pytest", *suite_args(), *args], cwd=SUITE, env={**os.environ, **env}
        )
    sys.exit(code)


def suite_help(ctx: click.Context) -> str:
    """`spidra-contract run --help`: the suite's options first (the plugin's one definition of them), then how to
    pass pytest's."""
    from spidra_contract.core.settings import OPTIONS, OptionKind

    formatter = ctx.make_formatter()
    formatter.write_usage("spidra-contract run", "[SUITE OPTIONS] [PYTEST OPTIONS]")
    formatter.write_paragraph()
    formatter.write_text(
        "Runs the Spidra crawl-status contract suite (the embedded mock when no --base-url is given) and exits "
        "0 conformant, 1 violations, 3 suite error, 4 bad options, 6 unreachable, 7 incomplete."
    )
    rows = []
    for option in OPTIONS:
        metavar = (
            ""
            if option.kind is OptionKind.FLAG
            else " "
            + ("{" + ",".join(option.choices) + "}" if option.choices else option.name.upper().replace("-", "_"))
        )
        rows.append((f"{option.flag}{metavar}", f"{option.help} [env {option.env}]"))
    with formatter.section("Suite options (also spelled --spidra-NAME)"):
        formatter.write_dl(rows)
    with formatter.section("pytest options"):
        formatter.write_text(
            "Any other option goes to pytest as it is: -k EXPR, -m LAYER (job_body, auth, doors, unknown, "
            "property, lifecycle, cross_account, hostile, burst, sweep), -n 2, -x, -v. "
            "`spidra-contract run --pytest-help` lists every pytest option."
        )
    return formatter.getvalue().rstrip("\n")


@main.command("serve-mock")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--switch", "switches", multiple=True, help="a fault or variant from the catalogue (repeatable)")
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=float,
    help="how much faster than real time progressing jobs advance",
)
@click.option("--corpus", default=0, show_default=True, type=int, help="add this many finished jobs")
@click.option(
    "--ids-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the corpus job ids here, one a line (for --job-ids-file)",
)
def serve_mock(
    host: str, port: int, switches: tuple[str, ...], time_scale: float, corpus: int, ids_file: Path | None
) -> None:
    """Serve the embedded mock over HTTP, printing its keys and job ids."""
    from spidra_contract.mock.jobs import add_corpus
    from spidra_contract.mock.server import bind, serve_forever

    try:
        state = make_state(switches, time_scale=time_scale)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        sock = bind(host, port)  # before the banner: a busy port is one line, not a banner and a traceback
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    ids = state.job_ids("alpha")
    if corpus:
        corpus_ids = add_corpus(state.store, corpus)
        if ids_file is not None:
            ids_file.write_text("\n".join(corpus_ids) + "\n", encoding="utf-8")
        click.echo(f"corpus:         {corpus} more finished jobs" + (f", ids in {ids_file}" if ids_file else ""))
    click.echo(f"base url:       http://{host}:{port}/api")
    click.echo(f"api key:        {ALPHA_KEY}")
    click.echo(f"other api key:  {BETA_KEY}")
    click.echo(f"job ids:        {','.join(ids)}")
    click.echo(
        "run the suite:  spidra-contract run " + f"--base-url http://{host}:{port}/api --api-key {ALPHA_KEY} "
        f"--other-api-key {BETA_KEY} " + " ".join(f"--job-id {i}" for i in ids)
    )
    if switches:
        click.echo(f"switches on:    {', '.join(switches)}")
    sys.stdout.flush()
    serve_forever(state, sock)


@dataclass
class Outcome:
    switch: catalogue.Switch
    exit_code: int
    failed_clauses: tuple[str, ...]
    seconds: float
    output: str

    @property
    def output_tail(self) -> str:
        return "\n".join(self.output.strip().splitlines()[-5:])

    @property
    def ok(self) -> bool:
        expected = self.switch.expected_exit
        if self.exit_code != expected:
            return False
        return not self.switch.clause or self.switch.clause in self.failed_clauses

    @property
    def verdict(self) -> str:
        if self.switch.is_fault:
            if self.ok:
                return "caught" if self.switch.clause else f"stopped as expected (exit {self.exit_code})"
            if self.exit_code == 1:
                return f"caught by other clauses only ({', '.join(self.failed_clauses) or '?'})"
            if self.exit_code == 0:
                return "MISSED (exit 0)"
            return f"could not test (exit {self.exit_code}), expected exit {self.switch.expected_exit}"
        return "passed" if self.ok else f"FALSE ALARM (exit {self.exit_code}: {', '.join(self.failed_clauses)})"


def marker_expression(switch: catalogue.Switch) -> str:
    """What a fault's run passes to `-m` ("" for the whole suite): its own layers, else the layer the clause
    registry names for its clause. Variants run the whole suite (a false alarm may come from any layer)."""
    from spidra_contract.clauses import CLAUSES

    if not switch.is_fault or switch.layers == "all":
        return ""
    if switch.layers:
        return switch.layers
    return CLAUSES[switch.clause].layer if switch.clause else ""


def run_switch(switch: catalogue.Switch, workdir: Path, extra: tuple[str, ...], *, full: bool = False) -> Outcome:
    """Run the suite against the mock with one switch on: a fault, the layer meant to catch it (unless
    `full`); a variant, the whole suite."""
    report_dir = workdir / switch.name
    started = time.monotonic()
    marker = marker_expression(switch)
    layers = () if full or not marker else ("-m", marker)
    result = run_suite(
        "--mock-switch", switch.name, *switch.options, *layers, *extra, report_dir=report_dir, packaged=True
    )
    failed: tuple[str, ...] = ()
    summary = report_dir / "summary.json"
    if summary.is_file():
        data = json.loads(summary.read_text(encoding="utf-8"))
        failed = tuple(row["clause"] for row in data["clauses"] if row["failed"])
    return Outcome(switch, result.exit_code, failed, time.monotonic() - started, result.output)


def score(
    names: tuple[str, ...] = (),
    jobs: int = 2,
    extra: tuple[str, ...] = (),
    workdir: Path | None = None,
    full: bool = False,
) -> list[Outcome]:
    switches = (
        [catalogue.CATALOGUE[name] for name in catalogue.validate(names)]
        if names
        else list(catalogue.FAULTS + catalogue.VARIANTS)
    )
    with tempfile.TemporaryDirectory(prefix="spidra-faults-") as tmp:
        base = workdir or Path(tmp)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            return list(pool.map(lambda s: run_switch(s, base, extra, full=full), switches))


@main.command("faults")
@click.option("--list", "list_only", is_flag=True, help="list the catalogue and exit")
@click.option("--only", "names", multiple=True, help="run only these switches (repeatable)")
@click.option("--jobs", "-j", default=2, show_default=True, help="suite runs in parallel")
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="keep each run's reports here (default: a temporary folder)",
)
@click.option(
    "--full",
    is_flag=True,
    help="run the whole suite on every fault (default: the layer meant to catch it; variants always whole)",
)
def faults(list_only: bool, names: tuple[str, ...], jobs: int, report_dir: Path | None, full: bool) -> None:
    """Run the suite against every fault and variant of the mock; print the table and the score."""
    if list_only:
        for switch in catalogue.FAULTS + catalogue.VARIANTS:
            kind = f"fault -> {switch.clause or f'exit {switch.expected_exit}'}" if switch.is_fault else "variant"
            layers = marker_expression(switch) or "all"
            click.echo(f"{switch.name:24} {switch.category:18} {kind:32} {layers:14} {switch.description}")
        return
    try:
        catalogue.validate(names)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    started = time.monotonic()
    outcomes = score(names, jobs, workdir=report_dir, full=full)
    click.echo(f"{'switch':24} {'kind':8} {'expected clause':20} {'seconds':>7}  verdict")
    for outcome in outcomes:
        kind = "fault" if outcome.switch.is_fault else "variant"
        click.echo(
            f"{outcome.switch.name:24} {kind:8} {outcome.switch.clause or '-':20} "
            f"{outcome.seconds:7.1f}  {outcome.verdict}"
        )
    caught = sum(o.ok for o in outcomes if o.switch.is_fault)
    fault_total = sum(o.switch.is_fault for o in outcomes)
    passed = sum(o.ok for o in outcomes if not o.switch.is_fault)
    variant_total = len(outcomes) - fault_total
    click.echo(
        f"score: {caught}/{fault_total} faults caught, {passed}/{variant_total} variants passed, "
        f"{time.monotonic() - started:.0f} s"
    )
    for outcome in outcomes:
        if not outcome.ok:
            click.echo(f"--- {outcome.switch.name}:\n{outcome.output_tail}")
    sys.exit(0 if all(o.ok for o in outcomes) else 1)


@main.command("replay")
@click.argument("cassette", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--spec",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="the OpenAPI document (default: the suite's openapi.yaml)",
)
@click.option(
    "--only",
    "only",
    default=None,
    help="replay only the exchanges of this request line, exactly as a report prints it (`GET http://.../crawl/"
    "3f1c -> 404`; `request:` and the status are optional; '...' stands for any text)",
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="findings known in this baseline (or summary.json) do not fail the replay, as in the run",
)
def replay(cassette: Path, spec: Path | None, only: str | None, baseline: Path | None) -> None:
    """Judge the exchanges of a cassette.har again, offline, with the current clauses: each by the clauses the
    run judged it with, doors, cross-account and lifecycle against the earlier exchange the run compared it
    with. Exit 1 on a finding not in --baseline, as the run would."""
    from spidra_contract.core.spec import SpecError, load_contract
    from spidra_contract.judging import replay as replaying
    from spidra_contract.judging.baseline import Baseline, BaselineError
    from spidra_contract.reporting.render import violation_line

    try:
        contract = load_contract(spec or SUITE / "openapi.yaml")
        entries = json.loads(cassette.read_text(encoding="utf-8"))["log"]["entries"]
        known = Baseline.load(baseline) if baseline is not None else None
    except (SpecError, ValueError, KeyError, BaselineError) as exc:
        raise click.UsageError(f"cannot replay {cassette}: {exc}") from None
    wanted = replaying.printed_request(only) if only is not None else None
    replayed = replaying.replay(entries, contract, wanted, known)
    if wanted is not None and not replayed:
        raise click.UsageError(f"no exchange of {cassette} has the request line --only {only!r}")
    steps = violated = known_count = missing = 0
    for result in replayed:
        missing += len(result.missing)
        if not result.judgements:
            continue
        steps += 1
        violated += bool(result.new)
        known_count += len(result.judgements) - len(result.new)
        click.echo(f"{result.reply.request_line} -> {result.reply.status}")
        for judgement in result.judgements:
            label = " (known)" if judgement not in result.new else ""
            for violation in judgement.violations:
                click.echo(f"  {violation_line(violation)}{label}")
            for identity in judgement.identities:
                click.echo(f"    finding: {identity.key}")
    for result in replayed:
        for reason in result.missing:
            click.echo(f"not judged: {result.reply.request_line}: {reason}")
    click.echo(
        f"replayed {len(replayed)} exchanges: {violated} with new violations"
        + (f", {known_count} known finding(s)" if known_count else "")
        + (f", {missing} pairwise judgement(s) without their earlier read" if missing else "")
    )
    sys.exit(1 if violated else 0)


@main.command("spec-patch")
@click.argument("summary", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--spec",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="the OpenAPI document the run judged (default: ./openapi.yaml if there is one, else the suite's)",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where to write openapi.suggested.yaml and openapi.patch (default: beside the summary)",
)
def spec_patch(summary: Path, spec: Path | None, out: Path | None) -> None:
    """Write openapi.suggested.yaml and openapi.patch from a run's summary.json, offline: the spec describing what
    the run observed (never hiding a violation), checked to be valid OpenAPI."""
    from spidra_contract.reporting import specpatch

    spec = spec or (Path("openapi.yaml") if Path("openapi.yaml").is_file() else SUITE / "openapi.yaml")
    try:
        patch = specpatch.from_summary(summary, spec)
    except (ValueError, KeyError, TypeError) as exc:
        raise click.UsageError(f"{summary} is not a summary.json written by this suite ({exc})") from None
    folder = out or summary.parent
    folder.mkdir(parents=True, exist_ok=True)
    specpatch.write(folder, patch)
    problem = specpatch.validate(patch.suggested)
    click.echo(f"{folder / specpatch.PATCH_NAME}: {len(patch.changes)} change(s) to {spec}")
    for change in patch.changes:
        click.echo(f"  + {change.what}")
    for item in patch.refused:
        click.echo(f"  not written (would hide a violation): {item.what}")
    click.echo(
        f"{folder / specpatch.SUGGESTED_NAME}: " + (f"NOT valid OpenAPI: {problem}" if problem else "valid OpenAPI")
    )
    sys.exit(1 if problem else 0)


@main.command("diff")
@click.argument("production", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("candidate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="also write comparison.md, comparison.html and comparison.json here",
)
def diff_command(production: Path, candidate: Path, report_dir: Path | None) -> None:
    """Every behavioural difference between two runs' summary.json (production first), offline: breaking,
    non-breaking or noise. Exit 1 on anything breaking."""
    from spidra_contract.tools import compare

    try:
        comparison = compare.compare_reports(compare.load(production), compare.load(candidate))
    except (ValueError, KeyError, TypeError) as exc:
        raise click.UsageError(f"not two summary.json files written by this suite ({exc})") from None
    if report_dir is not None:
        compare.write(report_dir, comparison)
    click.echo(compare.markdown(comparison, limit=60).rstrip())
    sys.exit(1 if comparison.breaking else 0)


@main.command("compare", context_settings={"ignore_unknown_options": True})
@click.option("--base-url", envvar="SPIDRA_BASE_URL", required=True, help="production [env SPIDRA_BASE_URL]")
@click.option("--candidate-url", envvar="SPIDRA_CANDIDATE_URL", required=True, help="the release candidate")
@click.option("--api-key", envvar="SPIDRA_API_KEY", default=None, help="production's key [env SPIDRA_API_KEY]")
@click.option("--candidate-api-key", envvar="SPIDRA_CANDIDATE_API_KEY", default=None)
@click.option("--other-api-key", envvar="SPIDRA_OTHER_API_KEY", default=None)
@click.option("--candidate-other-api-key", envvar="SPIDRA_CANDIDATE_OTHER_API_KEY", default=None)
@click.option("--job-id", "job_ids", multiple=True, help="a job of production's account (repeatable)")
@click.option("--candidate-job-id", "candidate_job_ids", multiple=True, help="a job of the candidate's account")
@click.option(
    "--same-accounts",
    is_flag=True,
    help="the candidate shares production's accounts: its missing keys and ids are production's",
)
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"))
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def compare_command(
    base_url: str,
    candidate_url: str,
    api_key: str | None,
    candidate_api_key: str | None,
    other_api_key: str | None,
    candidate_other_api_key: str | None,
    job_ids: tuple[str, ...],
    candidate_job_ids: tuple[str, ...],
    same_accounts: bool,
    report_dir: Path,
    extra: tuple[str, ...],
) -> None:
    """Run the suite against production and the candidate at once (read-only, each within its own budget and
    rate limit), then compare: exit 0 no breaking difference and no new violation, 1 otherwise; 4, 6, 7 as the
    suite's own, naming the side. Further arguments go to both runs (e.g. --profile dev)."""
    import os

    from spidra_contract.tools import compare
    from spidra_contract.tools.runner import Supervised

    job_ids = job_ids or tuple(os.environ.get("SPIDRA_JOB_IDS", "").replace(",", " ").split())
    candidate_job_ids = candidate_job_ids or tuple(
        os.environ.get("SPIDRA_CANDIDATE_JOB_IDS", "").replace(",", " ").split()
    )
    if same_accounts:
        candidate_api_key = candidate_api_key or api_key
        candidate_other_api_key = candidate_other_api_key or other_api_key
        candidate_job_ids = candidate_job_ids or job_ids
    if not api_key or not candidate_api_key:
        side, flag = ("production", "--api-key") if not api_key else ("candidate", "--candidate-api-key")
        click.echo(f"spidra-contract compare: the {side} side needs {flag} (or --same-accounts)", err=True)
        sys.exit(4)
    sides = (
        compare.Side("production", base_url, api_key, other_api_key, job_ids),
        compare.Side("candidate", candidate_url, candidate_api_key, candidate_other_api_key, candidate_job_ids),
    )
    report_dir = report_dir.absolute()
    with Supervised() as supervised:
        codes = compare.run_both(sides, report_dir, extra, supervised)
    if supervised.signalled is not None:
        click.echo("spidra-contract compare: interrupted; each side's reports say how far it got", err=True)
        sys.exit(2)
    for side in compare.SIDES:
        if codes[side] not in (0, 1):
            log = report_dir / f"{side}.log"
            headline = _headline(report_dir / side / "summary.json") or f"see {log}"
            click.echo(f"spidra-contract compare: the {side} run ended with exit {codes[side]}: {headline}", err=True)
            sys.exit(codes[side])
    comparison = compare.compare_reports(
        compare.load(report_dir / "production" / "summary.json"),
        compare.load(report_dir / "candidate" / "summary.json"),
    )
    compare.write(report_dir, comparison)
    click.echo(compare.markdown(comparison, limit=60).rstrip())
    click.echo(f"reports: {report_dir / compare.REPORT_HTML} (each side's in {report_dir}/production, /candidate)")
    sys.exit(1 if comparison.breaking else 0)


def _headline(summary: Path) -> str:
    try:
        return str(json.loads(summary.read_text(encoding="utf-8"))["headline"])
    except (OSError, ValueError, KeyError):
        return ""


@main.command("history")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the page here (default: FOLDER/history.html)",
)
@click.option("--last", type=int, default=None, help="print what changed over the last N runs instead of a page")
def history_command(folder: Path, output: Path | None, last: int | None) -> None:
    """The nights of a --history folder: one self-contained page of trends, or (--last N) a few lines for a log."""
    from spidra_contract.tools import history

    nights = history.load(folder)
    if last is not None:
        for line in history.terminal_lines(nights, max(1, last)):
            click.echo(line)
        return
    target = output or folder / history.PAGE
    target.write_text(history.page(nights), encoding="utf-8", errors="backslashreplace")
    steps = history.analyse(nights).steps
    click.echo(f"{target}: {len(nights)} run(s), {len(steps)} step(s) marked")


@main.group("baseline")
def baseline_group() -> None:
    """Keep a nightly baseline: the violations already known, so only new ones fail a run."""


_SUMMARY = click.option(
    "--from",
    "summary",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("reports/summary.json"),
    show_default=True,
    help="the summary.json of the run",
)


@baseline_group.command("update")
@_SUMMARY
@click.argument("baseline", type=click.Path(dir_okay=False, path_type=Path))
def baseline_update(summary: Path, baseline: Path) -> None:
    """Accept the run's findings as known, by identity (BASELINE is created when missing; one of the earlier
    format, by clause and field, is rewritten by identity)."""
    from spidra_contract.judging import baseline as baselines

    try:
        added, everything, coarse = baselines.update(baseline, summary)
    except baselines.BaselineError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{baseline}: {len(everything)} known finding(s), {len(added)} accepted from {summary}")
    for identity in sorted(added):
        click.echo(f"  + {identity.key}")
    for key in sorted(coarse):
        click.echo(f"  kept by clause and field (the run showed no finding it stands for): {key}")


@baseline_group.command("prune")
@_SUMMARY
@click.argument("baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def baseline_prune(summary: Path, baseline: Path) -> None:
    """Drop the known findings the run (a complete one) no longer shows."""
    from spidra_contract.judging import baseline as baselines

    try:
        dropped, kept = baselines.prune(baseline, summary)
    except baselines.BaselineError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{baseline}: {len(kept)} known finding(s) kept, {len(dropped)} no longer seen and dropped")
    for identity in sorted(dropped):
        click.echo(f"  - {identity.key}")


if __name__ == "__main__":
    main()
