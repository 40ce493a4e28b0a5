"""Vocabulary that stays clean (generator.vocabulary): "did you mean" for a service, tag or
trigger new to the corpus, the declared lists of the ``vocabulary`` option, ``pmkb vocabulary``
and what ``pmkb new`` offers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import cli
from generator.settings import ConfigError, Settings, settings_from_options
from generator.synonyms import build
from generator.validate import validate
from generator.vocabulary import Index, near_duplicate_groups

from .conftest import TODAY
from .test_validate import VALID


def incident(pid: str, day: str, services: str, tags: str, trigger: str) -> tuple[str, str]:
    text = (VALID.replace("id: PM-2024-017", f"id: {pid}")
            .replace("date: 2024-03-14", f"date: {day}")
            .replace("services: [checkout-api, edge-proxy]", f"services: [{services}]")
            .replace("tags: [tls, certificates]", f"tags: [{tags}]")
            .replace("trigger: certificate-expiry", f"trigger: {trigger}")
            .replace("2024-03-14T", f"{day}T"))
    return f"{day}-incident-{pid[-3:]}.md", text


CORPUS = dict([
    incident("PM-2024-001", "2024-03-01", "checkout-api, edge-proxy", "tls, certificates", "certificate-expiry"),
    incident("PM-2024-002", "2024-03-02", "checkout-api", "tls", "certificate-expiry"),
    incident("PM-2024-003", "2024-03-03", "search-api", "disk", "config-push"),
])


def corpus(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    docs = tmp_path / "postmortems"
    docs.mkdir()
    for name, text in {**CORPUS, **(extra or {})}.items():
        (docs / name).write_text(text, encoding="utf-8")
    return docs


def vocabulary_problems(result) -> list[tuple]:
    return [(Path(p.path).name, p.line, p.field, p.code, p.message, p.fix) for p in result.problems
            if p.code.startswith("vocabulary-")]


def test_a_new_value_close_to_one_in_use_is_a_warning_with_did_you_mean(tmp_path):
    name, text = incident("PM-2024-004", "2024-03-04", "checkout-apii, edge-proxy", "tls, certificate",
                          "certificate-lapsed")
    docs = corpus(tmp_path, {name: text})
    result = validate([docs], Settings(docs_dir=docs), today=TODAY)
    assert vocabulary_problems(result) == [
        # two values used once each and close to each other: both files hear of it, told to agree on
        # one (a "did you mean" each way would swap them when both are followed)
        ("2024-03-01-incident-001.md", 8, "tags[1]", "vocabulary-near",
         "tag 'certificates' is new to the corpus, and so is the close 'certificate' (1 other post-mortem)",
         "write the same tag in both post-mortems, 'certificates' or 'certificate'; keep both only if they "
         "are different tags: the reports count each tag apart"),
        (name, 7, "services[0]", "vocabulary-near",
         "service 'checkout-apii' is new to the corpus and close to 'checkout-api' (2 post-mortems)",
         "did you mean 'checkout-api'? Keep 'checkout-apii' only if it is a different service: the reports "
         "count each service apart"),
        (name, 8, "tags[1]", "vocabulary-near",
         "tag 'certificate' is new to the corpus, and so is the close 'certificates' (1 other post-mortem)",
         "write the same tag in both post-mortems, 'certificate' or 'certificates'; keep both only if they "
         "are different tags: the reports count each tag apart"),
        (name, 15, "trigger", "vocabulary-near",
         "trigger 'certificate-lapsed' is new to the corpus and close to 'certificate-expiry' (2 post-mortems)",
         "did you mean 'certificate-expiry'? Keep 'certificate-lapsed' only if it is a different trigger: "
         "the reports count each trigger apart"),
    ]
    assert all(p.level == "warning" for p in result.problems if p.code.startswith("vocabulary-"))
    assert result.errors == 0


def test_new_values_that_are_far_from_every_value_in_use_pass(tmp_path):
    name, text = incident("PM-2024-004", "2024-03-04", "billing, payments-api", "db", "traffic-surge")
    docs = corpus(tmp_path, {name: text})
    assert vocabulary_problems(validate([docs], Settings(docs_dir=docs), today=TODAY)) == []


def test_one_file_checked_against_the_rest_of_the_corpus(tmp_path):
    # pre-commit passes the changed file only: the others are its context
    name, text = incident("PM-2024-004", "2024-03-04", "serch-api", "disk", "config-push")
    docs = corpus(tmp_path, {name: text})
    result = validate([docs / name], Settings(docs_dir=docs), today=TODAY)
    assert [(p[0], p[2], p[4]) for p in vocabulary_problems(result)] == [
        (name, "services[0]", "service 'serch-api' is new to the corpus, and so is the close 'search-api' "
                              "(1 other post-mortem)")]


@pytest.mark.parametrize("value, close", [
    ("checkout-apis", ["checkout-api"]),       # plural
    ("dns-proxies", ["dns-proxy"]),            # -ies plural
    ("config-patches", ["config-patch"]),      # -es plural
    ("ip-addresses", ["ip-address"]),          # -es plural after ss
    ("redis-caches", ["redis-cache"]),         # a plural -s after a singular -e
    ("config-patche", ["config-patch"]),       # the fold is for comparing: this is one edit too
    ("api-checkout", ["checkout-api"]),        # word order
    ("chekout-api", ["checkout-api"]),         # one letter left out
    ("checkuot-api", ["checkout-api"]),        # two letters swapped
    ("db-2", []),                              # digits only: another instance
    ("api", []),                               # three letters: no typo guess
    ("hecking-api", []),                       # first letter differs
    ("certificate-expiry-embedded", ["certificate-expiry"]),  # contains a synonym of several words
    ("cert-lapse", ["certificate-expiry"]),    # the abbreviation with 'lapse' (tester finding)
    ("checkout", []),                          # a word of the value is not the value
])
def test_close_values(value, close):
    index = Index({"checkout-api": 3, "db-1": 1, "apm": 1, "checking-api": 1, "certificate-expiry": 2,
                   "dns-proxy": 1, "config-patch": 1, "ip-address": 1, "redis-cache": 1}, build())
    assert index.close_values(value) == close


def test_declared_lists_are_the_vocabulary(tmp_path):
    name, text = incident("PM-2024-004", "2024-03-04", "checkout-api, edgeproxy", "tls", "cert-expired")
    docs = corpus(tmp_path, {name: text})
    settings = settings_from_options({"vocabulary": {"services": ["checkout-api", "edge-proxy", "search-api"],
                                                     "triggers": ["certificate-expiry", "config-push"]}})
    settings.docs_dir = docs
    result = validate([docs / name], settings, today=TODAY)
    assert vocabulary_problems(result) == [
        (name, 7, "services[1]", "vocabulary-unknown",
         "service 'edgeproxy' is not one of the 3 allowed services (option vocabulary.services in mkdocs.yml)",
         "did you mean 'edge-proxy'? If it is a new service, add it to vocabulary.services"),
        (name, 15, "trigger", "vocabulary-unknown",
         "trigger 'cert-expired' is not one of the 2 allowed triggers (option vocabulary.triggers in mkdocs.yml)",
         "did you mean 'certificate-expiry'? If it is a new trigger, add it to vocabulary.triggers"),
    ]


@pytest.mark.parametrize("value", [
    ["checkout-api"], {"service": ["a"]}, {"services": "checkout-api"}, {"services": ["Checkout API"]},
])
def test_vocabulary_option_errors(value):
    with pytest.raises(ConfigError, match="'vocabulary' must map services, tags and/or triggers to lists of "
                                          "kebab-case values"):
        settings_from_options({"vocabulary": value})


def test_near_duplicate_groups_join_chains():
    counts = {"redis-cluster": 2, "redis-clusters": 1, "redis-clustres": 1, "search": 4, "tls": 3, "ssl": 1}
    assert near_duplicate_groups(counts, build()) == [["redis-cluster", "redis-clusters", "redis-clustres"],
                                                      ["tls", "ssl"]]


def test_the_shipped_corpus_has_no_near_duplicates():
    from .conftest import ROOT

    docs = ROOT / "postmortems"
    result = validate([docs], Settings(docs_dir=docs), scan_secrets=False)
    assert vocabulary_problems(result) == []


def test_pmkb_vocabulary_lists_values_and_near_duplicates(tmp_path, runner, monkeypatch):
    name, text = incident("PM-2024-004", "2024-03-04", "checkout-apis", "tls", "config-push")
    docs = corpus(tmp_path, {name: text})
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(cli, ["vocabulary", "services"])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [
        "services (4 values in 4 post-mortems):",
        "  checkout-api  2",
        "  checkout-apis  1",
        "  edge-proxy  1",
        "  search-api  1",
        "near duplicates:",
        "  checkout-api (2), checkout-apis (1)",
    ]
    data = json.loads(runner.invoke(cli, ["vocabulary", "--format", "json"]).output)
    assert data["trigger"]["values"] == [{"value": "certificate-expiry", "count": 2},
                                         {"value": "config-push", "count": 2}]
    assert data["services"]["near_duplicates"] == [["checkout-api", "checkout-apis"]]
    assert data["tags"]["near_duplicates"] == []
    assert docs.is_dir()


def test_pmkb_new_notes_a_close_value_and_writes_tags_and_trigger(tmp_path, runner, monkeypatch):
    corpus(tmp_path)
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(cli, ["new", "Checkout down", "--service", "checkout-apii", "--tag", "tls",
                               "--trigger", "certificate-lapsed", "--date", "2024-05-01", "--author", "alice"])
    assert done.exit_code == 0, done.output
    assert done.stderr.splitlines() == [
        "note: service 'checkout-apii' is new to the corpus and close to 'checkout-api' (2 post-mortems); did you "
        "mean 'checkout-api'? Keep 'checkout-apii' only if it is a different service: the reports count each "
        "service apart",
        "note: trigger 'certificate-lapsed' is new to the corpus and close to 'certificate-expiry' (2 post-mortems); "
        "did you mean 'certificate-expiry'? Keep 'certificate-lapsed' only if it is a different trigger: the "
        "reports count each trigger apart",
        "note: add the affected services to 'services:' (validation needs at least one)",
    ][:2]
    text = (tmp_path / "postmortems" / "2024-05-01-checkout-down.md").read_text(encoding="utf-8")
    assert 'services: ["checkout-apii"]\ntags: ["tls"]\n' in text
    assert '\ntrigger: "certificate-lapsed"\n' in text


def test_pmkb_new_asks_on_a_terminal_and_shows_the_values_in_use(tmp_path, runner, monkeypatch):
    from generator import cli as cli_module

    corpus(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_module, "_interactive", lambda: True)
    done = runner.invoke(cli, ["new", "Search down", "--date", "2024-05-02", "--author", "bob"],
                         input="search-api, Edge Proxy\nsearch-api, edge-proxy\ndisk\n\n")
    assert done.exit_code == 0, done.output
    assert done.stderr.splitlines() == [
        "services in use: checkout-api (2), edge-proxy (1), search-api (1)",
        "Services (comma-separated): search-api, Edge Proxy",
        "'Edge Proxy' is not kebab-case (lowercase words joined by hyphens); write it as 'edge-proxy'",
        "services in use: checkout-api (2), edge-proxy (1), search-api (1)",
        "Services (comma-separated): search-api, edge-proxy",
        "tags in use: tls (2), certificates (1), disk (1)",
        "Tags (comma-separated): disk",
        "triggers in use: certificate-expiry (2), config-push (1)",
        "Trigger: ",
    ]
    text = (tmp_path / "postmortems" / "2024-05-02-search-down.md").read_text(encoding="utf-8")
    assert 'services: ["search-api", "edge-proxy"]\ntags: ["disk"]\n' in text
    assert "\n# trigger: config-push" in text


def test_pmkb_new_never_asks_a_script(tmp_path, runner, monkeypatch):
    from generator import cli as cli_module

    corpus(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_module, "_interactive", lambda: True)
    done = runner.invoke(cli, ["new", "Queue backlog", "--date", "2024-05-03", "--author", "bob", "--no-input",
                               "--service", "queue"])
    assert done.exit_code == 0, done.output
    assert done.stderr == ""


def test_a_suggestion_is_a_value_the_format_accepts_and_never_points_both_ways(tmp_path):
    """Tester finding: 'checkout-api' was told "did you mean 'Checkout API'?" (a field-format
    error of its own file), and two new close values each pointed at the other."""
    a, text_a = incident("PM-2024-004", "2024-03-04", "payments-gw", "db", "cert-rotation-missed")
    b, text_b = incident("PM-2024-005", "2024-03-05", "Payments GW", "db", "cert-rotation-mised")
    docs = corpus(tmp_path, {a: text_a, b: text_b})
    result = validate([docs], Settings(docs_dir=docs), today=TODAY)
    near = [(p.path.rsplit("/", 1)[-1], p.field, p.fix.split("?")[0].split(";")[0]) for p in result.problems
            if p.code == "vocabulary-near"]
    assert near == [(a, "trigger", "write the same trigger in both post-mortems, 'cert-rotation-missed' or "
                                   "'cert-rotation-mised'"),
                    (b, "trigger", "write the same trigger in both post-mortems, 'cert-rotation-mised' or "
                                   "'cert-rotation-missed'")]  # and nothing suggests 'Payments GW'
    # its format error's fix names the value in use already (session 10 tester: no did-you-mean as well)
    assert [(p.code, p.fix) for p in result.problems if p.path.endswith(b) and p.field == "services[0]"] == \
        [("field-format", "write it as 'payments-gw'")]


def test_kebab_is_the_schemas_kebab_pattern():
    """vocabulary.KEBAB (used by pmkb new, the vocabulary option and the suggestions) accepts
    exactly what the schema's $defs.kebab pattern accepts."""
    import json
    import re

    from generator.vocabulary import KEBAB

    from .conftest import ROOT

    schema = json.loads((ROOT / "generator" / "schemas" / "postmortem.schema.json").read_text(encoding="utf-8"))
    pattern = re.compile(schema["$defs"]["kebab"]["pattern"])
    for value in ("edge-proxy", "db-2", "a", "Edge-proxy", "edge--proxy", "-edge", "edge-", "edge proxy", "é", ""):
        assert bool(KEBAB.fullmatch(value)) == bool(pattern.search(value)), value
