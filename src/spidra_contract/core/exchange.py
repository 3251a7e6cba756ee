"""One HTTP exchange as every layer sees it: what was sent (secrets redacted) and what came back."""

from __future__ import annotations

import base64
import functools
import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from spidra_contract.core.judgement import ExchangeRecord

REDACTED = "[REDACTED]"
SENSITIVE_NAMES = frozenset(
    {
        "x-api-key",
        "authorization",
        "cookie",
        "set-cookie",
        "proxy-authorization",
        "api_key",
        "apikey",
        "key",
        "api-key",
        "token",
        "access_token",
    }
)
EXCERPT_CHARS = 400
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def encodable(node: Any) -> Any:
    """`node` (a text, or a JSON-like document of them) with every lone surrogate (a server's `"\\ud800"` JSON
    escape, parsed) written as a backslash escape: what UTF-8 cannot encode never reaches a report."""
    if isinstance(node, str):
        return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", node) if _SURROGATE.search(node) else node
    if isinstance(node, dict):
        return {encodable(key): encodable(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [encodable(item) for item in node]
    return node


# Past this many digits an integer is not written out in a report (Python itself refuses to past a limit; and a
# million digits would fill a report): it is described, and judged by value all the same.
SHOWN_DIGITS = 60
_BITS_PER_DIGIT = 3.3219280948873626


def _longer_than(node: Any, digits: int) -> bool:
    """An integer (not a bool) with more than about `digits` decimal digits, told without writing it out."""
    return isinstance(node, int) and not isinstance(node, bool) and abs(node).bit_length() > digits * _BITS_PER_DIGIT


class _LongInteger:
    """Stands for an integer too long to write out, wherever a value is shown."""

    def __init__(self, value: int) -> None:
        self.negative = value < 0
        self.digits = int(abs(value).bit_length() / _BITS_PER_DIGIT) + 1

    def __repr__(self) -> str:
        return f"<{'a negative' if self.negative else 'an'} integer of about {self.digits} digits>"


def _long_integers_described(node: Any) -> Any:
    if _longer_than(node, SHOWN_DIGITS):
        return _LongInteger(node)
    if isinstance(node, dict):
        return {key: _long_integers_described(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_long_integers_described(item) for item in node]
    return node


def shown(value: Any, limit: int = 120) -> str:
    """A value as a report shows it: its repr cut to `limit` characters, an integer too long to write out
    described by its length."""
    text = repr(_long_integers_described(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Past this many digits a validator could not write an integer into its messages (Python's own limit is 4300):
# it checks one of the same type and sign instead, past every bound a schema writes.
CHECKED_DIGITS = 4000


def with_short_integers(node: Any) -> Any:
    """`node` with every integer longer than CHECKED_DIGITS replaced by 10**CHECKED_DIGITS of its sign: what a
    validator may write into its messages; type, sign and order against any bound a schema writes are kept."""
    if _longer_than(node, CHECKED_DIGITS):
        return -(10**CHECKED_DIGITS) if node < 0 else 10**CHECKED_DIGITS
    if isinstance(node, dict):
        items = {key: with_short_integers(value) for key, value in node.items()}
        return node if all(items[key] is node[key] for key in node) else items
    if isinstance(node, list):
        changed = [with_short_integers(item) for item in node]
        return node if all(new is old for new, old in zip(changed, node, strict=True)) else changed
    return node


def shape_of(value: Any, depth: int = 0) -> dict[str, Any]:
    """A schema of one observed JSON value: its type and, for arrays and objects, their items' and fields' (to a
    depth of four). Types only, never a value: a body that echoed a key keeps nothing of it here."""
    node: dict[str, Any] = {"type": json_type(value)}
    if isinstance(value, list) and value and depth < 4:
        node["items"] = shape_of(value[0], depth + 1)
    elif isinstance(value, dict) and value and depth < 4:
        node["properties"] = {str(key): shape_of(item, depth + 1) for key, item in value.items()}
    return node


def json_type(value: Any) -> str:
    """The JSON Schema type name of a parsed JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def printable(text: str) -> str:
    """`text` with control characters, lone surrogates and non-characters written as escapes (``\\x00``)."""
    return _UNPRINTABLE.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


MIN_FUZZY_SECRET = 8
MAX_JSON_DEPTH = 64
# Credentials in a URL (`https://user:password@host`).
_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")
# The characters that case-insensitive matching takes for an ASCII letter but `str.lower` does not turn into
# one (dotless i, long s; capital dotted I, whose full lowercase is two characters): see `Redactor.text`.
_ASCII_FOLD = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"))
_FOLD_SLICE = 64 * 1024


def encoded_forms(secret: str) -> set[str]:
    """The common encodings a server may echo a key in: base64 (standard and URL-safe, at every alignment
    inside a longer encoded text), hex and full percent-encoding."""
    raw = secret.encode("utf-8")
    forms = {raw.hex(), raw.hex().upper(), "".join(f"%{b:02X}" for b in raw), "".join(f"%{b:02x}" for b in raw)}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        # Keep the characters that only the key's bytes decide: skip the prefix' group, drop the last group.
        start = 4 if offset else 0
        end = (len(encoded) // 4 - 1) * 4 if (offset + len(raw)) % 3 else len(encoded)
        middle = encoded[start:end].rstrip("=")
        if len(middle) >= MIN_FUZZY_SECRET:
            forms |= {middle, middle.replace("+", "-").replace("/", "_")}
    return forms


def redacted_in(value: Any) -> bool:
    """Whether a parsed (already redacted) JSON value holds the redactor's mark: a secret was there."""
    if isinstance(value, str):
        return REDACTED in value
    if isinstance(value, dict):
        return any(redacted_in(key) or redacted_in(item) for key, item in value.items())
    if isinstance(value, list):
        return any(redacted_in(item) for item in value)
    return False


class Redactor:
    """Replaces every known secret, and anything close to one (case-changed, cut, extended), by a label."""

    def __init__(self, names: frozenset[str] = frozenset()) -> None:
        # Header and query names whose values are credentials: the usual ones, and every channel the run sends a
        # key in (the door catalogue's, given by whoever builds the run).
        self.names = SENSITIVE_NAMES | {name.lower() for name in names}
        self._secrets: dict[str, str] = {}
        self._forms: dict[str, frozenset[str]] = {}  # each secret, as sent and as a server may echo it encoded
        self._pattern: re.Pattern[str] | None = None
        self._needles: tuple[str, ...] | None = None
        self._overlap = 0  # a needle across a slice's edge is whole in the next slice

    def add(self, secret: str | None, label: str) -> None:
        if not secret:
            return
        self._secrets[secret] = label
        if len(secret) >= MIN_FUZZY_SECRET:
            self._forms[secret] = frozenset({secret} | encoded_forms(secret))
        patterns = []
        # Every alternative starts with a literal (its needle): no match without one of them in the text.
        needles: list[str] = []
        encoded = {form for known in self._secrets if len(known) >= MIN_FUZZY_SECRET for form in encoded_forms(known)}
        for form in sorted(encoded, key=len, reverse=True):
            patterns.append(re.escape(form))
            needles.append(form)
        for known in sorted(self._secrets, key=len, reverse=True):
            if len(known) >= MIN_FUZZY_SECRET:
                # The shortest probe derived from a key is the key less one character; matching that prefix
                # case-insensitively also covers the key itself, its case-swapped and extended forms.
                patterns.append(re.escape(known[:-1]) + r"[\w-]*")
                needles.append(known[:-1])
            else:
                # Too short to hunt for inside other words: only where it stands alone.
                patterns.append(rf"(?<![\w-]){re.escape(known)}(?![\w-])")
                needles.append(known)
        self._pattern = re.compile("|".join(patterns), re.IGNORECASE)
        lowered = tuple(dict.fromkeys(needle.lower() for needle in needles))
        self._needles = lowered if all(needle.isascii() for needle in lowered) else None
        self._overlap = max(map(len, lowered)) - 1

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._secrets)

    def carried(self, text: str) -> tuple[str, ...]:
        """The labels (never the values) of the secrets `text` holds, as they are or in a common encoding
        (`encoded_forms`): what a reply hands out. Secrets too short to tell apart from other text are not
        hunted for."""
        if not text or not self._forms or not self._may_hold_secret(text):
            return ()
        return tuple(
            self._secrets[secret] for secret, forms in self._forms.items() if any(form in text for form in forms)
        )

    def label_for(self, value: str) -> str:
        """How a secret-bearing value is shown: a shell expression over the environment variable that rebuilds
        it (`$SPIDRA_API_KEY`, `${SPIDRA_API_KEY%?}` for the key less its last character, ...), so a
        reproduction line sends exactly what the suite sent; `[REDACTED]` for anything else near a key."""
        scheme, _, token = value.partition(" ")
        if token and scheme.lower() == "basic":
            return f"{scheme} {self._basic_label(token)}"
        if token and " " not in token:
            shown = self.label_for(token)  # any scheme (Bearer, Token, ApiKey), or two values joined by ", "
            if shown != token:
                return f"{scheme} {shown}"
        name_part, equals, rest = value.partition("=")
        if equals and " " not in name_part and ";" not in value and rest:
            shown = self.label_for(rest)  # a cookie: api_key=<key>
            if shown.startswith("$"):
                return f"{name_part}={shown}"
        for secret, label in self._secrets.items():
            name = label.lstrip("$")
            if value == secret:
                return label
            if len(secret) > 1 and value == secret[:-1]:
                return f"${{{name}%?}}"
            if value == secret.swapcase() != secret:
                return f"$(printf %s ${name} | tr a-zA-Z A-Za-z)"
            if len(value) == len(secret) + 1 and value.startswith(secret) and value[-1].isalnum():
                return f"${{{name}}}{value[-1]}"
            if len(value) == len(secret) > 1 and value[:-1] == secret[:-1] and value[-1].isalnum():
                return f"${{{name}%?}}{value[-1]}"
        if self._pattern is not None and self._pattern.search(value):
            return REDACTED
        return value

    def _basic_label(self, token: str) -> str:
        """Basic credentials `base64(user:password)` whose user or password is (derived from) a key, as the shell
        expression that rebuilds them."""
        try:
            decoded = base64.b64decode(token, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        user, colon, password = decoded.partition(":")
        if colon and not password and user:
            shown = self.label_for(user)
            if shown.startswith("$"):
                return f"$(printf %s: {shown} | base64 -w0)"
        if colon and not user and password:
            shown = self.label_for(password)
            if shown.startswith("$"):
                return f"$(printf :%s {shown} | base64 -w0)"
        return self.label_for(token)

    def text(self, value: str) -> str:
        if not value:
            return value
        if "://" in value:
            value = _USERINFO.sub(f"{REDACTED}@", value)
        if self._pattern is None or not self._may_hold_secret(value):
            return value
        return self._pattern.sub(REDACTED, value)

    def _may_hold_secret(self, value: str) -> bool:
        """False only when no alternative of the pattern can match: none of their ASCII needles is in the text
        folded as case-insensitive matching folds it. Plain substring searches over slices of the text (a 4 MiB
        body is not copied whole), so the last pass over a half-megabyte cassette costs milliseconds instead of
        a tenth of a second."""
        needles = self._needles
        if needles is None:
            return True
        for start in range(0, len(value), _FOLD_SLICE):
            piece = value[max(0, start - self._overlap) : start + _FOLD_SLICE]
            for odd, letter in _ASCII_FOLD:
                piece = piece.replace(odd, letter)
            folded = piece.lower()
            if any(needle in folded for needle in needles):
                return True
        return False

    def value(self, node: Any) -> Any:
        """A parsed JSON document with every string redacted (a key may hide behind JSON escapes)."""
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, dict):
            return {self.text(key): self.value(item) for key, item in node.items()}
        if isinstance(node, list):
            return [self.value(item) for item in node]
        return node

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.query:
            pairs = []
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                shown = self._sensitive(value) if name.lower() in self.names else self.text(value)
                # A key's label stays a shell expression (`${SPIDRA_API_KEY%?}`); anything else is encoded.
                kept = shown if _SHELL_LABEL.fullmatch(shown) else quote(shown, safe="[]")
                pairs.append(f"{quote(name, safe='[]')}={kept}")
            parts = parts._replace(query="&".join(pairs))
        return self.text(urlunsplit(parts))

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        shown: dict[str, str] = {}
        for name, value in headers.items():
            shown[name] = self._sensitive(value) if name.lower() in self.names else self.text(value)
        return shown

    def _sensitive(self, value: str) -> str:
        """A value under a credential's name: its label if it is (derived from) a known key, else redacted."""
        if not value:
            return value
        label = self.label_for(value)
        return label if label != value else REDACTED


# The labels `Redactor.label_for` writes: shell expressions over the SPIDRA_* environment variables.
_KEY_LABEL = (
    r"(?:\$\(printf %s \$SPIDRA_\w+ \| tr a-zA-Z A-Za-z\)|\$\{SPIDRA_\w+(?:%\?)?\}[A-Za-z0-9]?|\$SPIDRA_[A-Z_]+)"
)
_SHELL_LABEL = re.compile(rf"\$\(printf (?:%s:|:%s) {_KEY_LABEL} \| base64 -w0\)|{_KEY_LABEL}")


def shell_word(text: str) -> str:
    """`text` as one shell word in which only our key labels expand; everything else stays literal."""
    if not _SHELL_LABEL.search(text):
        return shlex.quote(text)

    def literal(chunk: str) -> str:
        return chunk.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")

    pieces, position = [], 0
    for match in _SHELL_LABEL.finditer(text):
        pieces += [literal(text[position : match.start()]), match.group(0)]
        position = match.end()
    pieces.append(literal(text[position:]))
    return '"' + "".join(pieces) + '"'


@dataclass(frozen=True)
class Reply:
    """A response with the request that produced it; request headers and URL are already redacted. Frozen once
    built: a test that names who asked makes a new one (`dataclasses.replace`)."""

    method: str
    url: str
    request_headers: dict[str, str]
    status: int
    headers: dict[str, str]
    content: bytes
    elapsed_ms: float = 0.0
    # What went wrong with the body itself: cut short, over the size cap, undecodable encoding.
    problem: str = ""
    # Who asked, through which door (`door HEAD /crawl/{id}, caller: no key`), when a test says so.
    context: str = ""
    # The request went elsewhere than the job: another route, a header naming the job's (X-Original-URL over /), or
    # a door where the owner too gets something other than the job (an edge's page for another host). A 2xx there
    # is the job only if its body is (or carries it).
    rewritten: bool = False
    # A door was knocked on with a key that is not the job owner's (or none): who may not read it asked.
    stranger: bool = False
    # The exchange's id in the cassette (its HAR entry's `_id`), and how to ask the same again (see
    # `GuardedSession.reread`).
    exchange_id: str = ""
    # Where the response carried a secret the run holds, by label (`body: $SPIDRA_API_KEY`), seen before the
    # redaction that keeps it out of every report: what the `no-credential` clause judges.
    credentials: tuple[str, ...] = ()

    @property
    def media_type(self) -> str:
        return self.header("content-type").split(";")[0].strip().lower()

    def header(self, name: str) -> str:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return ""

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @functools.cached_property
    def _parsed(self) -> Any:
        return parse_json(self.content)  # computed once (a cached property writes the instance's own dict)

    @property
    def json(self) -> Any:
        """The parsed body; raises `ValueError` when it is not strict JSON (NaN and Infinity are not JSON),
        not UTF-8, or nests deeper than any job body could."""
        parsed = self._parsed
        if isinstance(parsed, ValueError):
            raise parsed
        return parsed

    @property
    def body(self) -> Any:
        """The parsed body, or None when it does not parse (the media-type clause reports that)."""
        try:
            return self.json
        except ValueError:
            return None

    @property
    def excerpt(self) -> str:
        """The start of the body as printable text: control characters (a binary or hostile body) are shown
        as escapes, so no report format (XML above all) is broken by what a server sent."""
        text = self.text
        cut = text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + f"... ({len(text)} chars)"
        return printable(cut)

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.url}"

    def curl(self) -> str:
        """A shell line that sends the same request; keys appear as environment variables, never as values. The
        path goes as it was sent (`--path-as-is`: a door's dot segments are not resolved by curl); HEAD is `-I`
        (curl's `-X HEAD` would wait for a body that never comes), GET curl's own default."""
        method = {"GET": [], "HEAD": ["-I"]}.get(self.method, ["-X", self.method])
        parts = ["curl", "-sS", "-i", "--path-as-is", *method]
        for name, value in self.request_headers.items():
            if name.lower() in {"user-agent", "accept-encoding", "connection", "content-length", "host"}:
                continue
            parts += ["-H", shell_word(f"{name}: {value}")]
        parts.append(shell_word(self.url))
        return " ".join(parts)

    def record(self) -> ExchangeRecord:
        """This exchange as evidence in a judgement or a report."""
        return ExchangeRecord(
            id=self.exchange_id,
            request=self.request_line,
            status=self.status,
            content_type=self.header("content-type"),
            excerpt=self.excerpt,
            curl=self.curl(),
            location=self.header("location"),
            problem=self.problem,
            context=self.context,
        )

    def as_evidence(self) -> dict[str, Any]:
        """The record as plain data (a finding's evidence)."""
        return self.record().to_dict()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Python refuses to turn more than 4300 digits into an int (a quadratic conversion, CVE-2020-10735); JSON sets
# no such limit. Longer integers are converted by halves (O(n^1.6) with Karatsuba, about 0.6 s for a million
# digits; a body is at most --max-body bytes), so a long integer is judged by its value, never "does not parse".
_INT_DIGITS_AT_ONCE = 2000


@functools.lru_cache(maxsize=64)
def _power_of_ten(exponent: int) -> int:
    return int(10**exponent)


def _digits_to_int(digits: str) -> int:
    if len(digits) <= _INT_DIGITS_AT_ONCE:
        return int(digits)
    low = len(digits) // 2
    return _digits_to_int(digits[:-low]) * _power_of_ten(low) + _digits_to_int(digits[-low:])


def parse_int(text: str) -> int:
    """A JSON integer of any length, by value."""
    if len(text) <= _INT_DIGITS_AT_ONCE:
        return int(text)
    negative = text.startswith("-")
    value = _digits_to_int(text[1:] if negative else text)
    return -value if negative else value


def parse_json(content: bytes) -> Any:
    """Strict JSON, or the `ValueError` saying why not (kept, so a bad body is parsed once)."""
    try:
        document = json.loads(content.decode("utf-8"), parse_constant=_reject_constant, parse_int=parse_int)
    except RecursionError:
        return ValueError("the JSON nests too deeply to parse")
    except ValueError as exc:
        return ValueError(str(exc))
    depth, stack = 0, [(document, 1)]
    while stack:
        node, level = stack.pop()
        depth = max(depth, level)
        if depth > MAX_JSON_DEPTH:
            return ValueError(f"the JSON nests more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(node, dict):
            stack.extend((item, level + 1) for item in node.values())
        elif isinstance(node, list):
            stack.extend((item, level + 1) for item in node)
    return document


def reply_from_parts(
    *,
    method: str,
    url: str,
    request_headers: Iterable[tuple[str, str]] | Mapping[str, str],
    status: int,
    headers: Iterable[tuple[str, str]] | Mapping[str, str],
    content: bytes,
    elapsed_ms: float,
    redactor: Redactor,
    problem: str = "",
    exchange_id: str = "",
) -> Reply:
    req = dict(request_headers.items() if isinstance(request_headers, Mapping) else request_headers)
    res = dict(headers.items() if isinstance(headers, Mapping) else headers)
    credentials = [f"header {name}: {label}" for name, value in res.items() for label in redactor.carried(value)]
    credentials += [f"body: {label}" for label in _carried_in_body(content, redactor)]
    return Reply(
        method=method.upper(),
        url=redactor.url(url),
        request_headers=redactor.headers(req),
        status=status,
        headers=redactor.headers(res),
        content=_redacted_content(content, redactor),
        elapsed_ms=elapsed_ms,
        problem=redactor.text(problem),
        exchange_id=exchange_id,
        credentials=tuple(dict.fromkeys(credentials)),
    )


def _carried_in_body(content: bytes, redactor: Redactor) -> tuple[str, ...]:
    """The secrets a body holds, in its text or behind JSON escapes (a `\\u0073` for an `s`)."""
    if not redactor.secrets or not content:
        return ()
    text = content.decode("utf-8", errors="replace")
    found = list(redactor.carried(text))
    if "\\" in text:
        document = parse_json(content)
        if not isinstance(document, ValueError):
            found += redactor.carried("\n".join(strings_of(document)))
    return tuple(dict.fromkeys(found))


def strings_of(node: Any) -> list[str]:
    """Every string in a JSON document (keys too): what a reader of the decoded message would see."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [*node.keys(), *(text for item in node.values() for text in strings_of(item))]
    if isinstance(node, list):
        return [text for item in node for text in strings_of(item)]
    return []


def reply_from_response(
    response: Any, redactor: Redactor, elapsed_ms: float, problem: str = "", exchange_id: str = ""
) -> Reply:
    """A `Reply` from a requests response, or a schemathesis one (whose header values are lists)."""
    request = response.request
    headers = {name: ", ".join(value) if isinstance(value, list) else value for name, value in response.headers.items()}
    return reply_from_parts(
        method=request.method or "GET",
        url=request.url or "",
        request_headers=_sent_headers(request),
        status=response.status_code,
        headers=headers,
        content=response.content or b"",
        elapsed_ms=elapsed_ms,
        redactor=redactor,
        problem=problem,
        exchange_id=exchange_id,
    )


def _sent_headers(request: Any) -> dict[str, str]:
    """The headers as sent: a name sent twice is shown once with its values joined, as RFC 9110 5.3 allows."""
    listed = getattr(request, "spidra_raw_headers", None)
    if not listed:
        return dict(request.headers)
    sent: dict[str, str] = {}
    for name, value in listed:
        existing = next((key for key in sent if key.lower() == name.lower()), None)
        if existing is None:
            sent[name] = value
        else:
            sent[existing] = f"{sent[existing]}, {value}"
    return sent


def _redacted_content(content: bytes, redactor: Redactor) -> bytes:
    """The body with secrets removed; untouched bytes (even invalid UTF-8) when it holds none."""
    if not redactor.secrets:
        return content
    text = content.decode("utf-8", errors="replace")
    cleaned = redactor.text(text)
    if "\\" in cleaned:
        # JSON escapes (\u0073k_...) can spell a key the text does not show: judge the decoded strings too.
        document = parse_json(cleaned.encode("utf-8"))
        if not isinstance(document, ValueError) and redactor.value(document) != document:
            return json.dumps(redactor.value(document), ensure_ascii=False).encode("utf-8")
    return content if cleaned == text else cleaned.encode("utf-8")
