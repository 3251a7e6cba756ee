"""The mock's switches: faults the suite must catch, and conformant-but-unusual variants it must pass.

A new clause starts here: add the fault that breaks it, watch the suite miss it, then add the clause.
`clause` names the clause expected to report the fault (see `spidra_contract.clauses.CLAUSES`); the mock itself
knows nothing of the suite.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Switch:
    name: str
    category: str
    description: str
    clause: str = ""
    # The exit code the suite must end with: 1 for a fault judged under `clause`; 6 or 7 for a transport fault
    # that leaves nothing to judge (the target stops answering, or rate-limits the run away); 0 for a variant.
    exit_code: int | None = None
    # Extra options the self-test and `faults` run it with (short timeouts keep a stalling target quick).
    options: tuple[str, ...] = ()
    # The layers (a `-m` expression) that a fault run is limited to; default: the layer of its clause (the
    # clause registry says which). "all" runs the whole suite. Variants always run the whole suite: a false alarm
    # may come from any layer.
    layers: str = ""

    @property
    def expected_exit(self) -> int:
        if self.exit_code is not None:
            return self.exit_code
        return 1 if self.clause else 0

    @property
    def is_fault(self) -> bool:
        return self.expected_exit != 0


FAULTS: tuple[Switch, ...] = (
    # the 200 body schema
    Switch(
        "status-outside-enum",
        "body schema",
        'active jobs report status "running" (as the live SDK knows)',
        "status-enum",
    ),
    Switch("status-uppercase", "body schema", 'status values in upper case ("COMPLETED")', "status-enum"),
    Switch("progress-not-object", "body schema", 'progress is a string such as "5/10"', "progress"),
    Switch("pages-crawled-string", "body schema", "pagesCrawled is a numeric string", "progress"),
    Switch("negative-pages", "body schema", "waiting jobs report pagesCrawled -1", "progress"),
    Switch("pages-exceed-max", "body schema", "completed jobs report pagesCrawled > maxPages", "progress"),
    Switch("max-pages-float", "body schema", "maxPages is a float (10.5)", "progress"),
    Switch("result-object", "body schema", "completed result is an object keyed by url", "result-shape"),
    Switch("result-url-number", "body schema", "result items carry a numeric url", "result-shape"),
    Switch(
        "result-data-string",
        "body schema",
        "result item data is the raw markdown string (what the live service sends without extraction)",
        "result-shape",
    ),
    Switch("result-item-string", "body schema", "result items are bare url strings", "result-shape"),
    Switch("result-title-null", "body schema", "result items carry title: null", "result-shape"),
    Switch("error-number", "body schema", "failed jobs carry a numeric error code as error", "nullable-error"),
    Switch("error-object", "body schema", "error is an object {code, message}", "nullable-error"),
    Switch("body-array", "body schema", "the 200 body is a JSON array holding the job", "json-body"),
    # status semantics
    Switch("completed-with-error", "status semantics", "completed jobs carry an error string", "status-semantics"),
    Switch("completed-null-result", "status semantics", "completed jobs have result: null", "status-semantics"),
    Switch("failed-without-error", "status semantics", "failed jobs have error: null", "status-semantics"),
    Switch("failed-empty-error", "status semantics", 'failed jobs have error: ""', "status-semantics"),
    Switch(
        "waiting-with-results",
        "status semantics",
        "waiting jobs already list result items",
        "status-semantics",
    ),
    # media type and status codes
    Switch("text-plain", "media type", "200 bodies are sent as text/plain", "json-body"),
    Switch("invalid-json", "media type", "200 bodies are cut short (invalid JSON)", "json-body"),
    Switch("html-404", "media type", "unknown ids get an HTML error page", "json-body", layers="unknown"),
    Switch("unknown-500", "status codes", "unknown ids get 500 Internal Server Error", "documented-status"),
    Switch("unknown-200", "status codes", "unknown ids get 200 with an empty waiting job", "unknown-job"),
    # error contracts
    Switch("error-status-fail", "error contract", 'ErrorResponse.status is "fail"', "error-response"),
    Switch("error-missing-message", "error contract", "ErrorResponse has no message", "error-response"),
    Switch("error-empty-message", "error contract", 'ErrorResponse.message is ""', "error-response"),
    Switch("stack-trace-404", "error contract", "404 messages carry a Python traceback", "error-hygiene"),
    # authentication
    Switch("auth-401", "authentication", "a missing or bad key gets 401 (the SDKs' expectation)", "auth-required"),
    Switch("no-auth", "authentication", "the key is never checked", "auth-required"),
    Switch("key-case-insensitive", "authentication", "keys are compared case-insensitively", "auth-required"),
    Switch("key-prefix", "authentication", "a key is accepted if one is a prefix of the other", "auth-required"),
    Switch(
        "empty-key-accepted",
        "authentication",
        "an empty x-api-key is taken as the default account",
        "auth-required",
    ),
    Switch("query-key", "authentication", "a key in the query string (?api_key=) is accepted", "auth-required"),
    Switch(
        "trusts-edge",
        "authentication",
        "the app trusts an edge to refuse keyless calls: a request with no key is the owner's (an internal call)",
        "auth-required",
    ),
    # cross-account
    Switch("cross-account-read", "cross-account", "any valid key reads any account's job", "foreign-job"),
    # doors: one way in left unlocked
    Switch("head-skips-auth", "doors", "HEAD is routed past the key check", "door-locked"),
    Switch("options-leaks-job", "doors", "OPTIONS /crawl/{id} answers 200 with the job, key or not", "door-locked"),
    Switch(
        "slash-skips-auth",
        "doors",
        "/crawl/{id}/ (trailing slash) is served, past the key check",
        "door-locked",
    ),
    Switch(
        "edge-slash-bypass",
        "doors",
        "//crawl/{id} slips past an edge's key check to an app that trusts it: a keyless caller is the owner "
        "(a key that is brought is still checked)",
        "door-locked",
    ),
    Switch(
        "bearer-skips-ownership",
        "doors",
        "Authorization: Bearer checks the key but not whose job it is",
        "door-locked",
    ),
    Switch(
        "query-any-account",
        "doors",
        "?api_key= is accepted and not checked against the job's account",
        "door-locked",
    ),
    Switch(
        "key-blind-cache",
        "doors",
        "a response cache keyed by path serves a job's 200 to anyone for 2 s",
        "door-locked",
    ),
    # doors nobody listed: one fault per axis of `spidra_contract.clauses.doors`, and a refusal that leaks
    Switch(
        "method-override-skips-auth",
        "doors: method",
        "a GET claiming HEAD or OPTIONS (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, _method) "
        "skips the key check",
        "door-locked",
    ),
    Switch(
        "dot-segment-skips-auth",
        "doors: path",
        "a path with a dot segment or a path parameter (;) is normalised after the key check",
        "door-locked",
    ),
    Switch(
        "upper-id-skips-ownership",
        "doors: id",
        "an upper-case id finds the job (a case-insensitive lookup) past the ownership check",
        "door-locked",
    ),
    Switch(
        "apikey-any-account",
        "doors: channel",
        "a key in the apikey header or ?apikey= (Kong style) is not checked against the job's account",
        "door-locked",
    ),
    Switch(
        "localhost-skips-auth",
        "doors: routing",
        "a client-IP header saying 127.0.0.1 (X-Forwarded-For, X-Real-IP, Forwarded...) is trusted as internal",
        "door-locked",
    ),
    Switch(
        "original-url-skips-auth",
        "doors: routing",
        "X-Original-URL / X-Rewrite-URL route a request for / to the job, past the key check",
        "door-locked",
    ),
    Switch(
        "bearer-near-miss",
        "doors: caller",
        "Authorization: Bearer compares all but the key's last character (a near miss is let in)",
        "door-locked",
    ),
    Switch(
        "refusal-carries-job",
        "doors: leak",
        "a stranger's 403 or 404 embeds the job record in a debug field",
        "door-locked",
    ),
    # lifecycle
    Switch(
        "status-regresses",
        "lifecycle",
        "a completed job reads as active again every third read",
        "lifecycle-forward",
    ),
    Switch(
        "progress-drops",
        "lifecycle",
        "pagesCrawled of a running job drops on every other read",
        "progress-monotonic",
    ),
    Switch("max-pages-changes", "lifecycle", "maxPages grows while a job runs", "progress-monotonic"),
    Switch("result-unstable", "lifecycle", "a completed job's result changes between reads", "terminal-stable"),
    Switch(
        "result-shrinks-late",
        "lifecycle",
        "a completed job's result loses its last item from its twelfth read on (past the watch's re-reads)",
        "terminal-stable",
        layers="lifecycle or job_body",  # one timeline of the owner's reads from every layer finds it
    ),
    # what a reply carries
    Switch(
        "job-carries-key", "reply carries", "the job body carries its owner's record, API key and all", "no-credential"
    ),
    Switch(
        "cache-public",
        "reply carries",
        "a job's 200 says Cache-Control: public, max-age=60 (no Vary on the key)",
        "private-job",
    ),
    Switch(
        "crlf-echo",
        "reply carries",
        "an unknown id is echoed into a response header, each CR LF in it starting a field",
        "no-split",
        layers="hostile",
    ),
    Switch("head-404", "reply carries", "HEAD answers 404 for jobs GET reads", "head-as-get"),
    # hostile input
    Switch("long-id-500", "hostile input", "ids over 1 KB crash the handler (500)", "hostile-id"),
    Switch(
        "injection-500",
        "hostile input",
        "quote characters in ids crash with SQL text in the body",
        "hostile-id",
    ),
    Switch(
        "traversal-reads-job",
        "hostile input",
        "ids are path-normalised, so ../<id> reads that job",
        "hostile-id",
    ),
    Switch(
        "burst-503",
        "hostile input",
        "more than 8 concurrent requests get 503",
        "documented-status",
        layers="burst",
    ),
    # transport: a target that tries to hurt or trick the client
    Switch(
        "redirect-other-origin",
        "transport",
        "GET /crawl/{id} answers 307 to the same path on another origin",
        "documented-status",
        layers="job_body",
    ),
    Switch("endless-body", "transport", "200 bodies never end (chunked, fast)", "complete-body"),
    Switch("huge-body", "transport", "200 bodies are 300 MB long", "complete-body"),
    Switch("inflation-bomb", "transport", "a 1 MB gzip body that inflates to 1 GB", "complete-body"),
    Switch("bad-gzip", "transport", "Content-Encoding: gzip on a body that is not gzip", "complete-body"),
    Switch("truncated-body", "transport", "200 bodies stop short of their Content-Length", "complete-body"),
    Switch("deep-json", "transport", "200 bodies are a 10,000-deep JSON array", "json-body"),
    Switch("nan-json", "transport", "progress.pagesCrawled is NaN (not JSON)", "json-body"),
    Switch("key-echo", "transport", "the key comes back as the status value and in error messages", "no-credential"),
    Switch(
        "drip-body",
        "transport",
        "200 bodies arrive one byte every 2 s",
        exit_code=6,
        options=("--spidra-timeout=1",),
        layers="job_body",
    ),
    Switch(
        "stall-after-first",
        "transport",
        "after 20 requests the target accepts connections and never answers",
        exit_code=6,
        options=("--spidra-timeout=2",),
        layers="all",
    ),
    Switch(
        "far-retry-after",
        "transport",
        "after 20 requests every answer is 429 with Retry-After: 3600",
        exit_code=7,
        layers="all",
    ),
    Switch(
        "surrogate-status",
        "transport",
        'status is "completed" and a lone surrogate escape ("\\udc00"), which no report may choke on',
        "status-enum",
    ),
    # the wire (mock/wire.py): bytes no ASGI server writes
    Switch(
        "drip-head",
        "wire",
        "the status line and headers arrive one byte a second",
        exit_code=6,
        options=("--spidra-timeout=1",),
        layers="job_body",
    ),
    Switch(
        "drip-head-later",
        "wire",
        "after 20 requests the status line and headers arrive one byte a second",
        exit_code=6,
        options=("--spidra-timeout=2",),
        layers="all",
    ),
    Switch(
        "continue-flood",
        "wire",
        "100 Continue every 0.2 s, for ever, and no final reply",
        exit_code=6,
        options=("--spidra-timeout=1",),
        layers="job_body",
    ),
    Switch(
        "endless-chunk-size",
        "wire",
        "200 bodies chunked, a chunk-size line of digits that never ends",
        "complete-body",
    ),
    Switch("endless-trailers", "wire", "200 bodies chunked, then a trailer section that never ends", "complete-body"),
    Switch("header-flood", "wire", "97 headers of 60 KB each (within http.client's limits)", "complete-body"),
    Switch(
        "switch-protocols", "wire", "101 Switching Protocols to a plain GET, then WebSocket frames", "complete-body"
    ),
    Switch("not-http", "wire", "garbage (an SSH banner and binary) instead of an HTTP reply", "complete-body"),
)

VARIANTS: tuple[Switch, ...] = (
    Switch(
        "extra-fields",
        "conformant",
        "extra top-level, progress and result-item fields (total_pages, depth...)",
    ),
    Switch("charset", "conformant", "Content-Type: application/json; charset=utf-8"),
    Switch("omit-nulls", "conformant", "null and optional fields are omitted instead of sent"),
    Switch("pretty", "conformant", "pretty-printed JSON bodies with reversed key order"),
    Switch("noisy", "conformant", "keys in a new random order and a new X-Request-Id every reply (noise to a diff)"),
    Switch("other-messages", "conformant", "other (non-empty) error messages"),
    Switch("zero-pages", "conformant", "a completed crawl with zero pages: result []"),
    Switch("non-ascii", "conformant", "non-ASCII titles, messages and data everywhere"),
    Switch("gzip", "conformant", "gzip-compressed bodies when the client accepts them"),
    Switch("slow", "conformant", "every third response takes 15 ms, every 100th 0.6 s"),
    Switch("foreign-403", "conformant", "403 instead of 404 for another account's job"),
    Switch("rate-limited", "conformant", "every 250th request gets 429 with Retry-After: 1"),
    Switch("sparse-items", "conformant", "result items omit title and data (optional keys)"),
    Switch("lenient-router", "conformant", "/crawl/{id}/ (trailing slash) is served too, key and owner checked"),
    Switch("head-405", "conformant", "HEAD gets 405 with Allow: GET"),
    Switch("cache-private", "conformant", "a job's 200 says Cache-Control: private, max-age=60 with an ETag"),
    Switch("cache-vary-key", "conformant", "a job's 200 says Cache-Control: public, max-age=60 and Vary: x-api-key"),
    Switch(
        "edge-pages",
        "conformant",
        "an edge in front refuses bytes no client sends with its own HTML page: an encoded control octet gets "
        "nginx's 400, an encoded / or \\ Apache httpd's 404",
    ),
    Switch(
        "normalizing-router",
        "conformant",
        "the router merges slashes, resolves dot segments, drops ;parameters, .json and case; key and owner checked",
    ),
    Switch(
        "multi-channel",
        "conformant",
        "the key is taken from every header and cookie (Token, ApiKey, Basic, Api-Key, apikey...), owner checked",
    ),
    Switch(
        "honours-rewrite",
        "conformant",
        "X-Original-URL / X-Rewrite-URL rewrite the route, which runs its own key and owner checks",
    ),
    Switch("public-root", "conformant", "GET /api/ answers 200 with a service index to anyone, key or not"),
    Switch(
        "forbid-unowned",
        "conformant",
        "403 to everything a key does not own: another account's jobs and ids that name no job",
    ),
    Switch(
        "head-blind",
        "conformant",
        "HEAD with a valid key answers 200 for ids that name no job (a finding: HEAD 200 where GET 404)",
    ),
    Switch("options-preflight", "conformant", "OPTIONS answers 204 to anyone, key or not, as a CORS preflight"),
    Switch("slow-first", "conformant", "the first answer takes 3 s (a cold start), every other is quick"),
    Switch("early-hints", "conformant", "103 Early Hints before every answer (a client skips 1xx replies)"),
    Switch("lone-surrogate", "conformant", 'progress.message carries a lone surrogate escape ("\\ud800")'),
    Switch("huge-ints", "conformant", "progress.maxPages is an integer of 5,000 digits (JSON sets no limit)"),
    Switch(
        "session-cookie",
        "conformant",
        "a 200 sets a session cookie that later stands for the key (a client must not send it back unasked)",
    ),
)

CATALOGUE: dict[str, Switch] = {switch.name: switch for switch in FAULTS + VARIANTS}


def validate(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The switch names, checked against the catalogue (a typo must not become a silent pass)."""
    unknown = [name for name in names if name not in CATALOGUE]
    if unknown:
        raise ValueError(f"unknown mock switch(es): {', '.join(unknown)} (see `spidra-contract faults --list`)")
    return tuple(names)
