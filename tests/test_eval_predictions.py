"""``predictions.jsonl`` on a real run folder: answers are stored scrubbed of PHI, scores unchanged."""

from __future__ import annotations

from medassist.eval.predictions import PREDICTIONS, PredictionLog, read_predictions


def test_answers_are_stored_scrubbed(tmp_path):
    log = PredictionLog(tmp_path, {"suite": "ddx", "data": "cases.jsonl"})
    log.append({"id": "case-1", "gold": "Parkinson disease", "latency_s": 0.5,
                "text": "Mr John Carter (MRN 00123456, 555-123-4567): 1. Parkinson disease 2. Essential tremor",
                "error": None})
    log.append({"id": "case-2", "gold": "Sepsis", "text": "", "error": "400: patient Jane Roe, DOB 03/04/1961"})
    stored = (tmp_path / PREDICTIONS).read_text(encoding="utf-8")
    for value in ("John Carter", "00123456", "555-123-4567", "Jane Roe", "03/04/1961"):
        assert value not in stored
    first, second = read_predictions(tmp_path)
    assert first["text"] == "Mr [NAME] (MRN [ID], [PHONE]): 1. Parkinson disease 2. Essential tremor"
    assert first["gold"] == "Parkinson disease" and first["latency_s"] == 0.5
    assert second["error"] == "400: patient [NAME], DOB [DATE]"
