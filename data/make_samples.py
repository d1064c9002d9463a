"""Regenerate the synthetic DDXPlus-format and PubMed-style samples in ``data/samples/``.

Run ``python -m medassist.data.make_samples``. Everything here is invented for tests and the
demo (no real patients, no real articles); the output is deterministic for a fixed seed, so the
committed files can be re-created byte for byte. The MedQA/MedMCQA/custom samples are
hand-written files and are not produced here.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from xml.sax.saxutils import escape

from medassist.io import atomic_write_json, atomic_write_text

SAMPLES = Path(__file__).resolve().parent / "samples"
SEED = 20261123

# ---------------------------------------------------------------- DDXPlus-format knowledge base
NOWHERE, NA, NO_TRAVEL = "V_8", "V_11", "V_10"

# code -> (question_en, question_fr, data_type, is_antecedent, values {V: (en, fr)} or numeric range)
EVIDENCES: dict[str, tuple] = {
    "E_1": (
        "Do you have a fever (either felt or measured with a thermometer)?",
        "Avez-vous de la fièvre (ressentie ou mesurée)?",
        "B",
        False,
        None,
    ),
    "E_2": ("Do you have a cough?", "Avez-vous de la toux?", "B", False, None),
    "E_3": (
        "Do you cough up coloured or more abundant sputum than usual?",
        "Crachez-vous des expectorations colorées ou plus abondantes?",
        "B",
        False,
        None,
    ),
    "E_4": (
        "Are you experiencing shortness of breath or difficulty breathing?",
        "Êtes-vous essoufflé ou avez-vous de la difficulté à respirer?",
        "B",
        False,
        None,
    ),
    "E_5": (
        "Do you have pain somewhere, related to your reason for consulting?",
        "Avez-vous de la douleur en lien avec votre raison de consultation?",
        "B",
        False,
        None,
    ),
    "E_6": (
        "Do you feel pain somewhere?",
        "Avez-vous mal quelque part?",
        "M",
        False,
        {
            NOWHERE: ("nowhere", "nulle part"),
            "V_1": ("center of the chest", "centre de la poitrine"),
            "V_2": ("side of the chest(L)", "côté du thorax(G)"),
            "V_3": ("side of the chest(R)", "côté du thorax(D)"),
            "V_4": ("ear(L)", "oreille(G)"),
            "V_5": ("ear(R)", "oreille(D)"),
            "V_6": ("epigastric area", "épigastre"),
            "V_7": ("throat", "gorge"),
        },
    ),
    "E_7": (
        "Characterize your pain:",
        "Caractérisez votre douleur:",
        "M",
        False,
        {
            NA: ("NA", "NA"),
            "V_12": ("burning", "une brûlure"),
            "V_13": ("heavy", "une lourdeur"),
            "V_14": ("sharp", "aiguë"),
            "V_15": ("sensitive", "sensible"),
        },
    ),
    "E_8": ("How intense is the pain?", "Quelle est l'intensité de la douleur?", "C", False, list(range(11))),
    "E_9": (
        "Does the pain radiate to another location?",
        "La douleur irradie-t-elle ailleurs?",
        "M",
        False,
        {
            NOWHERE: ("nowhere", "nulle part"),
            "V_16": ("left arm", "bras gauche"),
            "V_17": ("jaw", "mâchoire"),
            "V_18": ("back", "dos"),
        },
    ),
    "E_10": (
        "Is your pain increased when you breathe in deeply?",
        "Votre douleur augmente-t-elle quand vous respirez profondément?",
        "B",
        False,
        None,
    ),
    "E_11": (
        "Do you have wheezing or a whistling sound when you breathe?",
        "Avez-vous une respiration sifflante?",
        "B",
        False,
        None,
    ),
    "E_12": ("Have you been sweating more than usual?", "Transpirez-vous plus que d'habitude?", "B", False, None),
    "E_13": ("Do you feel nauseous or do you feel like vomiting?", "Avez-vous la nausée?", "B", False, None),
    "E_14": (
        "Do you have a sour or bitter taste in your mouth, or food coming back up?",
        "Avez-vous un goût acide dans la bouche ou des régurgitations?",
        "B",
        False,
        None,
    ),
    "E_15": (
        "Are your symptoms worse after eating or when lying down?",
        "Vos symptômes sont-ils pires après les repas ou en position couchée?",
        "B",
        False,
        None,
    ),
    "E_16": ("Do you have diffuse muscle pain?", "Avez-vous des douleurs musculaires diffuses?", "B", False, None),
    "E_17": ("Do you have chills or shivers?", "Avez-vous des frissons?", "B", False, None),
    "E_18": (
        "Have you noticed decreased hearing or fluid coming from your ear?",
        "Avez-vous une baisse d'audition ou un écoulement de l'oreille?",
        "B",
        False,
        None,
    ),
    "E_19": ("Do you have hives or an itchy rash?", "Avez-vous de l'urticaire?", "B", False, None),
    "E_20": (
        "Do you have swelling of the lips, tongue or face?",
        "Avez-vous un gonflement des lèvres, de la langue ou du visage?",
        "B",
        False,
        None,
    ),
    "E_21": (
        "Do you feel lightheaded or have you fainted?",
        "Vous sentez-vous étourdi ou avez-vous perdu connaissance?",
        "B",
        False,
        None,
    ),
    "E_22": (
        "Is one of your calves swollen or painful?",
        "Un de vos mollets est-il enflé ou douloureux?",
        "B",
        False,
        None,
    ),
    "E_23": ("Have you coughed up blood?", "Avez-vous craché du sang?", "B", False, None),
    "E_24": (
        "Do you have a sore throat or a runny nose?",
        "Avez-vous mal à la gorge ou le nez qui coule?",
        "B",
        False,
        None,
    ),
    "E_30": ("Do you smoke cigarettes?", "Fumez-vous la cigarette?", "B", True, None),
    "E_31": (
        "Have you had surgery or been immobilized in the last 4 weeks?",
        "Avez-vous été opéré ou immobilisé au cours des 4 dernières semaines?",
        "B",
        True,
        None,
    ),
    "E_32": (
        "Have you ever been diagnosed with asthma?",
        "Avez-vous déjà reçu un diagnostic d'asthme?",
        "B",
        True,
        None,
    ),
    "E_33": (
        "Have you ever had a severe allergic reaction?",
        "Avez-vous déjà fait une réaction allergique grave?",
        "B",
        True,
        None,
    ),
    "E_34": (
        "Do you have any of these conditions?",
        "Avez-vous l'une de ces conditions?",
        "M",
        True,
        {
            NOWHERE: ("none", "aucune"),
            "V_20": ("high blood pressure", "hypertension"),
            "V_21": ("diabetes", "diabète"),
            "V_22": ("high cholesterol", "hypercholestérolémie"),
        },
    ),
    "E_35": (
        "Have you traveled out of the country in the last 4 weeks?",
        "Avez-vous voyagé hors du pays dans les 4 dernières semaines?",
        "C",
        True,
        {
            NO_TRAVEL: ("N", "N"),
            "V_30": ("Asia", "Asie"),
            "V_31": ("Europe", "Europe"),
            "V_32": ("South America", "Amérique du Sud"),
        },
    ),
    "E_36": ("Does the child attend daycare?", "L'enfant fréquente-t-il une garderie?", "B", True, None),
    "E_37": (
        "Have you been in contact with someone with flu-like symptoms?",
        "Avez-vous été en contact avec une personne grippée?",
        "B",
        True,
        None,
    ),
    "E_38": (
        "Are you taking hormones or oral contraceptives?",
        "Prenez-vous des hormones ou la pilule?",
        "B",
        True,
        None,
    ),
    "E_39": (
        "Have you just been exposed to a new food, medication or insect sting?",
        "Venez-vous d'être exposé à un nouvel aliment, médicament ou piqûre?",
        "B",
        True,
        None,
    ),
    "E_40": (
        "Are you significantly overweight compared to people of your height?",
        "Êtes-vous en surpoids important?",
        "B",
        True,
        None,
    ),
    "E_41": ("Do you have known heart disease?", "Avez-vous une maladie cardiaque connue?", "B", True, None),
}

# name -> (french name, icd10, severity, symptoms, antecedents, core findings, optional findings,
#          initial evidence choices, (age_lo, age_hi))
CONDITIONS: dict[str, tuple] = {
    "Pneumonia": (
        "Pneumonie",
        "J18",
        3,
        ["E_1", "E_2", "E_3", "E_4", "E_5", "E_6", "E_7", "E_8", "E_10", "E_17"],
        ["E_30", "E_35"],
        ["E_1", "E_2", "E_3", "E_17"],
        ["E_4", "E_5|E_6_@_V_3|E_7_@_V_14|E_10", "E_30"],
        ["E_1", "E_2", "E_3"],
        (18, 85),
    ),
    "Pulmonary embolism": (
        "Embolie pulmonaire",
        "I26",
        2,
        ["E_4", "E_5", "E_6", "E_7", "E_8", "E_10", "E_21", "E_22", "E_23"],
        ["E_31", "E_38", "E_40", "E_35"],
        ["E_4", "E_5|E_6_@_V_2|E_7_@_V_14|E_10", "E_22"],
        ["E_21", "E_23", "E_31", "E_38", "E_40"],
        ["E_4", "E_5", "E_22"],
        (25, 80),
    ),
    "Possible NSTEMI / STEMI": (
        "Possible NSTEMI / STEMI",
        "I21",
        1,
        ["E_4", "E_5", "E_6", "E_7", "E_8", "E_9", "E_12", "E_13"],
        ["E_30", "E_34", "E_41"],
        ["E_5|E_6_@_V_1|E_7_@_V_13|E_9_@_V_16", "E_12"],
        ["E_4", "E_13", "E_9_@_V_17", "E_30", "E_34_@_V_20", "E_34_@_V_21", "E_41"],
        ["E_5", "E_12"],
        (40, 90),
    ),
    "GERD": (
        "RGO",
        "K21",
        3,
        ["E_2", "E_5", "E_6", "E_7", "E_8", "E_14", "E_15"],
        ["E_30", "E_40"],
        ["E_5|E_6_@_V_6|E_7_@_V_12", "E_14", "E_15"],
        ["E_2", "E_6_@_V_1", "E_40", "E_30"],
        ["E_5", "E_14"],
        (20, 75),
    ),
    "Bronchospasm / acute asthma exacerbation": (
        "Bronchospasme / Exacerbation aiguë d'asthme",
        "J45",
        3,
        ["E_2", "E_4", "E_11"],
        ["E_32", "E_30", "E_39"],
        ["E_4", "E_11", "E_32"],
        ["E_2", "E_39", "E_30"],
        ["E_4", "E_11"],
        (5, 60),
    ),
    "Influenza": (
        "Influenza",
        "J11.1",
        3,
        ["E_1", "E_2", "E_16", "E_17", "E_24"],
        ["E_37"],
        ["E_1", "E_16", "E_17"],
        ["E_2", "E_24", "E_37"],
        ["E_1", "E_16"],
        (5, 80),
    ),
    "Acute otitis media": (
        "Otite moyenne aiguë (OMA)",
        "H66.90",
        4,
        ["E_1", "E_5", "E_6", "E_7", "E_8", "E_18", "E_24"],
        ["E_36"],
        ["E_5|E_6_@_V_5|E_7_@_V_15", "E_18"],
        ["E_1", "E_24", "E_36", "E_6_@_V_4"],
        ["E_5", "E_18"],
        (1, 12),
    ),
    "Anaphylaxis": (
        "Anaphylaxie",
        "T78.0",
        1,
        ["E_4", "E_11", "E_13", "E_19", "E_20", "E_21"],
        ["E_33", "E_39"],
        ["E_19", "E_20", "E_39"],
        ["E_4", "E_11", "E_13", "E_21", "E_33"],
        ["E_19", "E_20"],
        (5, 70),
    ),
}
# Conditions that share findings, used to fill plausible differentials.
CONFUSERS = {
    "Pneumonia": ["Influenza", "Pulmonary embolism"],
    "Pulmonary embolism": ["Pneumonia", "Possible NSTEMI / STEMI"],
    "Possible NSTEMI / STEMI": ["GERD", "Pulmonary embolism"],
    "GERD": ["Possible NSTEMI / STEMI"],
    "Bronchospasm / acute asthma exacerbation": ["Anaphylaxis", "Pneumonia"],
    "Influenza": ["Pneumonia", "Acute otitis media"],
    "Acute otitis media": ["Influenza"],
    "Anaphylaxis": ["Bronchospasm / acute asthma exacerbation"],
}


def evidences_json() -> dict:
    out = {}
    for code, (q_en, q_fr, dtype, antecedent, values) in EVIDENCES.items():
        numeric = isinstance(values, list)
        meaning = {} if values is None or numeric else {v: {"fr": fr, "en": en} for v, (en, fr) in values.items()}
        default = 0 if values is None or numeric else next(iter(values))
        out[code] = {
            "name": code,
            "code_question": "E_5" if code in ("E_6", "E_7", "E_8", "E_9") else code,
            "question_fr": q_fr,
            "question_en": q_en,
            "is_antecedent": antecedent,
            "default_value": default,
            "value_meaning": meaning,
            "possible-values": values if numeric else list(meaning),
            "data_type": dtype,
        }
    return out


def conditions_json() -> dict:
    return {
        name: {
            "condition_name": name,
            "cond-name-fr": fr,
            "cond-name-eng": name,
            "icd10-id": icd,
            "symptoms": {e: {} for e in symptoms},
            "antecedents": {e: {} for e in antecedents},
            "severity": severity,
        }
        for name, (fr, icd, severity, symptoms, antecedents, *_rest) in CONDITIONS.items()
    }


def _patient(rng: random.Random, name: str) -> dict:
    _fr, _icd, _sev, _sym, _ant, core, optional, initial, (lo, hi) = CONDITIONS[name]
    tokens: list[str] = []
    for group in core:
        if rng.random() < 0.92:
            tokens.extend(group.split("|"))
    tokens.extend(t for group in optional if rng.random() < 0.4 for t in group.split("|"))
    if any(t.startswith("E_5") for t in tokens) and "E_8" in CONDITIONS[name][3]:
        tokens.append(f"E_8_@_{rng.randint(3, 9)}")
    if "E_35" in CONDITIONS[name][4]:
        tokens.append("E_35_@_" + (rng.choice(["V_30", "V_31", "V_32"]) if rng.random() < 0.15 else NO_TRAVEL))
    start = rng.choice([e for e in initial if e in tokens] or initial)
    if start not in tokens:
        tokens.append(start)
    tokens = sorted(set(tokens), key=lambda t: (int(t.split("_")[1]), t))
    others = CONFUSERS[name][: rng.randint(0, len(CONFUSERS[name]))]
    weights = [rng.uniform(0.45, 0.8)] + [rng.uniform(0.05, 0.3) for _ in others]
    total = sum(weights)
    differential = sorted(
        zip([name, *others], (round(w / total, 4) for w in weights), strict=True), key=lambda p: -p[1]
    )
    return {
        "AGE": rng.randint(lo, hi),
        "DIFFERENTIAL_DIAGNOSIS": str([list(p) for p in differential]),
        "SEX": rng.choice("MF") if name != "Possible NSTEMI / STEMI" else rng.choice("MMF"),
        "PATHOLOGY": name,
        "EVIDENCES": str(tokens),
        "INITIAL_EVIDENCE": start,
    }


def patients_csv(rng: random.Random, per_condition: int = 15) -> str:
    import csv
    import io

    rows = [_patient(rng, name) for name in CONDITIONS for _ in range(per_condition)]
    rng.shuffle(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# ---------------------------------------------------------------- PubMed-style abstracts
# topic -> (mesh terms, finding on diagnosis, finding on treatment, risk factor finding,
#           PubMedQA-style question, decision)
TOPICS: dict[str, tuple] = {
    "community-acquired pneumonia": (
        ["Pneumonia, Bacterial", "Streptococcus pneumoniae", "Radiography, Thoracic"],
        "Fever, productive cough and focal crackles with lobar consolidation on chest radiograph identified most "
        "bacterial pneumonias, and Streptococcus pneumoniae was the leading pathogen",
        "early guideline-concordant antibiotics within four hours of arrival reduced 30-day mortality",
        "smoking and age over 65 years doubled the risk of hospitalisation",
        "Does early antibiotic therapy reduce mortality in community-acquired pneumonia?",
        "yes",
    ),
    "pulmonary embolism": (
        ["Pulmonary Embolism", "Venous Thrombosis", "Computed Tomography Angiography"],
        "sudden dyspnea, pleuritic chest pain and a swollen calf predicted pulmonary embolism, and CT pulmonary "
        "angiography confirmed the diagnosis in high-probability patients",
        "direct oral anticoagulants were as effective as warfarin with fewer major bleeds",
        "recent surgery, immobilisation, long-haul travel and oral contraceptives were the main risk factors",
        "Can a normal D-dimer safely exclude pulmonary embolism in patients with low clinical probability?",
        "yes",
    ),
    "acute myocardial infarction": (
        ["Myocardial Infarction", "ST Elevation Myocardial Infarction", "Troponin"],
        "crushing central chest pain radiating to the left arm or jaw with sweating, ST elevation and a rise in "
        "troponin identified acute myocardial infarction",
        "primary percutaneous coronary intervention within 90 minutes improved survival over thrombolysis",
        "smoking, hypertension, diabetes and high cholesterol were independent risk factors",
        "Is high-sensitivity troponin alone sufficient to rule out myocardial infarction at presentation?",
        "maybe",
    ),
    "gastroesophageal reflux disease": (
        ["Gastroesophageal Reflux", "Proton Pump Inhibitors", "Heartburn"],
        "burning epigastric or retrosternal pain after meals and on lying down with regurgitation identified "
        "reflux disease without endoscopy in most patients",
        "an eight-week course of a proton pump inhibitor relieved heartburn in three quarters of patients",
        "obesity and smoking were associated with more frequent reflux symptoms",
        "Is an empiric proton pump inhibitor trial an adequate first step in typical reflux symptoms?",
        "yes",
    ),
    "asthma exacerbation": (
        ["Asthma", "Albuterol", "Bronchial Spasm"],
        "wheezing, breathlessness and reduced peak expiratory flow identified acute asthma exacerbations",
        "inhaled short-acting beta-agonists with early systemic corticosteroids reduced hospital admission",
        "allergen exposure, viral infections and smoking triggered most exacerbations",
        "Do systemic corticosteroids given in the first hour reduce admission in acute asthma?",
        "yes",
    ),
    "influenza": (
        ["Influenza, Human", "Oseltamivir", "Seasons"],
        "abrupt fever, myalgia, chills and cough during the winter season had good predictive value for "
        "laboratory-confirmed influenza",
        "oseltamivir started within 48 hours shortened symptoms by about one day in high-risk adults",
        "household contact with an ill person and lack of vaccination increased infection risk",
        "Does oseltamivir reduce hospitalisation in healthy adults with influenza?",
        "maybe",
    ),
    "acute otitis media": (
        ["Otitis Media", "Amoxicillin", "Child, Preschool"],
        "ear pain, fever and a bulging erythematous tympanic membrane identified acute otitis media in children",
        "amoxicillin for young children with bulging membranes improved symptom resolution compared with "
        "watchful waiting",
        "daycare attendance and recent upper respiratory infection increased the risk in children under three",
        "Should all children over two years with mild acute otitis media receive antibiotics immediately?",
        "no",
    ),
    "anaphylaxis": (
        ["Anaphylaxis", "Epinephrine", "Food Hypersensitivity"],
        "hives, swelling of the lips or tongue, wheezing and hypotension minutes after exposure identified anaphylaxis",
        "intramuscular epinephrine given early was the only treatment associated with fewer fatal reactions",
        "peanut and tree nut allergy and previous severe reactions were the main risk factors",
        "Are antihistamines alone adequate first-line treatment for anaphylaxis?",
        "no",
    ),
    "acute appendicitis": (
        ["Appendicitis", "Abdomen, Acute", "Tomography, X-Ray Computed"],
        "migration of periumbilical pain to the right lower quadrant, anorexia and fever predicted appendicitis",
        "antibiotics alone avoided surgery in most uncomplicated cases, although some patients later needed "
        "appendectomy",
        "young adult age and male sex were associated with higher incidence",
        "Is antibiotic therapy alone an alternative to appendectomy in uncomplicated appendicitis?",
        "maybe",
    ),
    "diabetic ketoacidosis": (
        ["Diabetic Ketoacidosis", "Diabetes Mellitus, Type 1", "Fluid Therapy"],
        "hyperglycaemia, an anion-gap metabolic acidosis and ketonaemia defined diabetic ketoacidosis",
        "early isotonic fluid resuscitation followed by fixed-rate insulin shortened time to resolution",
        "missed insulin doses and infection precipitated most episodes",
        "Does bicarbonate therapy improve outcomes in severe diabetic ketoacidosis?",
        "no",
    ),
    "acute ischemic stroke": (
        ["Stroke", "Tissue Plasminogen Activator", "Thrombectomy"],
        "sudden unilateral weakness, facial droop and speech disturbance identified most strokes, and CT excluded "
        "haemorrhage",
        "intravenous thrombolysis within 4.5 hours and thrombectomy for large vessel occlusion improved "
        "functional independence",
        "atrial fibrillation and hypertension were the strongest modifiable risk factors",
        "Does thrombectomy improve outcome in large vessel occlusion stroke?",
        "yes",
    ),
    "migraine": (
        ["Migraine Disorders", "Tryptamines", "Headache"],
        "unilateral throbbing headache with nausea and photophobia, sometimes after a visual aura, identified migraine",
        "triptans relieved pain at two hours more often than placebo",
        "female sex and family history were associated with migraine",
        "Are triptans effective for acute migraine attacks with aura?",
        "yes",
    ),
    "pyelonephritis": (
        ["Pyelonephritis", "Urinary Tract Infections", "Escherichia coli"],
        "fever, flank pain and costovertebral angle tenderness with pyuria distinguished pyelonephritis from cystitis",
        "a seven-day fluoroquinolone course was non-inferior to fourteen days in women",
        "female sex and urinary obstruction increased risk, and Escherichia coli caused most infections",
        "Is a seven-day antibiotic course sufficient for acute pyelonephritis in women?",
        "yes",
    ),
    "heart failure": (
        ["Heart Failure", "Furosemide", "Natriuretic Peptide, Brain"],
        "orthopnea, leg oedema, raised jugular venous pressure and elevated natriuretic peptides identified acute "
        "heart failure",
        "intravenous loop diuretics relieved congestion and guideline-directed therapy reduced readmission",
        "hypertension and previous myocardial infarction were the most common causes",
        "Does natriuretic peptide testing improve diagnosis of heart failure in acute dyspnea?",
        "yes",
    ),
    "spontaneous pneumothorax": (
        ["Pneumothorax", "Chest Tubes", "Smoking"],
        "sudden pleuritic chest pain with breathlessness and absent breath sounds identified pneumothorax, "
        "confirmed on chest radiograph",
        "conservative observation was acceptable for small primary pneumothorax in stable patients",
        "tall thin young men who smoke had the highest risk",
        "Is needle aspiration as effective as chest tube drainage for primary spontaneous pneumothorax?",
        "maybe",
    ),
    "iron deficiency anemia": (
        ["Anemia, Iron-Deficiency", "Ferritin", "Menorrhagia"],
        "fatigue with microcytic anaemia and low ferritin identified iron deficiency",
        "oral iron on alternate days improved absorption and was better tolerated",
        "heavy menstrual bleeding and gastrointestinal blood loss were the main causes",
        "Is alternate-day oral iron as effective as daily dosing?",
        "yes",
    ),
    "bacterial meningitis": (
        ["Meningitis, Bacterial", "Neisseria meningitidis", "Cerebrospinal Fluid"],
        "fever, neck stiffness, headache and altered mental status were present in most adults, and a petechial "
        "rash suggested meningococcal disease",
        "empirical antibiotics and dexamethasone given before lumbar puncture delays reduced mortality",
        "crowded living conditions such as dormitories increased meningococcal risk",
        "Does adjunctive dexamethasone reduce mortality in bacterial meningitis in adults?",
        "maybe",
    ),
    "gout": (
        ["Gout", "Uric Acid", "Colchicine"],
        "acute monoarthritis of the first metatarsophalangeal joint with urate crystals identified gout",
        "low-dose colchicine or NSAIDs relieved acute flares, and allopurinol prevented recurrences",
        "alcohol, diuretics and high purine diet triggered flares",
        "Should urate-lowering therapy be started during an acute gout flare?",
        "maybe",
    ),
    "atrial fibrillation": (
        ["Atrial Fibrillation", "Anticoagulants", "Stroke"],
        "palpitations with an irregularly irregular pulse and absent P waves on ECG identified atrial fibrillation",
        "oral anticoagulation reduced stroke by about two thirds in patients with risk factors",
        "age, hypertension and heart failure increased the risk of stroke",
        "Is aspirin an adequate substitute for anticoagulation in atrial fibrillation?",
        "no",
    ),
    "tuberculosis": (
        ["Tuberculosis, Pulmonary", "Sputum", "Antitubercular Agents"],
        "chronic cough, night sweats, weight loss and upper lobe cavitation suggested pulmonary tuberculosis, "
        "confirmed by sputum testing",
        "six months of four-drug therapy cured most drug-susceptible cases",
        "birth in an endemic country and HIV infection were the main risk factors",
        "Can a single sputum molecular test replace three smears for diagnosing pulmonary tuberculosis?",
        "yes",
    ),
}
JOURNALS = [
    "J Synth Clin Med",
    "Synthetic Emergency Medicine",
    "Fictional Journal of Internal Medicine",
    "Demo Respiratory Reports",
]
STUDY_KINDS = (
    (
        "Clinical features in the diagnosis of {t}: a prospective cohort",
        "We studied which presenting features identify {t} in a prospective cohort of {n} adults.",
        "diag",
        "Clinical assessment remains central to recognising {t}.",
    ),
    (
        "Treatment outcomes in {t}: a randomised comparison",
        "We compared treatment strategies for {t} in {n} patients across {k} centres.",
        "treat",
        "These findings support current treatment recommendations for {t}.",
    ),
    (
        "Risk factors for {t}: a case-control study",
        "We examined risk factors for {t} in {n} cases and matched controls.",
        "risk",
        "Identifying these risk factors may help target prevention of {t}.",
    ),
)


def abstracts(rng: random.Random) -> list[dict]:
    records = []
    pmid = 99000001
    for topic, (mesh, diag, treat, risk, _q, _d) in TOPICS.items():
        facts = {"diag": diag, "treat": treat, "risk": risk}
        for title, background, kind, conclusion in STUDY_KINDS:
            n, k = rng.randint(120, 2400), rng.randint(2, 12)
            text = (
                f"BACKGROUND: {background.format(t=topic, n=n, k=k)} "
                f"METHODS: Patients were enrolled consecutively and followed for {rng.randint(1, 12)} months. "
                f"RESULTS: {facts[kind][0].upper()}{facts[kind][1:]}. "
                f"CONCLUSIONS: {conclusion.format(t=topic)} This is a synthetic abstract written for software "
                "testing."
            )
            records.append(
                {
                    "pmid": str(pmid),
                    "title": title.format(t=topic).capitalize(),
                    "abstract": text,
                    "year": rng.randint(2008, 2024),
                    "journal": rng.choice(JOURNALS),
                    "mesh": mesh,
                }
            )
            pmid += 1
    return records


def medline_xml(records: list[dict]) -> str:
    """Real MEDLINE structure (PubmedArticleSet/PubmedArticle/MedlineCitation) for a few records."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" '
        '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">',
        "<PubmedArticleSet>",
    ]
    for rec in records:
        sections = [
            s.strip()
            for s in rec["abstract"]
            .replace("METHODS:", "|METHODS:")
            .replace("RESULTS:", "|RESULTS:")
            .replace("CONCLUSIONS:", "|CONCLUSIONS:")
            .split("|")
        ]
        texts = "".join(
            f'<AbstractText Label="{s.split(":", 1)[0]}" NlmCategory="{s.split(":", 1)[0]}">'
            f"{escape(s.split(':', 1)[1].strip())}</AbstractText>"
            for s in sections
        )
        meshes = "".join(
            f'<MeshHeading><DescriptorName UI="D{i:06d}" MajorTopicYN="N">{escape(m)}</DescriptorName></MeshHeading>'
            for i, m in enumerate(rec["mesh"], 1)
        )
        parts.append(
            '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">'
            f'<PMID Version="1">{rec["pmid"]}</PMID><Article PubModel="Print"><Journal>'
            f'<JournalIssue CitedMedium="Print"><PubDate><Year>{rec["year"]}</Year></PubDate></JournalIssue>'
            f"<Title>{escape(rec['journal'])}</Title></Journal><ArticleTitle>{escape(rec['title'])}.</ArticleTitle>"
            f"<Abstract>{texts}</Abstract><Language>eng</Language></Article>"
            f"<MeshHeadingList>{meshes}</MeshHeadingList></MedlineCitation>"
            "<PubmedData><PublicationStatus>ppublish</PublicationStatus><ArticleIdList>"
            f'<ArticleId IdType="pubmed">{rec["pmid"]}</ArticleId></ArticleIdList></PubmedData></PubmedArticle>'
        )
    parts.append("</PubmedArticleSet>")
    return "\n".join(parts) + "\n"


def pubmedqa(rng: random.Random) -> dict:
    out = {}
    for i, (topic, (mesh, diag, treat, risk, question, decision)) in enumerate(TOPICS.items()):
        out[str(98000001 + i)] = {
            "QUESTION": question,
            "CONTEXTS": [
                f"This synthetic study addressed a clinical question about {topic}. {diag[0].upper()}{diag[1:]}.",
                f"In {rng.randint(80, 900)} patients, {treat}; {risk}.",
            ],
            "LABELS": ["BACKGROUND", "RESULTS"],
            "MESHES": mesh,
            "YEAR": str(rng.randint(2008, 2024)),
            "reasoning_required_pred": decision,
            "reasoning_free_pred": decision,
            "final_decision": decision,
            # the conclusion states the finding, as real PubMedQA conclusions do (grounded training cites it)
            "LONG_ANSWER": f"In {topic}, {treat}.",
        }
    return out


def main() -> None:
    rng = random.Random(SEED)
    atomic_write_json(SAMPLES / "ddxplus" / "release_evidences.json", evidences_json())
    atomic_write_json(SAMPLES / "ddxplus" / "release_conditions.json", conditions_json())
    atomic_write_text(SAMPLES / "ddxplus" / "patients_sample.csv", patients_csv(rng))
    records = abstracts(rng)
    atomic_write_text(
        SAMPLES / "pubmed_sample.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    )
    atomic_write_text(SAMPLES / "pubmed_sample.xml", medline_xml(records[::12]))
    atomic_write_json(SAMPLES / "pubmedqa_sample.json", pubmedqa(rng))


if __name__ == "__main__":
    main()
