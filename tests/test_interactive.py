"""The interactive differential: the simulated patient answers from its record, the question policy
(never a repeat, never a known evidence, red flags first), partial-evidence training cases, and
``medassist eval ddx --interactive`` end to end on the tiny model and on the KB alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medassist.cli import main
from medassist.data import SAMPLES, build_examples
from medassist.data.answers.differential import parse_differential
from medassist.data.consultation import SimulatedPatient
from medassist.data.ddx_likelihood import EvidenceModel
from medassist.data.next_question import PolicyConfig, QuestionPolicy, askable
from medassist.data.partial import partial_evidence, variant_rng

PATIENTS_CSV = SAMPLES / "ddxplus" / "patients_sample.csv"


@pytest.fixture(scope="module")
def policy(sample_ddxplus) -> QuestionPolicy:
    patients, kb = sample_ddxplus
    return QuestionPolicy(EvidenceModel(kb, patients[40:]))


def test_simulator_answers_exactly_from_the_record(sample_ddxplus):
    patients, kb = sample_ddxplus
    # row 1 of patients_sample.csv: E_4, E_8_@_6 (numeric scale), E_35_@_V_10 (the default value, recorded), ...
    pe = SimulatedPatient(patients[0], kb)
    assert pe.known == {"E_22": [True]}  # the chief complaint opens the consultation
    assert pe.answer("E_4") == [True]  # binary, in the record
    assert pe.answer("E_1") == [kb.evidences["E_1"].default] == [0]  # binary, absent: the default
    assert pe.answer("E_8") == [6]  # categorical scale
    assert pe.answer("E_35") == ["V_10"]
    assert pe.answer("E_6") == ["V_2"]
    assert pe.answer("E_9") == [kb.evidences["E_9"].default]  # multi-choice the record does not carry
    # row 13: a multi-choice answer with two values (E_34_@_V_20, E_34_@_V_21)
    nstemi = SimulatedPatient(patients[12], kb)
    assert nstemi.answer("E_34") == ["V_20", "V_21"]
    assert "E_34" in nstemi.positives() and "E_1" not in nstemi.positives()
    # the partial case is the training vignette format, and grows with the answers
    assert pe.vignette() == kb.partial_vignette(59, "M", "E_22", pe.known)
    assert pe.vignette().startswith("A 59-year-old man.\nChief complaint: ")
    full = SimulatedPatient(patients[0], kb)
    for code in kb.group(patients[0].evidences):
        full.answer(code)
    assert full.vignette() == kb.vignette(patients[0])


def test_policy_never_repeats_and_never_asks_a_known_evidence(sample_ddxplus, policy):
    patients, kb = sample_ddxplus
    for patient in patients[:40]:
        sim = SimulatedPatient(patient, kb)
        asked = []
        while True:
            suggestions = policy.rank(sim.known, policy.differential(sim.known), k=3)
            if not suggestions:
                break
            codes = [s.code for s in suggestions]
            assert len(set(codes)) == len(codes) and not set(codes) & set(sim.known)
            for code in codes:  # a follow-up only after its parent was answered positively
                parent = kb.evidences[code].parent
                assert parent is None or (parent in sim.known and sim.known[parent] != [kb.evidences[parent].default])
            assert all(s.score >= 0 and 0 <= s.p_yes <= 1 and s.separates for s in suggestions)
            asked.append(codes[0])
            sim.answer(codes[0])
        assert len(asked) == len(set(asked)) and patient.initial_evidence not in asked
        assert not askable(kb, sim.known)


def test_a_red_flag_raises_the_priority_of_its_separating_question(sample_ddxplus, policy):
    """Two questions: E_22 separates Pulmonary embolism (severity 2, a red flag) from Pneumonia;
    E_15 separates GERD from Influenza (both benign). With PE's share of the differential raised,
    E_22's score rises; with the red-flag weight at 1 it loses that edge."""
    _patients, kb = sample_ddxplus
    names = policy.model.conditions
    known = {"E_2": [True]}

    def scores(p_pe: float, weight: float) -> dict[str, float]:
        p = np.zeros(len(names))
        p[names.index("Pulmonary embolism")], p[names.index("Pneumonia")] = p_pe, 0.3
        p[names.index("GERD")], p[names.index("Influenza")] = 0.35 - p_pe / 2, 0.35 - p_pe / 2
        pol = QuestionPolicy(policy.model, PolicyConfig(red_flag_weight=weight))
        return {s.code: s.score for s in pol.rank(known, p / p.sum(), k=len(kb.evidences))}

    low, high = scores(0.05, 3.0), scores(0.3, 3.0)
    assert high["E_22"] > low["E_22"]
    assert high["E_22"] > high["E_15"] and scores(0.3, 1.0)["E_22"] < high["E_22"]
    suggestion = next(s for s in policy.rank(known, policy.differential(known), k=len(kb.evidences))
                      if s.code == "E_22")
    separated = {s.condition: s for s in suggestion.separates}
    assert separated["Pulmonary embolism"].red_flag and separated["Pulmonary embolism"].if_yes > \
        separated["Pulmonary embolism"].if_no
    french = policy.rank(known, policy.differential(known), k=1, language="fr")[0]
    assert french.question == kb.evidences[french.code].question_fr != kb.evidences[french.code].question


def test_partial_cases_keep_the_chief_complaint_and_are_deterministic(sample_ddxplus):
    patients, kb = sample_ddxplus
    for patient in patients:
        for j in range(3):
            known = partial_evidence(patient, kb, variant_rng(7, patient.id, j))
            assert patient.initial_evidence in known
            assert len(known) < len({*kb.group(patient.evidences), patient.initial_evidence}) or len(known) == 1
            assert all(kb.evidences[c].parent in (None, *known) for c in known)
    first = build_examples("ddxplus", patients, kb, partial=2, seed=7)
    again = build_examples("ddxplus", list(reversed(patients)), kb, partial=2, seed=7)
    assert len(first) == 3 * len(patients)
    by_id = {e["id"]: e for e in again}
    assert all(by_id[e["id"]]["messages"] == e["messages"] for e in first)
    other = build_examples("ddxplus", patients, kb, partial=2, seed=8)
    assert [e["messages"] for e in other] != [e["messages"] for e in first]
    partial = [e for e in first if e["source"] == "ddxplus-partial"]
    for example in partial:
        ranked = parse_differential(example["messages"][2]["content"])
        assert ranked[0][0] == example["target"]  # the truth stays first, with less confidence
        assert "Chief complaint: " in example["messages"][1]["content"]


def test_sft_mixture_decontaminates_before_building_partial_cases(tmp_path):
    import yaml

    from medassist.config import parse_config
    from medassist.errors import MedassistError
    from medassist.sft.config import SFTRunConfig
    from medassist.sft.dataset import build_mixture

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "data": [{"kind": "ddxplus", "path": str(PATIENTS_CSV), "partial": 2}],
        "eval_sets": [{"kind": "ddxplus", "path": str(PATIENTS_CSV)}]}))
    cfg = parse_config(SFTRunConfig, recipe, [])
    assert cfg.data[0].partial == 2
    with pytest.raises(MedassistError, match="no training examples left"):
        build_mixture(cfg, tokenizer=None)  # every training patient is an evaluation patient: none is built


def _report(out) -> dict:
    report = json.loads((out / "report.json").read_text())
    assert (out / "curves.png").stat().st_size > 5000 and "| N | GTPA@1 policy |" in (out / "report.md").read_text()
    return report


def test_interactive_eval_on_the_tiny_model(tiny_model_dir, tmp_path):
    out = tmp_path / "tiny"
    main(["eval", "ddx", "--interactive", "--max-questions", "3", "--limit", "3", "--model", str(tiny_model_dir),
          "--engine", "transformers", "--data", str(PATIENTS_CSV), "--out", str(out), "--max-tokens", "24"])
    report = _report(out)
    assert report["n_patients"] == 3 and report["spec"]["policy_mode"] == "model"
    for arm in ("policy", "random"):
        curves = report["arms"][arm]["curves"]
        assert curves["n"] == [0, 1, 2, 3] and all(0 <= v <= 1 for k in ("gtpa@1", "ddf1", "per") for v in curves[k])
        assert curves["questions"] == sorted(curves["questions"]) and curves["questions"][-1] <= 3
        assert report["arms"][arm]["timing"]["seconds_per_question"] > 0
    rows = [json.loads(line) for line in (out / "consultations_random.jsonl").read_text().splitlines()]
    assert [len(r["questions"]) for r in rows] == [3, 3, 3] and all(len(set(r["questions"])) == 3 for r in rows)
    assert all(len(r["differentials"]) == 4 for r in rows)  # budgets 0..3, each as the model answered it
    # the combined differential (model + KB posterior) is scored next to the model's, full cases included
    assert {"combined_gtpa@1", "combined_ddf1"} <= set(report["arms"]["policy"]["curves"])
    assert {"combined_gtpa@1", "combined_ddf1"} <= set(report["full_evidence"])
    assert "## Combined differential" in (out / "report.md").read_text()
    # scored again from the consultations files alone (no model): the same figures
    (out / "report.json").rename(out / "first-report.json")
    (out / "report.json").write_text((out / "first-report.json").read_text())
    main(["eval", "score", str(out)])
    again, first = json.loads((out / "report.json").read_text()), json.loads((out / "first-report.json").read_text())
    assert again["arms"] == first["arms"] and again["full_evidence"] == first["full_evidence"]
    assert json.loads((out / "rescore-manifest.json").read_text())["kind"] == "eval-ddx-interactive-rescore"


def test_combined_differential_mixes_model_and_knowledge_base(sample_ddxplus, policy):
    """Each row is model_weight x the model's renormalised share + the rest x the KB posterior; an
    unparsed answer (None) or unknown names leave the KB posterior alone; rows above the floor, ranked."""
    patients, kb = sample_ddxplus
    sim = SimulatedPatient(patients[0], kb)
    for code in askable(kb, sim.known)[:3]:
        sim.answer(code)
    posterior = policy.model.posterior(sim.known)
    named = [(kb.condition_names[0], 0.6), (kb.condition_names[1], 0.2), ("not a condition", 0.2)]
    rows = policy.combined(sim.known, named, floor=0.0)
    assert [r.probability for r in rows] == sorted((r.probability for r in rows), reverse=True)
    assert sum(r.probability for r in rows) == pytest.approx(1.0)
    by_name = {r.condition: r for r in rows}
    w = policy.config.model_weight
    for i, name in enumerate(policy.model.conditions):
        share = {kb.condition_names[0]: 0.75, kb.condition_names[1]: 0.25}.get(name, 0.0)  # renormalised
        assert by_name[name].model == pytest.approx(share)
        assert by_name[name].knowledge_base == pytest.approx(posterior[i])
        assert by_name[name].probability == pytest.approx(w * share + (1 - w) * posterior[i])
        assert by_name[name].red_flag == ((kb.severity(name) or 5) <= 2)
    for unusable in (None, [("not a condition", 1.0)]):
        alone = policy.combined(sim.known, unusable)
        assert all(r.model == 0 and r.probability == r.knowledge_base > 0.01 for r in alone)
    assert np.allclose(policy.differential(sim.known, named),
                       [by_name[name].probability for name in policy.model.conditions])


def test_rescoring_refuses_a_changed_data_file(tmp_path, capsys):
    data = tmp_path / "patients.csv"
    data.write_text(PATIENTS_CSV.read_text())
    for name in ("release_conditions.json", "release_evidences.json"):
        (tmp_path / name).write_text((PATIENTS_CSV.parent / name).read_text())
    out = tmp_path / "run"
    main(["eval", "ddx", "--interactive", "--policy-mode", "kb", "--max-questions", "2", "--limit", "5",
          "--no-random-baseline", "--data", str(data), "--out", str(out)])
    main(["eval", "score", str(out)])  # unchanged: scored again
    data.write_text(data.read_text() + "\n")
    with pytest.raises(SystemExit) as exit_code:
        main(["eval", "score", str(out)])
    assert exit_code.value.code == 2 and "patients.csv: changed since the run" in capsys.readouterr().err


def test_kb_only_interactive_eval_beats_random(tmp_path):
    out = tmp_path / "kb"
    main(["eval", "ddx", "--interactive", "--policy-mode", "kb", "--max-questions", "6", "--limit", "40",
          "--data", str(PATIENTS_CSV), "--out", str(out), "--stop-threshold", "0.999"])
    report = _report(out)
    policy, rand = report["arms"]["policy"]["curves"], report["arms"]["random"]["curves"]
    assert report["likelihoods_fitted_on"] == 80
    assert policy["gtpa@1"][0] == rand["gtpa@1"][0]  # the same chief complaint, nothing asked yet
    assert sum(policy["gtpa@1"][1:]) >= sum(rand["gtpa@1"][1:]) and policy["per"][-1] > rand["per"][-1]


def test_no_random_baseline_runs_the_policy_arm_only(tmp_path, capsys):
    """A model run without the random arm (half the calls): its report, table and plot say so."""
    out = tmp_path / "kb-policy-only"
    main(["eval", "ddx", "--interactive", "--policy-mode", "kb", "--max-questions", "4", "--limit", "10",
          "--no-random-baseline", "--data", str(PATIENTS_CSV), "--out", str(out)])
    report = _report(out)
    assert list(report["arms"]) == ["policy"] and not report["spec"]["random_baseline"]
    assert not (out / "consultations_random.jsonl").exists() and (out / "curves.png").is_file()
    assert "| 4 |" in (out / "report.md").read_text() and "not run" in (out / "report.md").read_text()
    assert "(random " not in capsys.readouterr().out  # no baseline figure beside the policy's


def test_random_arm_scored_every_k_questions_matches_the_full_curve(tmp_path, capsys):
    """--random-every 2 asks the same random questions and scores them only at 0, 2, 4 and the budget:
    the same figures there as scoring every step (KB mode, deterministic), without the steps between."""
    runs = {}
    for every in (1, 2):
        out = tmp_path / f"every-{every}"
        main(["eval", "ddx", "--interactive", "--policy-mode", "kb", "--max-questions", "5", "--limit", "12",
              "--random-every", str(every), "--data", str(PATIENTS_CSV), "--out", str(out)])
        runs[every] = _report(out)["arms"]
    sparse, dense = runs[2]["random"]["curves"], runs[1]["random"]["curves"]
    assert sparse["n"] == [0, 2, 4, 5] and dense["n"] == [0, 1, 2, 3, 4, 5]
    for key in ("gtpa@1", "ddf1", "per", "questions"):
        assert sparse[key] == [dense[key][n] for n in sparse["n"]], key
    assert runs[2]["policy"]["curves"] == runs[1]["policy"]["curves"]
    rows = [json.loads(line) for line in (tmp_path / "every-2" / "consultations_random.jsonl").read_text().splitlines()]
    assert all(r["differentials"][1] is None and r["differentials"][2] for r in rows)  # read at 0, 2, 4, 5 only
    table = (tmp_path / "every-2" / "report.md").read_text()
    assert "| 1 |" in table and "not scored" in table
    assert "N=5: GTPA@1" in capsys.readouterr().out
