"""extraction/README.md is generated from extraction/datapackage.json and must never disagree with it."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.data.schema import data_dictionary_markdown
from fixture_paths import BUNDLED, REPO

ROOT = REPO


@pytest.mark.parametrize("root", [BUNDLED, REPO], ids=["fixture", "live"])
def test_committed_dictionary_equals_the_generated_text(root):
    # holds for any data: the dictionary follows the schema, whatever the sheets hold
    committed = (root / "extraction" / "README.md").read_text(encoding="utf-8")
    assert committed == data_dictionary_markdown(root), "run `python -m analysis.data.schema` to regenerate extraction/README.md"


def test_dictionary_lists_every_column_with_its_unit_and_constraints():
    text = data_dictionary_markdown(BUNDLED)
    pkg = json.loads((BUNDLED / "extraction" / "datapackage.json").read_text(encoding="utf-8"))
    for res in pkg["resources"]:
        assert f"## `{res['name']}.csv`" in text
        for field in res["schema"]["fields"]:
            assert f"| `{field['name']}` | {field['type']} |" in text
    assert "| `frequency_hz` | number | Hz | > 0; <= 100 |" in text
    assert "| `n_randomised` | integer | participants | >= 1 |" in text


def test_check_mode_reports_a_stale_dictionary(tmp_path):
    (tmp_path / "extraction").mkdir()
    shutil.copy(BUNDLED / "extraction" / "datapackage.json", tmp_path / "extraction")
    (tmp_path / "extraction" / "README.md").write_text("old\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "analysis.data.schema", "--root", str(tmp_path)]
    stale = subprocess.run(cmd + ["--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "out of date" in stale.stderr
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    assert subprocess.run(cmd + ["--check"], capture_output=True, text=True).returncode == 0
    assert (tmp_path / "extraction" / "README.md").read_text(encoding="utf-8") == data_dictionary_markdown(tmp_path)
