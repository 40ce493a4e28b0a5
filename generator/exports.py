"""The site's exports and the report's CSV: data for tools, no Markdown.

- ``api/postmortems.json`` and ``api/postmortems.csv`` (:func:`export_records`,
  :func:`export_json`, :func:`export_csv`): every published post-mortem's metadata, durations
  in seconds, related links with scores and terms, cluster id and URL;
- ``api/action-items.csv`` and ``api/action-items.json``: the whole action-item ledger
  (:func:`report_csv` with ``action-items``, :func:`ledger_json`);
- ``feed.xml`` (:func:`atom_feed`): Atom 1.0 of the newest published post-mortems;
- :func:`report_csv`: one table of the report (``pmkb report --format csv``).

CSV text cells go through :func:`generator.csvsafe.cell` (OWASP "CSV Injection"); the feed
is written with the standard library's ElementTree, which escapes XML.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Callable, Sequence

from .analysis import Analysis
from .csvsafe import cell
from .metrics import PUBLISHED_STATUSES, Report
from .model import SEVERITIES, Postmortem


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_records(postmortems: Sequence[Postmortem], analysis: Analysis, urls: dict[str, str]) -> list[dict]:
    """One JSON-ready dict per post-mortem (sorted by id): metadata, durations, related, cluster."""
    by_id = {pm.id: pm for pm in postmortems}
    records = []
    for pm in sorted(postmortems, key=lambda p: p.id):
        related = [{"id": r.id, "score": round(r.score, 4),
                    "fused": None if r.fused is None else round(r.fused, 4), "terms": list(r.terms),
                    "pinned": r.pinned, "via": r.via}
                   for r in analysis.related.get(pm.id, []) if r.id in by_id and r.id != pm.id]
        records.append({
            "id": pm.id, "title": pm.title, "date": pm.date.isoformat(), "severity": pm.severity,
            "status": pm.status, "services": list(pm.services), "tags": list(pm.tags),
            "authors": list(pm.authors), "summary": pm.summary, "trigger": pm.trigger,
            "root_cause": pm.root_cause, "started_at": _iso(pm.started_at), "detected_at": _iso(pm.detected_at),
            "mitigated_at": _iso(pm.mitigated_at), "resolved_at": _iso(pm.resolved_at),
            "time_to_detect_s": pm.time_to_detect, "time_to_mitigate_s": pm.time_to_mitigate,
            "time_to_resolve_s": pm.time_to_resolve, "duration_s": pm.duration,
            "action_items": [{"title": a.title, "owner": a.owner, "status": a.status,
                              "due": a.due.isoformat() if a.due else None, "ticket": a.ticket}
                             for a in pm.action_items],
            "url": urls.get(pm.id), "path": pm.path,
            "cluster": analysis.cluster_of.get(pm.id) if analysis.cluster_of.get(pm.id) else None,
            "related": related,
        })
    return records


def export_json(records: list[dict]) -> str:
    """``api/postmortems.json``: ``{"version": 1, "count": N, "postmortems": [...]}``."""
    return json.dumps({"version": 1, "count": len(records), "postmortems": records},
                      ensure_ascii=False, separators=(",", ":")) + "\n"


CSV_COLUMNS = ("id", "date", "title", "severity", "status", "services", "tags", "authors",
               "time_to_detect_s", "time_to_resolve_s", "duration_s", "trigger", "cluster", "related", "url")


def export_csv(records: list[dict]) -> str:
    """``api/postmortems.csv``: one row per post-mortem; lists joined with ``;``, related as ``id:score``.

    Text cells that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR
    first) get a leading ``'`` (:func:`generator.csvsafe.cell`, OWASP "CSV Injection").
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        row = dict(r)
        for key in ("services", "tags", "authors"):
            row[key] = ";".join(r[key])
        row["related"] = ";".join(f"{x['id']}:{x['score']:.4f}" for x in r["related"])
        writer.writerow([cell(row[c]) for c in CSV_COLUMNS])  # formula-looking text quoted (csvsafe)
    return buffer.getvalue()


def ledger_json(report: Report) -> str:
    """``api/action-items.json``: every action item (overdue first) and the per-owner counts."""
    return json.dumps({"version": 1, "today": report.today.isoformat(), "count": len(report.ledger),
                       "action_items": [r.as_dict() for r in report.ledger],
                       "owners": [o.as_dict() for o in report.owners]},
                      ensure_ascii=False, separators=(",", ":")) + "\n"


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(postmortems: Sequence[Postmortem], site_url: str, today: dt.date, limit: int = 20,
              title: str = "Incident post-mortems",
              page_url: Callable[[Postmortem], str] | None = None) -> str:
    """An Atom 1.0 feed (RFC 4287) of the newest published post-mortems.

    Args:
        postmortems: the corpus; only ``status`` final or in-review, dated on or before
            ``today``, are included, newest first (by date, then id), at most ``limit``.
        site_url: absolute site URL (``https://kb.example.com/``); entry links are resolved
            against it.
        today: reference date (UTC); also the feed's ``updated`` when no entry qualifies.
        page_url: post-mortem -> URL relative to the site (default ``<slug>/``, MkDocs'
            ``use_directory_urls``).

    Returns:
        The feed as UTF-8 XML text. Each entry's ``updated`` is its ``resolved_at`` (else
        ``mitigated_at``, ``detected_at``, ``started_at``, else the date at 00:00 UTC), so the
        output never depends on the clock. Built with the standard library's ElementTree.
    """
    import xml.etree.ElementTree as ET

    ns = "http://www.w3.org/2005/Atom"
    base = site_url if site_url.endswith("/") else site_url + "/"
    page_url = page_url or (lambda pm: f"{pm.slug}/")
    chosen = sorted((pm for pm in postmortems if pm.status in PUBLISHED_STATUSES and pm.date <= today),
                    key=lambda pm: (pm.date, pm.id), reverse=True)[:limit]

    def updated(pm: Postmortem) -> str:
        moment = pm.resolved_at or pm.mitigated_at or pm.detected_at or pm.started_at
        if moment is None:
            return f"{pm.date.isoformat()}T00:00:00Z"
        return _utc(moment)

    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    sub(feed, "title", title)
    sub(feed, "id", base)
    sub(feed, "link", href=base)
    sub(feed, "link", rel="self", href=base + "feed.xml")
    sub(feed, "updated", max((updated(pm) for pm in chosen), default=f"{today.isoformat()}T00:00:00Z"))
    sub(feed, "generator", "postmortem-kb")
    for pm in chosen:
        url = base + page_url(pm)
        entry = sub(feed, "entry")
        sub(entry, "title", f"{pm.id}: {pm.title}")
        sub(entry, "id", url)
        sub(entry, "link", href=url, rel="alternate")
        sub(entry, "published", f"{pm.date.isoformat()}T00:00:00Z")
        sub(entry, "updated", updated(pm))
        for name in pm.authors or ["unknown"]:
            sub(sub(entry, "author"), "name", name)
        sub(entry, "category", term=pm.severity)
        for service in pm.services:
            sub(entry, "category", term=service)
        summary = pm.summary or pm.root_cause or pm.title
        sub(entry, "summary", f"{pm.severity} · {', '.join(pm.services)} · {summary}", type="text")
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


CSV_TABLES = ("clusters", "quarters", "ttd-quarter", "ttr-quarter", "ttd-year", "ttr-year", "services", "triggers",
              "data-quality", "action-items", "owners")
"""Tables ``pmkb report --format csv --table NAME`` can print (one table per run, for a spreadsheet)."""


def report_csv(report: Report, table: str = "clusters") -> str:
    """One table of the report as CSV (RFC 4180, header row first, ``\\r\\n`` line ends).

    Durations are in seconds, dates ISO 8601, lists space-separated, booleans ``true``/``false``,
    unknown values empty. ``table`` is one of :data:`CSV_TABLES`.

    Every text cell goes through :func:`generator.csvsafe.cell` (OWASP "CSV Injection"): one
    that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a title, label,
    owner, ticket, service, ...) gets a leading ``'`` so a spreadsheet shows it as text instead of
    running it as a formula. The numbers this function writes (seconds, scores, counts) are
    never negative and are never quoted.
    """
    from .csvsafe import row as safe_row

    def num(value):
        """A number as the cell shows it (integral floats without ``.0``), ``""`` when unknown."""
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return round(value, 3) if isinstance(value, float) else value

    def flag(value: bool) -> str:
        return "true" if value else "false"

    rows: list[list[object]]
    if table == "clusters":
        header = ["rank", "id", "label", "score", "incidents", *(s.lower() for s in SEVERITIES), "first", "last",
                  "days_since_last", "intervals_days", "median_interval_days", "impact_seconds", "impact_known",
                  "open_items", "overdue_items", "done_items", "recurred_after_fix", "recurred_after_fix_members",
                  "no_open_action_item", "members", "services"]
        rows = [[rank, c.id, c.label, num(round(c.score, 3)), c.count, *(c.severities.get(s, 0) for s in SEVERITIES),
                 c.members[0].date.isoformat(), c.members[-1].date.isoformat(), c.days_since_last,
                 " ".join(map(str, c.intervals_days)), num(c.median_interval_days), num(c.impact_seconds),
                 c.impact_known, c.open_items, c.overdue_items, c.action_counts.get("done", 0),
                 flag(bool(c.recurred_after_fix)), " ".join(c.recurred_after_fix), flag(c.no_open_action_item),
                 " ".join(pm.id for pm in c.members), " ".join(c.cluster.services)]
                for rank, c in enumerate(report.clusters, 1)]
    elif table == "quarters":
        header = ["quarter", *(s.lower() for s in SEVERITIES), "total"]
        rows = [[q, *(c[s] for s in SEVERITIES), sum(c.values())] for q, c in report.per_quarter]
    elif table in ("ttd-quarter", "ttr-quarter", "ttd-year", "ttr-year"):
        metric, unit = table.split("-")
        data = getattr(report, f"{metric}_per_{unit}")
        header = [unit, "n", "median_seconds", "p90_seconds"]
        rows = [[p, s.n, num(s.median), num(s.p90)] for p, s in data]
    elif table == "services":
        header = ["service", "incidents"]
        rows = [list(r) for r in report.services]
    elif table == "triggers":
        header = ["trigger", "incidents"]
        rows = [list(r) for r in report.triggers]
    elif table == "data-quality":
        header = ["field", "unit", "affects"] + [f"{k.lower()}_{part}" for k in (*SEVERITIES, "all")
                                                 for part in ("have", "total", "percent")]
        rows = [[c.field, c.unit, c.affects] + [num(v) for k in (*SEVERITIES, "all")
                                                for v in (*c.counts[k], c.share(k))] for c in report.coverage]
    elif table == "action-items":
        header = ["postmortem", "incident_date", "severity", "title", "owner", "status", "due", "ticket", "age_days",
                  "overdue", "days_overdue", "path"]
        rows = [[r.postmortem.id, r.postmortem.date.isoformat(), r.postmortem.severity, r.item.title,
                 r.item.owner or "", r.item.status, r.item.due.isoformat() if r.item.due else "", r.item.ticket or "",
                 r.age_days, flag(r.overdue), r.days_overdue, r.postmortem.path] for r in report.ledger]
    elif table == "owners":
        header = ["owner", "open", "overdue", "done", "wont_do", "total"]
        rows = [[o.owner, o.open, o.overdue, o.done, o.wont_do, o.total] for o in report.owners]
    else:
        raise ValueError(f"unknown table {table!r} (known: {', '.join(CSV_TABLES)})")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(safe_row(header))
    writer.writerows(safe_row(r) for r in rows)
    return out.getvalue()
