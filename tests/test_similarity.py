"""Related post-mortems: exact links on a hand-made corpus, edge cases, determinism."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest

from generator.model import ActionItem, Postmortem
from generator.settings import Settings
from generator.similarity import SimilarityIndex, Tokenizer, readable_terms, s_stem
from generator.validate import validate

FIXTURES = Path(__file__).parent / "fixtures" / "similarity"
CORPUS = FIXTURES / "corpus"


def load(folder: Path) -> list[Postmortem]:
    settings = Settings(docs_dir=folder)
    result = validate([folder], settings, scan_secrets=False)
    assert not result.errors, result.problems
    return result.postmortems


def related_ids(index: SimilarityIndex) -> dict[str, list[str]]:
    return {pid: [link.id for link in links] for pid, links in index.related_links().items()}


def make_pm(pid: str, title: str, summary: str = "", day: int = 1, **extra) -> Postmortem:
    return Postmortem(id=pid, title=title, date=dt.date(2024, 1, day), severity="SEV2", status="draft",
                      services=extra.pop("services", ["api"]), authors=["a"], path=f"{pid}.md",
                      summary=summary, **extra)


@pytest.fixture(scope="module")
def corpus() -> list[Postmortem]:
    return load(CORPUS)


@pytest.fixture(scope="module")
def index(corpus) -> SimilarityIndex:
    return SimilarityIndex.build(corpus, Settings())


def test_related_ids_are_exact(index):
    assert related_ids(index) == {
        "PM-2024-001": ["PM-2024-004", "PM-2024-007"],
        "PM-2024-002": ["PM-2024-005"],
        "PM-2024-003": ["PM-2024-002"],          # pinned by related:, nothing else is close
        "PM-2024-004": ["PM-2024-001"],          # PM-2024-007 is not_related
        "PM-2024-005": ["PM-2024-002"],
        "PM-2024-007": ["PM-2024-001"],
    }
    assert index.warnings == []


def test_links_carry_score_and_contributing_terms(index):
    link = index.related_links()["PM-2024-001"][0]
    assert link.id == "PM-2024-004" and not link.pinned
    assert 0.5 < link.score <= 1.0
    assert link.score == index.score("PM-2024-001", "PM-2024-004") == index.score("PM-2024-004", "PM-2024-001")
    assert link.terms[0] == "certificate"
    assert {"tls", "renewal"} <= set(link.terms) and len(link.terms) == 5
    # Boilerplate never explains a link: headings, clock times, time units, months.
    assert not {"utc", "summary", "root", "cause", "impact", "minutes", "12"} & set(link.terms)


def test_pinned_link_comes_first_even_with_low_score(index):
    (link,) = index.related_links()["PM-2024-003"]
    assert link == dataclasses.replace(link, id="PM-2024-002", pinned=True)
    assert link.score < Settings().min_score


def test_not_related_suppresses_both_directions(index):
    links = related_ids(index)
    assert "PM-2024-004" not in links["PM-2024-007"]
    assert "PM-2024-007" not in links["PM-2024-004"]
    # ... although the two are similar enough to be linked otherwise.
    assert index.score("PM-2024-004", "PM-2024-007") > Settings().min_score


def test_ties_are_broken_by_id_not_by_input_order():
    twin_text = "Disk full on the volume because log rotation stopped and writes failed"
    pms = [
        make_pm("PM-2024-030", "Log volume disk full", twin_text),
        make_pm("PM-2024-020", "Log volume disk full", twin_text),
        make_pm("PM-2024-010", "Disk full after log rotation stopped", "The volume filled with logs."),
    ]
    for order in (pms, pms[::-1]):
        links = SimilarityIndex.build(order, Settings()).related_links()["PM-2024-010"]
        assert [link.id for link in links] == ["PM-2024-020", "PM-2024-030"]
        assert links[0].score == links[1].score


def test_output_does_not_depend_on_file_order_or_names(corpus):
    expected = SimilarityIndex.build(corpus, Settings()).related_links()
    shuffled = list(corpus)
    random.Random(3).shuffle(shuffled)
    renamed = [dataclasses.replace(pm, path=f"zz-{i}.md") for i, pm in enumerate(shuffled)]
    assert SimilarityIndex.build(renamed, Settings()).related_links() == expected


def test_two_runs_are_identical(corpus):
    first = SimilarityIndex.build(corpus, Settings())
    second = SimilarityIndex.build(corpus, Settings())
    assert first.related_links() == second.related_links()
    assert first.neighbours() == second.neighbours()


def test_top_k_and_min_score_are_applied(corpus):
    settings = Settings(top_k=1, min_score=0.0)
    links = SimilarityIndex.build(corpus, settings).related_links()
    assert [link.id for link in links["PM-2024-001"]] == ["PM-2024-004"]
    strict = SimilarityIndex.build(corpus, Settings(min_score=0.99)).related_links()
    assert all(all(link.pinned for link in items) for items in strict.values())


def test_single_document_gives_no_links_and_no_error():
    (pm,) = load(FIXTURES / "single")
    index = SimilarityIndex.build([pm], Settings())
    assert index.related_links() == {"PM-2024-017": []}
    assert index.warnings == []
    assert index.similar_to(pm) == []  # never itself
    (hit,) = index.similar_to("certificate expired")  # a search still finds it
    assert hit.id == "PM-2024-017" and hit.terms == ("certificate", "expired")


def test_empty_vocabulary_is_a_warning_not_a_value_error():
    pms = load(FIXTURES / "empty-vocabulary")
    index = SimilarityIndex.build(pms, Settings())
    assert index.related_links() == {"PM-2025-001": [], "PM-2025-002": []}
    assert len(index.warnings) == 1 and index.warnings[0].startswith("not enough text to compare")
    assert index.similar_to("down again") == []


def test_only_stop_words_and_numbers_give_an_empty_vocabulary():
    pms = [make_pm("PM-2024-001", "It was down", "12:00 UTC 2024"), make_pm("PM-2024-002", "We are back up")]
    index = SimilarityIndex.build(pms, Settings())
    assert index.vocabulary == [] or all(not links for links in index.related_links().values())
    assert index.warnings and "not enough text" in index.warnings[0]


def test_no_shared_words_is_a_warning():
    pms = [
        make_pm("PM-2024-001", "Kafka consumers lagging behind partitions", "Broker rebalancing storm."),
        make_pm("PM-2024-002", "Certificate expired on gateway", "Handshake refused by browsers."),
    ]
    settings = Settings(field_weights={**Settings().field_weights, "services": 0.0})
    index = SimilarityIndex.build(pms, settings)
    assert index.related_links() == {"PM-2024-001": [], "PM-2024-002": []}
    assert index.warnings == ["the post-mortems share no words: no related links or recurrence clusters"]


def test_cjk_text_is_split_into_bigrams_and_linked():
    pms = load(FIXTURES / "cjk")
    index = SimilarityIndex.build(pms, Settings())
    assert related_ids(index) == {"PM-2024-101": ["PM-2024-102"], "PM-2024-102": ["PM-2024-101"],
                                  "PM-2024-103": []}
    terms = index.related_links()["PM-2024-101"][0].terms
    assert any("証明書" in term for term in terms)  # bigrams joined back for display
    hits = index.similar_to("証明書の期限切れ")
    assert [(link.id, link.terms) for link in hits] == [("PM-2024-102", ("証明書の期限切れ",)),
                                                        ("PM-2024-101", ("証明書の期限切れ",))]


def test_tokenizer():
    tokens = Tokenizer().count(
        "## Root cause\n- 09:12 UTC: certificates expired <!-- hint --> see https://x.example/a?b=1\n"
        "Les certificats ont expiré. 証明書の期限 x509 2024-03-14")
    assert set(tokens) == {"certificate", "expired", "les", "certificat", "ont", "expiré", "証明", "明書", "書の",
                           "の期", "期限", "x509"}


def test_s_stem():
    assert [s_stem(w) for w in ("certificates", "retries", "caches", "status", "redis", "dns", "loss",
                                "replicas", "goes")] == \
        ["certificate", "retry", "cache", "status", "redis", "dns", "loss", "replica", "goe"]


def test_readable_terms_joins_bigrams():
    assert readable_terms(["明書", "tls", "書の", "証明"], 5) == ("証明書の", "tls")
    assert readable_terms(["a", "b", "c"], 2) == ("a", "b")


SHARED = ["主库", "库主", "据库", "数据", "故障", "库故"]  # the bigrams of 数据库主库故障, by weight


def test_readable_terms_never_invents_a_run():
    # Without the texts, a join is made only where the bigrams leave no choice: never across
    # "库", which starts and ends two bigrams, nor across the pair "主库" / "库主" (主库主 or 库主库?).
    assert readable_terms(SHARED, 5) == ("主库", "库主", "数据库", "库故障")
    assert readable_terms(["主库", "库主"], 5) == ("主库", "库主")


def test_readable_terms_joins_only_runs_of_the_texts():
    texts = ["数据库主库故障", "昨天数据库主库故障，订单失败"]
    assert readable_terms(SHARED, 5, texts) == ("数据库主库故障",)
    assert readable_terms(["明書", "tls", "書の", "証明"], 5, lambda: ["証明 明書 書の"]) == ("明書", "tls", "書の", "証明")
    assert readable_terms(["証明", "明書"], 5, ["ｘ証明書", "証明書"]) == ("証明書",)  # NFKC like the tokenizer
    calls = []
    assert readable_terms(["tls", "expiry"], 5, lambda: calls.append(1) or []) == ("tls", "expiry")
    assert calls == []  # the texts are not even built when there is nothing to join


def test_similar_to_a_draft_outside_the_corpus(index):
    (draft,) = load(FIXTURES / "drafts")
    links = index.similar_to(draft, k=2)
    assert [link.id for link in links] == ["PM-2024-004", "PM-2024-001"]
    assert all(link.score >= Settings().min_score and "certificate" in link.terms for link in links)


def test_similar_to_corpus_member_excludes_itself_and_not_related(index, corpus):
    by_id = {pm.id: pm for pm in corpus}
    links = index.similar_to(by_id["PM-2024-007"], k=5, min_score=0.0)
    ids = [link.id for link in links]
    assert "PM-2024-007" not in ids and "PM-2024-004" not in ids
    assert ids[0] == "PM-2024-001"


def test_free_text_query_does_not_change_displayed_terms(index):
    before = index.related_links()
    index.similar_to("certificates certificates certificates expired expiry")
    assert index.related_links() == before


def test_action_items_count_as_text():
    done = [ActionItem(title="Automate certificate renewal with ACME", status="done")]
    pms = [make_pm("PM-2024-001", "Gateway outage", "Partners failed.", action_items=done),
           make_pm("PM-2024-002", "Proxy outage", "Browsers failed.", action_items=done),
           make_pm("PM-2024-003", "Queue outage", "Consumers lagged behind producers.")]
    links = SimilarityIndex.build(pms, Settings()).related_links()
    assert [link.id for link in links["PM-2024-001"]] == ["PM-2024-002"]
    assert "acme" in links["PM-2024-001"][0].terms


PROVENANCE = ("Completion dates are approximate: the public record gives no day for the items marked done, "
              "so each carries the day of our published post-incident report, which describes them.")


@pytest.mark.parametrize("heading", ["Notes", "Sources", "references", "NOTES:"])
def test_notes_about_the_write_up_are_not_indexed(heading):
    from generator.semantic import document_text
    from generator.similarity import document_fields

    def pm(pid, title, summary, body):
        return make_pm(pid, title, summary, body=body)

    body = f"## Timeline\n- 10:00 alert fired\n\n## {heading}\n\n{PROVENANCE}\n"
    pms = [pm("PM-2024-001", "Gateway certificate expired", "TLS handshakes failed at the edge.", body),
           pm("PM-2024-002", "Queue consumers lagged", "Consumers fell behind producers after a deploy.", body),
           pm("PM-2024-003", "Disk filled on the database host", "Writes stopped when the volume filled.", "")]
    fields = document_fields(pms[0])
    assert fields["body"] == "- 10:00 alert fired"
    assert "approximate" not in " ".join(fields.values()) and "approximate" not in document_text(pms[0])
    index = SimilarityIndex.build(pms, Settings())
    plain = [dataclasses.replace(p, body="## Timeline\n- 10:00 alert fired\n" if p.body else "") for p in pms]
    without = SimilarityIndex.build(plain, Settings())
    assert index.score("PM-2024-001", "PM-2024-002") == without.score("PM-2024-001", "PM-2024-002") < 0.05
    assert related_ids(index) == related_ids(without) == {"PM-2024-001": [], "PM-2024-002": [], "PM-2024-003": []}
    # the same paragraph under Action items lifts the two unrelated post-mortems over min_score
    body = f"## Timeline\n- 10:00 alert fired\n\n## Action items\n\n{PROVENANCE}\n"
    pms[:2] = [dataclasses.replace(p, body=body, sections={}) for p in pms[:2]]
    assert SimilarityIndex.build(pms, Settings()).score("PM-2024-001", "PM-2024-002") > Settings().min_score


def test_shipped_post_mortems_keep_notes_about_dates_out_of_indexed_sections():
    from generator.scan import section_key

    shipped = load(Path(__file__).parent.parent / "postmortems")
    with_notes = [pm for pm in shipped if any(section_key(t) == "notes" for t in pm.sections)]
    assert len(with_notes) == 20
    for pm in shipped:
        for title, text in pm.sections.items():
            if section_key(title) != "notes":
                assert "approximate" not in text, (pm.id, title)


# Same-problem groups of the fixture corpus (by reading the files).
FIXTURE_GROUPS = {"PM-2024-001": "cert", "PM-2024-004": "cert", "PM-2024-007": "cert",
                  "PM-2024-002": "disk", "PM-2024-005": "disk", "PM-2024-003": "payments"}


def stability_violations(postmortems, groups, settings) -> list[tuple[str, str]]:
    """Add each post-mortem to the others in turn: ``(added, id)`` for every post-mortem that
    had a link to one of its own group before and has no link to its group after."""
    from generator.analysis import analyse

    full = analyse(postmortems, settings).related
    out = []
    for added in postmortems:
        before = analyse([pm for pm in postmortems if pm is not added], settings).related
        for pid, links in before.items():
            if any(groups.get(link.id) == groups.get(pid) for link in links) and \
                    not any(groups.get(link.id) == groups.get(pid) for link in full[pid]):
                out.append((added.id, pid))
    return out


def test_adding_a_post_mortem_never_takes_away_a_same_problem_link(corpus):
    assert stability_violations(corpus, FIXTURE_GROUPS, Settings()) == []


def test_a_new_write_up_of_a_recurring_problem_keeps_every_member_linked(corpus):
    """The failure of issue #12: a new certificate-expiry post-mortem pushed an older one out of
    its neighbours' top three and left it with no link. Three more write-ups of the problem
    now join without taking any member's links away."""
    extra = [make_pm(f"PM-2024-1{n}", f"Certificate expired on the {name} endpoint",
                     "The TLS certificate expired because renewal was manual; clients failed the handshake.",
                     day=10 + n, services=[name], root_cause="Certificate renewal was a manual step.")
             for n, name in enumerate(["billing", "login", "search"])]
    grown = list(corpus)
    before = SimilarityIndex.build(grown, Settings()).related_links()
    for pm in extra:
        grown.append(pm)
        after = SimilarityIndex.build(grown, Settings()).related_links()
        for pid in ("PM-2024-001", "PM-2024-004", "PM-2024-007"):
            assert after[pid], (pm.id, pid)
            assert {link.id for link in after[pid]} & ({"PM-2024-001", "PM-2024-004", "PM-2024-007"} |
                                                       {p.id for p in extra})
    assert before["PM-2024-007"] and after["PM-2024-007"]


def test_names_never_explain_a_link():
    """A word written with a capital in the middle of sentences (a company, product or vendor)
    carries no weight: two incidents of one vendor are not linked by its name."""
    pms = [
        make_pm("PM-2024-040", "Network outage", "At Acmecloud the core routers dropped BGP sessions after "
                "a bad route map was pushed; Acmecloud customers lost connectivity.", day=1, services=["edge"]),
        make_pm("PM-2024-041", "Cooling failure", "A chiller failed in an Acmecloud datacenter and the "
                "Acmecloud hosts overheated and shut down.", day=2, services=["dc"]),
        make_pm("PM-2024-042", "Route leak", "A peer leaked routes and the core routers dropped BGP "
                "sessions after the route map accepted them.", day=3, services=["peering"]),
    ]
    index = SimilarityIndex.build(pms, Settings(min_score=0.0))
    assert "acmecloud" in index.names
    assert index.score("PM-2024-040", "PM-2024-041") == 0.0
    assert [link.id for link in index.similar_to(pms[0])] == ["PM-2024-042"]
    assert "acmecloud" not in {t.lower() for link in index.similar_to(pms[0]) for t in link.terms}


def test_name_evidence_reads_case_in_the_middle_of_sentences():
    from generator.similarity import name_evidence

    counts = name_evidence("Redis failed. We restarted Redis and the DNS cache.\nCaches of GitHub,"
                           " and a redis replica; APIs timed out on us-east-1 at Acme.")
    assert counts[("redis", "cap")] == 1      # "Redis failed" starts a sentence: not counted
    assert counts[("redis", "lower")] == 1
    assert counts[("github", "cap")] == 1     # camel case counts anywhere
    assert counts[("acme", "cap")] == 1
    assert ("dns", "cap") not in counts and ("apis", "cap") not in counts  # acronyms
    assert ("caches", "cap") not in counts    # first word of a line
