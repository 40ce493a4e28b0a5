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

# --- masking -------------------------------------------------------------------------------


def mask(value: str) -> str:
    """Mask a secret or personal value for display: ``AKIAIOSFODNN7EXAMPLE`` -> ``…PLE``.

    A value keeps only its last characters, at most a sixth of them and never more than 4
    (nothing up to 11 characters, then 2, 3 or 4 from 12, 18 and 24), as GitHub's secret
    scanning shows a token: enough to tell two findings apart, and the start of a credential
    (``sk_l`` of ``sk_live_...``, four characters of an AWS secret key) is never printed into a
    CI log. The finding's kind already names the credential's type. Phone numbers keep only
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
        return "…"
    keep = min(4, len(value) // 6)
    return f"…{value[-keep:]}"


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


@lru_cache(maxsize=1)
def _prose_assignment() -> re.Pattern:
    """``the root password was 'S3cr...'``, ``set DB_PASS to Xk9#...``: a credential keyword,
    then ``is``, ``was``, ``to`` (``set to``, ``changed to``) and the value, in a sentence."""
    from detect_secrets.plugins.keyword import DENYLIST

    keyword = r"[\w.\-]*(?:" + "|".join(DENYLIST) + r")[\w.\-]*"
    return re.compile(r"(?i)(?<![\w.\-])(" + keyword + r")[ \t]+(is|was|to)[ \t]+"
                      r"([\"'`]?)([^\s\"'`,;)]{8,})\3")


_PROSE_WORDS = (" is ", " was ", " to ")


def may_assign(text: str) -> bool:
    """Whether ``text`` could hold a keyword assignment (a ``=`` or ``:``, or ``is``/``was``/``to``
    in a sentence, and a credential keyword)."""
    if not ("=" in text or ":" in text or any(word in text for word in _PROSE_WORDS)):
        return False
    return bool(_secret_hint().search(text))


def assignment_snippets(line: str) -> list[str]:
    """The keyword assignments of a line of prose, as configuration lines for detect-secrets.

    ``aws_secret_access_key = wJalr...`` or ``db_password: "s3cr3t"`` in running text are
    handed over as ``key = value`` (read as configuration, where no quotes are needed), when
    the value looks like a credential rather than a word or a name: 6 characters or more (8
    after ``:``, which prose uses for other things: "Password: reset by the on-call"), not
    only letters, not lowercase words joined by ``-``, ``_`` or ``.`` (``secret_name =
    prod-db``). detect-secrets' own filters then decide. Written as a sentence (``the root
    password was 'Sup3r...'``, ``set DB_PASS to Xk9#mQ2v...``: the keyword, ``is``/``was``/``to``
    and the value) it is handed over the same way when the value has 8 characters or more and
    is quoted or holds a digit, and is neither a word, a name nor a path or placeholder.
    """
    out = []
    for m in _assignment().finditer(line):
        key, sign, _, value = m.groups()
        if len(value) < (8 if sign == ":" else 6) or value.isalpha() or _NAME_LIKE.fullmatch(value):
            continue
        out.append(f"{key} = {value}")
    if any(word in line for word in _PROSE_WORDS):
        for m in _prose_assignment().finditer(line):
            key, _, quote, value = m.groups()
            value = value if quote else value.rstrip(".!?:")
            if (len(value) < 8 or value.isalpha() or _NAME_LIKE.fullmatch(value) or value.startswith(("/", "~", "$", "{", "<"))
                    or not re.search(r"\d", value) and not quote):
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


def scanner_digest() -> str:
    """Digest of the secret scan's code: this package's Python source and the installed
    detect-secrets version (a finding depends on nothing else than these and the text)."""
    return _scanner_digest()


@lru_cache(maxsize=1)
def _scanner_digest() -> str:
    from .analysis_cache import code_digest
    from .cache import digest, distribution_versions

    return digest(code_digest(), *distribution_versions(["detect-secrets"]))


class SecretScanner:
    """Runs detect-secrets' plugins and filters over the lines a pre-filter flags.

    Use as a context manager around a whole validation run (detect-secrets keeps its settings
    in a global; entering them once costs ~50 ms). detect-secrets (and the ``requests`` it
    imports: about 0.4 s) is imported and entered on the first line that needs it, so a run
    whose files are all known clean (``known_clean``, :meth:`input_key`) never imports it.

    Args:
        wide: keyword assignments in prose and front-matter text (off: detect-secrets' own reading).
        known_clean: :meth:`input_key` digests of inputs this scanner's code found no secret in
            (read from the cache folder by :func:`generator.validate.validate`).
    """

    def __init__(self, wide: bool = True, known_clean: frozenset[str] = frozenset()):
        self.wide = wide
        self.known_clean = known_clean
        self._settings = None

    def __enter__(self) -> "SecretScanner":
        return self

    def _process(self, lines: list[tuple[int, str]], name: str):
        """detect-secrets' line-based plugins over ``(line number, text)`` pairs, as its
        ``scan_file`` runs them (it has no public "scan these lines" call)."""
        if self._settings is None:
            from detect_secrets.core import scan as ds_scan
            from detect_secrets.settings import transient_settings

            settings = transient_settings({"plugins_used": SECRET_PLUGINS})
            settings.__enter__()
            self._settings, self._process_lines = settings, ds_scan._process_line_based_plugins
        return self._process_lines(lines, name)

    def __exit__(self, *exc) -> None:
        if self._settings is not None:
            self._settings.__exit__(*exc)
            self._settings = None

    def input_key(self, text: str) -> str:
        """SHA-256 hex digest of a whole file's ``text`` for this scanner's code
        (:func:`scanner_digest`) and reading (``wide``): what :func:`generator.validate` hands
        :meth:`scan` (its lines, code blocks, front matter and its values) is computed from
        these alone, so equal keys, equal findings."""
        from .cache import digest

        return digest(scanner_digest(), f"wide={self.wide}", text)

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
        """``text`` with every secret replaced by its :func:`mask` (``…PLE``)."""
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
# ISO dates and times, IPv4 addresses (with a port) and clock times look like phone numbers
# to the hint (timelines and pasted logs are full of them) and are never one: they are blanked
# before the hint and the phone-number search, which costs about 1.5 ms a line (a 40,000-line
# log of addresses took a minute).
_SEPARATED = re.compile(r"\d[ \t().\-]+\d")
_NEVER_PHONE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
                          r"|(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\d.])"
                          r"|(?<![\d:])\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?")


_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_DOMAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")


def email_addresses(line: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each e-mail address in ``line``: what ``_EMAIL.finditer`` finds
    (``local@domain.tld``, longest domain ending in a dot and two or more letters), found from
    each ``@`` outwards. The regex search costs the square of a long run of address characters
    (every start is tried to the ``@`` and back); this reads every character at most twice."""
    found: list[tuple[int, int]] = []
    floor = 0  # matches do not overlap: a local part starts after the previous address
    at = line.find("@")
    while at >= 0:
        start = at
        while start > floor and line[start - 1] in _EMAIL_LOCAL:
            start -= 1
        stop = at + 1
        while stop < len(line) and line[stop] in _EMAIL_DOMAIN:
            stop += 1
        end = None
        if start < at:
            domain = line[at + 1:stop]
            dot = domain.rfind(".")
            while dot > 0:
                letters = 0
                while dot + 1 + letters < len(domain) and domain[dot + 1 + letters].isascii() \
                        and domain[dot + 1 + letters].isalpha():
                    letters += 1
                if letters >= 2:
                    end = at + 1 + dot + 1 + letters
                    break
                dot = domain.rfind(".", 0, dot)
        if end is not None:
            found.append((start, end))
            floor = end
            at = line.find("@", end)
        else:
            at = line.find("@", at + 1)
    return found


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
            for start, end in email_addresses(line):
                if not line[max(0, start - 1):start] in ("/", ":"):  # not user@host in a URL
                    found.append(Finding(first_line + i, "e-mail address", line[start:end]))
        if not _PHONE_HINT.search(line):
            continue
        text = _NEVER_PHONE.sub(lambda m: " " * len(m.group()), line)
        # only what is written like a phone number can be reported: a "+" or a separator
        if not any(hint.group().startswith(("+", "(+")) or _SEPARATED.search(hint.group())
                   for hint in _PHONE_HINT.finditer(text)):
            continue
        import phonenumbers

        for m in phonenumbers.PhoneNumberMatcher(text, phone_region, leniency=phonenumbers.Leniency.VALID):
            raw = m.raw_string
            if raw.startswith("(") and ")" not in raw:  # "(+44 20 7946 0958)": the number, not its bracket
                raw = raw[1:]
            if raw.startswith("+") or _SEPARATED.search(raw):
                found.append(Finding(first_line + i, "phone number", raw))
    return found


# --- characters that are not what they look like ---------------------------------------

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidirectional controls: they reorder how text is shown, not what it says (Trojan Source,
CVE-2021-42574; Unicode TR #36)."""

# Invisible characters: the Unicode format characters (category Cf) that render as nothing,
# Unicode 14 (the prepended concatenation marks U+0600-0605, U+06DD, U+070F, U+0890-0891,
# U+08E2, U+110BD, U+110CD are visible and left out; tests/test_text.py checks the table
# against the running Python's Unicode data), the line and paragraph separators (YAML 1.1 and
# older JavaScript read them as line breaks), the combining grapheme joiner, the Hangul
# fillers and the control characters other than tab and line feed.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")
_ASCII_CONTROLS = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: part of emoji sequences and of many scripts


@dataclass(frozen=True)
class HiddenCharacter:
    """A character that is invisible or reorders text: 1-based file ``line`` and ``column``,
    the character ``char``, ``bidi`` when it is a bidirectional control."""

    line: int
    column: int
    char: str

    @property
    def bidi(self) -> bool:
        return self.char in BIDI_CONTROLS

    @property
    def code_point(self) -> str:
        """``U+202E RIGHT-TO-LEFT OVERRIDE``."""
        import unicodedata

        name = unicodedata.name(self.char, "")
        if not name and ord(self.char) < 0x20 or 0x7f <= ord(self.char) <= 0x9f:
            name = "control character"
        return f"U+{ord(self.char):04X}" + (f" {name}" if name else "")


def find_hidden_characters(text: str, first_line: int = 1) -> list[HiddenCharacter]:
    """Every invisible or bidirectional control character of ``text``, in order (one regex
    pass). A zero-width joiner or non-joiner between two non-ASCII characters is left alone:
    there it joins an emoji sequence or shapes a script (Persian, Devanagari ...)."""
    if text.isascii() and len(text.encode("ascii").translate(None, _ASCII_CONTROLS)) == len(text):
        return []  # the common case, in C: ~7x faster than a regex search
    found = []
    starts = None
    for m in _HIDDEN.finditer(text):
        char, at = m.group(), m.start()
        if char in _JOINERS and 0 < at < len(text) - 1 and not text[at - 1].isascii() \
                and not text[at + 1].isascii() and not _HIDDEN.match(text[at - 1]) and not _HIDDEN.match(text[at + 1]):
            continue
        if starts is None:
            starts = _line_starts(text)
        line = bisect_right(starts, at) - 1
        found.append(HiddenCharacter(first_line + line, at - starts[line] + 1, char))
    return found


# --- Markdown structure --------------------------------------------------------------------

_CODE_MARKERS = ("```", "~~~", "    ", "\t")

MAX_NESTING = 32
"""Deepest nesting a body may have: lists, block quotes, emphasis and links, HTML elements.

Python-Markdown, which renders the site, is recursive in nesting: 256 levels of nested lists
already raise ``RecursionError`` and a 3,000-level list kept a build busy for minutes. Real
post-mortems stay under 10 levels; 32 leaves a wide margin both ways
(``benchmarks/adversarial.py --render`` shows the renderer's time per depth)."""

# markdown-it stops nesting at ``maxNesting`` token levels (each list level is two: the list and
# its item); a little above twice the limit shows every depth up to the limit, and the parser's
# own recursion stays far from Python's limit.
_MARKDOWN_IT_NESTING = 2 * MAX_NESTING + 8


def code_line_indexes(body: str) -> frozenset[int]:
    """0-based indexes of body lines inside fenced or indented code blocks (markdown-it-py)."""
    if not any(marker in body for marker in _CODE_MARKERS):
        return frozenset()
    return _code_lines(_tokens(body, inline=False))


_last_parse: list = [None, None, None]  # body, inline parsed?, tokens


def _tokens(body: str, inline: bool):
    """markdown-it-py's tokens of ``body``, parsed once for the checks that need them (a
    parse costs about 0.75 µs a character: a megabyte body takes most of a second)."""
    last_body, last_inline, tokens = _last_parse
    if last_body is body and (last_inline or not inline):
        return tokens
    tokens = _markdown(block_only=not inline).parse(body)
    _last_parse[:] = [body, inline, tokens]
    return tokens


def _code_lines(tokens) -> frozenset[int]:
    lines: set[int] = set()
    for tok in tokens:
        if tok.type in ("fence", "code_block") and tok.map:
            lines.update(range(tok.map[0], tok.map[1]))
    return frozenset(lines)


@lru_cache(maxsize=2)
def _markdown(block_only: bool = False):
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"maxNesting": _MARKDOWN_IT_NESTING})
    return md.disable("inline") if block_only else md


# A line whose container prefix (indentation, '>', list markers) is this long may open more
# than MAX_NESTING block levels; below it, no line can (a level takes at least one character).
_DEEP_PREFIX = re.compile(r"^[ \t>*+\-\d.)]{%d}" % MAX_NESTING, re.M)
_INLINE_OPENERS = "*_[~"


@dataclass(frozen=True)
class Nesting:
    """How deep a body nests: the deepest ``depth`` found (capped a little above
    :data:`MAX_NESTING`), ``what`` nests (in words) and the 1-based file ``line`` where the
    depth first goes over the limit."""

    depth: int
    what: str
    line: int


MAX_BLOCK_SPLITS = 100
"""Headings and horizontal rules one block (lines without a blank line between them) may hold.

Python-Markdown, which renders the site, splits a block at each ATX heading (a line starting
with ``#``), setext underline (``===``, ``---`` under a line of text) or rule (``***``, ``- - -``)
and parses the rest of the block again, so N of them in one block cost N times the block:
4,000 heading lines without blank lines took 2.5 s to render, 10,000 more than a minute
(``benchmarks/adversarial.py --render``). Blank lines between them make the same page linear."""

_SPLITTER_HINT = re.compile(r"^[#=*_-]", re.M)
_ATX = re.compile(r"#")
_SETEXT = re.compile(r"[=-]+[ ]*$")
_RULE = re.compile(r"[ ]{0,3}(?:(?:-[ ]{0,2}){3,}|(?:_[ ]{0,2}){3,}|(?:\*[ ]{0,2}){3,})[ ]*$")


def crowded_block(body: str, prose: list[str], first_line: int) -> tuple[int, int] | None:
    """The first block of ``prose`` (the body's lines, code blanked) holding more than
    :data:`MAX_BLOCK_SPLITS` headings and rules, as ``(file line of the first one over the
    limit, how many the block holds)``, or ``None``. One pass over the lines."""
    if len(_SPLITTER_HINT.findall(body)) <= MAX_BLOCK_SPLITS:  # most bodies: a dozen headings and list items
        return None
    count, over, previous_text = 0, None, False
    for i, line in enumerate(prose + [""]):
        if not line.strip():
            if over is not None:
                return over, count
            count, previous_text = 0, False
            continue
        splits = line[0] == "#" or (previous_text and _SETEXT.match(line)) or _RULE.match(line)
        if splits:
            count += 1
            if count == MAX_BLOCK_SPLITS + 1:
                over = first_line + i
        previous_text = not splits
    return None


MAX_UNCLOSED = 100
"""Backtick runs that open no code span, and link destinations (``](``) never closed by ``)``,
one block may hold.

Python-Markdown searches the rest of the block for the end of each: N of them cost N times
the block (a line of 1,400 backtick runs of different lengths, or of 250,000 ``[a](``, took
more than a minute to render, ``benchmarks/adversarial.py --render``)."""

_OPENERS = re.compile(r"`+|\]\(|\)|\[")


def unclosed_markup(body: str, prose: list[str], first_line: int) -> tuple[int, int, str] | None:
    """The first block of ``prose`` (code spans and blocks blanked, so a backtick left is one
    that pairs with no other) holding more than :data:`MAX_UNCLOSED` unpaired backtick runs or
    unclosed link destinations: ``(file line of the first one over the limit, how many, what)``,
    or ``None``. One pass over the lines."""
    if body.count("`") + body.count("](") <= MAX_UNCLOSED:  # most bodies
        return None
    ticks, opened, bracket = [], [], False
    for i, line in enumerate(prose + [""]):
        if not line.strip():
            if len(ticks) > MAX_UNCLOSED:
                return first_line + ticks[MAX_UNCLOSED], len(ticks), "backtick runs that open no code span"
            if len(opened) > MAX_UNCLOSED:
                return first_line + opened[MAX_UNCLOSED], len(opened), "link targets ('](') never closed by ')'"
            ticks, opened, bracket = [], [], False
            continue
        for m in _OPENERS.finditer(line):
            token = m.group(0)
            if token[0] == "`":
                ticks.append(i)
            elif token == "[":
                bracket = True
            elif token == "](":
                if bracket:  # a link opens at a '[' (a ']( ' alone opens nothing)
                    opened.append(i)
            elif opened:
                opened.pop()
    return None


def too_deep(body: str, first_line: int, prose: list[str] | None = None) -> Nesting | None:
    """The first place where ``body`` nests deeper than :data:`MAX_NESTING`, else ``None``.

    ``prose`` is the body as :func:`prose_lines` gives it (code blanked), for the inline count.

    Counts nested lists and block quotes (as CommonMark reads them, with markdown-it-py),
    nested emphasis, links and images, and lines indented by more than ``4 * MAX_NESTING``
    columns outside fenced code (Python-Markdown nests admonitions, details and footnotes by
    indentation), and HTML elements whose Markdown is rendered (``markdown="1"``, md_in_html).
    A cheap test skips the parse for ordinary bodies: a level needs at least one character of
    a line's prefix, and an inline level one opening delimiter in its paragraph.
    """
    deep_prefix = _DEEP_PREFIX.search(body) is not None
    inline_text = "\n".join(prose) if prose is not None else body
    deep_inline = sum(inline_text.count(c) for c in _INLINE_OPENERS) > MAX_NESTING and any(
        sum(chunk.count(c) for c in _INLINE_OPENERS) > MAX_NESTING for chunk in inline_text.split("\n\n"))
    if body.count("markdown") > MAX_NESTING:
        found = _markdown_html_nesting(body, first_line)
        if found is not None:
            return found
    if not deep_prefix and not deep_inline:
        return None
    if deep_prefix:  # indentation first: it needs no tokens unless there are fences
        fenced = set()
        if "```" in body or "~~~" in body:
            for tok in _tokens(body, inline=False):
                if tok.type == "fence" and tok.map:
                    fenced.update(range(tok.map[0] + 1, tok.map[1]))
        limit = 4 * MAX_NESTING
        for i, line in enumerate(body.split("\n")):
            if i in fenced or not line[:1].isspace():
                continue
            expanded = line.expandtabs(4)
            columns = len(expanded) - len(expanded.lstrip(" "))
            if columns > limit:
                return Nesting(columns // 4, "indentation (4 columns a level)", first_line + i)
        blocks, last_line = 0, 0
        for tok in _tokens(body, inline=False):
            if tok.map:
                last_line = tok.map[0]
            if tok.type in ("bullet_list_open", "ordered_list_open", "blockquote_open"):
                blocks += 1
                if blocks > MAX_NESTING:
                    return Nesting(blocks, "lists and block quotes", first_line + last_line)
            elif tok.type in ("bullet_list_close", "ordered_list_close", "blockquote_close"):
                blocks -= 1
    if deep_inline:
        return _inline_nesting(inline_text, first_line)
    return None


_INLINE_DELIMITER = re.compile(r"\*+|_+|~~+|\[|\]|\n[ \t]*\n")
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _inline_nesting(body: str, first_line: int) -> Nesting | None:
    """An upper bound of how deep emphasis and links nest, per paragraph, in one pass.

    markdown-it-py's inline parser, which could tell exactly, costs the square of a line of
    ``[``. Instead: brackets are counted (``[`` opens, ``]`` closes), and so are emphasis
    delimiter runs that can only open (left-flanking, as CommonMark defines it: followed by a
    non-space, and not preceded by a letter or digit unless followed by punctuation) or only
    close (the mirror image); a run that can do both, or neither, changes nothing. Escaped
    delimiters and code spans (blanked by the caller) do not count. Nesting needs openers that
    stay open, so the count is never below the real depth.
    """
    depth = brackets = 0
    for m in _INLINE_DELIMITER.finditer(body):
        run = m.group()
        if run[0] == "\n":
            depth = brackets = 0
            continue
        start, end = m.start(), m.end()
        if start and body[start - 1] == "\\" and _escaped(body, start):
            continue
        if run == "[":
            brackets += 1
        elif run == "]":
            brackets = max(0, brackets - 1)
        else:
            before = body[start - 1] if start else " "
            after = body[end] if end < len(body) else " "
            left = not after.isspace() and (after not in _PUNCTUATION or before.isspace() or before in _PUNCTUATION)
            right = not before.isspace() and (before not in _PUNCTUATION or after.isspace() or after in _PUNCTUATION)
            if left and not right:
                depth += 1
            elif right and not left:
                depth = max(0, depth - 1)
        if depth + brackets > MAX_NESTING:
            return Nesting(depth + brackets, "emphasis and links", first_line + body.count("\n", 0, start))
    return None


def _markdown_html_nesting(body: str, first_line: int) -> Nesting | None:
    """The first HTML element with a ``markdown`` attribute nested more than
    :data:`MAX_NESTING` deep in others that have one (md_in_html renders those recursively)."""
    open_names: list[str] = []
    for tag in html_tags(body, first_line):
        if tag.closing:
            if open_names and open_names[-1] == tag.name:
                open_names.pop()
        elif any(name == "markdown" for name, _ in tag.attrs):
            open_names.append(tag.name)
            if len(open_names) > MAX_NESTING:
                return Nesting(len(open_names), "HTML elements with Markdown inside (markdown=\"1\")", tag.line)
    return None


_BACKTICKS = re.compile(r"`+")


def code_spans(line: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each inline code span of ``line``, as CommonMark pairs backtick runs:
    a run opens a span closed by the next run of the same length (an opening run preceded by
    a backslash loses its first backtick). Linear in the line, whatever its runs."""
    runs = [(m.start(), m.end() - m.start()) for m in _BACKTICKS.finditer(line)]
    if len(runs) < 2:
        return []
    by_length: dict[int, list[int]] = {}
    for index, (_, length) in enumerate(runs):
        by_length.setdefault(length, []).append(index)
    cursor: dict[int, int] = {}  # per length: the first entry of by_length not yet passed
    spans = []
    i = 0
    while i < len(runs):
        start, length = runs[i]
        slashes = 0
        while start - slashes - 1 >= 0 and line[start - slashes - 1] == "\\":
            slashes += 1
        if slashes % 2:  # an escaped backtick is text; the rest of the run may open a span
            start, length = start + 1, length - 1
        closer = None
        if length:
            candidates = by_length.get(length, [])
            k = cursor.get(length, 0)
            while k < len(candidates) and candidates[k] <= i:
                k += 1
            cursor[length] = k
            if k < len(candidates):
                closer = candidates[k]
        if closer is None:
            i += 1
            continue
        end = runs[closer][0] + runs[closer][1]
        spans.append((start, end))
        i = closer + 1
    return spans


def prose_lines(body_lines: list[str], code: frozenset[int]) -> list[str]:
    """The body with code blocks blanked and inline code spans replaced by spaces.

    Line count and column positions are kept, so findings map back to the file.
    """
    out = []
    for i, line in enumerate(body_lines):
        if i in code:
            out.append("")
        elif "`" in line:
            spans = code_spans(line)
            if spans:
                pieces, at = [], 0
                for start, end in spans:
                    pieces.append(line[at:start])
                    pieces.append(" " * (end - start))
                    at = end
                pieces.append(line[at:])
                line = "".join(pieces)
            out.append(line)
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


@dataclass(frozen=True)
class Tag:
    """An HTML tag written in the text: 1-based file ``line`` and ``column`` of its ``<``, the
    ``name`` and attribute names in lower case (as browsers read them), attribute values as
    written (entities not decoded; ``None`` for an attribute without a value)."""

    line: int
    column: int
    name: str
    attrs: tuple[tuple[str, str | None], ...]
    closing: bool = False


_TAG_START = re.compile(r"<(/?)([A-Za-z][^\t\n\f\r />]*)")
_HTML_ATTR = re.compile(r"""[\t\n\f\r /]*(?:(>)|([^\t\n\f\r />][^\t\n\f\r />=]*)"""
                        r"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)(")?|'([^']*)(')?|((?:[^\t\n\f\r ><]|<(?![A-Za-z/]))*)))?)""")


def _blank_comments(text: str) -> str:
    """``text`` with each closed ``<!-- ... -->`` comment replaced by spaces (line breaks kept).

    An unclosed ``<!--`` is left as it is: Python-Markdown renders it as text, so what follows
    is live. One pass; once no ``-->`` follows, the search stops (no quadratic re-search)."""
    if "<!--" not in text:
        return text
    pieces, at = [], 0
    while True:
        start = text.find("<!--", at)
        if start < 0:
            break
        end = text.find("-->", start + 4)
        if end < 0:
            break
        end += 3
        pieces.append(text[at:start])
        pieces.append(re.sub(r"[^\n]", " ", text[start:end]))
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def html_tags(text: str, first_line: int) -> list[Tag]:
    """Every HTML start and end tag that a browser could read in ``text``, in order.

    Each ``<`` followed by a letter (or ``/`` and a letter) is read as the start of a tag, the
    way the HTML5 tokenizer reads attributes (quoted, unquoted, valueless; an attribute name
    may hold ``"``, ``'`` or ``<``), even when an earlier tag has not ended: the Markdown
    renderer may have escaped that one, so both readings are kept. A tag that is never closed
    by ``>`` is no tag (browsers drop it at the end of the input; Python-Markdown escapes it).
    Closed comments are skipped. A reading stops where another tag begins outside quotes,
    also inside an unquoted value (that one is read on its own, and the value up to it is
    kept), so the cost stays linear in ``text``. The tags of the last ``text`` are kept: several
    checks of a body read its prose's tags, one after the other.
    """
    if "<" not in text:
        return []
    last_text, last_first, last_tags = _last_tags
    if last_first == first_line and last_text == text:  # the prose again: several checks read its tags
        return list(last_tags)
    tags = _html_tags(_blank_comments(text), first_line)
    _last_tags[:] = [text, first_line, tags]
    return list(tags)


_last_tags: list = [None, None, []]  # text, first line, its tags: html_tags' one-entry cache


def _html_tags(text: str, first_line: int) -> list[Tag]:
    starts = _line_starts(text)
    tags = []
    n = len(text)
    for m in _TAG_START.finditer(text):
        attrs: list[tuple[str, str | None]] = []
        pos, closed = m.end(), False
        while pos < n:
            a = _HTML_ATTR.match(text, pos)
            if a is None or a.end() == pos:  # only spaces and '/' were left
                break
            if a.group(1):
                closed, pos = True, a.end()
                break
            name = a.group(2)
            if name is None:
                pos = a.end()
                continue
            if name[0] == "<" and len(name) > 1 and (name[1].isalpha() or name[1] == "/"):
                break  # another tag starts here; it is read by its own match
            if a.group(3) is not None:
                if a.group(4) is None:
                    break  # an unclosed quote runs to the end: no tag
                value = a.group(3)
            elif a.group(5) is not None:
                if a.group(6) is None:
                    break
                value = a.group(5)
            else:
                value = a.group(7)
            attrs.append((name.lower(), value))
            pos = a.end()
            if a.group(7) is not None and pos < n and text[pos] == "<":
                closed = True  # a browser may read on into the next tag: keep what was read
                break  # ... which is read from there on its own
        if not closed:
            continue
        line = bisect_right(starts, m.start()) - 1
        tags.append(Tag(first_line + line, m.start() - starts[line] + 1, m.group(2).lower(),
                        tuple(attrs), closing=bool(m.group(1))))
    return tags


def _line_starts(text: str) -> list[int]:
    starts = [0]
    at = text.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def executable_parts(tag: Tag) -> list[str]:
    """What of the start tag ``tag`` would run script in a reader's browser, in words (``[]``
    for an end tag): a dangerous element (:data:`DANGEROUS_TAGS`), each ``on*=`` attribute,
    each ``javascript:``, ``vbscript:`` or ``data:`` URL (entities decoded; an image's
    ``data:image/`` is fine)."""
    if tag.closing:
        return []
    found = [f"<{tag.name}> element"] if tag.name in DANGEROUS_TAGS else []
    for name, value in tag.attrs:
        if name.startswith("on"):
            found.append(f"'{name}' event-handler attribute on <{tag.name}>")
        elif name in _URL_ATTRS and value:
            scheme = unsafe_scheme(html.unescape(value), embedded=name in _EMBED_ATTRS)
            if scheme:
                found.append(f"{scheme}: URL in {name}= of <{tag.name}>")
    return found


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
    for tag in html_tags(text, first_line):
        found.extend(HtmlFinding(tag.line, tag.column, what) for what in executable_parts(tag))
    if ":" in text:
        for link in body_links(prose, first_line):
            scheme = unsafe_scheme(link_destination(link.target), embedded=link.image)
            if scheme:
                kind = "image" if link.image else "link"
                written = "" if _SCRIPT_SCHEME.match(link.target.lstrip()) else f" (written {excerpt(link.target)!r})"
                found.append(HtmlFinding(link.line, link.column, f"{scheme}: URL{written} in a Markdown {kind}"))
    return sorted(set(found), key=lambda f: (f.line, f.column, f.what))


# --- block elements and code fences, as the site's Markdown renderer reads them ------------

BLOCK_ELEMENTS = frozenset({
    "div", "details", "summary", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "pre", "section",
    "blockquote", "dl", "ul", "ol", "p", "h1", "h2", "h3", "h4", "h5", "h6", "figure", "form", "fieldset", "nav",
    "article", "aside", "header", "footer", "main", "iframe", "noscript", "video", "canvas", "math", "textarea"})
"""Block-level elements that a body may leave open: Python-Markdown then keeps the rest of the
page as raw HTML (our section headings after the body came out as text). The site closes
them after the body (:func:`generator.pages.postmortem_page`, with :data:`BLOCK_TAG`) and
``validate`` names the line of each one a body leaves open (``unclosed-html``,
:func:`unclosed_blocks`)."""

BLOCK_TAG = re.compile(r"<(/?)(" + "|".join(sorted(BLOCK_ELEMENTS, key=lambda name: (-len(name), name)))
                       + r")(?=[\s>/])", re.I)
"""A start or end tag of one of :data:`BLOCK_ELEMENTS` (group 1: ``/`` for an end tag; group 2:
the name as written), closing ``>`` not required."""


def unclosed_blocks(tags: list[Tag]) -> list[Tag]:
    """The start tags of :data:`BLOCK_ELEMENTS` among ``tags`` (in order, :func:`html_tags`)
    that no end tag closes, outermost first, paired the way Python-Markdown pairs the tags of a
    raw HTML block: an end tag closes the latest open element of its name and every element
    opened inside it (``<table><tr><td>x</table>`` leaves nothing open; an end tag with no open
    element of its name is ignored). Linear in ``tags``."""
    stack: list[Tag] = []
    open_count: dict[str, int] = {}
    for tag in tags:
        if tag.name not in BLOCK_ELEMENTS:
            continue
        if not tag.closing:
            stack.append(tag)
            open_count[tag.name] = open_count.get(tag.name, 0) + 1
            continue
        if not open_count.get(tag.name):
            continue
        while stack:
            closed = stack.pop()
            open_count[closed.name] -= 1
            if closed.name == tag.name:
                break
    return stack


@dataclass(frozen=True)
class Fence:
    """A fenced code block as CommonMark reads it: 0-based body lines ``start`` (the opening
    fence) to ``end`` (exclusive), its fence (``markup``: three or more backticks or tildes) and
    whether its last line is that same fence (``exact``). Python-Markdown (superfences) reads
    code only up to the same fence again: a fence CommonMark closes with a longer one, or
    leaves open to the end of the body, is no code block for the site."""

    start: int
    end: int
    markup: str
    exact: bool


def fences(body: str, body_lines: list[str] | None = None) -> list[Fence]:
    """The fenced code blocks of ``body`` (markdown-it-py's tokens, parsed once for the other
    checks); ``body_lines``: ``body.split("\n")`` when the caller has it."""
    if "```" not in body and "~~~" not in body:
        return []
    lines = body_lines if body_lines is not None else body.split("\n")
    out = []
    for tok in _tokens(body, inline=False):
        if tok.type != "fence" or not tok.map:
            continue
        start, end = tok.map
        last = end - 1
        exact = last > start and last < len(lines) and lines[last].strip() == tok.markup
        out.append(Fence(start, end, tok.markup, exact))
    return out


_TAG_OR_END = re.compile(r"<[A-Za-z]|>")


def tag_scan_cost(text: str, limit: int | None = None) -> int:
    """The characters the standard library's HTML tokenizer (which Python-Markdown reads raw
    HTML with) reads to find where the start tags of ``text`` end: for each ``<`` and a
    letter, the distance to the next ``>`` (to the end when there is none). A few thousand on
    an ordinary page; it grows with the square of the length on a line of unclosed tags such as
    ``<a <a <a``, where the tokenizer takes a minute for 100 KB. Linear; with ``limit``, the
    count stops at the first ``>`` where it is over ``limit``."""
    cost = pending = pending_sum = 0
    for m in _TAG_OR_END.finditer(text):
        if m.group() == ">":
            cost += pending * m.start() - pending_sum
            pending = pending_sum = 0
            if limit is not None and cost > limit:
                return cost
        else:
            pending += 1
            pending_sum += m.start()
    return cost + pending * len(text) - pending_sum


# --- links ---------------------------------------------------------------------------------

_REF_DEF = re.compile(r"^\s{0,3}\[(?!\^)[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
"""A link reference definition (``[label]: target``); ``[^label]:`` opens a footnote (the
``footnotes`` extension of the shipped ``mkdocs.yml``), whose text is no link target."""
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# CommonMark lets implementations limit the nesting of parentheses in a link destination
# (cmark and markdown-it stop at 32); past it a scan from every '(' would cost the square of
# the line. A deeper one is no link, unless it starts with a scheme (javascript:...): that one
# is kept, cut at the limit, so that its scheme is still checked.
_MAX_PARENS = 32
_MAYBE_SCHEME = re.compile(r"[A-Za-z&\\]")  # a scheme, or one written with an entity or escape
_DESTINATION_PLAIN = re.compile(r"[^\s\x00-\x1f()\\]+")
_MAX_TARGET = 2048  # characters of a target kept (a longer one is no file name; its scheme shows)


@dataclass(frozen=True)
class Link:
    """A link target as written in the body (not decoded; see :func:`link_destination`), with
    its 1-based file line and column; ``image`` for ``![...](...)``."""

    line: int
    column: int
    target: str
    image: bool = False


_DESTINATION_SPECIAL = re.compile(r"\\.|[()]|[\s\x00-\x1f]", re.S)


class _ParenIndex:
    """Where a destination scan (:func:`_destination`) from any position of one line ends, each
    answer in logarithmic time: a line of 250,000 ``[a](`` has that many destinations, and a
    scan from each, even stopped at 32 parentheses, reads a hundred characters.

    The balance at index ``t`` is the count of unescaped ``(`` minus ``)`` before it; a scan
    from ``s`` ends at the first space or control character, at the ``)`` where the balance
    first drops below its value at ``s``, or at the ``(`` where it first exceeds it by the limit.
    Only the special characters are visited (found by a regex), not every character.
    """

    def __init__(self, line: str):
        self.events: list[int] = []  # index just after each unescaped parenthesis
        self.after: list[int] = []  # the balance there
        self.at: dict[int, list[int]] = {}  # balance value -> the indexes where it is reached
        self.stops: list[int] = []
        b = 0
        for m in _DESTINATION_SPECIAL.finditer(line):
            c = m.group()
            if len(c) == 2:  # a backslash escape (of anything, a space too)
                continue
            if c == "(":
                b += 1
            elif c == ")":
                b -= 1
            else:
                self.stops.append(m.start())
                continue
            self.events.append(m.end())
            self.after.append(b)
            self.at.setdefault(b, []).append(m.end())

    def _balance(self, index: int) -> int:
        k = bisect_right(self.events, index) - 1
        return self.after[k] if k >= 0 else 0

    def _first(self, value: int, after: int) -> int | None:
        indexes = self.at.get(value)
        if not indexes:
            return None
        k = bisect_right(indexes, after)
        return indexes[k] if k < len(indexes) else None

    def scan(self, line: str, begin: int) -> tuple[int, bool, int]:
        """``(end, capped, depth)``: where the scan from ``begin`` stops, whether it stopped at
        the parenthesis limit, and the nesting left open there."""
        k = bisect_right(self.stops, begin - 1)
        end = self.stops[k] if k < len(self.stops) else len(line)
        base = self._balance(begin)
        close = self._first(base - 1, begin)
        if close is not None and close - 1 < end:
            end = close - 1
        cap = self._first(base + _MAX_PARENS + 1, begin)
        if cap is not None and cap - 1 < end:
            return cap - 1, True, _MAX_PARENS + 1
        return end, False, self._balance(end) - base


def _destination(line: str, start: int, index: _ParenIndex | None = None) -> tuple[int, str] | None:
    """The destination of an inline link whose ``(`` ends at ``start``: ``(column, text)``.

    As CommonMark reads it: ``<...>``, or a run without spaces in which parentheses are
    balanced (``alert(1)``) and backslash-escaped ones do not count; the destination must be
    followed by ``)`` or a title. ``None`` when it is not a link (or the destination is empty).
    Parentheses nested deeper than 32 end the destination there (see ``_MAX_PARENS``).
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
    elif index is not None:
        begin = i
        end, capped, depth = index.scan(line, begin)
        if capped:
            return (begin, line[begin:min(end, begin + _MAX_TARGET)]) if _MAYBE_SCHEME.match(line, begin) else None
        if depth:
            return None
        stop, after = end, end
    else:
        begin, depth, end = i, 0, i
        while end < n:
            plain = _DESTINATION_PLAIN.match(line, end)
            if plain is not None:
                end = plain.end()
                if end >= n:
                    break
            c = line[end]
            if c == "\\" and end + 1 < n:
                end += 2
                continue
            if c.isspace() or ord(c) < 0x20:
                break
            if c == "(":
                depth += 1
                if depth > _MAX_PARENS:  # no link for CommonMark; kept when it names a scheme
                    return (begin, line[begin:min(end, begin + _MAX_TARGET)]) \
                        if _MAYBE_SCHEME.match(line, begin) else None
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
    return begin, line[begin:min(stop, begin + _MAX_TARGET)]


def _link_openers(line: str):
    """``(index of '(', image)`` for each ``](`` of ``line`` that closes a link text: the
    nearest bracket before its ``]`` is an unescaped ``[`` (link text holds no brackets).
    One pass over the line."""
    last_bracket = None  # (char, index) of the last unescaped bracket
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c == "]":
            if last_bracket is not None and last_bracket[0] == "[" and i + 1 < n and line[i + 1] == "(":
                opener = last_bracket[1]
                image = opener > 0 and line[opener - 1] == "!" and not _escaped(line, opener - 1)
                yield i + 2, image
            last_bracket = ("]", i)
        elif c == "[":
            last_bracket = ("[", i)
        i += 1


def _escaped(line: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and line[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


_last_links: list = [None, None, None]  # first line, prose text, links


def body_links(prose: list[str], first_line: int) -> list[Link]:
    """Every link target written in the body outside code (inline, image and reference-style),
    including anchors (``#x``) and site-absolute paths (``/x``), in line order.

    The links of the last body are kept: three checks ask for them (unsafe URLs, remote
    images, link targets), and a megabyte of ``[a](`` takes a second to read."""
    text = "\n".join(prose)
    if _last_links[0] == first_line and _last_links[1] == text:
        return list(_last_links[2])
    links = _body_links(prose, first_line)
    if len(text) > 4096:  # short texts (front-matter values) are cheap and would evict a body
        _last_links[:] = [first_line, text, links]
    return list(links)


def _body_links(prose: list[str], first_line: int) -> list[Link]:
    links = []
    for i, line in enumerate(prose):
        if "](" not in line and "]:" not in line:
            continue
        if "](" in line:
            openers = list(_link_openers(line))
            index = _ParenIndex(line) if len(line) > 4096 and len(openers) > 64 else None
            for start, image in openers:
                found = _destination(line, start, index)
                if found is not None:
                    links.append(Link(first_line + i, found[0] + 1, found[1], image))
        ref = _REF_DEF.match(line)
        if ref:
            links.append(Link(first_line + i, ref.start(1) + 1, ref.group(1)))
    return links


# Embedded resources the browser fetches by itself: Markdown images and HTML src/srcset/poster/
# data attributes and <link href>. (Plain links are fine: the reader chooses to follow them.)
_REMOTE_URL = re.compile(r"[\t\n\f\r ]*(?:https?:)?//", re.I)
_REMOTE_TAGS = frozenset({"img", "video", "audio", "source", "track", "input", "embed", "link", "object"})
_REMOTE_TAG_ATTRS = frozenset({"src", "srcset", "poster", "data", "href"})


def find_remote_resources(prose: list[str], first_line: int) -> list[Link]:
    """Images and media that a page would load from another host (they fail offline)."""
    found = []
    if "//" not in "".join(prose):
        return found
    for link in body_links(prose, first_line):
        if link.image and _REMOTE_URL.match(link.target):
            found.append(Link(link.line, link.column, link.target.split()[0] if link.target.split() else link.target))
    text = "\n".join(prose)
    for tag in html_tags(text, first_line):
        if tag.closing or tag.name not in _REMOTE_TAGS:
            continue
        for name, value in tag.attrs:
            if name in _REMOTE_TAG_ATTRS and value and _REMOTE_URL.match(value):
                found.append(Link(tag.line, tag.column, value.strip().split()[0]))
    return sorted(found, key=lambda link: (link.line, link.column))


_INLINE_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()\s]*\)")
_UNDERSCORES = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")  # not inside a word: a_1 stays


def heading_text(text: str) -> str:
    """A heading's text as Python-Markdown's ``toc`` reads it for the id: code spans give their
    content, links their text, and emphasis markers go (``*`` anywhere, ``_`` only at the edge
    of a word: Python-Markdown's "smart" emphasis keeps ``a_1`` and ``snake_case``)."""
    out, at = [], 0
    for start, end in code_spans(text):
        out.append(_strip_emphasis(_INLINE_LINK.sub(lambda m: m.group(1), text[at:start])))
        inner = text[start:end].strip("`")
        out.append(inner[1:-1] if len(inner) > 1 and inner[0] == inner[-1] == " " and inner.strip() else inner)
        at = end
    out.append(_strip_emphasis(_INLINE_LINK.sub(lambda m: m.group(1), text[at:])))
    return "".join(out)


def _strip_emphasis(text: str) -> str:
    return _UNDERSCORES.sub("", text.replace("*", ""))
_ID_COUNT = re.compile(r"^(.*)_([0-9]+)$")


def heading_attr_list(text: str) -> tuple[str, list[tuple[str, str | None]]] | None:
    """The attr_list at the end of a heading's ``text`` (``Title {: #id .class }``), as
    Python-Markdown's ``attr_list`` reads it: ``(text without it, attributes)``, or ``None``.

    Like its ``HEADER_RE``, the list starts at the first `` {`` whose braces run to the end of the
    text; it is parsed with Python-Markdown's own ``get_attrs_and_remainder`` and, as there, not
    applied when a stray ``}`` is left over. Found in one pass (the regex search costs the square
    of the text on a line of ``{``).
    """
    stripped = text.rstrip(" ")
    if not stripped.endswith("}"):
        return None
    at = stripped.find(" {")
    while at >= 0:
        inner = stripped[at + 2:-1]
        if inner.startswith(":"):
            inner = inner[1:]
        content = inner.lstrip(" ")
        if content and content[0] != "}" and "\n" not in content:
            from markdown.extensions.attr_list import get_attrs_and_remainder

            attrs, remainder = get_attrs_and_remainder(content)
            if remainder:
                return None
            return stripped[:at].rstrip(" ").rstrip("#").rstrip(), attrs
        at = stripped.find(" {", at + 1)
    return None


class UniqueIds:
    """Python-Markdown ``toc``'s ``unique()``: an id already taken gets ``_1``, ``_2`` ... (a
    taken ``x_3`` becomes ``x_4``), in amortised constant time per id (the original walks the
    suffixes one by one: 10,000 equal headings cost 50 million look-ups)."""

    def __init__(self, taken=()):
        self.ids: set[str] = set(taken)
        self._skip: dict[str, dict[int, int]] = {}

    def add(self, value: str) -> str:
        if value and value not in self.ids:
            self.ids.add(value)
            return value
        m = _ID_COUNT.match(value)
        base, n = (m.group(1), int(m.group(2)) + 1) if m else (value, 1)
        skip = self._skip.setdefault(base, {})
        visited = []
        while True:
            if n in skip:
                visited.append(n)
                n = skip[n]
            elif f"{base}_{n}" in self.ids:
                visited.append(n)
                n += 1
            else:
                break
        for k in visited:
            skip[k] = n
        skip[n] = n + 1
        candidate = f"{base}_{n}"
        self.ids.add(candidate)
        return candidate


def heading_ids(prose: list[str], raw: list[str] | None = None) -> set[str]:
    """The ``id`` attributes MkDocs gives the body's ATX headings (python-markdown's ``toc``
    slugify, ``_1``, ``_2`` suffixes for repeats, ``{#custom}`` from attr_list). ``raw`` is the
    body as written, when ``prose`` has its code spans blanked (a heading's code counts)."""
    return {anchor for _, anchor, _ in heading_anchors(prose, 1, raw)}


# --- sections ------------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*)$")


def atx_heading(line: str) -> tuple[int, str] | None:
    """``(level, text)`` of an ATX heading line (``## Root cause ##``), closing ``#``s and
    spaces stripped, or ``None``."""
    m = _ATX.match(line)
    if m:
        return len(m.group(1)), m.group(2).rstrip(" \t#")
    return None
_PLACEHOLDER = re.compile(r"todo|tbd|tba|fixme|xxx|\.\.\.|…|\[[^\]]*\]|\{\{.*\}\}|<[^>]*>", re.I)
_BULLETS = re.compile(r"[-*+>\s]*")


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
        heading = None if i in code or "#" not in line else atx_heading(line)
        if heading and heading[0] <= 2:
            if title is not None:
                sections.append(Section(title, first_line + start, "\n".join(buf).strip()))
            title, start, buf = heading[1].strip(), i, []
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
    stripped = _blank_comments(text).strip()
    if not stripped:
        return True
    return all(_is_placeholder_line(line.strip()) for line in stripped.splitlines())


def _is_placeholder_line(line: str) -> bool:
    """One line of :func:`is_placeholder`: bullets and spaces, at most one placeholder, then
    only spaces and ``.:!``. Stripped by hand: the single regex this was backtracks over a
    long run of spaces (the square of the run)."""
    line = line[_BULLETS.match(line).end():]
    end = len(line)
    while end and (line[end - 1].isspace() or line[end - 1] in ".:!"):
        end -= 1
    if end == 0:
        return True
    return _PLACEHOLDER.fullmatch(line[:end]) is not None


# --- attributes an author sets through Markdown -----------------------------------------------

_ATTR_GROUP = re.compile(r"\{:?[ ]*([^{}\n ][^{}\n]*)\}")
_ADMONITION = re.compile(r"^[ \t]*(?:!!!|\?\?\?\+?)[ ]?([\w\-]+(?: +[\w\-]+)*)")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_TABLE_CELL_END = re.compile(r"[ ]*(\||$)")
_LOOKBACK = 2048  # characters searched back for the '[' of a link an attr_list follows


def _attr_list(content: str) -> list[tuple[str, str | None]]:
    """An attr_list's attributes as Python-Markdown's attr_list sets them: ``#id`` as ``id``,
    ``.name`` as ``class``, names made XML names (``sanitize_name``), in lower case as
    browsers read them."""
    from markdown.extensions.attr_list import get_attrs_and_remainder, sanitize_name

    attrs = []
    for key, value in get_attrs_and_remainder(content)[0]:
        if key == ".":
            attrs.append(("class", value))
        else:
            attrs.append((sanitize_name(key).lower(), value))
    return attrs


def authored_attributes(body_lines: list[str], prose: list[str], first_line: int,
                        fences: list[tuple[int, str]] = ()) -> list[Tag]:
    """The elements a body gives attributes to through Markdown, not HTML: attr_list
    (``{: #id .class key=value }`` on a block, a heading, a table cell, or right after a link,
    image, code span or emphasis), the type of an admonition or details block (``!!! type``:
    its classes) and the braces of a fenced code block (``` ```{.lang #id key=value}``` ```,
    ``fences`` as ``(0-based line, info string)``). Each as a :class:`Tag` whose ``name`` is the
    element Python-Markdown puts them on (``p`` for a block or anything unknown).

    Follows Python-Markdown's attr_list rules for where a list applies (its own line after a
    block's text, the end of a heading or cell, the start of an inline element's tail), so
    braces in prose (``restart {service}``) are not taken for one; one pass per line.
    """
    found: list[Tag] = []
    for i, line in enumerate(prose):
        if "{" not in line:
            continue
        heading = atx_heading(line) if "#" in line else None
        setext = i + 1 < len(prose) and bool(_SETEXT.match(prose[i + 1])) and bool(line.strip())
        for m in _ATTR_GROUP.finditer(line):
            start, end = m.start(), m.end()
            before, after = line[:start], line[end:]
            element = None
            if not before.strip() and not after.strip():
                if i > 0 and prose[i - 1].strip():  # the last line of a block's text
                    element = "p"
            elif heading is not None and not after.strip() and before.endswith(" "):
                element = f"h{heading[0]}"
            elif setext and not after.strip() and before.endswith(" "):
                element = "h1" if prose[i + 1].lstrip().startswith("=") else "h2"
            elif "|" in line and before.endswith(" ") and _TABLE_CELL_END.match(after):
                element = "td"
            elif start and body_lines[i][start - 1] in ")]`*_":  # the line as written: code spans kept
                element = _inline_element(body_lines[i], start)
            if element is None:
                continue
            attrs = _attr_list(m.group(1))
            if attrs:
                found.append(Tag(first_line + i, start + 1, element, tuple(attrs)))
    for i, line in enumerate(body_lines):
        if ("!!!" in line or "???" in line) and (m := _ADMONITION.match(line)):
            element = "div" if "!!!" in line[:m.end()] else "details"
            found.append(Tag(first_line + i, m.start(1) + 1, element, (("class", m.group(1)),)))
    for index, info in fences:
        if "{" in info:
            inner = info[info.index("{") + 1:]
            inner = inner[:inner.rindex("}")] if "}" in inner else inner
            attrs = _attr_list(inner)
            if attrs:
                found.append(Tag(first_line + index, 1, "div", tuple(attrs)))
    return sorted(found, key=lambda t: (t.line, t.column))


def _inline_element(line: str, start: int) -> str:
    """The inline element an attr_list at ``start`` follows: ``img`` or ``a`` after a link's
    ``)`` or ``]``, ``code`` after a code span, ``em`` after emphasis."""
    closing = line[start - 1]
    if closing == "`":
        return "code"
    if closing in "*_":
        return "em"
    window = line[max(0, start - _LOOKBACK):start]
    if closing == ")":  # [text](url) or ![alt](url)
        bracket = window.rfind("[", 0, max(window.rfind("]("), 0))
    else:  # [text][ref], [ref] or their images
        bracket = window.rfind("[")
        if bracket > 0 and window[bracket - 1] == "]":
            bracket = window.rfind("[", 0, bracket - 1)
    return "img" if bracket > 0 and window[bracket - 1] == "!" else "a"


def fence_infos(body: str) -> list[tuple[int, str]]:
    """``(0-based line, info string)`` of each fenced code block of ``body`` whose info string
    holds braces (markdown-it-py's tokens, parsed once for the other checks)."""
    if "{" not in body or ("```" not in body and "~~~" not in body):
        return []
    return [(tok.map[0], tok.info) for tok in _tokens(body, inline=False)
            if tok.type == "fence" and tok.map and "{" in tok.info]


def heading_anchors(prose: list[str], first_line: int, raw: list[str] | None = None) -> list[tuple[int, str, bool]]:
    """``(file line, id, custom)`` of each ATX heading's id, as :func:`heading_ids` computes
    them (``custom`` for an id written with attr_list); headings are found in ``prose`` (not in
    code) and read from ``raw`` when given."""
    from markdown.extensions.toc import slugify

    entries: list[tuple[int, str | None, str]] = []
    custom: list[str] = []
    for i, line in enumerate(prose):
        if raw is not None and "#" in line:
            line = raw[i]
        heading = atx_heading(line) if "#" in line else None
        if heading is None:
            continue
        text = heading[1]
        attr_list = heading_attr_list(text) if text.endswith("}") or text.endswith(" ") else None
        own = None
        if attr_list is not None:
            text = attr_list[0]
            own = next((v for k, v in reversed(attr_list[1]) if k == "id"), None)
        if own is not None:
            custom.append(own)
        entries.append((first_line + i, own, text))
    ids = UniqueIds(custom)
    return [(line, own, True) if own is not None else (line, ids.add(slugify(heading_text(text), "-")), False)
            for line, own, text in entries]
