"""CSV cells that a spreadsheet will not run as formulas (CSV injection).

A CSV export is opened in Excel, LibreOffice Calc or Google Sheets, which read a cell that
starts with ``=``, ``+``, ``-`` or ``@`` as a formula: a post-mortem titled
``=HYPERLINK("http://evil.test","x")`` would become a live link (or worse, with DDE) in the
reader's spreadsheet. OWASP's rule ("CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection) is applied to every text cell: a value
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single
quote ``'``, which spreadsheets show as text and never evaluate. The quote stays in the file, so
a program reading the CSV sees ``'=HYPERLINK(...)``; the JSON exports carry the text unchanged.

Numbers the tool writes itself (durations in seconds, scores, counts) are passed as ``int`` or
``float`` and are never quoted: they are never negative, and a number is no formula. The CSV
quoting of commas, double quotes and line breaks (RFC 4180) is left to :mod:`csv`.
"""

from __future__ import annotations

from typing import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula (OWASP)."""


def cell(value: object) -> str:
    """``value`` as one CSV cell, safe to open in a spreadsheet.

    ``None`` gives ``""``; an ``int`` or ``float`` (not a ``bool``) gives ``str(value)``, never
    quoted; anything else is ``str(value)``, with a leading ``'`` when it starts with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return (OWASP "CSV Injection").

    >>> cell('=HYPERLINK("http://evil.test","x")')
    '\\'=HYPERLINK("http://evil.test","x")'
    >>> cell(3600), cell(12.5), cell(None), cell("PM-1")
    ('3600', '12.5', '', 'PM-1')
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def row(values: Iterable[object]) -> list[str]:
    """Every value of a CSV row through :func:`cell`."""
    return [cell(v) for v in values]
