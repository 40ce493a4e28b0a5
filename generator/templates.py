"""The standard post-mortem template that ``pmkb new`` writes.

Sections follow the Google SRE post-mortem template, with a closing *Notes* section for
remarks about the write-up itself (:data:`generator.model.NOTES_SECTIONS`); every hint is an
HTML comment, which the validator treats as "empty", so a ``final`` post-mortem cannot ship
with the hints alone.
"""

from __future__ import annotations

import datetime as dt
import json

TEMPLATE = """\
---
id: {id}
title: {title}
date: {date}
severity: {severity}
status: draft
services: {services}
tags: {tags}
authors: {authors}
summary: ""
# started_at: {date}T00:00:00Z     # ISO 8601 with a UTC offset (Z or +02:00)
# detected_at: {date}T00:00:00Z
# mitigated_at: {date}T00:00:00Z
# resolved_at: {date}T00:00:00Z
{trigger}# root_cause: ""                   # one line
related: []
action_items: []
#  - title: What will stop this from happening again
#    owner: team-or-person
#    status: open                  # open | in-progress | done | wont-do
#    due: YYYY-MM-DD
---

## Summary

<!-- Two or three sentences: what broke, for whom, for how long. -->

## Impact

<!-- Who was affected and how much: users, requests, revenue, SLO budget used. -->

## Timeline

<!-- Times in UTC. One line per event: detection, escalation, mitigation, resolution. -->

## Root cause

<!-- The underlying reason, not the trigger. Ask "why" until you reach something you can fix. -->

## Trigger

<!-- The change or event that set the failure off. -->

## Detection

<!-- How we found out (alert, customer, luck) and how long it took. -->

## Resolution

<!-- What stopped the impact and what restored normal service. -->

## Action items

<!-- Each one also goes in the front-matter `action_items` with an owner and a due date. -->

## Lessons learned

<!-- What went well, what went wrong, where we got lucky. -->

## Notes

<!-- About this write-up, not the incident: sources, how a date was set or that it is approximate,
     corrections. Related links do not read this section (nor "Sources" or "References"). -->
"""


def yaml_string(text: str) -> str:
    """``text`` as a YAML scalar that reads back as the same string (JSON quoting is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def render_template(pm_id: str, title: str, date: dt.date, severity: str,
                    services: list[str], authors: list[str], tags: list[str] = (),
                    trigger: str | None = None) -> str:
    """The Markdown of a new draft post-mortem with the given front-matter values (without a
    ``trigger``, the line is a comment showing the form)."""
    return TEMPLATE.format(
        id=pm_id,
        title=yaml_string(title),
        date=date.isoformat(),
        severity=severity,
        services="[" + ", ".join(yaml_string(s) for s in services) + "]",
        tags="[" + ", ".join(yaml_string(t) for t in tags) + "]",
        authors="[" + ", ".join(yaml_string(a) for a in authors) + "]",
        trigger=(f"trigger: {yaml_string(trigger)}\n" if trigger else
                 "# trigger: config-push             # what set it off, one kebab-case term (pmkb vocabulary triggers)\n"),
    )
