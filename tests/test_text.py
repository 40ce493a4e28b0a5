"""Text that is not what it looks like (issue #11 item 6): bidirectional and invisible
characters (errors in the front matter, warnings in the body, with the code point), YAML
whose meaning differs between PyYAML/MkDocs and this tool, and NFC normalisation at load."""

from __future__ import annotations

import unicodedata

import pytest

from generator import scan
from generator.analysis import analyse
from generator.settings import Settings

from .test_validate import VALID, check, problems

TITLE_LINE = VALID.split("\n").index("title: Checkout API down after TLS certificate expired") + 1
BODY_TEXT_LINE = VALID.split("\n").index("Card payments failed because the certificate on the edge proxy expired.") + 1


def hidden(result):
    return [(p.line, p.column, p.field, p.level, p.code, p.message.split(":")[0]) for p in result.problems
            if p.code == "invisible-character"]


@pytest.mark.parametrize("char, name", [
    ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("\u200f", "U+200F RIGHT-TO-LEFT MARK"),
    ("\u061c", "U+061C ARABIC LETTER MARK"),
])
def test_a_bidi_control_in_the_title_is_an_error_with_its_code_point(tmp_path, char, name):
    text = VALID.replace("Checkout API down", f"Checkout {char}API down")
    result = check(tmp_path, text)
    assert hidden(result) == [(TITLE_LINE, 17, "title", "error", "invisible-character",
                               f"a bidirectional control, {name}, in 'title'")]
    problem = next(p for p in result.problems if p.code == "invisible-character")
    assert "Trojan Source, CVE-2021-42574" in problem.message
    assert problem.fix == (f"delete it: an editor finds it with a search for \\u{ord(char):04X}; "
                           "write the text in the order it is read")


@pytest.mark.parametrize("char, name", [
    ("\u200b", "U+200B ZERO WIDTH SPACE"), ("\u2060", "U+2060 WORD JOINER"),
    ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"), ("\u00ad", "U+00AD SOFT HYPHEN"),
    ("\U000e0041", "U+E0041 TAG LATIN CAPITAL LETTER A"), ("\u3164", "U+3164 HANGUL FILLER"),
])
def test_an_invisible_character_in_front_matter_is_an_error(tmp_path, char, name):
    text = VALID.replace("Checkout API down", f"Checkout{char} API down")
    assert hidden(check(tmp_path, text)) == [(TITLE_LINE, 16, "title", "error", "invisible-character",
                                              f"an invisible character, {name}, in 'title'")]


@pytest.mark.parametrize("char, message", [
    ("\x1b", "an invisible character, U+001B control character, in 'title'"),
    ("\u2028", "U+2028 LINE SEPARATOR in 'title'"),
])
def test_characters_yaml_refuses_are_named_with_their_field(tmp_path, char, message):
    """libyaml refuses these (a yaml-syntax error); the field is still named from the line."""
    result = check(tmp_path, VALID.replace("Checkout API down", f"Checkout{char}API down"))
    assert hidden(result) == [(TITLE_LINE, 16, "title", "error", "invisible-character", message)]
    assert "yaml-syntax" in [p.code for p in result.problems]


def test_in_the_body_they_are_warnings(tmp_path):
    text = VALID.replace("because the certificate", "because the \u202ecertificate\u202c")
    assert hidden(check(tmp_path, text)) == [
        (BODY_TEXT_LINE, 34, None, "warning", "invisible-character",
         "a bidirectional control, U+202E RIGHT-TO-LEFT OVERRIDE, in the body"),
        (BODY_TEXT_LINE, 46, None, "warning", "invisible-character",
         "a bidirectional control, U+202C POP DIRECTIONAL FORMATTING, in the body")]


def test_joiners_inside_emoji_and_scripts_are_left_alone(tmp_path):
    text = VALID.replace("Checkout API down", "Checkout \U0001f469\u200d\U0001f4bb API down").replace(
        "Card payments failed", "Card payments failed (\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645)")
    assert hidden(check(tmp_path, text)) == []
    # ... but not between ASCII letters
    assert [h.char for h in scan.find_hidden_characters("a\u200db")] == ["\u200d"]


VISIBLE_FORMAT = {0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2,
                  0x110BD, 0x110CD}


def test_every_invisible_format_character_of_this_python_is_flagged():
    """The table in generator/scan.py is Unicode 14's: a newer Unicode with new format (Cf)
    characters fails here, so they are added (or listed as visible) on purpose."""
    missing = [f"U+{cp:04X}" for cp in range(0x110000)
               if unicodedata.category(chr(cp)) == "Cf" and cp not in VISIBLE_FORMAT
               and not scan._HIDDEN.match(chr(cp))]
    assert missing == []
    for cp in VISIBLE_FORMAT | {ord("a"), ord("é"), 0xa0, ord("\t")}:
        assert not scan._HIDDEN.match(chr(cp)), f"U+{cp:04X}"


def test_a_merge_key_is_an_error(tmp_path):
    text = VALID.replace("summary: ", "<<: {owner: x}\nsummary: ")
    line = text.split("\n").index("<<: {owner: x}") + 1
    result = check(tmp_path, text)
    assert [(p.line, p.field, p.code) for p in result.problems if p.code.startswith("yaml")] == [
        (line, "<<", "yaml-merge-key")]
    assert not any(p.code == "field-unknown" for p in result.problems)


@pytest.mark.parametrize("key, kind", [("on", "boolean"), ("yes", "boolean"), ("1.5", "number"),
                                       ("2024", "number"), ("~", "null")])
def test_a_field_name_yaml_1_1_types_is_an_error(tmp_path, key, kind):
    text = VALID.replace("summary: ", f"{key}: x\nsummary: ")
    line = text.split("\n").index(f"{key}: x") + 1
    found = [(p.line, p.code, p.message) for p in check(tmp_path, text).problems if p.code == "yaml-implicit-type"]
    assert found == [(line, "yaml-implicit-type",
                      f"the field name {key!r} is written without quotes, so YAML 1.1 tools (PyYAML, MkDocs) "
                      f"read it as a {kind}, not as the text {key!r}")]


def test_a_value_pyyaml_cannot_load_is_an_error(tmp_path):
    text = VALID.replace("trigger: certificate-expiry", "trigger: =")
    line = text.split("\n").index("trigger: =") + 1
    assert [(p.line, p.field, p.code) for p in check(tmp_path, text).problems] == [
        (line, "trigger", "yaml-implicit-type")]


def test_text_is_nfc_in_the_model(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Café résumé")
    text = VALID.replace("Checkout API down", f"{decomposed} API down").replace(
        "All card payments failed", f"All {decomposed} payments failed")
    assert decomposed != "Café résumé"
    result = check(tmp_path, text)
    assert problems(result) == []
    pm = result.postmortems[0]
    assert pm.title.startswith("Café résumé API down")
    assert "All Café résumé payments failed" in pm.body
    assert "All Café résumé payments failed" in pm.sections["Impact"]


def test_similarity_sees_one_spelling(tmp_path):
    one = VALID.replace("Checkout API down after TLS certificate expired",
                        unicodedata.normalize("NFD", "Kaffeeautomat Störung Überlast Café"))
    two = VALID.replace("PM-2024-017", "PM-2024-018").replace(
        "Checkout API down after TLS certificate expired", "Kaffeeautomat Störung Überlast Café")
    result = check(tmp_path, one, extra={"2024-03-14-two.md": two})
    by_id = {pm.id: pm for pm in result.postmortems}
    assert by_id["PM-2024-017"].title == by_id["PM-2024-018"].title
    analysis = analyse(result.postmortems, Settings(docs_dir=tmp_path / "postmortems", semantic="off"))
    assert analysis.related["PM-2024-017"][0].id == "PM-2024-018"
    assert analysis.related["PM-2024-017"][0].score > 0.99
