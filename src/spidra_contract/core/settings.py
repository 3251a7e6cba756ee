"""The suite's options (command line, then environment variable, then ini) and its profiles."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class OptionError(Exception):
    """A malformed option; the run stops before any request with this one line."""


@dataclass(frozen=True)
class Profile:
    """How hard a run tries. The watch's interval and budget are in the target's job time: real seconds on a
    live API; on the embedded mock, whose clock runs `mock_time_scale` times faster, a fraction of them."""

    name: str
    max_examples: int
    # Doors of two or three axes together that hypothesis draws (each one request).
    door_examples: int
    derandomize: bool
    poll_interval: float
    poll_budget: float
    stable_reads: int
    mock_time_scale: float
    run_deadline: float


PROFILES = {
    "ci": Profile(
        "ci",
        max_examples=25,
        door_examples=10,
        derandomize=True,
        poll_interval=0.5,
        poll_budget=10.0,
        stable_reads=3,
        mock_time_scale=10.0,
        run_deadline=600.0,
    ),
    "dev": Profile(
        "dev",
        max_examples=60,
        door_examples=40,
        derandomize=False,
        poll_interval=0.5,
        poll_budget=15.0,
        stable_reads=3,
        mock_time_scale=10.0,
        run_deadline=1800.0,
    ),
    "nightly": Profile(
        "nightly",
        max_examples=500,
        door_examples=400,
        derandomize=False,
        poll_interval=3.0,
        poll_budget=900.0,
        stable_reads=5,
        mock_time_scale=10.0,
        run_deadline=7200.0,
    ),
}


class OptionKind(StrEnum):
    """How an option's value is read."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    LIST = "list"
    FLAG = "flag"


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    help: str
    default: Any = None
    kind: OptionKind = OptionKind.STR
    choices: tuple[str, ...] = ()
    is_path: bool = False  # a file or folder, relative to where the user runs the suite

    @property
    def name(self) -> str:
        return self.flag.removeprefix("--")

    @property
    def dest(self) -> str:
        return "spidra_" + self.name.replace("-", "_")

    @property
    def prefixed(self) -> str:
        """The spelling no other plugin can own: `--spidra-timeout` for `--timeout`."""
        return f"--spidra-{self.name}"

    @property
    def ini(self) -> str:
        return self.dest


OPTIONS = (
    Option(
        "--base-url",
        "SPIDRA_BASE_URL",
        "the API to test, e.g. https://api.spidra.io/api (absent: the embedded mock)",
    ),
    Option("--api-key", "SPIDRA_API_KEY", "the key sent in x-api-key (required with --base-url)"),
    Option(
        "--job-id",
        "SPIDRA_JOB_IDS",
        "an existing job of the key's account, any status (repeatable; env: comma-separated)",
        kind=OptionKind.LIST,
    ),
    Option(
        "--job-ids-file", "SPIDRA_JOB_IDS_FILE", "a file of job ids, one a line, for the corpus sweep", is_path=True
    ),
    Option("--other-api-key", "SPIDRA_OTHER_API_KEY", "a key of another account, for the cross-account checks"),
    Option("--report-dir", "SPIDRA_REPORT_DIR", "where reports are written", default="reports", is_path=True),
    Option(
        "--profile",
        "SPIDRA_PROFILE",
        "ci (fast, derandomized), dev, or nightly (many more examples, longer polling)",
        default="ci",
        choices=tuple(PROFILES),
    ),
    Option(
        "--max-requests",
        "SPIDRA_MAX_REQUESTS",
        "request budget for the whole run, all workers together (default 5000, plus one per id of "
        "--job-ids-file; 0: unlimited)",
        kind=OptionKind.INT,
    ),
    Option(
        "--rate-limit",
        "SPIDRA_RATE_LIMIT",
        "requests per second at most (default: 10 against a live API, unlimited against the embedded mock)",
        kind=OptionKind.FLOAT,
    ),
    Option(
        "--timeout",
        "SPIDRA_TIMEOUT",
        "seconds one exchange may take, connect to last body byte",
        default=15.0,
        kind=OptionKind.FLOAT,
    ),
    Option(
        "--max-body",
        "SPIDRA_MAX_BODY",
        "bytes a response body may have, decompressed (default 4 MiB); a larger one is judged broken",
        default=4 * 1024 * 1024,
        kind=OptionKind.INT,
    ),
    Option(
        "--deadline",
        "SPIDRA_DEADLINE",
        "seconds the whole run may send requests (default by profile: ci 600, dev 1800, nightly 7200)",
        kind=OptionKind.FLOAT,
    ),
    Option(
        "--watch",
        "SPIDRA_WATCH",
        "seconds of job time the lifecycle watch polls a job that has not finished (default by profile: ci 10, "
        "dev 15, nightly 900); a job still running then is judged on what it did",
        kind=OptionKind.FLOAT,
    ),
    Option(
        "--allow-unsafe",
        "SPIDRA_ALLOW_UNSAFE",
        "also send POST/PUT/PATCH/DELETE/TRACE to a --base-url target (off: a live API is only read)",
        kind=OptionKind.FLAG,
    ),
    Option(
        "--burst", "SPIDRA_BURST", "run the concurrent burst probe against a --base-url target", kind=OptionKind.FLAG
    ),
    Option(
        "--baseline",
        "SPIDRA_BASELINE",
        "an earlier summary.json: known violations are reported, new ones fail",
        is_path=True,
    ),
    Option(
        "--mock-switch",
        "SPIDRA_MOCK_SWITCHES",
        "turn on a fault or variant of the embedded mock (repeatable; env: comma-separated)",
        kind=OptionKind.LIST,
    ),
    Option("--spec", "SPIDRA_SPEC", "the OpenAPI document (default: openapi.yaml in the rootdir)", is_path=True),
    Option(
        "--history",
        "SPIDRA_HISTORY",
        "a folder this run adds its summary and report to (`spidra-contract history DIR` draws the trends)",
        is_path=True,
    ),
    Option(
        "--history-window",
        "SPIDRA_HISTORY_WINDOW",
        "how many runs the --history folder keeps (default 90; older ones are removed)",
        default=90,
        kind=OptionKind.INT,
    ),
)

DEFAULT_LIVE_RATE = 10.0
DEFAULT_BUDGET = 5000
TRUTHY = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    base_url: str | None
    api_key: str | None = field(repr=False)
    other_api_key: str | None = field(repr=False)
    job_ids: tuple[str, ...]
    job_ids_file: Path | None
    report_dir: Path
    profile: Profile
    max_requests: int
    rate_limit: float
    timeout: float
    max_body: int
    deadline: float
    watch: float  # the lifecycle watch's budget, in job seconds
    allow_unsafe: bool
    burst: bool
    baseline: Path | None
    mock_switches: tuple[str, ...]
    spec: Path
    history: Path | None = None
    history_window: int = 90

    @property
    def is_mock(self) -> bool:
        return self.base_url is None

    @property
    def shown_base_url(self) -> str | None:
        """The base URL as reports show it: credentials in it never appear."""
        return strip_credentials(self.base_url) if self.base_url else None

    @property
    def url_secrets(self) -> tuple[str, ...]:
        parts = urlsplit(self.base_url or "")
        return tuple(value for value in (parts.password,) if value)


def cache_dir() -> Path:
    """Where the suite keeps what it learns between runs (hypothesis' examples and constants): the user's
    cache folder, never the folder the suite runs in."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spidra-contract"


def strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="[REDACTED]@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def given(option: Option, cli: Any, ini: Any) -> tuple[Any, str]:
    """Command line first, then the environment, then ini, then the default; with the name that gave it (what
    an error about the value must point at)."""
    if cli not in (None, [], False):
        return cli, option.flag
    env = os.environ.get(option.env)
    if env not in (None, ""):
        if option.kind is OptionKind.LIST:
            return [part.strip() for part in env.split(",") if part.strip()], option.env
        if option.kind is OptionKind.FLAG:
            return env.strip().lower() in TRUTHY, option.env
        return env, option.env
    if ini not in (None, "", []):
        return ini, f"ini {option.ini}"
    return option.default, option.flag


def _number(source: str, value: Any, cast: type[int] | type[float]) -> Any:
    if value is None:
        return None
    try:
        number = cast(value)
    except (TypeError, ValueError):
        raise OptionError(f"{source} must be a number, got {value!r}") from None
    if number < 0:
        raise OptionError(f"{source} must not be negative, got {value!r}")
    return number


def resolve(get_cli: Any, get_ini: Any, rootdir: Path, *, known_switches: Collection[str]) -> Settings:
    """Build the settings from the three sources; raise `OptionError` with one clear line when one is off."""
    values: dict[str, Any] = {}
    said: dict[str, str] = {}  # which spelling gave each value: the one an error names
    for option in OPTIONS:
        raw, source = given(option, get_cli(option.dest), get_ini(option.ini))
        said[option.dest.removeprefix("spidra_")] = source
        if option.kind is OptionKind.INT:
            raw = _number(source, raw, int)
        elif option.kind is OptionKind.FLOAT:
            raw = _number(source, raw, float)
        elif option.kind is OptionKind.LIST:
            raw = tuple(raw or ())
        elif option.kind is OptionKind.FLAG:
            raw = raw if isinstance(raw, bool) else str(raw).lower() in TRUTHY
        values[option.dest.removeprefix("spidra_")] = raw

    base_url = values["base_url"]
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise OptionError(f"{said['base_url']} must be an http(s) URL, got {base_url!r}")
        base_url = base_url.rstrip("/")
        if not values["api_key"]:
            raise OptionError("--base-url needs --api-key (or SPIDRA_API_KEY): a live API is tested with a real key")
    else:
        base_url = None
    profile_name = values["profile"]
    if profile_name not in PROFILES:
        raise OptionError(f"{said['profile']} must be one of {', '.join(PROFILES)}, got {profile_name!r}")
    switches = tuple(values["mock_switch"])
    unknown = [name for name in switches if name not in known_switches]
    if unknown:
        raise OptionError(f"unknown mock switch(es): {', '.join(unknown)} (see `spidra-contract faults --list`)")
    if switches and base_url:
        raise OptionError("--mock-switch applies to the embedded mock only; drop it or drop --base-url")
    if values["api_key"] and values["other_api_key"] and values["api_key"] == values["other_api_key"]:
        raise OptionError("--other-api-key must belong to another account; it equals --api-key")
    job_ids_file = Path(values["job_ids_file"]) if values["job_ids_file"] else None
    id_count = _check_ids_file(job_ids_file) if job_ids_file is not None else 0
    baseline = Path(values["baseline"]) if values["baseline"] else None
    if baseline is not None and not baseline.is_file():
        raise OptionError(f"--baseline {baseline} does not exist")
    max_requests = values["max_requests"]
    if max_requests is None:
        max_requests = DEFAULT_BUDGET + id_count
    rate = values["rate_limit"]
    if rate is None:
        rate = DEFAULT_LIVE_RATE if base_url else 0.0
    if values["timeout"] == 0:
        raise OptionError(f"{said['timeout']} must be positive")
    if values["watch"] is not None and values["watch"] <= 0:
        raise OptionError(f"{said['watch']} must be positive")
    if values["max_body"] < 1024:
        raise OptionError(f"{said['max_body']} must be at least 1024 bytes, got {values['max_body']}")
    if values["history_window"] < 1:
        raise OptionError(f"{said['history_window']} must be at least 1, got {values['history_window']}")
    report_dir = Path(values["report_dir"])
    if not report_dir.is_absolute():
        report_dir = rootdir / report_dir
    spec = Path(values["spec"]) if values["spec"] else rootdir / "openapi.yaml"
    return Settings(
        base_url=base_url,
        api_key=values["api_key"] or None,
        other_api_key=values["other_api_key"] or None,
        job_ids=tuple(dict.fromkeys(values["job_id"])),
        job_ids_file=job_ids_file,
        report_dir=report_dir,
        profile=PROFILES[profile_name],
        max_requests=max_requests,
        rate_limit=rate,
        timeout=values["timeout"],
        max_body=values["max_body"],
        deadline=values["deadline"] if values["deadline"] is not None else PROFILES[profile_name].run_deadline,
        watch=values["watch"] if values["watch"] is not None else PROFILES[profile_name].poll_budget,
        allow_unsafe=values["allow_unsafe"],
        burst=values["burst"],
        baseline=baseline,
        mock_switches=switches,
        spec=spec,
        history=Path(values["history"]) if values["history"] else None,
        history_window=values["history_window"],
    )


def _check_ids_file(path: Path) -> int:
    """The number of ids in a `--job-ids-file`; an `OptionError` if it is missing or not a text file."""
    if not path.is_file():
        raise OptionError(f"--job-ids-file {path} does not exist")
    try:
        with path.open("rb") as handle:
            if b"\0" in handle.read(64 * 1024):
                raise OptionError(f"--job-ids-file {path} is binary, not one id a line")
        return count_ids(path)
    except UnicodeDecodeError as exc:
        raise OptionError(f"--job-ids-file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise OptionError(f"--job-ids-file {path} cannot be read ({exc.strerror})") from None


def check_report_dir(path: Path) -> None:
    """The report folder exists (or can be made) and takes files: an `OptionError` before any request if not."""
    import tempfile

    if path.exists() and not path.is_dir():
        raise OptionError(f"--report-dir {path} is a file, not a folder: name a folder for the reports")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".spidra-write-check-"):
            pass
    except OSError as exc:
        raise OptionError(f"--report-dir {path} cannot take the reports ({exc.strerror or exc})") from None


def iter_ids(path: Path, shard: int = 0, shards: int = 1) -> Iterator[str]:
    """The ids of one shard of the file: every `shards`-th non-empty, non-comment line, from `shard`."""
    with path.open(encoding="utf-8") as handle:
        index = 0
        for line in handle:
            job_id = line.strip()
            if not job_id or job_id.startswith("#"):
                continue
            if index % shards == shard:
                yield job_id
            index += 1


def count_ids(path: Path) -> int:
    return sum(1 for _ in iter_ids(path))
