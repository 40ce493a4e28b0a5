"""Reading a post-mortem file without trusting PyYAML's defaults.

A file is decoded strictly as UTF-8 (a byte-order mark is dropped, CRLF counts as one line
break), its front-matter block is located explicitly, and the YAML is *composed* (not
constructed) with PyYAML's C parser. Our own constructor then walks the node tree so that:

* anchors and aliases are refused before anything is expanded (alias bombs cost nothing);
* duplicate keys are reported with both lines instead of the last one silently winning;
* every scalar is kept as the text that was written, so ``no`` never becomes ``False`` and
  ``3.10`` never becomes ``3.1``; the YAML 1.1 type PyYAML *would* have given a plain scalar
  is recorded, so the validator can tell the author to quote it;
* every value keeps its 1-based line and column in the file.

The text is normalised to Unicode NFC when read, so everything downstream (the model, the
site, search, similarity) sees one spelling of each character; columns count NFC characters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .model import Problem

try:  # libyaml is bundled with PyYAML's wheels; fall back to the pure-Python parser.
    _YamlLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader

_FENCE = re.compile(r"^(---|\.\.\.)[ \t]*$")
_HEADING_IN_YAML = re.compile(r"^#{2,6}[ \t]+\S|^#[ \t]+(summary|impact|timeline|root cause)\b", re.I)
_TOP_LEVEL_KEY = re.compile(r"^([^\s#:][^:]*?)[ \t]*:(?:[ \t]|$)")
_TAG = "tag:yaml.org,2002:"
# Types PyYAML's YAML 1.1 resolver gives plain scalars that YAML 1.2 tools read as text.
YAML11_SURPRISES = {f"{_TAG}bool": "boolean", f"{_TAG}int": "number", f"{_TAG}float": "number"}


MAX_PROBLEMS_PER_CODE = 50
"""Problems of one code listed per file; the rest are summed up in one more problem."""


@dataclass
class SourceFile:
    """A post-mortem file as read from disk, before any field is validated.

    ``data`` is the front matter as nested dicts/lists of ``str`` (``None`` for YAML null), or
    ``None`` when the block could not be read. ``positions`` maps a dotted field path
    (``action_items[0].due``) to the 1-based ``(line, column)`` of its value in the file;
    ``key_lines`` maps a mapping key's path to the line of the key itself. ``plain_types`` maps
    a path to the YAML 1.1 type PyYAML would have given that *unquoted* scalar
    (``tag:yaml.org,2002:bool`` ...), when it is not plain text.
    """

    path: Path
    relpath: str
    size: int
    text: str = ""
    data: dict | None = None
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    plain_types: dict[str, str] = field(default_factory=dict)
    front_matter_line: int = 2
    body: str = ""
    body_line: int = 1
    problems: list[Problem] = field(default_factory=list)
    secrets: tuple[str, ...] = ()
    redactor: object = None  # a generator.scan.Redactor of ``secrets`` once they are known
    clean_scan: str | None = None  # SecretScanner.input_key of a scan that found nothing (cached)
    written_id: str | None = None  # the top-level ``id:`` line's value as written (read even when the YAML fails)
    written_id_line: int | None = None  # that line's number in the file
    # per code: how many problems were recorded; (index, count, level) of its "more" summary
    _counts: dict[str, int] = field(default_factory=dict, repr=False)
    _overflow: dict[str, tuple[int, int, str]] = field(default_factory=dict, repr=False)

    def problem(self, line, column, fld, level, code, message, fix) -> None:
        """Record a problem against this file (same argument order as :class:`Problem`).

        Once :meth:`set_secrets` has run, ``message`` and ``fix`` are masked before they are
        stored: no check can quote a secret of the file (a format or enum error on the same
        value, a link target holding a token).

        After :data:`MAX_PROBLEMS_PER_CODE` problems of one code, the rest are counted in one
        summary problem of that code (at the line of the first one left out), so output and
        memory stay proportional to what a reader can act on, whatever the file holds.
        """
        count = self._counts.get(code, 0) + 1
        self._counts[code] = count
        if count <= MAX_PROBLEMS_PER_CODE:
            if self.redactor:
                message, fix = self.redactor.mask(message), self.redactor.mask(fix)
            self.problems.append(Problem(self.relpath, line, column, fld, level, code, message, fix))
            return
        index, more, worst = self._overflow.get(code, (len(self.problems), 0, level))
        if index == len(self.problems):
            self.problems.append(None)  # replaced just below
        more += 1
        worst = "error" if "error" in (worst, level) else level
        first = self.problems[index]
        first_line = first.line if first is not None else line
        self._overflow[code] = (index, more, worst)
        self.problems[index] = Problem(
            self.relpath, first_line, None, None, worst, code,
            f"{more} more '{code}' problem{'s' if more > 1 else ''} in this file (not listed: the first "
            f"{MAX_PROBLEMS_PER_CODE} are)", "fix the ones listed, then run again to see the rest")

    def room_for(self, code: str) -> bool:
        """Whether another problem of ``code`` would still be listed in full (see
        :meth:`problem`): a caller can skip working out a fix that nobody would see."""
        return self._counts.get(code, 0) < MAX_PROBLEMS_PER_CODE

    def set_secrets(self, values) -> None:
        """Record the secret values the scan found anywhere in the file (above the front matter
        too) and mask them in the problems recorded so far (the loader's, such as
        ``front-matter-missing`` quoting the first line) and in every later one."""
        from .scan import Redactor

        self.secrets = tuple(sorted({*self.secrets, *values}))
        self.redactor = Redactor(self.secrets)
        if self.redactor:
            mask = self.redactor.mask
            self.problems = [dataclasses.replace(p, message=mask(p.message), fix=mask(p.fix)) for p in self.problems]

    def line_of(self, path: str) -> int | None:
        """Line of a field's value, else of its key, else of the nearest enclosing field."""
        while path:
            if path in self.positions:
                return self.positions[path][0]
            if path in self.key_lines:
                return self.key_lines[path]
            path = _parent_path(path)
        return None


def _parent_path(path: str) -> str:
    if path.endswith('"]'):  # a quoted key (see child_path)
        parts = path_parts(path)
        return "".join(p if i == 0 or p.startswith("[") else "." + p for i, p in enumerate(parts[:-1])) if len(parts) > 1 else ""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


_PLAIN_KEY = re.compile(r'[^.\[\]"]+')
_PATH_PART = re.compile(r'\["(?:[^"\\]|\\.)*"\]|\[\d+\]|[^.\[\]]+')


def child_path(path: str, key: str) -> str:
    """The dotted path of mapping key ``key`` below ``path`` (``action_items[0].due``); a key that
    holds ``.``, ``[``, ``]`` or ``"`` (or is empty) is written quoted, ``a["x.y"]``, so that no
    two fields share a path (a key ``...format`` would otherwise read as ``format``)."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    import json

    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def path_parts(path: str) -> list[str]:
    """The steps of a path from :func:`child_path`: keys, ``[N]`` indexes, ``["quoted"]`` keys."""
    return _PATH_PART.findall(path)


def path_step(part: str):
    """A step of :func:`path_parts` as a dict key (``str``) or list index (``int``)."""
    if part.startswith('["'):
        import json

        return json.loads(part[1:-1])
    if part.startswith("["):
        return int(part[1:-1])
    return part


def read_source(path: Path, relpath: str | None = None) -> SourceFile:
    """Read and parse one post-mortem file; never raises for bad content.

    Args:
        path: the file on disk.
        relpath: how the file is named in problems (defaults to ``str(path)``).

    Returns:
        A :class:`SourceFile`; unreadable or malformed input is described in its ``problems``
        and leaves ``data`` as ``None``. ``OSError`` while reading becomes a problem too.
    """
    src = SourceFile(path=path, relpath=relpath or str(path), size=0)
    raw = _read_confined(src)
    return src if raw is None else _read_bytes(src, raw)


def _read_confined(src: SourceFile) -> bytes | None:
    """The file's bytes through :func:`generator.inventory.read_regular` (no link followed, no
    FIFO or device opened); ``None`` with a problem recorded when it cannot be read."""
    from . import inventory as inv

    try:
        return inv.read_regular(src.path)
    except inv.NotRegularFile as exc:
        if exc.kind == inv.SYMLINK:
            src.problem(1, None, None, "error", "file-symlink", inv.SYMLINK_MESSAGE, inv.SYMLINK_FIX)
        else:
            src.problem(1, None, None, "error", "file-not-regular", inv.NOT_REGULAR_MESSAGE, inv.NOT_REGULAR_FIX)
    except OSError as exc:
        src.problem(None, None, None, "error", "file-unreadable", f"cannot read the file: {exc.strerror}",
                    "check the file's permissions")
    return None


def read_page(path: Path, relpath: str | None = None) -> SourceFile:
    """Read an ordinary Markdown page of the docs folder (``README.md``, ``_notes.md``): the
    same confined, strict UTF-8 reading as :func:`read_source`, but a page need not have front
    matter. When it opens with a ``---`` block closed by ``---`` or ``...`` (MkDocs' page meta),
    ``body`` and ``body_line`` start after it; the block is not parsed (``data`` stays ``None``).
    """
    src = SourceFile(path=path, relpath=relpath or str(path), size=0)
    raw = _read_confined(src)
    if raw is None:
        return src
    src = _decode(src, raw)
    if src.text is None:
        src.text = ""
        return src
    src.body, src.body_line = src.text, 1
    lines = src.text.split("\n")
    if lines and lines[0].rstrip() == "---":
        close = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
        if close is not None:
            src.body, src.body_line = "\n".join(lines[close + 1:]), close + 2
    return src


def read_attachment(path: Path, relpath: str | None = None) -> SourceFile:
    """Read a text attachment (a log, a CSV) for the secret scan: confined as :func:`read_source`,
    bytes that are not UTF-8 replaced (U+FFFD) rather than refused, the whole file as ``body``.
    ``text`` is ``None`` when the file cannot be read (the problem says why)."""
    src = SourceFile(path=path, relpath=relpath or str(path), size=0)
    raw = _read_confined(src)
    if raw is None:
        src.text = None
        return src
    src.size = len(raw)
    src.text = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    src.body, src.body_line = src.text, 1
    return src


def source_from_text(text: str, path: Path, relpath: str | None = None) -> SourceFile:
    """Parse ``text`` as if it were the content of the file ``path``, without touching the disk.

    ``pmkb new`` uses it to validate the file it is about to write, with the same rules as
    :func:`read_source`.
    """
    src = SourceFile(path=path, relpath=relpath or str(path), size=0)
    return _read_bytes(src, text.encode("utf-8", "surrogatepass"))


def _decode(src: SourceFile, raw: bytes) -> SourceFile:
    """Decode ``raw`` into ``src.text`` (``None`` with a ``not-utf8`` problem when it is not
    UTF-8): byte-order mark dropped, CRLF and bare CR made LF."""
    src.size = len(raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark: harmless, dropped (editors on Windows add it)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        src.problem(line, column, None, "error", "not-utf8",
                    f"byte 0x{raw[exc.start]:02x} is not valid UTF-8 ({exc.reason})",
                    "save the file as UTF-8 (most editors: 'Save with encoding' > UTF-8)")
        src.text = None
        return src
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            line = text.count("\n", 0, text.index("\r")) + 1
            src.problem(line, None, None, "warning", "line-endings",
                        "the file uses bare carriage returns (\\r) as line breaks",
                        "save the file with LF or CRLF line endings")
            text = text.replace("\r", "\n")
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        # One spelling of each character: 'é' typed as e + U+0301 (macOS file names, some
        # editors) would not be found by a search typed normally, nor match in similarity.
        text = unicodedata.normalize("NFC", text)
    src.text = text
    return src


def _read_bytes(src: SourceFile, raw: bytes) -> SourceFile:
    src = _decode(src, raw)
    if src.text is None:
        src.text = ""
        return src
    text = src.text
    if not text.strip():
        what = "empty" if not text else "empty (it holds only blank lines)"
        src.problem(1, None, None, "error", "front-matter-missing", f"the file is {what}",
                    'write the post-mortem into it, or start from the template: pmkb new "TITLE" '
                    "--service SERVICE --date YYYY-MM-DD writes a new file (then delete this one)")
        src.body, src.body_line = text, 1
        return src
    with _collector_paused():
        _split_front_matter(src)
    return src


@contextlib.contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while a front matter is composed and built.

    The YAML nodes and values hold no reference cycles (reference counting frees them), but
    each of their allocations counts towards the collector's thresholds, and its full passes
    walk every live object: composing 40,000 list items took 3.5 s of CPU with the collector
    and 0.6 s without, growing faster than the input. The previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _split_front_matter(src: SourceFile) -> None:
    lines = src.text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        from .scan import excerpt

        first = excerpt(lines[0]) if lines else ""
        src.problem(1, 1, None, "error", "front-matter-missing",
                    f"the file does not start with a front-matter block (first line: {first!r})",
                    "start the file with '---', the YAML fields, then a closing '---' (see `pmkb new`)")
        src.body, src.body_line = src.text, 1
        return
    close = None
    for i in range(1, len(lines)):
        if _FENCE.match(lines[i]):
            close = i
            break
        if _HEADING_IN_YAML.match(lines[i]):
            break  # a Markdown heading inside the block: the closing '---' was forgotten
    if close is None:
        heading = next((i for i in range(1, len(lines)) if _HEADING_IN_YAML.match(lines[i])), None)
        src.written_id, src.written_id_line = _written_id_at(lines[1:heading] if heading is not None else lines[1:], 2)
        where = (f"before the Markdown heading on line {heading + 1}" if heading is not None
                 else "before the end of the file")
        src.problem(1, 1, None, "error", "front-matter-unclosed",
                    f"front matter opened on line 1 is not closed {where}",
                    "add a line with just '---' after the last YAML field")
        src.body, src.body_line = "\n".join(lines[1:]), 2
        return
    src.front_matter_line = 2
    src.body = "\n".join(lines[close + 1:])
    src.body_line = close + 2
    fm_lines = lines[1:close]
    src.written_id, src.written_id_line = _written_id_at(fm_lines, src.front_matter_line)
    yaml_text = "\n".join(fm_lines)
    if not yaml_text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in fm_lines):
        src.problem(1, 1, None, "error", "front-matter-empty",
                    "front matter is empty",
                    "add the required fields: id, title, date, severity, status, services, authors")
        return
    if _refuse_tabs(src, fm_lines) or _refuse_anchors(src, yaml_text):
        return
    try:
        node = yaml.compose(yaml_text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        _yaml_error(src, exc, fm_lines)
        return
    if node is None:
        src.problem(1, 1, None, "error", "front-matter-empty", "front matter is empty",
                    "add the required fields: id, title, date, severity, status, services, authors")
        return
    if not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "text"
        line = node.start_mark.line + src.front_matter_line
        src.problem(line, node.start_mark.column + 1, None, "error", "front-matter-not-mapping",
                    f"front matter must be a mapping of fields, got {kind}",
                    "write one 'field: value' per line, e.g. 'id: PM-2024-001'")
        return
    src.data = _Constructor(src, may_have_tags="!" in yaml_text).mapping(node, "")


_ID_LINE = re.compile(r"""id:[ \t]*(["']?)([A-Za-z0-9][A-Za-z0-9._-]*)\1[ \t]*(?:#.*)?$""")


def written_id(fm_lines: list[str]) -> str | None:
    """The value of the first top-level ``id:`` line of a front-matter block (plain or quoted),
    read line by line without YAML: a file whose YAML does not parse still holds its id, and
    the next free id must not be that one. ``None`` when there is no such line."""
    return _written_id_at(fm_lines, 1)[0]


def _written_id_at(fm_lines: list[str], first_line: int) -> tuple[str | None, int | None]:
    """:func:`written_id` and the number of its line, ``fm_lines[0]`` being line ``first_line``."""
    for i, line in enumerate(fm_lines):
        if line.startswith("id:"):
            m = _ID_LINE.match(line)
            return (m.group(2), i + first_line) if m else (None, None)
    return None, None


def _refuse_tabs(src: SourceFile, fm_lines: list[str]) -> bool:
    bad = [i for i, ln in enumerate(fm_lines) if "\t" in ln[: len(ln) - len(ln.lstrip(" \t"))]]
    if not bad:
        return False
    i = bad[0]
    more = f" (and {len(bad) - 1} more line{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
    src.problem(i + src.front_matter_line, fm_lines[i].index("\t") + 1, _enclosing_key(fm_lines, i),
                "error", "yaml-tab-indent", f"a tab is used for indentation{more}; YAML does not allow tabs",
                "indent with spaces (two per level)")
    return True


def _refuse_anchors(src: SourceFile, yaml_text: str) -> bool:
    if "&" not in yaml_text and "*" not in yaml_text:
        return False
    try:
        for event in yaml.parse(yaml_text, Loader=_YamlLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                name = event.anchor
                src.problem(mark.line + src.front_matter_line, mark.column + 1,
                            _enclosing_key(yaml_text.split("\n"), mark.line), "error", "yaml-anchor",
                            f"anchors and aliases are not allowed in post-mortem front matter (found '{name}')",
                            "write the value out in full instead of '&name' / '*name'")
                return True
    except yaml.YAMLError as exc:
        _yaml_error(src, exc, yaml_text.split("\n"))
        return True
    return False


def _enclosing_key(fm_lines: list[str], index: int) -> str | None:
    """The top-level key whose block contains front-matter line ``index`` (0-based)."""
    for i in range(min(index, len(fm_lines) - 1), -1, -1):
        m = _TOP_LEVEL_KEY.match(fm_lines[i])
        if m:
            return m.group(1).strip("'\"")
    return None


def _yaml_error(src: SourceFile, exc: yaml.YAMLError, fm_lines: list[str]) -> None:
    """Report a YAML syntax error at the line and key where the problem *starts*
    (:func:`yaml_diagnosis`), not where PyYAML gave up."""
    index, column, key, message, fix = yaml_diagnosis(exc, fm_lines, src.front_matter_line)
    src.problem(index + src.front_matter_line, column, key, "error", "yaml-syntax", message, fix)


_KEY_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<dash>-[ ]+)?(?P<key>[^\s#:'\"\[\]{},&*!|>%@`-][^:#]*?)[ ]*:(?:[ ]+(?P<value>.*))?$")
_QUOTED_CONTEXT = ("while scanning a quoted scalar", "while parsing a quoted scalar")
_FLOW_CONTEXT = {"while parsing a flow sequence": ("[", "]", "list"), "while parsing a flow mapping": ("{", "}", "mapping")}
_LIST_FIELDS = frozenset({"services", "tags", "authors", "related", "not_related", "contributing_factors"})
_GENERIC_FIX = "check indentation and quoting on this line; quote values that contain ': ' or start with a symbol"


def yaml_diagnosis(exc: yaml.YAMLError, fm_lines: list[str],
                   first_line: int = 2) -> tuple[int, int | None, str | None, str, str]:
    """Where a YAML syntax error starts, and what to do about it.

    PyYAML reports where it gave up, which is often lines later than the mistake: an unclosed
    quote or bracket swallows the following fields and is reported at the end of the front
    matter or at the next key. This picks the *start* of the construct the error is about
    (PyYAML's ``context_mark``: the opening quote or bracket, the key being scanned) and names
    the family of the mistake, with the line rewritten as a fix where one is clear:

    * an unclosed ``"`` or ``'`` (reported at the quote), an unknown escape in double quotes;
    * an unclosed ``[`` or ``{`` (at the bracket);
    * ``: `` inside a plain value (``title: Payments: down``): quote the value;
    * a line indented more than the field above it (read as more text of that value);
    * a line whose indentation matches no field around it (list items, block text);
    * text after a closing quote or bracket (``title: "Payments" down``);
    * a value that starts with a character YAML reserves (``@``, `````, ``%``, ``- ``);
    * a line that is neither ``key: value`` nor more text of the value above.

    Args:
        exc: the error from PyYAML (any ``MarkedYAMLError``; others give the first line).
        fm_lines: the front-matter lines (between the ``---`` lines).
        first_line: the line number in the file of ``fm_lines[0]``, for a fix that names another line.

    Returns:
        ``(line index in fm_lines (0-based), column (1-based) or None, field path such as
        "title" or "action_items[1].owner" or None, message, fix)``.
    """
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None)
    start = getattr(exc, "context_mark", None)
    if mark is None:
        return 0, None, _enclosing_key(fm_lines, 0), f"front matter is not valid YAML: {problem}", _GENERIC_FIX
    line = lambda i: fm_lines[i] if 0 <= i < len(fm_lines) else ""  # noqa: E731
    where, column = mark.line, mark.column
    message = f"front matter is not valid YAML: {problem}" + (f" ({context})" if context else "")
    fix = _GENERIC_FIX
    swallowing = _swallowing_quote(fm_lines, mark.line)
    if swallowing is not None and context not in _QUOTED_CONTEXT:
        # A quote left open that a later quote closed: the error shows up lines later.
        (start_line, start_column), end_line, quote, keys = swallowing
        kind = "double" if quote == '"' else "single"
        shown = ", ".join(f"'{k}'" for k in keys[:3]) + (" ..." if len(keys) > 3 else "")
        message = (f"the {kind} quote ({quote}) opened here is not closed on this line: YAML read the next "
                   f"{end_line - start_line} line(s) ({shown}) as part of this value, up to a {quote} there")
        own = _KEY_LINE.match(line(start_line))
        fix = (f"close the quote at the end of the value: {_closed(line(start_line).strip(), quote)}"
               if own and own.group("value") and own.group("value").startswith(quote)
               else f"close the quote ({quote}) where the quoted text ends, on the same line")
        return start_line, start_column + 1, _yaml_path(fm_lines, start_line), message, fix

    if context in _QUOTED_CONTEXT and start is not None:
        quote = line(start.line)[start.column:start.column + 1] or '"'
        if "escape" in problem:
            text = line(mark.line)
            at = text.rfind("\\", 0, mark.column + 1)
            escape = text[at:at + 2] if at >= 0 else "\\"
            column = at if at >= 0 else column
            message = (f"'{escape}' is not an escape sequence YAML knows inside double quotes "
                       "(a backslash starts one: \\n, \\t, \\\\ ...)")
            fix = "write the value in single quotes ('...'), where a backslash is just a backslash, or double it (\\\\)"
        else:
            where, column = start.line, start.column
            swallowed = mark.line - start.line
            kind = "double" if quote == '"' else "single"
            message = (f"the {kind} quote ({quote}) opened here is never closed"
                       + (f": YAML read the {swallowed} line(s) after it as part of this value" if swallowed > 0 else ""))
            own = _KEY_LINE.match(line(start.line))
            if own and own.group("value") and own.group("value").startswith(quote):
                fix = f"close the quote at the end of the value: {_closed(line(start.line).strip(), quote)}"
            else:
                fix = f"close the quote ({quote}) where the quoted text ends, on the same line"
    elif context in _FLOW_CONTEXT and start is not None:
        opening, closing, kind = _FLOW_CONTEXT[context]
        if mark.line > start.line:
            where, column = start.line, start.column
            own = _KEY_LINE.match(line(start.line))
            message = f"the {kind} opened with '{opening}' here is not closed with '{closing}' on this line"
            if own and own.group("key").strip() in _LIST_FIELDS and opening == "[":
                fix = f"end the list with ']' on the same line: {line(start.line).strip().rstrip(',')}]"
            else:
                message += f" (a value that starts with '{opening}' is a YAML {kind})"
                fix = (f"quote the value if it is text: {_quoted_line(own)}" if own and own.group("value")
                       else f"quote the value if it is text, or close the {kind} with '{closing}'")
        else:
            message = (f"after an item of the '{opening}...{closing}' {kind} YAML expects ',' or '{closing}' "
                       f"(column {mark.column + 1})")
            fix = f"separate the items with ', ' and quote an item that holds ',', '{closing}' or ': '"
    elif context == "while scanning a simple key" and start is not None:
        where, column = start.line, start.column
        text = line(start.line)
        glued = re.match(r"^(\s*)([A-Za-z_][\w-]*):(\S.*)$", text)
        if glued:
            message = f"'{glued.group(2)}:' needs a space after the colon"
            fix = f"write it as: {glued.group(2)}: {glued.group(3)}"
            parent = (_yaml_path(fm_lines, where) or "").rpartition(".")[0] if glued.group(1) else ""
            return where, column + 1, (parent + "." if parent else "") + glued.group(2), message, fix
        else:
            message = ("this line is neither 'key: value' nor more text of the value above "
                       "(no ':' after its first words, and it is not indented under a value)")
            fix = "write it as 'key: value', or indent it to continue the value above, or start it with '#' as a comment"
    elif problem.startswith("mapping values are not allowed"):
        text = line(mark.line)
        own = _KEY_LINE.match(text)
        above = _previous_content(fm_lines, mark.line)
        above_key = _KEY_LINE.match(line(above)) if above is not None else None
        if own and own.group("value") is not None and mark.column > len(own.group("indent") or "") + len(own.group("key")):
            message = (f"': ' inside the value of '{own.group('key')}': YAML reads 'key: value', so the second "
                       "': ' makes no sense there")
            fix = f"quote the value: {_quoted_line(own)}"
        elif own and above_key and len(own.group("indent")) > len(above_key.group("indent")) and \
                not (above_key.group("value") is None or above_key.group("value").strip() in ("|", ">", "|-", ">-")):
            message = (f"'{own.group('key').strip()}' is indented more than '{above_key.group('key').strip()}' above "
                       "it, so YAML reads it as more text of that value and then finds ': '")
            column = len(own.group("indent")) + 1
            fix = _same_indentation(own.group("key").strip(), above_key.group("key").strip(),
                                    len(above_key.group("indent")) + len(above_key.group("dash") or ""), above + first_line)
            parent = (_yaml_path(fm_lines, above) or "").rpartition(".")[0]
            return where, column, (parent + "." if parent else "") + own.group("key").strip(), message, fix
    elif problem.startswith("did not find expected key") or problem.startswith("did not find expected '-'"):
        text = line(mark.line)
        before = text[:mark.column].rstrip()
        if before.endswith(("\"", "'", "]", "}")) and before.lstrip(" -") and ":" in before:
            message = "text after the closing quote or bracket of this value"
            own = _KEY_LINE.match(text)
            value = own.group("value") if own and own.group("value") else text[mark.column:]
            fix = (f"quote the whole value: {own.group('key')}: '{value.replace(chr(39), chr(39) * 2)}'"
                   if own else "quote the whole value")
        else:
            above = _previous_content(fm_lines, mark.line)
            message = ("this line's indentation matches none of the fields or list items around it "
                       f"(it starts at column {len(text) - len(text.lstrip(' ')) + 1})")
            fix = (f"indent it like the line it belongs with" + (f" (line above: {line(above).rstrip()!r})"
                                                                  if above is not None else ""))
            column = len(text) - len(text.lstrip(" ")) + 1
            target = indentation_target(fm_lines, where)
            if target is None:
                return where, column, _yaml_path(fm_lines, where), message, fix
            indent, ref = target
            own = _KEY_LINE.match(text)
            if text.lstrip(" ").startswith("-"):
                fix = (f"start the '-' at column {indent + 1}, like the other items of the list "
                       f"(line {ref + first_line}: {line(ref).rstrip()!r})")
            else:
                ref_key = _KEY_LINE.match(line(ref)).group("key").strip()
                fix = _same_indentation(own.group("key").strip(), ref_key, indent, ref + first_line)
            # The field it belongs to once moved there, not where YAML gave up.
            moved = [*fm_lines[:where], " " * indent + text.lstrip(" "), *fm_lines[where + 1:]]
            return where, column, _yaml_path(moved, where), message, fix
    elif problem.startswith("found character that cannot start any token"):
        char = line(mark.line)[mark.column:mark.column + 1]
        message = f"a plain value cannot start with '{char}' (YAML reserves it)"
        fix = reserved_start_fix(line(mark.line), mark.column, "\n".join(fm_lines[:mark.line]))
    elif context == "while scanning a tag" and start is not None and line(start.line).startswith("!", start.column) \
            and _in_flow("\n".join(fm_lines[:start.line]) + "\n" + line(start.line),
                         len("\n".join(fm_lines[:start.line])) + 1 + start.column):
        # '[alice, !x]': '!' starts a tag, which must be followed by a space (block values
        # with a tag are the constructor's 'yaml-tag' problem).
        where, column = start.line, start.column
        message = "a plain value cannot start with '!' (YAML reads it as a tag)"
        fix = reserved_start_fix(line(where), column, "\n".join(fm_lines[:where]))
    elif context == "while parsing a flow node" and line(mark.line).startswith(("- ", "-\t"), mark.column):
        message = "an item that starts with '- ' inside '[...]' or '{...}' is read as a block list item"
        fix = reserved_start_fix(line(mark.line), mark.column, "\n".join(fm_lines[:mark.line]))
    elif problem.startswith("block sequence entries are not allowed"):
        own = _KEY_LINE.match(line(mark.line))
        message = "a value that starts with '- ' is read as a list item, which cannot stand after 'key:' on its line"
        fix = f"quote the value: {_quoted_line(own)}" if own and own.group("value") else "quote the value"
    return where, column + 1, _yaml_path(fm_lines, where), message, fix


_FLOW_RESERVED = "@`%|>!&*"
"""Characters that cannot start a plain scalar (YAML indicators), besides '- ', '? ', ': '."""


def _needs_quotes(item: str) -> bool:
    """Whether a plain scalar as written starts with a character YAML reserves."""
    return bool(item) and (item[0] in _FLOW_RESERVED or (item[0] in "-?:" and item[1:2] in (" ", "\t")))


def _double_quoted(text: str) -> str:
    """``text`` in double quotes, its backslashes and double quotes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted_end(text: str, start: int) -> int | None:
    """Index just after the quoted scalar opening at ``text[start]``, ``None`` if unclosed."""
    quote, i = text[start], start + 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            if quote == "'" and text.startswith("''", i):
                i += 2
                continue
            return i + 1
        i += 1
    return None


def _flow_value_end(text: str, i: int) -> bool:
    """Whether a ':' at ``text[i]`` separates a key from its value in a flow collection."""
    return text[i] == ":" and (i + 1 == len(text) or text[i + 1] in " \t,[]{}")


def quote_flow_items(value: str) -> tuple[str, int] | None:
    """A flow list or mapping written on one line (``[alice, @x]``, ``{name: @x}``) with each
    plain item, key or value that starts with a reserved character (``@``, `````, ``%``, ``!``,
    ``|``, ``>``, ``&``, ``*``, ``- `` ...) put in double quotes, the rest as written (a comment
    after the closing bracket is kept after it).

    Quoting the whole value instead (``"[alice, @x]"``) would turn the list into one string.

    Returns:
        ``(rewritten value, number of items quoted)``, or ``None`` when ``value`` is not a flow
        collection closed on this line or no item needs quotes.
    """
    if not value.startswith(("[", "{")):
        return None
    out: list[str] = []
    depth, quoted, i, n = 0, 0, 0, len(value)
    while i < n:
        ch = value[i]
        if ch in " \t":
            out.append(ch)
            i += 1
        elif ch == "#" and value[i - 1] in " \t":
            if depth:
                return None  # the collection goes on below this line
            out.append(value[i:])
            break
        elif depth == 0 and i > 0:
            return None  # text after the closing bracket
        elif ch in "[{":
            depth += 1
            out.append(ch)
            i += 1
        elif ch in "]}":
            depth -= 1
            out.append(ch)
            i += 1
        elif ch == "," or _flow_value_end(value, i):
            out.append(ch)
            i += 1
        elif ch in "\"'":
            end = _quoted_end(value, i)
            if end is None:
                return None
            out.append(value[i:end])
            i = end
        else:
            j = i
            while j < n and value[j] not in ",[]{}" and not _flow_value_end(value, j) \
                    and not (value[j] == "#" and value[j - 1] in " \t"):
                j += 1
            item = value[i:j].rstrip(" \t")
            if _needs_quotes(item):
                out.append(_double_quoted(item))
                quoted += 1
            else:
                out.append(item)
            i += len(item)
    if depth != 0 or not quoted:
        return None
    return "".join(out).rstrip(" \t"), quoted


def _in_flow(text: str, column: int) -> bool:
    """Whether ``text[column]`` is inside a '[' or '{' opened before it (a guess: brackets
    inside quotes count too)."""
    before = text[:column]
    return before.count("[") + before.count("{") > before.count("]") + before.count("}")


def reserved_start_fix(text: str, column: int, above: str = "") -> str:
    """The fix for a plain value that starts with a reserved character at ``text[column]``
    (0-based), ``text`` being the whole front-matter line and ``above`` the front matter above
    it (a flow list may start on an earlier line).

    * in a flow list or mapping (``authors: [alice, @x]``): quote the items that need it, not
      the whole value, so the list stays a list: ``authors: [alice, "@x"]``;
    * a top-level list field written as one value (``authors: @x``): ``authors: ["@x"]``;
    * a block list item (``- @x``): ``- "@x"``;
    * any other value: ``key: "value"``.
    """
    own = _KEY_LINE.match(text)
    value = own.group("value") if own else None
    if value and value.startswith(("[", "{")):
        rewritten = quote_flow_items(value.rstrip())
        if rewritten is not None:
            items = "item" if rewritten[1] == 1 else "items"
            return f"quote the {items} that start{'s' if items == 'item' else ''} with a reserved character: " \
                   f"{own.group('key')}: {rewritten[0]}"
    if _in_flow(above + "\n" + text, len(above) + 1 + column):
        j = column
        while j < len(text) and text[j] not in ",[]{}" and not (text[j] == "#" and text[j - 1] in " \t"):
            j += 1
        return f"quote that item: {_double_quoted(text[column:j].rstrip())}"
    if value:
        key = own.group("key").strip()
        if key in _LIST_FIELDS and not own.group("indent") and not own.group("dash"):
            return f"quote the value, in a list ('{key}' is a list): {own.group('key')}: [{_double_quoted(value.strip())}]"
        return f"quote the value: {_quoted_line(own)}"
    item = re.match(r"^[ ]*-[ ]+(\S.*)$", text)
    if item and column >= len(text) - len(item.group(1)):
        return f"quote the value: - {_double_quoted(item.group(1).rstrip())}"
    return "quote the value"


def _same_indentation(key: str, ref_key: str, indent: int, ref_line: int) -> str:
    """The fix that moves ``key:`` to the indentation (0-based) of ``ref_key:`` on ``ref_line``."""
    if indent == 0:
        return f"start '{key}:' at the same indentation as '{ref_key}:' (at the beginning of the line)"
    return f"start '{key}:' at column {indent + 1}, the same indentation as '{ref_key}:' on line {ref_line}"


def indentation_target(fm_lines: list[str], index: int) -> tuple[int, int] | None:
    """Where a front-matter line whose indentation matches nothing around it belongs (a guess
    from the lines above, on text that is not valid YAML).

    * a list item (``- ...``) belongs with the nearest item above it in the same top-level
      field: the same indentation as that item's ``-``;
    * a ``key: value`` line belongs with one of the mappings still open above it (the field
      above, the item it follows, the enclosing fields): the one whose keys start nearest its
      own indentation, the innermost one on a tie.

    Returns:
        ``(indentation (0-based column), index of the line it should line up with)``, or
        ``None`` when there is no such line (a line of block text, the first item of a list).
    """
    text = fm_lines[index]
    indent = len(text) - len(text.lstrip(" "))
    rest = text[indent:]
    dash = rest.startswith("- ") or rest == "-"
    if not dash and not _KEY_LINE.match(text):
        return None
    candidates: list[tuple[int, int]] = []  # (column of the keys or of the '-', line index)
    for i in range(index - 1, -1, -1):
        above = fm_lines[i]
        if not above.strip() or above.lstrip().startswith("#"):
            continue
        own = _KEY_LINE.match(above)
        above_indent = len(above) - len(above.lstrip(" "))
        if dash:
            if above[above_indent:].startswith("- ") or above[above_indent:] == "-":
                return above_indent, i
        elif own:
            key_column = len(own.group("indent")) + len(own.group("dash") or "")
            if not candidates or key_column < candidates[-1][0]:
                candidates.append((key_column, i))
        if above_indent == 0 and not above.startswith("-"):
            break  # the top-level field this line is under
    if not candidates:
        return None
    # innermost first: min() keeps the first of equally near ones
    column, i = min(candidates, key=lambda c: abs(c[0] - indent))
    return (column, i) if column != indent else None


def _swallowing_quote(fm_lines: list[str], error_line: int):
    """A quoted value that starts on one line and ends on a later one, at or before
    ``error_line``, and holds lines that look like fields (``date: ...``): a quote left open
    that the next quote of the text closed. Returns ``((line, column), end line, quote, keys
    swallowed)`` of the first one, or ``None``."""
    text = "\n".join(fm_lines)
    if '"' not in text and "'" not in text:
        return None
    try:
        tokens = list(yaml.scan(text, Loader=_YamlLoader))
    except yaml.YAMLError:
        return None
    for token in tokens:
        style = getattr(token, "style", None)
        if not isinstance(token, yaml.ScalarToken) or style not in ('"', "'"):
            continue
        start, end = token.start_mark, token.end_mark
        if start.line > error_line:
            break
        if end.line <= start.line:
            continue
        keys = [m.group(1) for i in range(start.line + 1, end.line + 1)
                if (m := _TOP_LEVEL_KEY.match(fm_lines[i]))]
        if keys:
            return (start.line, start.column), end.line, style, keys
    return None


def _closed(text: str, quote: str) -> str:
    return text.rstrip() + quote


def _quoted_line(own: re.Match) -> str:
    """``key: "value"`` for a ``_KEY_LINE`` match (the value's backslashes and quotes escaped)."""
    value = own.group("value").strip()
    return f"{own.group('key')}: \"{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}\""


def _previous_content(fm_lines: list[str], index: int) -> int | None:
    """Index of the nearest line above ``index`` that is neither blank nor a comment."""
    for i in range(min(index, len(fm_lines)) - 1, -1, -1):
        stripped = fm_lines[i].strip()
        if stripped and not stripped.startswith("#"):
            return i
    return None


def _yaml_path(fm_lines: list[str], index: int) -> str | None:
    """The field a front-matter line belongs to, named as validation names fields (``title``,
    ``action_items[1].owner``), from the indentation of the lines down to it: a best guess on
    text that is not valid YAML, never an error."""
    stack: list[list] = []  # [indent, label, items so far]
    for i in range(min(index, len(fm_lines) - 1) + 1):
        text = fm_lines[i]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        indent = len(text) - len(text.lstrip(" "))
        rest = text[indent:]
        if rest.startswith("- ") or rest == "-":
            while stack and (stack[-1][0] > indent or (stack[-1][0] == indent and stack[-1][1].startswith("["))):
                stack.pop()
            count = stack[-1][2] if stack else 0
            if stack:
                stack[-1][2] += 1
            stack.append([indent, f"[{count}]", 0])
            after = rest[1:]
            indent += 1 + len(after) - len(after.lstrip(" "))
            rest = after.lstrip(" ")
        m = _KEY_LINE.match(" " * indent + rest) if rest else None
        while stack and stack[-1][0] >= indent:
            stack.pop()  # (a line at or left of a key's or an item's indentation is not inside it)
        if m and m.group("key"):
            stack.append([indent, m.group("key").strip().strip("'\""), 0])
    path = ""
    for _, label, _ in stack:
        path += label if label.startswith("[") else ("." if path else "") + label
    return path or None


_RESOLVER = yaml.resolver.Resolver()

MAX_YAML_DEPTH = 10
"""Deepest nesting of lists and mappings in a front matter (the whole block is level 1).

The format needs 3 (``action_items`` > an item > its fields); deeper values are refused
before they are built, so no reader of the file (our checks, the JSON Schema validator,
PyYAML in MkDocs) recurses through them: 300 levels used to raise an uncaught error."""


class _Constructor:
    """Turns composed YAML nodes into plain dicts/lists/str, recording positions."""

    def __init__(self, src: SourceFile, may_have_tags: bool = True):
        self.src = src
        self.may_have_tags = may_have_tags  # no '!' in the text: no explicit tag to look for
        self.offset = src.front_matter_line
        self.too_deep = False

    def pos(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + self.offset, node.start_mark.column + 1

    def value(self, node: yaml.Node, path: str, depth: int = 1):
        self.src.positions[path] = self.pos(node)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if depth > MAX_YAML_DEPTH:
                if not self.too_deep:
                    self.too_deep = True
                    line, column = self.pos(node)
                    self.src.problem(line, column, path or None, "error", "nesting-too-deep",
                                     f"front matter nests lists and mappings more than {MAX_YAML_DEPTH} levels "
                                     f"deep here (at '{path}')",
                                     "write the value flat: the deepest field of the format, "
                                     "action_items[].title, is 3 levels deep")
                return None
            default = f"{_TAG}map" if isinstance(node, yaml.MappingNode) else f"{_TAG}seq"
            if self.may_have_tags and node.tag != default:  # e.g. !!python/object/apply: refused, never constructed
                line, column = self.pos(node)
                self.src.problem(line, column, path or None, "error", "yaml-tag",
                                 f"explicit YAML tag {node.tag!r} is not allowed", "remove the '!tag'")
                return None
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.ScalarNode, path: str):
        plain = not node.style  # libyaml reports '' for plain scalars, pure-Python PyYAML None
        if not self.may_have_tags:
            implicit = node.tag
        elif plain:
            implicit = _RESOLVER.resolve(yaml.ScalarNode, node.value, (True, False))
        else:
            implicit = f"{_TAG}str"
        if node.tag != implicit:  # written with an explicit !tag
            line, column = self.pos(node)
            self.src.problem(line, column, path or None, "error", "yaml-tag",
                             f"explicit YAML tag {node.tag!r} is not allowed", "remove the '!tag'")
        elif plain:  # note what YAML 1.1 would have made of an unquoted value
            if node.tag == f"{_TAG}null":
                return None
            if node.tag in (f"{_TAG}value", f"{_TAG}merge"):
                line, column = self.pos(node)
                self.src.problem(line, column, path or None, "error", "yaml-implicit-type",
                                 f"{node.value!r} is written without quotes, so YAML 1.1 tools (PyYAML, "
                                 f"MkDocs) read it as a special YAML 1.1 '{node.tag[len(_TAG):]}' key, "
                                 "which they cannot load",
                                 f"quote it: '{node.value}'")
            elif node.tag != f"{_TAG}str":
                self.src.plain_types[path] = node.tag
            if node.end_mark.line > node.start_mark.line and path.endswith("]"):
                self.swallowed_item(node, path)
        return node.value

    def swallowed_item(self, node: yaml.ScalarNode, path: str) -> None:
        """Report a list item written on its own line (``- b``) but indented more than the item
        above it (``- a``): YAML reads it as more text of that item (``'a - b'``), silently."""
        lines = self.src.text.split("\n")
        start = node.start_mark.line + self.offset - 1  # index in lines of the item's first line
        for i in range(start + 1, min(node.end_mark.line + self.offset, len(lines))):
            text = lines[i]
            rest = text.lstrip(" ")
            if not (rest.startswith("- ") or rest == "-"):
                continue
            first = lines[start]
            dash = first[:node.start_mark.column].rstrip(" ")
            if not dash.endswith("-"):
                return
            self.src.problem(i + 1, len(text) - len(rest) + 1, path, "error", "yaml-item-indent",
                             f"this '- ' item is indented more than the item above it, so YAML reads it as more "
                             f"text of that item: {node.value if len(node.value) <= 60 else node.value[:59] + '…'!r}",
                             f"start the '-' at column {len(dash)}, like the other items of the list "
                             f"(line {start + 1}: {first.rstrip()!r})")
            return

    def mapping(self, node: yaml.MappingNode, path: str, depth: int = 1) -> dict:
        result: dict = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line, column = self.pos(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                self.src.problem(line, column, path or None, "error", "yaml-key",
                                 "a field name must be plain text, not a list or mapping",
                                 "write 'name: value'")
                continue
            key = key_node.value
            child = child_path(path, key)
            if not key_node.style and key_node.tag == f"{_TAG}merge":
                self.src.problem(line, column, child, "error", "yaml-merge-key",
                                 "'<<' is a YAML merge key: PyYAML and MkDocs copy the fields of the mapping "
                                 "it holds into this one, while this tool would read a field named '<<'",
                                 "write the fields out in full, without '<<:'")
                continue
            if not key_node.style and key_node.tag not in (f"{_TAG}str", f"{_TAG}merge") \
                    and key_node.tag.startswith(_TAG):
                kind = {"bool": "boolean", "int": "number", "float": "number", "null": "null",
                        "timestamp": "date"}.get(key_node.tag[len(_TAG):], key_node.tag[len(_TAG):])
                self.src.problem(line, column, child, "error", "yaml-implicit-type",
                                 f"the field name {key!r} is written without quotes, so YAML 1.1 tools (PyYAML, "
                                 f"MkDocs) read it as a {kind}, not as the text {key!r}",
                                 f"quote it: '{key}':" if key else "give the field a name")
            if key in seen:
                self.src.problem(line, column, child, "error", "duplicate-key",
                                 f"duplicate key {key!r} on lines {seen[key]} and {line}",
                                 f"keep one '{key}:' and delete the other")
                continue
            seen[key] = line
            self.src.key_lines[child] = line
            result[key] = self.value(value_node, child, depth + 1)
        return result
