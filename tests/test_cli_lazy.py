"""Commands import only what they use (#16 item 1): ``pmkb`` loads the module of the command
asked for, so ``pmkb validate`` imports no command module, ``pmkb similar`` not the importers,
and a warm cache answers without scikit-learn."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from generator.cli import COMMAND_MODULES, cli

ROOT = Path(__file__).resolve().parents[1]


def test_the_map_names_every_command_of_every_module():
    for module_name, names in COMMAND_MODULES.items():
        assert tuple(c.name for c in importlib.import_module(module_name).COMMANDS) == names


def test_help_lists_every_command_and_a_misspelt_one_gets_a_suggestion():
    runner = CliRunner()
    listed = runner.invoke(cli, ["--help"]).output
    for names in COMMAND_MODULES.values():
        for name in names:
            assert f"  {name} " in listed
    wrong = runner.invoke(cli, ["simlar"])
    assert wrong.exit_code == 2 and "Did you mean 'similar'?" in wrong.output


def _modules_after(args: list[str], cwd: Path) -> set[str]:
    """The modules imported by ``pmkb ARGS`` run in a fresh interpreter in ``cwd``."""
    code = ("import sys, json\nfrom generator.cli import cli\ntry:\n    cli(%r, prog_name=\"pmkb\")\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(sys.modules)), file=sys.stderr)" % (args,))
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_validate_and_a_warm_similar_import_only_what_they_use(tmp_path):
    shutil.copytree(ROOT / "postmortems", tmp_path / "postmortems")
    (tmp_path / "mkdocs.yml").write_text((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), encoding="utf-8")
    validate = _modules_after(["validate"], tmp_path)
    assert not {m for m in validate if m.startswith(("generator.cli_", "generator.importers", "sklearn"))}
    query = ["similar", "--semantic", "off", "--text", "certificate expired at midnight"]
    cold = _modules_after(query, tmp_path)  # fills the cache folder
    assert "sklearn" in cold and "generator.cli_similarity" in cold
    warm = _modules_after(query, tmp_path)
    imported = {m.split(".")[0] for m in warm} | {m for m in warm if m.startswith("generator.")}
    assert "generator.cli_similarity" in imported
    assert not imported & {"sklearn", "generator.cli_import", "generator.importers", "generator.cli_build",
                           "generator.cli_report", "generator.cli_review"}


def test_a_warm_build_of_a_large_corpus_imports_no_scikit_learn_after_a_warm_one(tmp_path):
    """While the validation's workers check a large corpus, the plugin imports scikit-learn for
    the analysis to come, unless the last build of the site was answered from the cache folder
    (then the import only took a core from the workers: 1.5 s of CPU on 3,000 post-mortems).
    Workers from one file here (``PARALLEL_MIN_FILES``); the third build is the one that skips it.
    The validation's own entries are removed before the second and third builds, so that their
    workers run; the fourth build's validation is read from the cache folder: no workers, no
    import either."""
    from tests.sitebuild import make_project

    project = make_project(tmp_path / "kb", plugin_options="      semantic: \"off\"\n")
    code = ("import sys, json\nimport generator.validate as v\nv.PARALLEL_MIN_FILES = 1\n"
            "from mkdocs.__main__ import cli\ntry:\n    cli(['build', '-q', '-d', %r])\nexcept SystemExit:\n    pass\n"
            "print(json.dumps('sklearn' in sys.modules), file=sys.stderr)" % str(tmp_path / "site"))
    imported = []
    env = {**__import__("os").environ, "PMKB_JOBS": "2", "NO_MKDOCS_2_WARNING": "1",
           "PMKB_CACHE_DIR": str(tmp_path / "cache")}
    for build in range(4):
        if build in (1, 2):
            shutil.rmtree(tmp_path / "cache" / "validation")
        done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=300,
                              env=env)
        assert (tmp_path / "site" / "index.html").is_file(), done.stderr[-2000:]
        imported.append(json.loads(done.stderr.strip().splitlines()[-1]))
    # cold (analysis), warm after a cold one (imported early), warm, warm with the validation cached
    assert imported == [True, True, False, False]
