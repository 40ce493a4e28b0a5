"""Validation errors in the browser while writing (``mkdocs serve``, ``pmkb serve``; issue #16
item 5).

A live preview that only logs a validation error leaves the author looking at a browser that
never reloads. Under serve, the adapters build the site without the files that have errors
and give each of those files a page of its own problems instead (:func:`error_page`, at the
file's own address, so the page the author has open reloads into it), and the home page a
banner that names them (:func:`error_banner`). ``mkdocs build`` and ``pmkb build`` still stop
on the first error, with the same messages.

Everything shown comes from :class:`~generator.model.Problem` objects, masked by the
validation's redactor, and is HTML-escaped (:func:`generator.escape.html_text`).
"""

from __future__ import annotations

from collections.abc import Sequence

from .escape import html_text
from .model import Problem

TITLE = "Errors in {name}"


def _rows(problems: Sequence[Problem], hide) -> str:
    rows = []
    for p in problems:
        where = f"{p.line}:{p.column}" if p.line and p.column else (str(p.line) if p.line else "")
        rows.append(f"<tr><td>{html_text(p.level)}</td><td>{html_text(where)}</td>"
                    f"<td><code>{html_text(p.field or '')}</code></td><td>{html_text(p.code)}</td>"
                    f"<td>{html_text(hide(p.message))}</td><td>{html_text(hide(p.fix))}</td></tr>")
    return ("<table>\n<thead><tr><th>Level</th><th>Line:column</th><th>Field</th><th>Problem</th>"
            "<th>What is wrong</th><th>Fix</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n")


def error_page(path: str, display: str, problems: Sequence[Problem], hide=lambda text: text) -> str:
    """The Markdown page shown instead of a post-mortem that has validation errors.

    Args:
        path: the file's path in the docs folder (``2024-03-01-payments-down.md``).
        display: how ``pmkb validate`` names the file (``postmortems/2024-...md``).
        problems: its problems (errors first is not required: they are shown in line order).
        hide: the masking step (:meth:`generator.scan.Redactor.hide`).

    Returns:
        Markdown with front matter (title), a failure admonition and the table of problems.
    """
    errors = sum(p.level == "error" for p in problems)
    ordered = sorted(problems, key=lambda p: (p.level != "error", p.line or 0, p.column or 0))
    title = TITLE.format(name=path.rsplit("/", 1)[-1])
    return ("---\ntitle: " + _yaml_text(title) + "\nsearch:\n  exclude: true\n---\n\n"
            f"# {html_text(title)}\n\n"
            f'!!! failure "{errors} error(s): this page stands in for the post-mortem until they are fixed"\n\n'
            f"    Fix them in `{html_text(display)}` and save: this page reloads by itself. "
            f"`pmkb validate {html_text(display)}` prints the same messages. The rest of the site is built "
            "without this file.\n\n"
            + _rows(ordered, hide))


def error_banner(broken: dict[str, str], counts: dict[str, int], link) -> str:
    """A failure admonition listing the files with errors (for the top of the home page).

    Args:
        broken: ``{docs path: display name}``.
        counts: ``{docs path: number of errors}``.
        link: ``link(docs path, text) -> HTML <a>`` relative to the page the banner is on.
    """
    items = "\n".join(f"    - {link(path, broken[path])}: {counts.get(path, 0)} error(s)" for path in sorted(broken))
    return (f'!!! failure "{len(broken)} post-mortem(s) have validation errors: the preview leaves them out"\n\n'
            f"{items}\n\n")


def _yaml_text(text: str) -> str:
    import json

    return json.dumps(text)


def with_banner(markdown: str, banner: str) -> str:
    """``markdown`` (a page that may start with front matter) with ``banner`` after the front
    matter and the page's first heading."""
    head, body = "", markdown
    if markdown.startswith("---\n"):
        end = markdown.find("\n---\n", 4)
        if end != -1:
            head, body = markdown[:end + 5], markdown[end + 5:]
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("# "):
            return head + "\n".join(lines[:i + 1]) + "\n\n" + banner + "\n".join(lines[i + 1:])
    return head + banner + body
