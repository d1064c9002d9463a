"""`medassist data validate` and strict loading on corrupted copies of the samples (tmp files):
every problem names the file, the line (or key) and the field."""

from __future__ import annotations

import json
import shutil

import pytest

from medassist.cli import main
from medassist.data import load_ddxplus, load_medqa, load_pubmedqa
from medassist.errors import MedassistError


def _validate(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "validate", *args])
    out = capsys.readouterr()
    return exit_info.value.code, out.out + out.err


@pytest.fixture
def broken_medqa(samples_dir, tmp_path):
    lines = (samples_dir / "medqa_sample.jsonl").read_text().splitlines()
    record = json.loads(lines[2])
    del record["question"]
    lines[2] = json.dumps(record)  # line 3: missing field
    lines[5] = lines[5][: len(lines[5]) // 2]  # line 6: truncated JSON
    record = json.loads(lines[9])
    record["answer_idx"] = "Z"  # line 10: answer letter not an option
    lines[9] = json.dumps(record)
    path = tmp_path / "medqa_broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_validate_reports_every_problem_with_counts(capsys, broken_medqa):
    code, out = _validate(capsys, str(broken_medqa), "--format", "medqa")
    assert code == 1
    assert "37 valid records, 3 problem(s)" in out
    assert f"{broken_medqa}, line 3, field 'question': missing" in out
    assert f"{broken_medqa}, line 6, field '(json)': invalid JSON" in out
    assert f"{broken_medqa}, line 10, field 'answer_idx'" in out
    assert "1  missing field (question)" in out


def test_strict_loader_raises_first_problem(broken_medqa):
    with pytest.raises(MedassistError, match=r"medqa_broken\.jsonl, line 3, field 'question'"):
        load_medqa(broken_medqa)


def test_validate_clean_sample_exits_zero(capsys, samples_dir):
    main(["data", "validate", str(samples_dir / "pubmedqa_sample.json"), "--format", "pubmedqa"])  # no exit
    assert "20 valid records, 0 problem(s)" in capsys.readouterr().out


def test_ddxplus_unknown_evidence_code(capsys, samples_dir, tmp_path):
    folder = tmp_path / "ddx"
    shutil.copytree(samples_dir / "ddxplus", folder)
    csv_path = folder / "patients_sample.csv"
    lines = csv_path.read_text().splitlines()
    lines[4] = lines[4].replace("'E_", "'E_999", 1)  # line 5: unknown evidence code
    lines[7] = lines[7].replace(",M,", ",X,", 1).replace(",F,", ",X,", 1)  # line 8: bad sex
    csv_path.write_text("\n".join(lines) + "\n")
    code, out = _validate(capsys, str(csv_path), "--format", "ddxplus")
    assert code == 1
    assert f"{csv_path}, line 5, field 'EVIDENCES': unknown evidence code 'E_999" in out
    assert f"{csv_path}, line 8, field 'SEX'" in out
    with pytest.raises(MedassistError, match=r"line 5, field 'EVIDENCES'"):
        load_ddxplus(csv_path, folder / "release_conditions.json", folder / "release_evidences.json")


def test_pubmedqa_missing_decision_names_key(samples_dir, tmp_path):
    data = json.loads((samples_dir / "pubmedqa_sample.json").read_text())
    del data["98000003"]["final_decision"]
    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps(data))
    with pytest.raises(MedassistError, match=r"ori_pqal\.json, key 98000003, field 'final_decision': missing"):
        load_pubmedqa(path)


def test_pubmed_truncated_xml_and_custom_missing_label(capsys, samples_dir, tmp_path):
    xml = tmp_path / "pubmed.xml"
    text = (samples_dir / "pubmed_sample.xml").read_text()
    xml.write_text(text[: len(text) // 2])
    code, out = _validate(capsys, str(xml), "--format", "pubmed")
    assert code == 1 and f"{xml}, line " in out and "field '(xml)'" in out
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text("text,label\nchest pain,urgent\nrash,\n")
    code, out = _validate(capsys, str(csv_path), "--format", "custom")
    assert code == 1 and f"{csv_path}, line 3, field 'label'" in out


def test_unknown_format_is_a_one_line_error(capsys, samples_dir):
    code, out = _validate(capsys, str(samples_dir / "medqa_sample.jsonl"), "--format", "nope")
    assert code == 2 and "error: unknown format 'nope'" in out
