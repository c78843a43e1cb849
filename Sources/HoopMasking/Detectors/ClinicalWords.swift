/// Capitalised words that are not person names but are missing from the lower-case
/// English list (CommonWords): proper nouns that clinical text capitalises (months,
/// days, languages, states, payers), drug and lab names, specialties, clinical jargon,
/// and eponyms (Parkinson's, Foley, Doppler). NameDetector treats a token in this list
/// like a common word: never a name on its own, though it still joins a name span next
/// to a real candidate only if it is not here (see NameDetector.joinable).
/// Hand-written; extend it when the eval or a site shows a false positive.
enum ClinicalWords {
    static let list = """
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
    christmas easter thanksgiving hanukkah ramadan
    english spanish french german italian portuguese russian chinese mandarin cantonese japanese korean
    vietnamese tagalog arabic hindi urdu bengali punjabi farsi somali haitian creole polish greek hebrew
    american african asian caucasian hispanic latino latina latinx european native indian pacific islander
    christian catholic protestant muslim jewish hindu buddhist baptist methodist lutheran mormon jehovah
    alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii idaho
    illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota
    mississippi missouri montana nebraska nevada hampshire jersey mexico york carolina dakota ohio oklahoma
    oregon pennsylvania rhode tennessee texas utah vermont virginia washington wisconsin wyoming
    america usa canada puerto rico guam
    medicare medicaid tricare aetna cigna humana kaiser anthem bcbs wellcare molina centene optum
    covid sars coronavirus influenza hiv aids mrsa vre cdiff
    nephrology pulmonology rheumatology endocrinology gastroenterology otolaryngology hepatology
    hospitalist hospice telehealth telemedicine urgent ent obgyn peds ortho neuro psych cardio derm
    gyn onc heme pulm renal gi id picc nicu picu pacu icu ccu snf ltac rehab
    postop preop postoperative preoperative perioperative intraoperative periop intraop
    afebrile normotensive hypertensive hypotensive tachycardic bradycardic tachypneic normocephalic
    atraumatic euvolemic hypervolemic hypovolemic ambulating ambulates ambulated nontender nondistended
    dyspnea dyspneic orthopnea hemoptysis hematuria dysuria syncope presyncope vertigo diaphoresis
    hyperlipidemia hypothyroidism hyperthyroidism hyperglycemia hypoglycemia hyponatremia hypokalemia
    hyperkalemia hypercalcemia anemia thrombocytopenia leukocytosis neutropenia sepsis bacteremia
    cellulitis osteomyelitis pyelonephritis cholecystitis pancreatitis diverticulitis appendicitis
    mellitus insipidus hemodynamically hemodynamic nasogastric intravenous subcutaneous sublingual
    afib aflutter chf copd ckd esrd gerd uti dvt cva tia cabg pci stemi nstemi mi htn hld dm
    troponin creatinine bun egfr hba1c ldl hdl tsh bnp inr ptt wbc rbc hgb hct plt mcv ast alt alk
    bilirubin lactate procalcitonin ferritin albumin lipase amylase urinalysis ua cbc bmp cmp abg vbg
    echocardiogram echo ekg ecg eeg emg cxr mri ct cta pet dexa ultrasound doppler holter telemetry
    colonoscopy endoscopy bronchoscopy egd ercp tte tee stress cath
    metformin insulin glipizide glyburide sitagliptin empagliflozin dapagliflozin liraglutide semaglutide
    lisinopril enalapril losartan valsartan amlodipine nifedipine diltiazem verapamil metoprolol
    carvedilol atenolol propranolol labetalol hydralazine clonidine spironolactone furosemide torsemide
    bumetanide hydrochlorothiazide chlorthalidone atorvastatin simvastatin rosuvastatin pravastatin
    aspirin clopidogrel ticagrelor prasugrel warfarin apixaban rivaroxaban dabigatran heparin enoxaparin
    digoxin amiodarone sotalol nitroglycerin isosorbide ranolazine
    acetaminophen tylenol ibuprofen advil motrin naproxen aleve ketorolac toradol tramadol oxycodone
    hydrocodone morphine hydromorphone dilaudid fentanyl methadone buprenorphine suboxone naloxone narcan
    gabapentin pregabalin duloxetine sertraline zoloft fluoxetine prozac citalopram escitalopram lexapro
    paroxetine venlafaxine bupropion wellbutrin mirtazapine trazodone amitriptyline nortriptyline
    quetiapine seroquel olanzapine risperidone aripiprazole haloperidol haldol lithium lamotrigine
    levetiracetam keppra valproate depakote phenytoin carbamazepine topiramate
    lorazepam ativan alprazolam xanax clonazepam klonopin diazepam valium zolpidem ambien melatonin
    omeprazole pantoprazole protonix esomeprazole nexium famotidine pepcid ondansetron zofran
    metoclopramide reglan docusate senna sennosides miralax polyethylene bisacodyl lactulose loperamide
    prednisone prednisolone methylprednisolone dexamethasone hydrocortisone solumedrol
    albuterol ipratropium tiotropium spiriva fluticasone budesonide montelukast singulair advair symbicort
    levothyroxine synthroid allopurinol colchicine tamsulosin flomax finasteride oxybutynin
    amoxicillin augmentin ampicillin penicillin cephalexin keflex cefazolin ceftriaxone cefepime
    piperacillin tazobactam zosyn vancomycin linezolid daptomycin meropenem ertapenem azithromycin
    zithromax doxycycline minocycline ciprofloxacin levofloxacin moxifloxacin bactrim sulfamethoxazole
    trimethoprim nitrofurantoin macrobid metronidazole flagyl clindamycin fluconazole diflucan
    acyclovir valacyclovir oseltamivir tamiflu remdesivir paxlovid
    lantus humalog novolog levemir tresiba ozempic jardiance farxiga januvia trulicity eliquis xarelto
    coumadin plavix lipitor crestor zocor norvasc lasix coreg toprol lopressor
    potassium magnesium phosphate calcium vitamin cholecalciferol ergocalciferol folate thiamine
    cyanocobalamin ferrous multivitamin saline dextrose ringer
    pfizer moderna janssen novavax epipen narcan
    parkinson parkinsons alzheimer alzheimers crohn crohns hodgkin hodgkins cushing cushings addison
    addisons hashimoto hashimotos graves raynaud raynauds wilms barrett barretts kaposi tourette
    asperger huntington huntingtons meniere menieres paget pagets reiter sjogren sjogrens wernicke
    korsakoff buerger horner guillain barre osgood schlatter perthes colles murphy mcburney virchow
    cheyne stokes kussmaul babinski romberg homan homans trendelenburg foley jackson pratt swan ganz
    glasgow apgar braden morse gleason bishop lown killip nyha wells apache sofa qsofa curb
    heimlich valsalva epley dix hallpike phalen tinel lachman mcmurray hoffmann brudzinski kernig
    down downs bell bells lou gehrig gehrigs lyme rocky mountain
    qhs qam qpm qod qid tid prn npo subq sq gtt gtts od os hs ac pc sl iv sc disp
    seq lsn iops dbi vpc kms sqs sns datapoints
    """
    static let set: Set<UInt64> = Set(list.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })

    /// Given names that are also everyday words (so absent from NameLists and present in
    /// CommonWords). They count as a name only with strong evidence: "Grace's", "Dale
    /// will return", "Grace (DOB ...)", ", MD" after. Left out: words that often start a
    /// sentence before a verb ("Will", "May", "Hope is", "Bill was", "Grant was", "Mark").
    static let wordNames: Set<UInt64> = Set("""
    grace dale rose joy ruby pearl dawn iris holly daisy jade
    ray pat sue don guy jack rob sandy sunny rusty penny
    heath glen glenn carol lily violet hazel ivy amber heather ginger
    brook brooke cole hunter mason wade lane reed
    mark lance april crystal bill will may june hope faith summer autumn robin misty candy brandy
    olive jasmine frank grant chase drew rich bob gene bud chuck nick pete terry dean earl
    """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
}
