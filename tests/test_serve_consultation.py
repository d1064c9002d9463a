"""/v1/diagnose consultations (issue 18) and attribution (issue 19.1) against a live gateway: the
real tiny tuned model on the local engine, the packaged sample knowledge base (the server's default
``ddx_kb``/``ddx_patients``, the same files as ``sample_ddxplus``). Its own gateway, without an
index, with room for a few differential rows: the few-step model fills every rationale to its
200-character limit (~300 tokens a row), past the shared server's cap."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from medassist.data.consultation import SimulatedPatient, is_positive
from medassist.data.ddxplus import DDXPlusKB
from tests.fixtures.serve import gateway

MUST_NOT_MISS = 2  # DDXPlus severity 1-2


@pytest.fixture(scope="module")
def ddx_server(tiny_model_dir, tuned_adapter_dir, tmp_path_factory):
    args = ["--engine", "local", "--model", str(tiny_model_dir), "--adapter", str(tuned_adapter_dir),
            "--limits.max_tokens_cap", "800"]
    with gateway(args, tmp_path_factory.mktemp("serve-ddx") / "gateway.log") as server:
        yield server


@pytest.fixture(scope="module")
def http(ddx_server):
    with httpx.Client(base_url=ddx_server.url, timeout=300,
                      headers={"Authorization": f"Bearer {ddx_server.api_key}"}) as session:
        yield session


def wire(kb: DDXPlusKB, code: str, values: list[Any]) -> list[Any]:
    """An answer as a client sends it: binary evidences as [true]/[false]."""
    return [is_positive(kb, code, values)] if kb.evidences[code].data_type == "B" else list(values)


def consultation(sim: SimulatedPatient) -> dict[str, Any]:
    p, kb = sim.patient, sim.kb
    return {"age": p.age, "sex": p.sex, "chief_complaint": p.initial_evidence,
            "answers": {c: wire(kb, c, v) for c, v in sim.known.items() if c != p.initial_evidence}}


def diagnose(http: httpx.Client, **body: Any) -> dict[str, Any]:
    reply = http.post("/v1/diagnose", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def assert_rows_match_kb(rows: list[dict[str, Any]], kb: DDXPlusKB) -> None:
    for row in rows:
        severity = kb.severity(kb.normalise_condition(row["condition"]) or "")
        assert row["severity"] == severity
        assert row["must_not_miss"] == (severity is not None and severity <= MUST_NOT_MISS)


def test_three_question_consultation(http, sample_ddxplus) -> None:
    """Start from the chief complaint, take the first suggestion, answer it from the record, three times."""
    patients, kb = sample_ddxplus
    patient = max(patients, key=lambda p: len(p.evidences))
    sim = SimulatedPatient(patient, kb)
    asked: list[str] = []
    for _ in range(3):
        body = diagnose(http, consultation=consultation(sim), next_questions=4, max_conditions=2)
        assert body["case"] == sim.vignette()  # the server rendered what the record says so far
        assert body["differential"] and all(row["condition"] in kb.conditions for row in body["differential"])
        assert_rows_match_kb(body["differential"], kb)
        codes = [q["code"] for q in body["next_questions"]]
        assert len(codes) == 4 and len(set(codes)) == 4
        assert not set(codes) & set(sim.known), "a suggestion asks what is already known"
        for q in body["next_questions"]:
            evidence = kb.evidences[q["code"]]
            assert q["question"] == evidence.question and q["type"] == evidence.data_type
            assert q["options"] == evidence.options and 0 <= q["p_yes"] <= 1 and q["score"] >= 0
        first = codes[0]
        assert first not in asked
        asked.append(first)
        sim.answer(first)
    assert len(set(asked)) == 3


def test_skipped_questions_stay_unknown_and_are_not_suggested_again(http, sample_ddxplus) -> None:
    """Skipping the two best questions: the case the model reads is unchanged (a skipped question is
    not a "no"), and the next suggestions are the ones that followed them."""
    patients, kb = sample_ddxplus
    sim = SimulatedPatient(max(patients, key=lambda p: len(p.evidences)), kb)
    first = diagnose(http, consultation=consultation(sim), next_questions=5, max_conditions=2)
    codes = [q["code"] for q in first["next_questions"]]
    skipped = diagnose(http, consultation={**consultation(sim), "skipped": codes[:2]}, next_questions=3,
                       max_conditions=2)
    assert skipped["case"] == first["case"]
    later = [q["code"] for q in skipped["next_questions"]]
    assert not set(later) & set(codes[:2])
    assert later == codes[2:5]  # the same differential, so the same ranking without the skipped two


def test_french_questions_and_red_flags_in_separates(http, sample_ddxplus) -> None:
    """A chief complaint of anaphylaxis (severity 1): the suggestions say which conditions they separate,
    and the dangerous ones are marked."""
    _, kb = sample_ddxplus
    body = diagnose(http, consultation={"age": 30, "sex": "F", "chief_complaint": "E_20", "answers": {"E_19": [True]}},
                    next_questions=3, language="fr", max_conditions=2)
    separated = [s for q in body["next_questions"] for s in q["separates"]]
    assert separated and any(s["red_flag"] for s in separated)
    for s in separated:
        assert s["red_flag"] == (kb.severity(s["condition"]) <= MUST_NOT_MISS)
        assert 0 <= s["if_yes"] <= 1 and 0 <= s["if_no"] <= 1
    for q in body["next_questions"]:
        assert q["question"] == kb.evidences[q["code"]].question_fr
        assert q["options"] == kb.evidences[q["code"]].options_in("fr")


def test_french_answer_labels(http, sample_ddxplus) -> None:
    """Pain as the chief complaint: its follow-ups (where, what kind) are offered with French answers."""
    _, kb = sample_ddxplus
    body = diagnose(http, consultation={"age": 50, "sex": "M", "chief_complaint": "E_5"}, next_questions=10,
                    language="fr", max_conditions=2)
    follow_ups = [q for q in body["next_questions"] if kb.evidences[q["code"]].parent == "E_5"]
    assert follow_ups, [q["code"] for q in body["next_questions"]]
    for q in follow_ups:
        french = kb.evidences[q["code"]].values_fr
        assert q["options"] and all(o["label"] == french[o["value"]] == o["label_fr"] for o in q["options"])
    english = {o["value"]: o["label"] for q in follow_ups for o in kb.evidences[q["code"]].options}
    assert any(o["label"] != english[o["value"]] for q in follow_ups for o in q["options"])


def test_consultation_differential_is_over_the_knowledge_base(http, sample_ddxplus) -> None:
    """A consultation's differential names the knowledge base's conditions, each with its severity and
    must_not_miss as the knowledge base says (the few-step tiny model names what it names: which
    conditions it picks is not asserted)."""
    _, kb = sample_ddxplus
    for chief in ("E_20", "E_22"):
        rows = diagnose(http, consultation={"chief_complaint": chief}, max_conditions=2)["differential"]
        assert rows and all(r["condition"] in kb.conditions and r["severity"] is not None for r in rows)
        assert_rows_match_kb(rows, kb)
        assert all(r["attribution"] is None for r in rows)  # not asked for


def test_combined_differential_is_the_models_mixed_with_the_posterior(http, sample_ddxplus) -> None:
    """A consultation's combined_differential: each row model_weight x the model's renormalised share plus
    the rest x the knowledge base's posterior, the latter equal to the in-process EvidenceModel's fitted
    on the same (packaged sample) patients; ranked, above 1%, severity from the knowledge base. A
    free-text case has none."""
    from medassist.serve.config import ServeConfig
    from medassist.serve.knowledge import DiagnosticKB

    patients, kb = sample_ddxplus
    settings = ServeConfig()
    ddx = DiagnosticKB.load(settings.ddx_kb, settings.ddx_patients)
    sim = SimulatedPatient(patients[3], kb)
    for code in sorted(sim.positives())[:2]:
        sim.answer(code)
    body = diagnose(http, consultation=consultation(sim), max_conditions=2)
    rows = body["combined_differential"]
    posterior = dict(zip(ddx.model.conditions, ddx.model.posterior(sim.known), strict=True))
    stated = {kb.normalise_condition(r["condition"]): r["probability"] for r in body["differential"]}
    total = sum(p for name, p in stated.items() if name)
    w = ddx.policy.config.model_weight
    assert rows and [r["probability"] for r in rows] == sorted((r["probability"] for r in rows), reverse=True)
    for row in rows:
        share = stated.get(row["condition"], 0.0) / total if total else 0.0
        assert row["knowledge_base"] == pytest.approx(posterior[row["condition"]], abs=1e-4)
        assert row["model"] == pytest.approx(share, abs=1e-4)
        assert row["probability"] == pytest.approx(w * share + (1 - w) * posterior[row["condition"]], abs=2e-4)
        assert row["probability"] > 0.01
    assert_rows_match_kb(rows, kb)
    named = {r["condition"] for r in rows if r["model"] > 0}
    assert named >= {name for name, p in stated.items() if name and p / total * w > 0.01}  # none lost
    free_text = diagnose(http, case="A 60-year-old man.\nChief complaint: chest pain.", max_conditions=1)
    assert free_text["combined_differential"] is None


def test_must_not_miss_is_severity_one_or_two(sample_ddxplus) -> None:
    """The server's knowledge base (DiagnosticKB, on the packaged sample files it loads by default) marks
    the emergencies, whichever name the model gives them."""
    from medassist.serve.config import ServeConfig
    from medassist.serve.knowledge import DiagnosticKB

    settings = ServeConfig()
    ddx = DiagnosticKB.load(settings.ddx_kb, settings.ddx_patients)
    for name, severity in (("Anaphylaxis", 1), ("heart attack", 1), ("pulmonary embolus", 2), ("Pneumonia", 3),
                           ("Acute otitis media", 4), ("sprained ankle", None)):
        assert ddx.severity(name) == severity
        assert ddx.must_not_miss(severity) == (severity is not None and severity <= MUST_NOT_MISS)


def test_free_text_case_rows_carry_severity_when_known(http, sample_ddxplus) -> None:
    _, kb = sample_ddxplus
    body = diagnose(http, case="A 60-year-old man.\nChief complaint: chest pain.", max_conditions=1)
    assert body["case"] == "A 60-year-old man.\nChief complaint: chest pain."
    assert body["next_questions"] == []
    assert_rows_match_kb(body["differential"], kb)


def test_attribution_for_every_condition_equals_the_in_process_scorer(http, sample_ddxplus, tiny_model_dir,
                                                                      tuned_adapter_dir) -> None:
    """attribution: true explains every listed condition, with the weights leave-one-finding-out gives
    when the same model scores the same prompt in this process."""
    from medassist.data.attribution import attribute
    from medassist.models.condition_scorer import ConditionScorer

    patients, kb = sample_ddxplus
    sim = SimulatedPatient(patients[0], kb)
    for code in list(sim.record)[:3]:
        sim.answer(code)
    body = diagnose(http, consultation=consultation(sim), attribution=True, max_conditions=2)
    rows = body["differential"]
    assert rows and all(row["attribution"] is not None for row in rows)
    expected = attribute(body["case"], [r["condition"] for r in rows],
                         ConditionScorer.load(str(tiny_model_dir), adapter=str(tuned_adapter_dir)))
    for row, want in zip(rows, expected.conditions, strict=True):
        got = row["attribution"]
        assert set(got) == {"for", "against", "explanation"}
        want = want.to_dict()
        weights = {f["text"]: f["weight"] for f in got["for"] + got["against"]}
        assert weights.keys() == {f["text"] for f in want["for"] + want["against"]}
        for finding in want["for"] + want["against"]:
            assert weights[finding["text"]] == pytest.approx(finding["weight"], abs=2e-3)
        assert all(f["weight"] > 0 for f in got["for"]) and all(f["weight"] < 0 for f in got["against"])
        assert got["explanation"] == want["explanation"] or not got["explanation"]


@pytest.mark.parametrize(("name", "body", "param", "needle"), [
    ("both", {"case": "fever", "consultation": {"chief_complaint": "E_1"}}, None, "both"),
    ("neither", {"max_conditions": 2}, None, "neither"),
    ("unknown code", {"consultation": {"chief_complaint": "E_1", "answers": {"E_999": [True]}}},
     "consultation.answers.E_999", "unknown evidence code"),
    ("unknown value", {"consultation": {"chief_complaint": "E_1", "answers": {"E_35": ["V_999"]}}},
     "consultation.answers.E_35", "unknown value"),
    ("binary not a bool", {"consultation": {"chief_complaint": "E_1", "answers": {"E_2": ["yes"]}}},
     "consultation.answers.E_2", "[true] or [false]"),
    ("unknown chief complaint", {"consultation": {"chief_complaint": "E_999"}}, "consultation.chief_complaint",
     "unknown evidence code"),
    ("next_questions without consultation", {"case": "fever", "next_questions": 2}, None, "needs consultation"),
    ("too many questions", {"consultation": {"chief_complaint": "E_1"}, "next_questions": 11}, "next_questions",
     "10"),
    ("language", {"consultation": {"chief_complaint": "E_1"}, "language": "de"}, "language", "en"),
    ("unknown skipped code", {"consultation": {"chief_complaint": "E_1", "skipped": ["E_2", "E_999"]}},
     "consultation.skipped[1]", "unknown evidence code"),
    ("answered and skipped", {"consultation": {"chief_complaint": "E_1", "answers": {"E_2": [True]},
                                               "skipped": ["E_2"]}}, "consultation.skipped[0]", "answered or skipped"),
    ("attribution on free text", {"case": "fever and cough", "attribution": True}, "case", "case_vignette"),
])
def test_bad_consultations_are_400s_naming_the_field(http, name, body, param, needle) -> None:
    reply = http.post("/v1/diagnose", json=body)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and needle in error["message"]
    if param:
        assert error["param"] == param


def test_evidences_route_lists_the_knowledge_base(http, ddx_server, sample_ddxplus) -> None:
    patients, kb = sample_ddxplus
    reply = http.get("/v1/diagnose/evidences")
    assert reply.status_code == 200
    body = reply.json()
    assert body["object"] == "list" and [e["code"] for e in body["data"]] == list(kb.evidences)
    by_code = {e["code"]: e for e in body["data"]}
    assert {c for c, e in by_code.items() if e["chief_complaint"]} == {p.initial_evidence for p in patients}
    pain_where = by_code["E_6"]
    assert pain_where["type"] == "M" and pain_where["parent"] == "E_5" and pain_where["default"] == "V_8"
    centre = {"value": "V_1", "label": "center of the chest", "label_fr": "centre de la poitrine"}
    assert centre in pain_where["options"]
    assert by_code["E_1"]["options"] == [] and by_code["E_1"]["default"] is False
    assert by_code["E_30"]["is_antecedent"] and by_code["E_1"]["question_fr"]
    assert httpx.get(ddx_server.url + "/v1/diagnose/evidences", timeout=30).status_code == 401


def test_openapi_documents_the_consultation_api(http) -> None:
    schema = http.get("/openapi.json").json()
    assert "/v1/diagnose/evidences" in schema["paths"]
    models = schema["components"]["schemas"]
    assert {"consultation", "next_questions", "language", "attribution"} <= set(models["DiagnoseRequest"]["properties"])
    assert {"answers", "skipped"} <= set(models["Consultation"]["properties"])
    assert {"severity", "must_not_miss", "attribution"} <= set(models["RankedCondition"]["properties"])
    assert {"case", "next_questions", "combined_differential"} <= set(models["DiagnoseResponse"]["properties"])
    assert {"model", "knowledge_base", "must_not_miss"} <= set(models["CombinedCondition"]["properties"])
    assert "for" in models["FindingsAttribution"]["properties"]
