"""The CI and contribution files: the GitHub workflow and the GitLab example pass a schema lint
(check-jsonschema's vendored schemas, no network), every ``pmkb`` call in them parses, and the
pre-commit hook manifest loads and its entry validates the files it is given."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator.cli import cli

from .conftest import ROOT
from .test_review import FIXTURES

WORKFLOW = ROOT / ".github" / "workflows" / "postmortems.yml"
GITLAB = ROOT / "docs-examples" / "gitlab-ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent


def lint(schema: str, path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with one of its built-in (vendored, offline) schemas."""
    exe = shutil.which("check-jsonschema", path=str(BIN)) or shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is not installed: pip install -e '.[test]'"
    return subprocess.run([exe, "--builtin-schema", schema, str(path)], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"})


def load(path: Path) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); BaseLoader keeps every key as written.
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def pmkb_calls(text: str) -> list[list[str]]:
    """Every ``pmkb ...`` command line in a CI file, split like a shell would (before a redirect)."""
    calls = []
    for match in re.finditer(r"(?m)(?:^|[\s-])(pmkb [^\n>|]*)", text):
        calls.append(shlex.split(match.group(1).strip())[1:])
    return calls


@pytest.mark.parametrize("schema, path", [("vendor.github-workflows", WORKFLOW), ("vendor.gitlab-ci", GITLAB)])
def test_ci_files_pass_the_schema_lint(schema, path):
    result = lint(schema, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_lint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "run-on: ubuntu-latest", 1))
    result = lint("vendor.github-workflows", broken)
    assert result.returncode == 1
    assert "'runs-on' is a required property" in result.stdout


def test_workflow_checks_pull_requests_and_publishes_main():
    wf = load(WORKFLOW)
    assert set(wf["on"]) == {"pull_request", "push", "workflow_dispatch"}
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["permissions"] == {"contents": "read"}
    check, build, deploy = wf["jobs"]["check"], wf["jobs"]["build"], wf["jobs"]["deploy"]
    assert check["if"] == "github.event_name == 'pull_request'"
    assert check["steps"][0] == {"uses": "actions/checkout@v4", "with": {"fetch-depth": "0"}}
    runs = {step.get("name"): step for step in check["steps"]}
    assert runs["Validate"]["run"] == "pmkb validate --format github"
    assert runs["Review"]["run"] == 'pmkb review --base "origin/$BASE_REF" >> "$GITHUB_STEP_SUMMARY"'
    assert runs["Review"]["env"] == {"BASE_REF": "${{ github.base_ref }}"}
    assert runs["Review"]["if"] == "${{ !cancelled() }}"
    build_runs = [step.get("run") for step in build["steps"]]
    assert "mkdocs build --strict --site-dir site" in build_runs
    assert {"uses": "actions/upload-pages-artifact@v3", "with": {"path": "site"}} in build["steps"]
    assert deploy["needs"] == "build"
    assert deploy["if"] == "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"] == [{"id": "deployment", "uses": "actions/deploy-pages@v4"}]


@pytest.mark.parametrize("path", [WORKFLOW, GITLAB])
def test_every_pmkb_call_in_ci_parses(path):
    calls = pmkb_calls(path.read_text(encoding="utf-8"))
    assert [call[0] for call in calls] == ["validate", "review", "validate"]
    for args in calls:
        command = cli.get_command(None, args[0])
        ctx = command.make_context(args[0], list(args[1:]), resilient_parsing=False)
        assert ctx.command is command


def test_pre_commit_manifest_loads_and_matches_post_mortems():
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(HOOKS))
    assert (hook["id"], hook["entry"], hook["language"], hook["pass_filenames"]) == \
        ("pmkb-validate", "pmkb validate", "python", True)
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])

    def selected(path: str) -> bool:
        return bool(files.search(path)) and not exclude.search(path)

    assert selected("postmortems/2024-03-14-checkout-tls.md")
    assert selected("postmortems/2024/2024-03-14-checkout-tls.md")
    assert not selected("README.md")
    # Pages and attachments are published too: pmkb checks them as pages (secrets, unsafe HTML).
    assert selected("postmortems/index.md") and selected("postmortems/_drafts/2024-03-14-x.md")
    assert selected("postmortems/deploy.log")
    assert not selected("postmortems/.hidden/x.md")
    assert not selected("docs/2024-03-14-checkout-tls.md")
    assert set(hook["types_or"]) == {"file", "symlink"}  # a link is passed, and reported


def test_pre_commit_entry_validates_the_files_it_is_given(tmp_path):
    (hook,) = load(HOOKS)
    docs = tmp_path / "postmortems"
    docs.mkdir()
    good = "2012-07-01-java-fleet-cpu-spin-after-clock-adjustment.md"
    bad = "2021-09-30-legacy-clients-fail-after-root-ca-expiry.md"
    shutil.copy(FIXTURES / "base" / good, docs / good)
    shutil.copy(FIXTURES / "change" / bad, docs / bad)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(*names: str) -> subprocess.CompletedProcess:
        # As pre-commit runs a hook: the entry, split like a shell would, then the file names.
        return subprocess.run([*shlex.split(hook["entry"]), *(f"postmortems/{n}" for n in names)],
                              cwd=tmp_path, env=env, capture_output=True, text=True)

    ok = run(good)
    assert ok.returncode == 0 and ok.stdout == "1 file checked: no problems\n"
    failed = run(good, bad)
    assert failed.returncode == 1
    assert failed.stdout.splitlines()[-1] == "2 errors, 0 warnings in 2 files"
    assert f"postmortems/{bad}:5:11: error field-enum severity:" in failed.stdout


def test_templates_for_authors_explain_pmkb_new_and_the_review():
    template = (ROOT / ".github" / "pull_request_template.md").read_text(encoding="utf-8")
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "pmkb new" in template and "possible duplicate" in template
    assert ".venv/bin/pmkb new" in contributing and "## What reviewers look for" in contributing
    assert "pmkb review --base origin/main" in contributing


def test_pre_commit_entry_checks_pages_and_reports_links(tmp_path):
    (hook,) = load(HOOKS)
    docs = tmp_path / "postmortems"
    docs.mkdir()
    (docs / "README.md").write_text("# Home\n\n<script>alert(1)</script>\n", encoding="utf-8")
    os.symlink(tmp_path / "elsewhere.md", docs / "2024-03-14-link.md")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([*shlex.split(hook["entry"]), "postmortems/README.md", "postmortems/2024-03-14-link.md"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert [line.split(": ")[0] + " " + line.split()[2].rstrip(":") for line in done.stdout.splitlines()[:-1]] == [
        "postmortems/2024-03-14-link.md:1 file-symlink", "postmortems/README.md:3:1 unsafe-html"]
