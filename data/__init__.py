"""medassist.data: loaders, validation, cleaning, PHI scrubbing, prompts, instruction builders and
splits for MedQA, MedMCQA, PubMedQA, DDXPlus, PubMed abstracts and a user's own CSV/JSONL.

Heavy libraries (datasets, scikit-learn) are imported only where they are used.
"""

from medassist.data.builders import build_examples, custom_example, ddx_example, mcq_example, pubmedqa_example
from medassist.data.clean import comparison_key, decontaminate, deduplicate, item_text, normalise_whitespace
from medassist.data.custom import load_custom
from medassist.data.ddxplus import DDXPlusKB, iter_patients, load_ddxplus, load_kb
from medassist.data.formats import FORMATS, label_of, load
from medassist.data.medqa import load_medmcqa, load_medqa
from medassist.data.phi import PHIFilter, scrub
from medassist.data.pubmed import iter_pubmed
from medassist.data.pubmedqa import load_pubmedqa
from medassist.data.records import Abstract, CustomItem, DDXPatient, MCQItem, PubMedQAItem, to_dataset
from medassist.data.split import class_balanced, stratified_split
from medassist.data.validation import Problem, Problems
from medassist.resources import packaged

SAMPLES = packaged("medassist.data", "samples")

__all__ = [
    "FORMATS", "SAMPLES", "Abstract", "CustomItem", "DDXPatient", "DDXPlusKB", "MCQItem", "PHIFilter", "Problem",
    "Problems", "PubMedQAItem", "build_examples", "class_balanced", "comparison_key", "custom_example",
    "ddx_example", "decontaminate", "deduplicate", "item_text", "iter_patients", "iter_pubmed", "label_of", "load",
    "load_custom", "load_ddxplus", "load_kb", "load_medmcqa", "load_medqa", "load_pubmedqa", "mcq_example",
    "normalise_whitespace", "pubmedqa_example", "scrub", "stratified_split", "to_dataset",
]
