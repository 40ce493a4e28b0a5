"""Public and internal builds (#13 item 3): ``audience: public`` leaves internal incidents out of
every output file (pages, search index, exports, related links, clusters, counts, charts,
sitemap, attachments); ``audience: internal`` shows them, marked.

The fixture is the site fixture corpus plus three internal post-mortems whose ids, titles,
services, tags, owners and words appear nowhere else ("quokka", "zebrafish", "wombat"), one of
them with a diagram only it links to, and one written like a public incident so that it would be
its related incident on the internal site.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.audience import for_audience, linked_files, visibility_of, withheld_attachments
from generator.model import Postmortem

from .sitebuild import FIXTURE_CORPUS, engine_available, make_project, search_docs

INTERNAL = {
    "2024-04-02-quokka-ledger-stalled-by-zebrafish-batch.md": """---
format: 2
id: PM-2024-090
title: Quokka ledger reconciliation stalled by the zebrafish batch
date: 2024-04-02
severity: SEV2
status: final
visibility: internal
services: [quokka-ledger]
tags: [zebrafish-batch]
authors: [wombat-oncall]
summary: The zebrafish batch held a quokka ledger lock for three hours.
started_at: 2024-04-02T01:00:00Z
resolved_at: 2024-04-02T04:00:00Z
trigger: zebrafish-batch-overrun
root_cause: The zebrafish batch took the quokka ledger lock and never released it.
action_items:
  - title: Give the zebrafish batch a lock timeout
    owner: team-wombat
    status: done
    done_at: 2024-04-09
---

## Summary

The zebrafish batch stalled quokka ledger reconciliation. Diagram: ![quokka](quokka-zebrafish-diagram.png)

## Impact

Quokka ledger reconciliation was three hours late.

## Root cause

The zebrafish batch held the quokka ledger lock.

## Action items

- Lock timeout for the zebrafish batch.
""",
    "2024-04-20-quokka-ledger-stalled-again-zebrafish.md": """---
format: 2
id: PM-2024-091
title: Quokka ledger stalled again as the zebrafish batch kept its lock
date: 2024-04-20
severity: SEV3
status: final
visibility: internal
services: [quokka-ledger]
tags: [zebrafish-batch]
authors: [wombat-oncall]
summary: The zebrafish batch held the quokka ledger lock again, for one hour.
started_at: 2024-04-20T02:00:00Z
resolved_at: 2024-04-20T03:00:00Z
trigger: zebrafish-batch-overrun
root_cause: The zebrafish batch lock timeout was not applied to the quokka ledger replica.
---

## Summary

The zebrafish batch stalled the quokka ledger again.

## Impact

Reconciliation ran one hour late.

## Root cause

The zebrafish lock timeout missed the quokka ledger replica.

## Action items

- None.
""",
    "2024-06-30-wombat-search-volume-full-of-logs.md": """---
format: 2
id: PM-2024-092
title: Wombat search indexer volume filled with debug logs
date: 2024-06-30
severity: SEV3
status: final
visibility: internal
services: [wombat-search]
tags: [disk, logs]
authors: [wombat-oncall]
summary: Search indexing on the wombat cluster stopped when debug logs filled the data disk.
started_at: 2024-06-30T01:00:00Z
resolved_at: 2024-06-30T05:00:00Z
trigger: disk-full
root_cause: Debug logging was left on and log rotation was not configured for the wombat data volume.
---

## Summary

The data volume of the wombat search indexer filled with debug logs; indexing stopped.

## Impact

Search results were stale for four hours.

## Root cause

Debug logging was left on and log rotation was not configured.

## Action items

- Rotate logs.
""",
}
SECRETS = ("pm-2024-090", "pm-2024-091", "pm-2024-092", "quokka", "zebrafish", "wombat", "2024-04-02-quokka",
           "2024-04-20-quokka", "2024-06-30-wombat")
"""What an internal incident contributes and nothing public says (matched in any case): ids, words
of titles and bodies, services, tags, owners, authors, file names."""


def _build(project: Path, site: Path, audience: str, engine: str = "mkdocs") -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OFFLINE": "false", "PMKB_AUDIENCE": audience}
    env.pop("SOURCE_DATE_EPOCH", None)
    if engine == "zensical":
        done = subprocess.run([sys.executable, "-c", "from generator.cli import main; main()", "build", "--engine",
                               "zensical", "--strict"], cwd=project, env=env, capture_output=True, text=True,
                              timeout=600)
        if done.returncode == 0:
            shutil.move(str(project / "site"), site)
        return done
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)], cwd=project,
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("audience")
    project = make_project(folder / "project", FIXTURE_CORPUS, files=INTERNAL)
    (project / "postmortems" / "quokka-zebrafish-diagram.png").write_bytes(b"\x89PNG\r\n\x1a\nquokka zebrafish")
    out = {}
    for audience in ("public", "internal"):
        done = _build(project, folder / audience, audience)
        assert done.returncode == 0, done.stderr
        out[audience] = folder / audience
    return out


def _texts(site: Path):
    for path in sorted(site.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            yield path.relative_to(site).as_posix(), data.decode("utf-8", "replace").lower()


@pytest.mark.slow
@pytest.mark.skipif(not engine_available("zensical"), reason="the [zensical] extra is not installed")
def test_the_public_zensical_site_names_no_internal_incident_either(tmp_path):
    project = make_project(tmp_path / "project", FIXTURE_CORPUS, files=INTERNAL)
    (project / "postmortems" / "quokka-zebrafish-diagram.png").write_bytes(b"\x89PNG\r\n\x1a\nquokka zebrafish")
    done = _build(project, tmp_path / "public", "public", engine="zensical")
    assert done.returncode == 0, done.stderr
    assert [(name, secret) for name, text in _texts(tmp_path / "public") for secret in SECRETS if secret in text] == []
    assert any("pm-2024-030" in text for _, text in _texts(tmp_path / "public"))  # a public one is there


@pytest.mark.slow
def test_the_public_site_names_no_internal_incident_in_any_file(sites):
    leaks = [(name, secret) for name, text in _texts(sites["public"]) for secret in SECRETS if secret in text]
    assert leaks == []
    names = {name for name, _ in _texts(sites["public"])}
    assert "quokka-zebrafish-diagram.png" not in names  # the attachment only an internal incident links to
    assert {"api/postmortems.json", "api/postmortems.csv", "api/action-items.csv", "search/search_index.json",
            "sitemap.xml", "reports/recurrence/index.html"} <= names  # the files checked include these


@pytest.mark.slow
def test_the_internal_site_shows_them_marked_and_the_public_counts_leave_them_out(sites):
    internal = dict(_texts(sites["internal"]))
    assert all(any(secret in text for text in internal.values()) for secret in SECRETS)  # the test can fail
    page = internal["2024-04-02-quokka-ledger-stalled-by-zebrafish-batch/index.html"]  # (texts in lower case)
    assert 'class="pmkb-visibility pmkb-visibility--internal" title="left out of the public site">internal<' in page
    public_page = internal["2024-06-11-search-disk-full-logs/index.html"]
    assert "pmkb-visibility--internal" not in public_page
    assert "pm-2024-092" in public_page  # its related incident on the internal site ...
    public = dict(_texts(sites["public"]))
    assert "pm-2024-092" not in public["2024-06-11-search-disk-full-logs/index.html"]  # ... not on the public one
    # 5 published incidents of the fixture (one is a draft) on the public home page, 8 on the internal one
    assert "search 5 post-mortems" in public["index.html"] and "search 8 post-mortems" in internal["index.html"]
    assert [d["location"] for d in search_docs(sites["public"]) if "quokka" in d["text"].lower()] == []


def pm(pid: str, visibility: str | None, body: str = "", path: str = "x.md") -> Postmortem:
    return Postmortem(id=pid, title="t", date=dt.date(2024, 1, 1), severity="SEV2", status="final",
                      services=["api"], authors=["a"], path=path, body=body, visibility=visibility)


def test_for_audience_and_default_visibility():
    a, b, c = pm("PM-2024-001", "public"), pm("PM-2024-002", "internal"), pm("PM-2024-003", None)
    assert for_audience([a, b, c], "internal", "internal") == ([a, b, c], [])
    assert for_audience([a, b, c], "public", "internal") == ([a], [b, c])  # unsaid: internal, fail closed
    assert for_audience([a, b, c], "public", "public") == ([a, c], [b])
    assert visibility_of(c, "public") == "public" and visibility_of(b, "public") == "internal"
    with pytest.raises(ValueError):
        for_audience([a], "everyone", "public")


def test_withheld_attachments_are_the_files_only_withheld_post_mortems_link_to():
    secret = pm("PM-2024-002", "internal", "![d](img/secret.png) [log](../shared/run.log) [web](https://x.org/a.png) "
                                         "[up](../../outside.txt) [pm](2024-01-01-other.md#top)", "team/a.md")
    shared = pm("PM-2024-001", "public", "see [the log](../shared/run.log)", "team/b.md")
    assert linked_files(secret) == {"team/img/secret.png", "shared/run.log", "team/2024-01-01-other.md"}
    assert withheld_attachments([secret], [shared]) == {"team/img/secret.png", "team/2024-01-01-other.md"}
    assert withheld_attachments([], [shared]) == set()


def test_a_public_post_mortem_that_points_at_an_internal_one_is_warned(tmp_path):
    from .test_format_v2 import V2
    from .test_validate import NAME, check, problems

    internal = V2.replace("id: PM-2024-017", "id: PM-2024-018").replace("2024-03-14", "2024-03-15")  # visibility: internal
    internal_name = "2024-03-15-internal-one.md"
    public = V2.replace("visibility: internal", "visibility: public").replace(
        "root_cause: Manual", "related: [PM-2024-018]\nroot_cause: Manual").replace(
        "Card payments failed because", "See [the internal one](2024-03-15-internal-one.md). Card payments failed because")
    result = check(tmp_path, public, extra={internal_name: internal}, default_visibility="public")
    mine = [p for p in problems(result) if p[0] == NAME]
    assert [(code, level) for _, _, _, level, code in mine] == [("related-internal", "warning"),
                                                                 ("link-to-internal", "warning")]
    assert [p.message for p in result.problems if p.code == "related-internal"] == [
        "related names 'PM-2024-018', an internal post-mortem, from a public one: the public site leaves that "
        "link out"]
    # both internal, or both public: nothing to say
    both = check(tmp_path, public.replace("visibility: public", "visibility: internal"),
                 extra={internal_name: internal}, default_visibility="public")
    assert [p for p in both.problems if p.code in ("related-internal", "link-to-internal")] == []
