"""Search synonyms (generator.synonyms): matching words, the expansions written into the pages,
the options that edit them, and the Material index field that ranks them."""

from __future__ import annotations

import json

import pytest

from generator.material import SYNONYM_FIELD, add_search_field
from generator.settings import ConfigError, settings_from_options
from generator.synonyms import BUILTIN, Synonyms, build, canonical_terms, words


def test_words_fold_case_punctuation_and_plurals():
    assert words("SSL Certificates lapse; out-of-memory (OOM-killed)") == [
        "ssl", "certificate", "lapse", "out", "of", "memory", "oom", "killed"]
    assert words("DNS class process bus") == ["dns", "class", "process", "bus"]  # ss, and 3 letters, kept


def test_expansions_add_the_missing_terms_of_each_matched_group_in_order():
    syn = Synonyms([("leap second", "extra second", "inserted second"), ("oom", "out of memory", "oom killer")])
    assert syn.expansions("At the turn of 2017 an extra second was added to UTC.") == ["leap second",
                                                                                     "inserted second"]
    assert syn.expansions("the JVM ran OUT OF MEMORY") == ["oom", "oom killer"]
    # both groups, in group order; a term whose words the text has already is left out
    assert syn.expansions("oom during the leap second insertion; the second was inserted") == [
        "extra second", "out of memory", "oom killer"]
    assert syn.expansions("a second replica went down") == []
    assert syn.group_terms("an extra second") == ["leap second", "extra second", "inserted second"]


def test_a_term_in_two_groups_joins_them():
    syn = Synonyms([("tls", "ssl"), ("ssl", "secure sockets layer")])
    assert [g for g in syn.groups if g] == [["tls", "ssl", "secure sockets layer"]]
    assert syn.expansions("an expired SSL certificate") == ["tls", "secure sockets layer"]


@pytest.mark.parametrize("group, message", [
    (["leap second"], "needs two or more different terms"),
    (["leap second", "Leap  Second"], "needs two or more different terms"),
    (["a b c d e f g", "x"], "1 to 6 words"),
    (["--", "x"], "1 to 6 words"),
])
def test_malformed_groups_are_refused_with_the_term(group, message):
    with pytest.raises(ValueError, match=message):
        Synonyms([group])


def test_builtin_groups_are_valid_and_the_options_edit_them():
    assert len(Synonyms(BUILTIN).groups) == len(BUILTIN)  # no built-in term is in two groups
    default = settings_from_options({}).search_synonyms()
    assert default.expansions("extra second") == ["leap second", "inserted second", "leap-second insertion"]
    own = settings_from_options({"synonyms": [["blue-green", "red-black"]], "builtin_synonyms": False})
    assert own.search_synonyms().expansions("a red-black deploy") == ["blue-green"]
    assert own.search_synonyms().expansions("extra second") == []
    both = settings_from_options({"synonyms": [["extra second", "bonus second"]]}).search_synonyms()
    assert both.expansions("bonus second") == ["leap second", "extra second", "inserted second",
                                               "leap-second insertion"]


@pytest.mark.parametrize("value, message", [
    ("leap second", "'synonyms' must be a list of groups"),
    ([["a", 1]], "'synonyms' must be a list of groups"),
    ([["only one"]], "'synonyms': synonym group ['only one']: needs two or more different terms"),
])
def test_synonyms_option_errors_name_the_problem(value, message):
    with pytest.raises(ConfigError) as info:
        settings_from_options({"synonyms": value}, source="mkdocs.yml")
    assert message in str(info.value)
    assert str(info.value).startswith("mkdocs.yml: ")


def test_canonical_terms_make_synonymous_values_equal():
    syn = build()
    assert canonical_terms("certificate-lapsed", syn) == ("certificate expiry",)
    assert canonical_terms("expired-certificate", syn) == ("certificate expiry",)
    assert canonical_terms("certificate-validity-ended", syn) == ("certificate expiry",)
    assert canonical_terms("dns-proxies", syn) == canonical_terms("dns-proxy", syn) == ("dns", "proxi")
    assert canonical_terms("config-patches", syn) == canonical_terms("config-patch", syn) == ("config", "patch")
    assert canonical_terms("cdn-caches", syn) == canonical_terms("cdn-cache", syn) == ("cach", "cdn")
    assert canonical_terms("cases", syn) == ("case",)  # -se is not an -es plural
    # Snowball stems fold more than plurals: the shipped corpus had deploy / deployment and
    # network / networking as tags of one incident each.
    assert canonical_terms("deployment", syn) == canonical_terms("deploy", syn) == ("deploy",)
    assert canonical_terms("networking", syn) == canonical_terms("network", syn) == ("network",)
    assert canonical_terms("primary-database", syn) == canonical_terms("database-primary", syn) == (
        "databas", "primari")
    assert canonical_terms("checkout-apis", syn) == ("api", "checkout")


def test_expansions_read_each_word_once():
    # A text of 200,000 words with a term start on every word: one dictionary look-up per
    # word and term length, never a scan of the groups per word.
    syn = build()
    text = "extra " * 200_000
    assert syn.matched_groups(text) == {}
    assert syn.expansions(text + "extra second") == ["leap second", "inserted second", "leap-second insertion"]


def test_add_search_field_weighs_the_terms_like_tags_and_fills_only_named_pages():
    index = json.dumps({"config": {"lang": ["en"], "fields": {"title": {"boost": 1000.0}, "tags": {"boost": 1e6}}},
                        "docs": [{"location": "a/", "title": "A", "text": ""},
                                 {"location": "a/#summary", "title": "Summary", "text": ""},
                                 {"location": "b/", "title": "B", "text": ""}]})
    out = json.loads(add_search_field(index, SYNONYM_FIELD, {"a/": ["leap second", "extra second"]}))
    assert out["config"]["fields"][SYNONYM_FIELD] == {"boost": 1e6}
    assert out["docs"] == [{"location": "a/", "title": "A", "text": "", SYNONYM_FIELD: "leap second, extra second"},
                           {"location": "a/#summary", "title": "Summary", "text": ""},
                           {"location": "b/", "title": "B", "text": ""}]
    with pytest.raises(ValueError, match="not a Material search index"):
        add_search_field(json.dumps({"items": []}), SYNONYM_FIELD, {})

