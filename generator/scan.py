"""Content scans of a post-mortem's text: secrets, personal data, executable HTML, links.

Detection itself is done by well-kept libraries: detect-secrets (Yelp) finds credentials,
phonenumbers (Google's libphonenumber) finds phone numbers, markdown-it-py finds code blocks,
and the standard library's HTML tokenizer reads raw HTML. Our code only decides *where* to
look, so that 10,000 files stay fast: a cheap pre-filter picks the few lines that could hold a
secret, and only those lines go through detect-secrets' plugins and filters.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from bisect import bisect_right
from html.parser import HTMLParser

# --- masking -------------------------------------------------------------------------------


def mask(value: str) -> str:
    """Mask a secret or personal value for display: ``AKIAIOSFODNN7EXAMPLE`` -> ``AKI…PLE``.

    A value keeps at most a third of its characters, and never more than 8: one character up
    to 11, then 2, 3 or 4 at each end (from 12, 18 and 24 characters). Phone numbers keep only
    their last two digits, e-mail addresses the first letter and the top-level domain.
    """
    value = value.strip()
    if _PHONE_CHARS.fullmatch(value):
        digits = re.sub(r"\D", "", value)
        return "+" * ("+" in value[:2]) + "•" * max(len(digits) - 2, 3) + digits[-2:]
    if "@" in value and _EMAIL.fullmatch(value):
        user, _, domain = value.partition("@")
        return f"{user[:1]}…@…{domain[domain.rfind('.'):]}"
    if len(value) < 12:
        return value[:1] + "…"
    keep = min(4, len(value) // 6)
    return f"{value[:keep]}…{value[-keep:]}"


def excerpt(text: str, limit: int = 40) -> str:
    """The start of ``text`` for a message, at most ``limit`` characters, never cut inside a run
    of token characters: a quoted excerpt holds whole tokens only, so the masking step
    (:class:`Redactor`) recognises a secret in it (a cut token would slip through in part).
    A cut excerpt ends with ``…``."""
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and _TOKEN_CHAR.match(text, cut - 1) and _TOKEN_CHAR.match(text, cut):
        cut -= 1
    return text[:cut].rstrip() + "…"


_PHONE_CHARS = re.compile(r"\(?\+?[\d\s().\-]{7,}")

# --- secrets -------------------------------------------------------------------------------

# Plugins of detect-secrets that we run. Left out: IPPublicDetector (post-mortems about
# routing quote public addresses on purpose) and HexHighEntropyString (commit hashes).
SECRET_PLUGINS = [
    {"name": name}
    for name in (
        "ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
        "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector",
        "IbmCloudIamDetector", "IbmCosHmacDetector", "JwtTokenDetector", "KeywordDetector",
        "MailchimpDetector", "NpmDetector", "OpenAIDetector", "PrivateKeyDetector",
        "PypiTokenDetector", "SendGridDetector", "SlackDetector", "SoftlayerDetector",
        "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector", "TwilioKeyDetector",
    )
] + [{"name": "Base64HighEntropyString", "limit": 4.5}]

# Lines worth handing to detect-secrets: a credential keyword from the library's own keyword
# list, a PEM header, credentials inside a URL, or a long token-like run (checked below for
# mixed letters and digits). Everything detect-secrets' regex plugins look for is such a run.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_\-.~]{20,}")


@lru_cache(maxsize=1)
def _secret_hint() -> re.Pattern:
    from detect_secrets.plugins.keyword import DENYLIST

    return re.compile(r"(?i)(" + "|".join(DENYLIST) + r")|-----BEGIN|://[^\s/:@]+:[^\s/@]+@")


# Substrings (lower case) without which no line can match :func:`_secret_hint`: one ``in``
# test on the whole file saves running the long case-insensitive alternation on most files.
HINT_WORDS = ("key", "pass", "pwd", "secret", "contrase", "-----begin", "@")


def candidate_lines(lines: list[str]) -> list[int]:
    """0-based indexes of the lines a cheap pre-filter flags as possibly holding a secret.

    A line is flagged when it holds a credential keyword from detect-secrets' own keyword
    list, a PEM header, credentials in a URL, or a run of 20+ token characters mixing letters
    and digits (every token format detect-secrets' regex plugins look for is such a run).
    The whole file is searched at once, which is ~10x faster than line by line.
    """
    text = "\n".join(lines)
    starts = [0]
    for i, line in enumerate(lines[:-1]):
        starts.append(starts[-1] + len(line) + 1)
    flagged: set[int] = set()
    lower = text.lower()
    if any(word in lower for word in HINT_WORDS):
        for m in _secret_hint().finditer(text):
            flagged.add(bisect_right(starts, m.start()) - 1)
    for m in _TOKEN_RUN.finditer(text):
        run = m.group()
        if not run.isalpha() and not run.isdigit() and any(c.isdigit() for c in run) \
                and any(c.isalpha() for c in run):
            flagged.add(bisect_right(starts, m.start()) - 1)
    return sorted(flagged)


# The guard of what detect-secrets is given (its allowlist check, ``[ \t]*#...pragma`` searched
# from every position, is quadratic in a run of spaces: one pasted log line took ~95 s).
_SPACE_RUN_LONG = re.compile(r"[^\S\n]{9,}")
WINDOW = 2048
"""Longest piece of a line handed to detect-secrets (characters)."""
WINDOW_OVERLAP = 512
"""Characters that consecutive windows share: a secret of up to this length (every token format
detect-secrets knows, private-key headers, basic-auth URLs) lies whole in one window."""


def scan_windows(line: str) -> list[str]:
    """What detect-secrets is given of one line, so that its cost stays linear in the line.

    Runs of 9 or more whitespace characters become one space (no credential format holds such a
    run; a keyword assignment still reads ``password = x``; the masking step matches a value's
    whitespace loosely). A line still longer than :data:`WINDOW` is cut into windows of that
    length, each sharing :data:`WINDOW_OVERLAP` characters with the next; only windows that pass
    the pre-filter (:func:`candidate_lines`) are kept. The findings keep the line's number;
    :func:`secret_extent` widens a value to the whole token of the original line.
    """
    if len(line) > 8 and _SPACE_RUN_LONG.search(line):
        line = _SPACE_RUN_LONG.sub(" ", line)
    if len(line) <= WINDOW:
        return [line]
    step = WINDOW - WINDOW_OVERLAP
    windows = [line[i:i + WINDOW] for i in range(0, len(line) - WINDOW_OVERLAP, step)]
    return [w for w in windows if _window_worth_scanning(w)]


# Prefixes of the token formats detect-secrets' regex detectors know (AWS, GitHub, GitLab,
# Slack, Stripe, JWT, npm, SendGrid, Square, PyPI, OpenAI, Artifactory), found even inside a
# longer run of token characters.
_TOKEN_PREFIX = re.compile(r"A(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])|gh[pousr]_|gl(?:pat|dt|ft|soat|rt|cbt)-|xox[a-z]-"
                           r"|[rs]k_live_|eyJ|npm_|SG\.|sq0(?:csp|atp)-|pypi-|T3BlbkFJ|AKC[a-zA-Z0-9]{10}")
_NOT_TOKEN_CHAR = re.compile(r"[^A-Za-z0-9+/=_\-.~]")


def _window_worth_scanning(window: str) -> bool:
    """A window of a long line goes to detect-secrets when the pre-filter flags it and it is not
    wholly inside one run of token characters, or when it holds a known token prefix: the
    middle of a megabyte of base64 is no credential, and would cost seconds per megabyte."""
    if not candidate_lines([window]):
        return False
    return bool(_NOT_TOKEN_CHAR.search(window) or _TOKEN_PREFIX.search(window))


# --- wider detection: keyword assignments in prose and in front-matter text ------------------

@lru_cache(maxsize=1)
def _assignment() -> re.Pattern:
    """``keyword = value`` / ``keyword: value`` written in running text (not only in code)."""
    from detect_secrets.plugins.keyword import DENYLIST

    keyword = r"[\w.\-]*(?:" + "|".join(DENYLIST) + r")[\w.\-]*"
    return re.compile(r"(?i)(?<![\w.\-])(" + keyword + r")[\"'\]]{0,2}[ \t]*(:=|=>|==?|:)[ \t]*"
                      r"([\"'`]?)([^\s\"'`,;)]{4,})\3")


def may_assign(text: str) -> bool:
    """Whether ``text`` could hold a keyword assignment (a ``=`` or ``:`` and a credential keyword)."""
    return ("=" in text or ":" in text) and bool(_secret_hint().search(text))


def assignment_snippets(line: str) -> list[str]:
    """The keyword assignments of a line of prose, as configuration lines for detect-secrets.

    ``aws_secret_access_key = wJalr...`` or ``db_password: "s3cr3t"`` in running text are
    handed over as ``key = value`` (read as configuration, where no quotes are needed), when
    the value looks like a credential rather than a word or a name: 6 characters or more (8
    after ``:``, which prose uses for other things: "Password: reset by the on-call"), not
    only letters, not lowercase words joined by ``-``, ``_`` or ``.`` (``secret_name =
    prod-db``). detect-secrets' own filters then decide.
    """
    out = []
    for m in _assignment().finditer(line):
        key, sign, _, value = m.groups()
        if len(value) < (8 if sign == ":" else 6) or value.isalpha() or _NAME_LIKE.fullmatch(value):
            continue
        out.append(f"{key} = {value}")
    return out


_NAME_LIKE = re.compile(r"[a-z]+(?:[-_.][a-z0-9]+)*\.?")


@dataclass(frozen=True)
class Finding:
    """A value found in the text: 1-based file ``line``, ``kind`` in words, the raw ``value``;
    for a secret, ``hidden`` holds every text to hide wherever it occurs (see :func:`secret_extent`)."""

    line: int
    kind: str
    value: str
    hidden: tuple[str, ...] = ()


class SecretScanner:
    """Runs detect-secrets' plugins and filters over the lines a pre-filter flags.

    Use as a context manager around a whole validation run (detect-secrets keeps its settings
    in a global; entering them once costs ~50 ms).
    """

    def __init__(self, wide: bool = True):
        self.wide = wide  # keyword assignments in prose and front-matter text (off: detect-secrets' own reading)

    def __enter__(self) -> "SecretScanner":
        from detect_secrets.core import scan as ds_scan
        from detect_secrets.settings import transient_settings

        self._settings = transient_settings({"plugins_used": SECRET_PLUGINS})
        self._settings.__enter__()
        # detect-secrets has no public "scan these lines" call; this is what scan_file uses.
        self._process = ds_scan._process_line_based_plugins
        return self

    def __exit__(self, *exc) -> None:
        self._settings.__exit__(*exc)

    def scan(self, lines: list[str], first_line: int, code_lines: frozenset[int] = frozenset(),
             yaml_lines: int = 0, values: list[tuple[int, str]] = ()) -> list[Finding]:
        """Find secrets in ``lines`` (and in ``values``).

        Args:
            lines: the text, one string per line, without line breaks.
            first_line: the 1-based file line of ``lines[0]``.
            code_lines: 0-based indexes into ``lines`` that sit in a code block; they are read
                as configuration (``KEY=value`` is enough, no quotes needed).
            yaml_lines: how many of the first lines are YAML front matter.
            values: ``(1-based file line, text)`` of the front matter's text values as YAML
                reads them (quotes and escapes resolved), scanned as prose: a
                ``db_password = "..."`` inside a summary.

        Every line outside code and front matter (prose, and lines above the front matter) is
        also searched for keyword assignments (:func:`assignment_snippets`), which
        detect-secrets reads in prose only when the value is quoted.

        Returns:
            One :class:`Finding` per line and secret kind, in line order.
        """
        found: dict[tuple[int, str], Finding] = {}

        def record(secret, text_lines: list[str], index: int) -> None:
            value = secret.secret_value or ""
            key = (secret.line_number, secret.type)
            shown, hidden = secret_extent(text_lines, index, value, secret.type)
            if key in found:  # one problem per line and kind; every value of them is hidden
                old = found[key]
                found[key] = Finding(old.line, old.kind, old.value, tuple(sorted({*old.hidden, *hidden})))
            else:
                found[key] = Finding(secret.line_number, secret.type, shown, hidden)

        for i in candidate_lines(lines):
            line = lines[i]
            name = "front-matter.yaml" if i < yaml_lines else ("pasted.cfg" if i in code_lines else "body.md")
            windows = list(dict.fromkeys(scan_windows(line)))  # (a repeated pattern repeats its windows)
            for secret in self._process([(first_line + i, window) for window in windows], name):
                record(secret, lines, i)
            if name == "body.md" and self.wide:
                self._assignments(first_line + i, windows, lines, i, record)
        for number, text in values if self.wide else ():
            value_lines = text.split("\n")
            for i in candidate_lines(value_lines):
                windows = list(dict.fromkeys(scan_windows(value_lines[i])))
                for secret in self._process([(number, window) for window in windows], "value.md"):
                    record(secret, value_lines, i)
                self._assignments(number, windows, value_lines, i, record)
        return sorted(found.values(), key=lambda f: (f.line, f.kind))

    def _assignments(self, number: int, windows: list[str], text_lines: list[str], index: int, record) -> None:
        """Keyword assignments of prose windows, read as configuration (see :func:`assignment_snippets`)."""
        snippets = [(number, snippet) for window in windows if may_assign(window)
                    for snippet in assignment_snippets(window)]
        for secret in self._process(snippets, "prose.cfg") if snippets else ():
            record(secret, text_lines, index)


# --- hiding what the secret scan found -----------------------------------------------------

HIDDEN = "••••••"
"""What text that leaves the tool shows in place of a secret: no letter or digit, so it is never
a search term, a similarity term or a "shared term", and says nothing of the value's length."""

# Characters of a token (as in :data:`_TOKEN_RUN`). A detector may report a part of a token:
# detect-secrets' GitHub and GitLab detectors return only the ``ghp``/``glpat`` group of their
# regex, the JWT detector stops before the signature, and a line cut into windows (see
# :func:`scan_windows`) may cut a token in two: what is hidden is widened to the whole token.
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9+/=_\-.~]")
_TOKEN_TAIL = re.compile(r"[A-Za-z0-9+/=_\-.~]*")
_MAX_WIDENED = 8192
_PEM_END = re.compile(r"-----END[ A-Z0-9]*-----")
_PEM_MAX_LINES = 200


def secret_extent(lines: list[str], index: int, value: str, kind: str) -> tuple[str, tuple[str, ...]]:
    """What to hide for a secret a detector reported in ``lines[index]``: ``(shown, hidden)``.

    ``shown`` is the value a message masks: the value, or the whole token when the detector gave
    only a prefix of 8 characters or fewer (``ghp`` of ``ghp_...``). ``hidden`` is every text to
    hide wherever it occurs in the file: the value as reported and the whole run of token
    characters around it (at most 8,192), and for a private key every line of its PEM block up
    to ``-----END ...-----`` (detect-secrets reports only the ``BEGIN ... PRIVATE KEY`` header;
    the key is in the lines after it).
    """
    line = lines[index]
    hidden = {value}
    shown = value
    at = line.find(value) if value else -1
    if at >= 0:
        start, end = at, at + len(value)
        while start > 0 and end - start < _MAX_WIDENED and _TOKEN_CHAR.match(line, start - 1):
            start -= 1
        tail = _TOKEN_TAIL.match(line, end, min(len(line), start + _MAX_WIDENED)).end()
        if tail > end and len(value) <= 8 and start == at:
            shown = line[at:tail]
            hidden.discard(value)  # a prefix alone ("ghp") is no secret, and would mangle text
        hidden.add(line[start:tail])
    if kind == "Private Key":
        for i in range(index, min(len(lines), index + _PEM_MAX_LINES)):
            text = lines[i].strip()
            if text:
                hidden.add(text)
            if _PEM_END.search(lines[i]):
                break
    return shown, tuple(sorted(v for v in hidden if v.strip()))


def _variants(value: str) -> set[str]:
    """Forms a value takes in a message or page besides itself: lower case and kebab-case (a
    fix suggests ``slugify(tag)``), and JSON-escaped (``"`` and ``\\`` in JSON output)."""
    out = {value}
    if len(value) >= 8:
        out.add(value.lower())
        from slugify import slugify

        slug = slugify(value)
        if len(slug) >= 8:
            out.add(slug)
    escaped = json.dumps(value, ensure_ascii=False)[1:-1]
    out.add(escaped)
    return {v for v in out if v.strip()}


class Redactor:
    """The one masking step: hides every secret value found in a file (or a run) in any text.

    Built from the values the secret scan recorded (:attr:`generator.loader.SourceFile.secrets`);
    every occurrence of a value (and of its lower-case, kebab-case and JSON-escaped forms) is
    replaced (a value under 12 characters only where it is not part of a longer word): by :func:`mask` in problem messages
    (:meth:`mask`, so the author can tell which value it is), by :data:`HIDDEN` in everything
    published (:meth:`hide`, :meth:`hide_data`: the model, pages, exports, similarity terms).
    An empty redactor returns its input unchanged, at no cost.
    """

    def __init__(self, values=()):
        self.secrets = frozenset(v.strip() for v in values if isinstance(v, str) and v.strip())
        shown: dict[str, str] = {}
        for value in sorted(self.secrets):
            for form in _variants(value):
                shown.setdefault(form, mask(value))
        self._shown = shown
        self.values = tuple(sorted(shown, key=lambda v: (-len(v), v)))
        self._pattern = _alternation(self.values) if self.values else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __or__(self, other: "Redactor") -> "Redactor":
        return Redactor(self.secrets | other.secrets)

    def __reduce__(self):  # pickled (worker processes) as its values
        return (Redactor, (tuple(sorted(self.secrets)),))

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by its :func:`mask` (``AKI…PLE``)."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(self._masked, text)

    def _masked(self, match: re.Match) -> str:
        found = match.group()
        if found in self._shown:
            return self._shown[found]
        spaced = _SPACE_RUN.sub(" ", found)  # matched with other whitespace (see _alternation)
        return next((m for v, m in self._shown.items() if _SPACE_RUN.sub(" ", v) == spaced), HIDDEN)

    def hide(self, text: str) -> str:
        """``text`` with every secret replaced by :data:`HIDDEN`."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(HIDDEN, text)

    def hide_data(self, value):
        """``value`` with :meth:`hide` applied to every string in it: ``str``, ``list``,
        ``tuple``, ``dict`` (keys too) and dataclass instances (fields replaced in place, or a
        copy for frozen ones); other values (dates, numbers, bytes) as they are."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.hide(value)
        if isinstance(value, list):
            return [self.hide_data(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.hide_data(v) for v in value)
        if isinstance(value, dict):
            return {self.hide_data(k): self.hide_data(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: self.hide_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
            if getattr(value, "__dataclass_params__").frozen:
                return dataclasses.replace(value, **changes)
            for name, new in changes.items():
                setattr(value, name, new)
            return value
        return value


_SPACE_RUN = re.compile(r"\s+")


def _alternation(values: tuple[str, ...]) -> re.Pattern:
    """One pattern for every value (longest first); a run of whitespace in a value matches any
    run of whitespace (the scanner sees long runs collapsed, see :func:`scan_windows`). A value
    of 12 characters or more is found anywhere, even inside a longer run of letters (a key in
    a base64 blob); a shorter one only where it is not part of a longer word, so that a short
    password does not eat the same letters in ordinary words."""
    def part(value: str) -> str:
        body = "\\s+".join(re.escape(piece) for piece in _SPACE_RUN.split(value))
        return body if len(value) >= 12 else r"(?<!\w)" + body + r"(?!\w)"

    return re.compile("|".join(part(v) for v in values))


# --- personal data -------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE_HINT = re.compile(r"\+?\(?\d[\d \t().\-]{6,}\d")


def find_personal_data(lines: list[str], first_line: int, phone_region: str | None = "US") -> list[Finding]:
    """Find e-mail addresses and phone numbers.

    Phone numbers are confirmed by ``phonenumbers.PhoneNumberMatcher`` (leniency VALID) and
    must be written like phone numbers (a leading ``+`` or separators), so that bare integers
    such as 2147483647, which incident reports quote often, are not taken for one.
    ``phone_region`` is the ISO country assumed for numbers without ``+``; ``None`` keeps only
    international numbers.
    """
    found: list[Finding] = []
    for i, line in enumerate(lines):
        if "@" in line:
            for m in _EMAIL.finditer(line):
                if not line[max(0, m.start() - 1):m.start()] in ("/", ":"):  # not user@host in a URL
                    found.append(Finding(first_line + i, "e-mail address", m.group()))
        if _PHONE_HINT.search(line):
            import phonenumbers

            for m in phonenumbers.PhoneNumberMatcher(line, phone_region, leniency=phonenumbers.Leniency.VALID):
                raw = m.raw_string
                if raw.startswith("+") or re.search(r"\d[ ().\-]+\d", raw):
                    found.append(Finding(first_line + i, "phone number", raw))
    return found


# --- Markdown structure --------------------------------------------------------------------

_CODE_MARKERS = ("```", "~~~", "    ", "\t")


def code_line_indexes(body: str) -> frozenset[int]:
    """0-based indexes of body lines inside fenced or indented code blocks (markdown-it-py)."""
    if not any(marker in body for marker in _CODE_MARKERS):
        return frozenset()
    tokens = _markdown().parse(body)
    lines: set[int] = set()
    for tok in tokens:
        if tok.type in ("fence", "code_block") and tok.map:
            lines.update(range(tok.map[0], tok.map[1]))
    return frozenset(lines)


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


_INLINE_CODE = re.compile(r"(`+)(.+?)\1")


def prose_lines(body_lines: list[str], code: frozenset[int]) -> list[str]:
    """The body with code blocks blanked and inline code spans replaced by spaces.

    Line count and column positions are kept, so findings map back to the file.
    """
    out = []
    for i, line in enumerate(body_lines):
        if i in code:
            out.append("")
        elif "`" in line:
            out.append(_INLINE_CODE.sub(lambda m: " " * len(m.group()), line))
        else:
            out.append(line)
    return out


# --- executable HTML -----------------------------------------------------------------------

DANGEROUS_TAGS = frozenset({"script", "iframe", "frame", "frameset", "object", "embed", "applet",
                            "base", "meta", "form"})
_EMBED_ATTRS = frozenset({"src", "poster", "background"})
_URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "background",
                        "poster", "srcdoc"})
_SCRIPT_SCHEME = re.compile(r"(javascript|vbscript|data):", re.I)
_URL_NOISE = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL: "java\tscript:" runs
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def link_destination(raw: str) -> str:
    """A Markdown link destination as the browser gets it: backslash escapes and HTML entity
    references decoded, as CommonMark does (``&#106;avascript:`` is ``javascript:``)."""
    if "\\" in raw:
        raw = _BACKSLASH_ESCAPE.sub(r"\1", raw)
    if "&" in raw:
        raw = html.unescape(raw)
    return raw


def unsafe_scheme(url: str, embedded: bool = False) -> str | None:
    """``javascript``, ``vbscript`` or ``data`` when ``url`` (already entity-decoded) would run
    script or navigate to inline content, else ``None``.

    The URL is read as a browser reads it: leading spaces and control characters and any tab or
    line break are ignored, the scheme is case-insensitive. ``embedded`` is for images and
    media: there ``data:image/...`` is fine (an image never runs script).
    """
    url = _URL_NOISE.sub("", url).lstrip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                         "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
    m = _SCRIPT_SCHEME.match(url)
    if not m:
        return None
    scheme = m.group(1).lower()
    if scheme == "data" and embedded and url[5:].lstrip().lower().startswith("image/"):
        return None
    return scheme


@dataclass(frozen=True)
class HtmlFinding:
    """Executable HTML: 1-based ``line`` and ``column`` and what was found, in words."""

    line: int
    column: int
    what: str


class _ScriptFinder(HTMLParser):
    def __init__(self, first_line: int):
        super().__init__(convert_charrefs=True)
        self.first_line = first_line
        self.found: list[HtmlFinding] = []

    def _add(self, what: str) -> None:
        line, col = self.getpos()
        self.found.append(HtmlFinding(self.first_line + line - 1, col + 1, what))

    def handle_starttag(self, tag, attrs):
        if tag in DANGEROUS_TAGS:
            self._add(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self._add(f"'{name}' event-handler attribute on <{tag}>")
            elif name in _URL_ATTRS and value:
                scheme = unsafe_scheme(value, embedded=name in _EMBED_ATTRS)
                if scheme:
                    self._add(f"{scheme}: URL in {name}= of <{tag}>")

    handle_startendtag = handle_starttag


def find_executable_html(prose: list[str], first_line: int) -> list[HtmlFinding]:
    """Raw HTML in the prose that would run in a reader's browser.

    Args:
        prose: body lines with code already blanked (see :func:`prose_lines`).
        first_line: 1-based file line of ``prose[0]``.

    Returns:
        Findings in line order: dangerous elements, ``on*=`` attributes, ``javascript:`` /
        ``vbscript:`` / ``data:`` URLs (other than ``data:image/`` images) in attributes or in
        Markdown links, images and reference definitions, also when written with entity
        references (``&#106;avascript:``) or backslash escapes.
    """
    found: list[HtmlFinding] = []
    text = "\n".join(prose)
    if "<" in text:
        finder = _ScriptFinder(first_line)
        try:
            finder.feed(text)
            finder.close()
        except Exception:  # noqa: BLE001 - html.parser is lenient; never let it stop a run
            pass
        found.extend(finder.found)
    if ":" in text:
        for link in body_links(prose, first_line):
            scheme = unsafe_scheme(link_destination(link.target), embedded=link.image)
            if scheme:
                kind = "image" if link.image else "link"
                written = "" if _SCRIPT_SCHEME.match(link.target.lstrip()) else f" (written {excerpt(link.target)!r})"
                found.append(HtmlFinding(link.line, link.column, f"{scheme}: URL{written} in a Markdown {kind}"))
    return sorted(set(found), key=lambda f: (f.line, f.column))


# --- links ---------------------------------------------------------------------------------

_LINK_OPEN = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass(frozen=True)
class Link:
    """A link target as written in the body (not decoded; see :func:`link_destination`), with
    its 1-based file line and column; ``image`` for ``![...](...)``."""

    line: int
    column: int
    target: str
    image: bool = False


def _destination(line: str, start: int) -> tuple[int, str] | None:
    """The destination of an inline link whose ``(`` ends at ``start``: ``(column, text)``.

    As CommonMark reads it: ``<...>``, or a run without spaces in which parentheses are
    balanced (``alert(1)``) and backslash-escaped ones do not count; the destination must be
    followed by ``)`` or a title. ``None`` when it is not a link (or the destination is empty).
    """
    n, i = len(line), start
    while i < n and line[i] in " \t":
        i += 1
    if i < n and line[i] == "<":
        end = i + 1
        while end < n and line[end] not in "<>":
            end += 2 if line[end] == "\\" else 1
        if end >= n or line[end] != ">":
            return None
        begin, stop, after = i + 1, end, end + 1
    else:
        begin, depth, end = i, 0, i
        while end < n:
            c = line[end]
            if c == "\\" and end + 1 < n:
                end += 2
                continue
            if c.isspace() or ord(c) < 0x20:
                break
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            end += 1
        if depth:
            return None
        begin, stop, after = i, end, end
    while after < n and line[after] in " \t":
        after += 1
    if stop <= begin or after >= n or line[after] not in ")\"'(":
        return None
    return begin, line[begin:stop]


def body_links(prose: list[str], first_line: int) -> list[Link]:
    """Every link target written in the body outside code (inline, image and reference-style),
    including anchors (``#x``) and site-absolute paths (``/x``), in line order."""
    links = []
    for i, line in enumerate(prose):
        if "](" not in line and "]:" not in line:
            continue
        for m in _LINK_OPEN.finditer(line):
            found = _destination(line, m.end())
            if found is not None:
                links.append(Link(first_line + i, found[0] + 1, found[1], m.group().startswith("!")))
        ref = _REF_DEF.match(line)
        if ref:
            links.append(Link(first_line + i, ref.start(1) + 1, ref.group(1)))
    return links


# Embedded resources the browser fetches by itself: Markdown images and HTML src/srcset/poster/
# data attributes and <link href>. (Plain links are fine: the reader chooses to follow them.)
_REMOTE_IMAGE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\(\s*<?((?:https?:)?//[^)\s>]+)", re.I)
_REMOTE_ATTR = re.compile(r"<(?:img|video|audio|source|track|input|embed|link|object)\b[^>]*?\s"
                          r"(?:src|srcset|poster|data|href)\s*=\s*[\"']?((?:https?:)?//[^\s\"'>]+)", re.I)


def find_remote_resources(prose: list[str], first_line: int) -> list[Link]:
    """Images and media that a page would load from another host (they fail offline)."""
    found = []
    for i, line in enumerate(prose):
        if "//" not in line:
            continue
        for pattern in (_REMOTE_IMAGE, _REMOTE_ATTR):
            found.extend(Link(first_line + i, m.start(1) + 1, m.group(1)) for m in pattern.finditer(line))
    return sorted(found, key=lambda link: (link.line, link.column))


_ATTR_ID = re.compile(r"\s*\{[^}]*#([\w\-:.]+)[^}]*\}\s*$")
_INLINE_MARKUP = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[`*_~]")


def heading_ids(prose: list[str]) -> set[str]:
    """The ``id`` attributes MkDocs gives the body's ATX headings (python-markdown's ``toc``
    slugify, ``_1``, ``_2`` suffixes for repeats, ``{#custom}`` from attr_list)."""
    from markdown.extensions.toc import slugify

    ids: set[str] = set()
    for line in prose:
        m = _ATX.match(line)
        if not m:
            continue
        text = m.group(2)
        custom = _ATTR_ID.search(text)
        if custom:
            ids.add(custom.group(1))
            continue
        base = slugify(_INLINE_MARKUP.sub(lambda x: x.group(1) or "", text), "-")
        candidate, n = base, 0
        while candidate in ids:
            n += 1
            candidate = f"{base}_{n}"
        ids.add(candidate)
    return ids


# --- sections ------------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_PLACEHOLDER = re.compile(r"^[-*+>\s]*(?:todo|tbd|tba|fixme|xxx|\.\.\.|…|\[[^\]]*\]|\{\{.*?\}\}|<[^>]*>)?[\s.:!]*$", re.I)


@dataclass(frozen=True)
class Section:
    """A ``##`` section of the body: its heading as written, 1-based heading line, text."""

    title: str
    line: int
    text: str


def split_sections(body_lines: list[str], code: frozenset[int], first_line: int) -> list[Section]:
    """Level-2 sections of the body, in order; headings inside code blocks are ignored.

    Text before the first level-2 heading is not a section. Deeper headings (``###``) stay
    inside the section that holds them.
    """
    sections: list[Section] = []
    title, start, buf = None, 0, []
    for i, line in enumerate(body_lines):
        m = None if i in code else _ATX.match(line)
        if m and len(m.group(1)) <= 2:
            if title is not None:
                sections.append(Section(title, first_line + start, "\n".join(buf).strip()))
            title, start, buf = m.group(2).strip(), i, []
        elif title is not None:
            buf.append(line)
    if title is not None:
        sections.append(Section(title, first_line + start, "\n".join(buf).strip()))
    return sections


def section_key(title: str) -> str:
    """Normalise a heading for matching: ``Root Cause`` / ``root-cause:`` -> ``root cause``."""
    return re.sub(r"[\s_\-:]+", " ", title).strip().lower()


def is_placeholder(text: str) -> bool:
    """True when a section holds nothing but HTML comments or template placeholders.

    Placeholders are lines holding only TODO, TBD, TBA, FIXME, XXX, ``...``, a ``[hint in
    brackets]``, a ``{{ variable }}`` or ``<angle-bracket hint>``, possibly after a bullet.
    """
    stripped = _COMMENT.sub("", text).strip()
    if not stripped:
        return True
    return all(_PLACEHOLDER.match(line.strip()) for line in stripped.splitlines())
