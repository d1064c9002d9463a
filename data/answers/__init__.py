"""The answer formats: one module per format owns its prompt, the answer form training teaches,
its schema where it has one, and its parser.

- ``mcq``: a lettered multiple-choice question, answered ``Answer: C. <option>``;
- ``pubmedqa_decision``: PubMedQA's yes / no / maybe;
- ``differential``: a patient case, answered with a ranked JSON differential (schema for serving);
- ``citations``: a question over sources labelled ``[PMID]``, answered with the PMIDs it cites.

The builders (training data), the training probes (``sft/callbacks.py``), the gateway and the eval
suites all import from here, so a model is asked as it was trained and every part reads its
answers the same way: the accuracy printed during training is the one ``medassist eval`` reports.
"""
