"""Secrets never leave the tool: a corpus seeded with many kinds of credentials, every output
rendered, and no credential anywhere in them (grep-level: no run of 8 letters or digits of a
credential, in any case).

The credentials sit in the title, summary, root cause, action items, an unknown front-matter
field, prose, code blocks, above the front matter, in a page (README.md) and an attachment.
The seeded post-mortems are two certificate-expiry incidents of the shipped corpus, so they
are related to each other and to others, and the same token in both would be their strongest
shared term if it were not hidden.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
from pathlib import Path

import pytest

from generator import scan
from generator.cli import cli
from generator.settings import Settings
from generator.validate import validate

from .conftest import ROOT, TODAY
from .test_validate import NAME, VALID

AWS_KEY_ID = "AKIAQ3EGUOJ7MZ4XKD2P"
AWS_SECRET = "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"
GITHUB_TOKEN = "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"
SLACK_TOKEN = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2"
       "MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
BASIC_AUTH_PASSWORD = "Zq8vR2mK9pLxT4"
YAML_PASSWORD = "Pg4dm1nPa55w0rd2024x"
PROSE_PASSWORD = "Tr0ub4dorKxkcd9931"
SUMMARY_PASSWORD = "Rk7pWq2ZxV9mLs4T"    # db_password = \"...\" inside a summary (YAML escapes)
UNQUOTED_SECRET = "h8Jd2kLq9ZxP4mWv7RtY3nBc6FgT1sAe0UiOpLkJ"  # aws_secret_access_key = ... in prose
ABOVE_SECRET = "Qm9vZ2llV29vZ2llOTg3NjU0MzIxMA"  # an assignment above the front matter
KEY_LINES = ["MIIEowIBAAKCAQEAuQ7NsbH3x1c4yNpTq0RkZz5Wm8dJ2Lr6V0tQ1sYp9eXh3Kf",
             "7GmT2wRbN8yVq4ZcL1oPxE6sDj0HkU3aIf5Mn9BvQ2rTy7WlXe4OgCk8SdJ1hPu"]
CREDENTIALS = [AWS_KEY_ID, AWS_SECRET, GITHUB_TOKEN, SLACK_TOKEN, STRIPE_KEY, JWT, BASIC_AUTH_PASSWORD,
               YAML_PASSWORD, PROSE_PASSWORD, SUMMARY_PASSWORD, UNQUOTED_SECRET, ABOVE_SECRET, *KEY_LINES]

SEEDED = "2013-02-22-storage-https-outage-expired-ssl.md"
SEEDED_TOO = "2021-09-30-legacy-clients-fail-after-root-ca-expiry.md"
ABOVE = "2024-05-01-token-above-front-matter.md"


def fragments(value: str) -> set[str]:
    """Every run of 8+ letters or digits of ``value``, lower case (what grep would find)."""
    return {run.lower() for run in re.findall(r"[A-Za-z0-9]{8,}", value)}


def leaks(text: str) -> list[str]:
    """The credentials of which some fragment appears in ``text`` (any case)."""
    lower = text.lower()
    return [value for value in CREDENTIALS if any(f in lower for f in fragments(value))]


def _seed(text: str, marker: str) -> str:
    """A shipped post-mortem with credentials in every place a value can sit."""
    text = re.sub(r"\ntitle: [^\n]*", f"\ntitle: {marker} certificates expired and token {GITHUB_TOKEN} leaked",
                  text, count=1)
    text = text.replace("\nsummary: >-\n", f"\nsummary: >-\n  Deploy token {SLACK_TOKEN} leaked.\n", 1)
    text = text.replace("\nstarted_at:", f'\nroot_cause_detail: "the db_password = \\"{SUMMARY_PASSWORD}\\" was in a ticket"'
                        "\nstarted_at:", 1)
    text = text.replace("\nroot_cause: >-\n", f"\nroot_cause: >-\n  Stripe key {STRIPE_KEY} in the logs.\n", 1)
    text = text.replace("\n    owner: ", f"\n    ticket: https://ci:{BASIC_AUTH_PASSWORD}@tracker.example.com/OPS-1\n"
                        "    owner: ", 1)
    text = text.replace("\nstarted_at:", f'\ndb_password: "{YAML_PASSWORD}"\nstarted_at:', 1)
    text = text.replace("\n## Impact", (
        f"\nThe session cookie was `{JWT}` and the token {GITHUB_TOKEN} stayed valid.\n"
        f'The admin password = "{PROSE_PASSWORD}" was in the wiki, aws_secret_access_key = "{AWS_SECRET}".\n'
        f"The runbook said aws_secret_access_key = {UNQUOTED_SECRET} in plain text.\n\n"
        "```ini\n[default]\n"
        f"aws_access_key_id = {AWS_KEY_ID}\n"
        f"aws_secret_access_key = {AWS_SECRET}\n"
        "```\n\n```\n-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(KEY_LINES)
        + "\n-----END RSA PRIVATE KEY-----\n```\n\n## Impact"), 1)
    return text


def seeded_corpus(folder: Path) -> Path:
    """The shipped corpus with two seeded post-mortems, a file with a key above its front
    matter, a README.md page and a log attachment holding credentials."""
    docs = folder / "postmortems"
    shutil.copytree(ROOT / "postmortems", docs)
    for name, marker in ((SEEDED, "Storage"), (SEEDED_TOO, "Partners")):
        (docs / name).write_text(_seed((docs / name).read_text(encoding="utf-8"), marker), encoding="utf-8")
    (docs / ABOVE).write_text(f"{AWS_KEY_ID}\napi_key = {ABOVE_SECRET}\n" + VALID.replace("PM-2024-017", "PM-2024-901")
                              .replace("2024-03-14", "2024-05-01"), encoding="utf-8")
    (docs / "README.md").write_text(f"# Knowledge base\n\nCI uses {GITHUB_TOKEN} to publish.\n", encoding="utf-8")
    (docs / "deploy.log").write_text(f"12:00 export STRIPE_KEY={STRIPE_KEY}\n", encoding="utf-8")
    (folder / "mkdocs.yml").write_text((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), encoding="utf-8")
    return docs


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("seeded")
    seeded_corpus(folder)
    return folder


# --- every output ----------------------------------------------------------------------------

CLI_RUNS = [
    ["validate"], ["validate", "--format", "json"], ["validate", "--format", "github"],
    ["related"], ["related", "--format", "json"], ["related", "--include-drafts"],
    ["clusters"], ["clusters", "--format", "json"],
    ["similar", "PM-2013-001"], ["similar", "PM-2013-001", "--format", "json"],
    ["similar", f"postmortems/{SEEDED_TOO}"], ["similar", f"postmortems/{SEEDED_TOO}", "--format", "json"],
    ["similar", "--text", "certificate expired token leaked"],
    ["report"], ["report", "--format", "json"],
    *(["report", "--format", "csv", "--table", table] for table in
      ("clusters", "quarters", "services", "triggers", "data-quality", "action-items", "owners")),
]


@pytest.mark.parametrize("args", CLI_RUNS, ids=[" ".join(a) for a in CLI_RUNS])
def test_no_cli_output_holds_a_credential(runner, project, monkeypatch, args):
    monkeypatch.chdir(project)
    done = runner.invoke(cli, [*args, *(["--today", TODAY.isoformat()] if args[0] == "report" else [])])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    assert leaks(done.output) == []
    if args[0] == "validate":
        assert done.exit_code == 1


def test_validation_finds_every_seeded_credential(project):
    docs = project / "postmortems"
    result = validate([docs], Settings(docs_dir=docs), today=TODAY)
    found = {(Path(p.path).name, p.line, p.field) for p in result.problems if p.code == "secret"}
    seeded = (docs / SEEDED).read_text(encoding="utf-8").split("\n")

    def line_of(text: str) -> int:
        return next(i for i, line in enumerate(seeded, 1) if text in line)

    expected = {
        (SEEDED, line_of("title:"), "title"), (SEEDED, line_of(SLACK_TOKEN), "summary"),
        (SEEDED, line_of(STRIPE_KEY), "root_cause"), (SEEDED, line_of(BASIC_AUTH_PASSWORD), "action_items[0].ticket"),
        (SEEDED, line_of("db_password:"), "db_password"), (SEEDED, line_of(JWT), None),
        (SEEDED, line_of(PROSE_PASSWORD), None), (SEEDED, line_of("aws_access_key_id"), None),
        (SEEDED, line_of("aws_secret_access_key = w"), None), (SEEDED, line_of("BEGIN RSA"), None),
        (SEEDED, line_of("root_cause_detail"), "root_cause_detail"),  # in front-matter text, as YAML reads it
        (SEEDED, line_of(UNQUOTED_SECRET), None),                       # unquoted, in prose
        (ABOVE, 1, None), (ABOVE, 2, None),                             # above the front matter
        ("README.md", 3, None), ("deploy.log", 1, None),
    }
    assert expected <= found
    assert leaks(json.dumps([p.as_dict() for p in result.problems])) == []
    assert set(CREDENTIALS) - {AWS_KEY_ID} <= {v for v in result.secrets} | {
        line.strip() for line in KEY_LINES}  # the masking step knows each value (the key ID as a line of ABOVE)


def test_the_model_carries_the_text_with_secrets_hidden(project):
    docs = project / "postmortems"
    result = validate([docs], Settings(docs_dir=docs), today=TODAY)
    pm = next(p for p in result.postmortems if p.path == SEEDED)
    assert pm.title == f"Storage certificates expired and token {scan.HIDDEN} leaked"
    assert pm.summary.startswith(f"Deploy token {scan.HIDDEN} leaked.")
    assert pm.action_items[0].ticket == f"https://ci:{scan.HIDDEN}@tracker.example.com/OPS-1"
    assert pm.extra == {"db_password": scan.HIDDEN, "root_cause_detail": f'the db_password = "{scan.HIDDEN}" was in a ticket'}
    assert f'password = "{scan.HIDDEN}"' in pm.body
    everything = repr(pm) + json.dumps(pm.sections)
    assert leaks(everything) == []
    untouched = next(p for p in result.postmortems if p.id == "PM-2012-002")
    assert scan.HIDDEN not in repr(untouched)


def test_the_site_source_from_the_model_holds_no_credential(project):
    """What the site publishes (every generated page, every post-mortem page with its card,
    body and sections, the reports and their charts, api/ and the feed) is rendered from the
    model (generator.render.render_site); the build itself stops on the secret errors (below)."""
    from generator.analysis import analyse, published
    from generator.render import SiteOptions, render_site

    docs = project / "postmortems"
    settings = Settings(docs_dir=docs)
    result = validate([docs], settings, today=TODAY)
    pms = published(result.postmortems)
    source = render_site(pms, analyse(pms, settings), SiteOptions("KB", TODAY, site_url="https://kb.example.com/"))
    texts = list(source.pages.values())
    texts += [json.dumps(page.meta) + page.markdown for page in source.postmortems.values()]
    texts += [data.decode("utf-8", "replace") for data in source.files.values()]
    text = "\n".join(texts)
    assert f"token {scan.HIDDEN} leaked" in text  # the seeded post-mortems are on the pages, hidden
    assert {"feed.xml", "api/postmortems.json", "api/postmortems.csv"} <= set(source.files)
    assert leaks(text) == []


def test_the_site_build_stops_and_its_log_holds_no_credential(project, tmp_path):
    from .sitebuild import run_build

    done = run_build(project, tmp_path / "site", timeout=300)
    assert done.returncode != 0
    assert "secret" in done.stderr
    assert leaks(done.stdout + done.stderr) == []
    assert not (tmp_path / "site" / "api").exists()


def test_review_holds_no_credential(runner, tmp_path, monkeypatch):
    from .test_review import git

    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(ROOT / "postmortems", root / "postmortems")
    (root / "mkdocs.yml").write_text((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    shutil.rmtree(root / "postmortems")
    seeded_corpus(tmp_path / "seeded")
    shutil.copytree(tmp_path / "seeded" / "postmortems", root / "postmortems")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "seeded")
    monkeypatch.chdir(root)
    for fmt in ("md", "json"):
        done = runner.invoke(cli, ["review", "--base", "HEAD~1", "--format", fmt])
        assert done.exit_code == 1, done.output
        assert leaks(done.output) == []
        assert "secret" in done.output
    # A change that removes the credentials: the base side ("before") is scanned too.
    git(root, "checkout", "-q", "HEAD~1", "--", "postmortems")
    shutil.rmtree(root / "postmortems")
    shutil.copytree(ROOT / "postmortems", root / "postmortems")
    (root / "postmortems" / SEEDED).write_text((ROOT / "postmortems" / SEEDED).read_text(encoding="utf-8")
                                               + "\nEdited.\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "cleaned")
    done = runner.invoke(cli, ["review", "--base", "HEAD~1", "--format", "json"])
    assert leaks(done.output) == []


# --- the masking step ------------------------------------------------------------------------


def test_redactor_masks_in_messages_and_hides_in_text():
    redactor = scan.Redactor([GITHUB_TOKEN, "hunter2hunter2"])
    assert redactor.mask(f"tag {GITHUB_TOKEN!r} is bad") == "tag '…INUx' is bad"
    assert redactor.hide(f"x {GITHUB_TOKEN}, y") == f"x {scan.HIDDEN}, y"
    assert scan.Redactor(["hunter2"]).hide("hunter2x and xhunter2 stay, hunter2 goes") == \
        f"hunter2x and xhunter2 stay, {scan.HIDDEN} goes"  # short values: whole words only
    assert redactor.hide("xhunter2hunter2x") == f"x{scan.HIDDEN}x"  # 12+ characters: anywhere
    # lower case and kebab-case forms (a fix suggests slugify(tag)), and JSON escapes
    assert redactor.hide(f"write it as {GITHUB_TOKEN.lower()!r}") == f"write it as '{scan.HIDDEN}'"
    assert redactor.hide(GITHUB_TOKEN.lower().replace("_", "-")) == scan.HIDDEN
    assert scan.Redactor(['pa"ss\\word99']).hide('{"v": "pa\\"ss\\\\word99"}') == '{"v": "' + scan.HIDDEN + '"}'
    # a run of whitespace in a value matches any run (the scanner sees long runs collapsed)
    assert scan.Redactor(["correct horse battery"]).hide("correct   horse\tbattery!") == scan.HIDDEN + "!"
    assert pickle.loads(pickle.dumps(redactor)).hide(GITHUB_TOKEN) == scan.HIDDEN
    assert not scan.Redactor() and scan.Redactor().hide("anything") == "anything"


def test_redactor_hides_inside_data_and_dataclasses():
    from generator.model import ActionItem

    redactor = scan.Redactor(["s3cr3t-value-42"])
    item = ActionItem(title="rotate s3cr3t-value-42", owner="ops")
    data = redactor.hide_data({"k": ["s3cr3t-value-42", 3, (b"raw", "s3cr3t-value-42")], "s3cr3t-value-42": item})
    assert data == {"k": [scan.HIDDEN, 3, (b"raw", scan.HIDDEN)],
                    scan.HIDDEN: ActionItem(title=f"rotate {scan.HIDDEN}", owner="ops")}


@pytest.mark.parametrize("value, shown", [
    ("AKIAIOSFODNN7EXAMPLE", "…PLE"), ("hunter2hunter2", "…r2"), ("short", "…"),
    (GITHUB_TOKEN, "…INUx"), ("+44 20 7946 0958", "+••••••••••58"), ("(+44) 20 7946 0958", "+••••••••••58"),
])
def test_mask_keeps_only_the_last_characters(value, shown):
    """Finding #9: no start of a credential is printed (`sk_l`, `wJal`), only its last characters."""
    assert scan.mask(value) == shown


def test_scanner_gives_the_whole_token_and_the_whole_key():
    lines = ["token 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 here", "-----BEGIN RSA PRIVATE KEY-----",
             *KEY_LINES, "-----END RSA PRIVATE KEY-----", "after"]
    with scan.SecretScanner() as scanner:
        found = scanner.scan(lines, 10)
    assert [(f.line, f.kind, f.value) for f in found] == [
        (10, "GitHub Token", GITHUB_TOKEN), (11, "Private Key", "BEGIN RSA PRIVATE KEY")]
    assert GITHUB_TOKEN in found[0].hidden and "ghp" not in found[0].hidden
    assert set(KEY_LINES) <= set(found[1].hidden) and "after" not in found[1].hidden


def test_problems_of_other_checks_on_a_secret_are_masked(tmp_path):
    """Format and link checks quote the value as written: masked like the secret problem itself."""
    docs = tmp_path / "postmortems"
    docs.mkdir()
    text = (VALID.replace("tags: [tls, certificates]", f"tags: [{GITHUB_TOKEN}]")
            + f"\nSee [runbook](runbook.md?token={GITHUB_TOKEN}).\n")
    (docs / NAME).write_text(text, encoding="utf-8")
    (docs / "2024-03-15-first-line.md").write_text(f"pasted {GITHUB_TOKEN} at the top\n", encoding="utf-8")
    result = validate([docs], Settings(docs_dir=docs), today=TODAY)
    assert [(Path(p.path).name, p.line, p.code) for p in result.problems] == [
        (NAME, 8, "secret"), (NAME, 8, "field-format"), (NAME, 41, "secret"), (NAME, 41, "broken-link"),
        ("2024-03-15-first-line.md", 1, "secret"), ("2024-03-15-first-line.md", 1, "front-matter-missing"),
    ]
    messages = "\n".join(f"{p.message} {p.fix}" for p in result.problems)
    assert GITHUB_TOKEN not in messages and GITHUB_TOKEN.lower() not in messages
    assert "…INUx" in result.problems[1].message
    # (the first 40 characters would cut the token: the excerpt stops before it instead)
    assert result.problems[5].message == "the file does not start with a front-matter block (first line: 'pasted…')"


def test_a_password_written_as_a_sentence_is_a_secret_and_ordinary_sentences_are_not():
    """Tester finding: "the root password was '...'" and "set DB_PASS to ..." passed validation
    and were published. Sentences about passwords that hold none stay clean."""
    lines = [
        "The root password was 'Sup3rS3cret!2024' on the bastion.",          # quoted
        "Set DB_PASS to Xk9#mQ2vL7pW and restart.",                           # a digit: not a word
        "The password was rotated the next day. The password is stored in Vault.",
        "Passwords were reset to random values. The secret is kept in /etc/app/secret.key now.",
        "We changed the password to prod-db-main. The api key was revoked by the on-call.",
        "The pwd to /home/deploy was wrong. The password is ${DB_PASSWORD} in the template.",
        "The password is longer than 12 characters since the policy change.",
    ]
    with scan.SecretScanner() as scanner:
        found = scanner.scan(lines, 30)
    assert [(f.line, f.kind, f.value) for f in found] == [
        (30, "Secret Keyword", "Sup3rS3cret!2024"), (31, "Secret Keyword", "Xk9#mQ2vL7pW")]


# --- the scanner's guard (benchmarks/adversarial.py times it) --------------------------------


def test_scan_windows_collapse_long_whitespace_and_cut_long_lines():
    assert scan.scan_windows("password =" + " " * 20 + "'x'") == ["password = 'x'"]
    assert scan.scan_windows("a  b") == ["a  b"]  # short runs are left as they are
    line = ("word " * 4000) + GITHUB_TOKEN
    windows = scan.scan_windows(line)  # only the windows the pre-filter flags: the last one
    assert [len(w) <= scan.WINDOW and w.endswith(GITHUB_TOKEN) for w in windows] == [True]
    assert scan.scan_windows("QUJD" * 250_000) == []  # the middle of a megabyte of base64 is no token


@pytest.mark.parametrize("line, kind", [
    (" " * 100_000 + f"token {GITHUB_TOKEN}", "GitHub Token"),                        # after a long run of spaces
    ("x " * (scan.WINDOW - scan.WINDOW_OVERLAP // 2 - 20) + GITHUB_TOKEN + " y" * 5000, "GitHub Token"),  # across windows
    ("QUJD" * 50_000 + AWS_KEY_ID + "QUJD" * 50_000, "AWS Access Key"),              # inside a long base64 run
    ("log " * 50_000 + f'password = "{PROSE_PASSWORD}"', "Secret Keyword"),          # at the end of a long line
])
def test_the_guard_hides_no_secret(line, kind):
    with scan.SecretScanner() as scanner:
        found = scanner.scan([line], 7)
    assert [(f.line, f.kind) for f in found] == [(7, kind)]
    assert leaks(scan.Redactor(v for f in found for v in (f.value, *f.hidden)).hide(line)) == []


def test_a_secret_with_a_long_run_of_spaces_is_hidden_as_written(tmp_path):
    docs = tmp_path / "postmortems"
    docs.mkdir()
    phrase = "correct" + " " * 12 + "horse battery staple"
    (docs / NAME).write_text(VALID + f'\nThe vault password = "{phrase}" was shared.\n', encoding="utf-8")
    result = validate([docs], Settings(docs_dir=docs), today=TODAY)
    assert [(p.line, p.code) for p in result.problems] == [(41, "secret")]
    assert f'password = "{scan.HIDDEN}" was shared' in result.postmortems[0].body


# --- wider detection -------------------------------------------------------------------------


@pytest.mark.parametrize("prose", [
    "Password: reset by the on-call engineer.", "The secret: rotation took 2 h.", "api_key: see the vault",
    "The passwords were synchronised from the parameter store.", "token=abc (the query parameter)",
    "Keys: rotated on 2024-03-14 at 10:00.", "secret_name = prod-db (the name of the vault entry, not the value)",
    "Set password = changeme in the template (a placeholder).", "api_key = ${API_KEY} from the environment",
])
def test_prose_that_only_mentions_credentials_is_not_a_secret(tmp_path, prose):
    docs = tmp_path / "postmortems"
    docs.mkdir()
    (docs / NAME).write_text(VALID + "\n" + prose + "\n", encoding="utf-8")
    assert validate([docs], Settings(docs_dir=docs), today=TODAY).problems == []


@pytest.mark.parametrize("where, body, line, field", [
    ("prose", "\nUse aws_secret_access_key = h8Jd2kLq9ZxP4mWv7RtY3nBc6FgT1sAe0UiOpLkJ today.\n", 41, None),
    ("prose, after a colon", "\nThe DB_PASSWORD: Zx9kQ2mW7pLs was in the ticket.\n", 41, None),
    ("above the front matter", None, 1, None),
    ("summary", None, 10, "summary"),
])
def test_keyword_assignments_in_prose_and_front_matter_text(tmp_path, where, body, line, field):
    """detect-secrets reads a keyword assignment in prose only when its value is quoted, and the
    front matter as YAML, where an escaped assignment inside a text value is not one."""
    docs = tmp_path / "postmortems"
    docs.mkdir()
    if where == "summary":
        text = VALID.replace("summary: Card payments failed for 2 h 28 min because the edge certificate expired.",
                             'summary: "Card payments failed; db_password = \\"Rk7pWq2ZxV9mLs4T\\" leaked."')
    elif where == "above the front matter":
        text = "api_key = Qm9vZ2llV29vZ2llOTg3NjU0MzIxMA\n" + VALID
    else:
        text = VALID + body
    (docs / NAME).write_text(text, encoding="utf-8")
    result = validate([docs], Settings(docs_dir=docs), today=TODAY)
    assert [(p.line, p.field) for p in result.problems if p.code == "secret"] == [(line, field)], where
    assert leaks(json.dumps([p.as_dict() for p in result.problems])) == []
