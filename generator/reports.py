"""Recurrence and reliability reports: the names ``pmkb report`` and older code import.

The reports are computed and rendered in three modules, re-exported here:

- :mod:`generator.metrics`: every figure (no Markdown): :func:`build_report`, :class:`Report`,
  the recurrence ranking, TTD/TTR statistics, data quality, the action-item ledger, periods;
- :mod:`generator.report_pages`: the Markdown of the report pages and of
  ``pmkb report --format md`` (:func:`render_cli_markdown`);
- :mod:`generator.exports`: CSV tables, the action-item ledger JSON, the Atom feed.
"""

from __future__ import annotations

from .escape import md_text  # noqa: F401
from .exports import CSV_TABLES, atom_feed, ledger_json, report_csv  # noqa: F401
from .markup import Links  # noqa: F401
from .metrics import *  # noqa: F401,F403
from .metrics import _pct, is_overdue  # noqa: F401
from .report_pages import (LEDGER_EXPORTS, LEDGER_SHOWN, MAX_LISTED, PERIOD_LISTED, PERCENTILE_NOTE,  # noqa: F401
                           RANKING_NOTE, chart_specs, coverage_note, draw_chart, render_action_items,
                           render_cli_markdown, render_data_quality, render_index, render_period,
                           render_recurrence, render_trends, report_pages)

