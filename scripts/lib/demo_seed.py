#!/usr/bin/env python3
"""Synthetic data for the embedded demo database (scripts/demo-db).

  demo_seed.py sql            print the clinic schema and seed data (SQL + COPY) on stdout
  demo_seed.py scram FILE     print a SCRAM-SHA-256 verifier for the password in FILE

Every person here is made up: names are drawn from short lists and combined at random,
SSNs use area numbers 900-999 (never issued), phone numbers are 555-01xx (reserved
for fiction), e-mail domains are example.org/.com/.net. The generator is seeded, so
every run produces the same rows.

Two more tables (issue 13) stand for data no column rule covers, so that only content
detection can mask them (scripts/hoop writes no rule for them, and their column names
match none of its rules):

- legacy_feed: rows as an HL7 v2 import leaves them, ALL UPPER CASE: the name
  "FIRST LAST", an HL7 PID segment ("LAST^FIRST", date YYYYMMDD, address, phone), the
  street, a phone in mixed national formats (US, UK, Mexico, Australia) and the date of
  birth as text MM/DD/YYYY. Names come from the lists below, streets from STREETS;
  phone numbers from ranges kept for fiction where a country has one (US 555-01xx, UK
  020 7946 0xxx and 07700 900xxx, Australia 02 5550 xxxx and 0491 570 xxx); Mexico has
  none, so its numbers are random.
- feed_notes: free text (JSON, CSV, key=value, sentences) carrying payment card
  numbers (Luhn-valid, the main issuer ranges), IBANs (mod-97 valid, GB DE ES FR NL),
  US ABA routing numbers (3-7-1 checksum), NPIs, phones and dates, all random digits
  with valid check digits computed below: none is a real account.

generate_legacy() returns their rows and every identifier they carry, by kind.
"""
import base64
import datetime as dt
import hashlib
import hmac
import os
import random
import sys

SEED = 20240611
N_PATIENTS = 5000
N_ENCOUNTERS = 20000
N_PROVIDERS = 150

FIRST = """Avery Blake Casey Dana Elliot Finley Gray Harper Indigo Jordan Kendall Logan
Morgan Noel Oakley Parker Quinn Reese Sawyer Taylor Umber Val Wren Xen Yael Zion
Ada Bruno Clara Dmitri Elena Felix Greta Hugo Iris Jonah Keira Leo Mara Nico Olive
Pablo Rosa Silas Thea Uma Victor Willa Xavier Yara Zane Amara Bodhi Cleo Dante
Esme Flynn Gemma Hollis Ines Jasper""".split()
LAST = """Abernathy Birchfield Calloway Dunmore Eastwood Fairweather Galloway Hartwell
Ironside Jemison Kettering Lockwood Merriweather Northcott Oakhurst Pemberton
Quimby Redgrave Stillwater Thornbury Underhill Vantongeren Whitlock Yardley
Zellweger Ashcombe Brightwater Coldiron Driscoll Elderidge Fennimore Goodfellow
Holloway Inglewood Juniper Kingsley Larkspur Mayweather Nettleton Orchard Pickering
Quillon Rookwood Saltonstall Tumblewood Upshaw Vickery Wainwright Yelverton Zabriskie""".split()
STREETS = """Maple Oak Cedar Willow Birch Elm Aspen Juniper Hawthorn Chestnut Linden Sycamore
Magnolia Poplar Laurel Spruce Cypress Alder Hickory Walnut""".split()
SUFFIX = ["St", "Ave", "Rd", "Ln", "Dr", "Ct", "Way", "Blvd", "Pl", "Ter"]
# (city, state, zip prefix, area code): real place names, made-up addresses.
PLACES = [
    ("Springfield", "IL", "627", "217"), ("Riverside", "CA", "925", "951"),
    ("Franklin", "TN", "370", "615"), ("Greenville", "SC", "296", "864"),
    ("Madison", "WI", "537", "608"), ("Fairview", "OR", "970", "503"),
    ("Salem", "MA", "019", "978"), ("Georgetown", "TX", "786", "512"),
    ("Clinton", "IA", "527", "563"), ("Arlington", "VA", "222", "703"),
    ("Burlington", "VT", "054", "802"), ("Dayton", "OH", "454", "937"),
]
DOMAINS = ["example.org", "example.com", "example.net"]
PAYERS = ["AET", "BCB", "CIG", "UHC", "HUM", "KPR", "MCR", "MCD"]
DEPARTMENTS = ["Emergency", "Cardiology", "Internal Medicine", "Pediatrics", "Orthopedics",
               "Neurology", "Oncology", "Obstetrics", "Psychiatry", "Pulmonology",
               "Gastroenterology", "Nephrology", "Family Medicine"]
SPECIALTIES = DEPARTMENTS + ["Radiology", "Anesthesiology", "Dermatology"]
DIAGNOSES = [
    ("I10", "essential hypertension"), ("E11.9", "type 2 diabetes without complications"),
    ("J45.909", "uncomplicated asthma"), ("J18.9", "pneumonia"),
    ("N39.0", "urinary tract infection"), ("R07.9", "chest pain"),
    ("M54.50", "low back pain"), ("F32.9", "a depressive episode"),
    ("K21.9", "gastro-esophageal reflux"), ("I48.91", "atrial fibrillation"),
    ("J44.1", "a COPD exacerbation"), ("A09", "gastroenteritis"),
    ("R51.9", "headache"), ("E78.5", "hyperlipidemia"), ("Z00.00", "a routine examination"),
    ("I21.4", "an NSTEMI"), ("N18.30", "chronic kidney disease stage 3"),
    ("G43.909", "migraine"), ("S52.501A", "a fracture of the right radius"),
    ("O80", "an uncomplicated delivery"),
]


def npi(rng):
    """A 10-digit NPI: 9 digits starting 1 or 2, then the Luhn check digit computed
    over the prefix 80840 + those 9 digits (the NPI standard)."""
    base = str(rng.choice("12")) + "".join(str(rng.randrange(10)) for _ in range(8))
    total = 0
    for i, ch in enumerate(reversed("80840" + base)):
        d = int(ch)
        if i % 2 == 0:          # every second digit from the right, check digit excluded
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return base + str((10 - total % 10) % 10)


def copy_field(v):
    """A value in COPY's text format (backslash, tab, newline and CR escaped)."""
    if v is None:
        return "\\N"
    return (str(v).replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def copy_rows(table, cols, rows):
    out = [f"COPY {table} ({', '.join(cols)}) FROM stdin;"]
    for r in rows:
        out.append("\t".join(copy_field(v) for v in r))
    out.append("\\.")
    return "\n".join(out)


def generate():
    rng = random.Random(SEED)
    providers = []
    npis = set()
    for pid in range(1, N_PROVIDERS + 1):
        n = npi(rng)
        while n in npis:
            n = npi(rng)
        npis.add(n)
        providers.append((pid, f"{rng.choice(FIRST)} {rng.choice(LAST)}, MD", n, rng.choice(SPECIALTIES)))

    patients = []
    mrns = rng.sample(range(10_000_000, 100_000_000), N_PATIENTS)
    ssn_serials = rng.sample(range(100 * 100 * 10000), N_PATIENTS)   # unique (area, group, serial)
    epoch = dt.date(1930, 1, 1)
    for i in range(N_PATIENTS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, state, zip3, area = rng.choice(PLACES)
        s = ssn_serials[i]
        ssn = f"{900 + s // 1_000_000 % 100:03d}-{1 + s // 10000 % 99:02d}-{1 + s % 9999:04d}"
        dob = epoch + dt.timedelta(days=rng.randrange(0, 90 * 365))
        patients.append((
            i + 1, f"MRN-{mrns[i]:08d}", first, last, dob.isoformat(), ssn,
            f"{area}-555-01{rng.randrange(100):02d}",
            f"{first.lower()}.{last.lower()}{rng.randrange(1, 100)}@{rng.choice(DOMAINS)}",
            f"{rng.randrange(1, 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIX)}",
            city, state, f"{zip3}{rng.randrange(100):02d}",
            f"{rng.choice(PAYERS)}{rng.randrange(10**8, 10**9)}",
        ))

    encounters = []
    start = dt.datetime(2019, 1, 1, tzinfo=dt.timezone.utc)
    span = 6 * 365 * 24 * 60
    for eid in range(1, N_ENCOUNTERS + 1):
        p = patients[rng.randrange(N_PATIENTS)]
        prov = providers[rng.randrange(N_PROVIDERS)]
        at = start + dt.timedelta(minutes=rng.randrange(span))
        dept = rng.choice(DEPARTMENTS)
        code, dx = rng.choice(DIAGNOSES)
        follow = (at + dt.timedelta(days=rng.randrange(7, 60))).date().isoformat()
        name = f"{p[2]} {p[3]}"
        sentences = [
            f"{name} (DOB {p[4]}, {p[1]}) was seen in {dept} on {at.date().isoformat()} for {dx}.",
            rng.choice([
                f"Patient reached by phone at {p[6]} to confirm symptoms.",
                f"Daughter called from {p[6][:-2]}{rng.randrange(100):02d} asking about {p[2]}'s medication.",
                f"Best contact number is {p[6]}; voicemail is fine.",
            ]),
            rng.choice([
                f"Follow-up with {prov[1]} on {follow}.",
                f"{p[2]} will return on {follow} for repeat labs.",
                f"Discharge summary sent to {p[7]}.",
                f"Lives at {p[8]}, {p[9]}, {p[10]} {p[11]}; transport arranged.",
                f"Insurance {p[12]} verified; SSN on file {p[5]}.",
            ]),
        ]
        if rng.random() < 0.3:
            sentences.append(f"Mr./Ms. {p[3]} denies other complaints.")
        encounters.append((eid, p[0], prov[0], at.strftime("%Y-%m-%d %H:%M:00+00"), dept, code,
                           " ".join(sentences)))
    return providers, patients, encounters


# --- issue 13: a legacy HL7 feed and free-text payment notes, with no column rules ----

LEGACY_SEED = SEED + 13            # their own generator: the three tables above are unchanged
N_LEGACY = 300
N_FEED_NOTES = 300
# The names of the lists above, upper case, without those that are also street names
# (Juniper), so that a name and a street are never the same word.
LEGACY_FIRST = [n.upper() for n in FIRST if n not in STREETS]
LEGACY_LAST = [n.upper() for n in LAST if n not in STREETS]
LEGACY_STREETS = [s.upper() for s in STREETS if s not in FIRST and s not in LAST]
LEGACY_SUFFIX = ["STREET", "ST", "AVE", "AVENUE", "ROAD", "RD", "LANE", "DRIVE", "BLVD", "CT", "WAY"]
LEGACY_UNITS = ["APT {n}", "UNIT {n}", "STE {n}", "#{n}"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def luhn_check_digit(body):
    """The digit that makes body + digit pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:          # doubled: every second digit from the right, check digit excluded
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


# (brand, prefix ranges (low, high: same number of digits), length, print grouping)
CARD_BRANDS = [
    ("visa", [(4, 4)], 16, (4, 4, 4, 4)),
    ("mastercard", [(51, 55), (2221, 2720)], 16, (4, 4, 4, 4)),
    ("amex", [(34, 34), (37, 37)], 15, (4, 6, 5)),
    ("discover", [(6011, 6011), (65, 65)], 16, (4, 4, 4, 4)),
    ("jcb", [(3528, 3589)], 16, (4, 4, 4, 4)),
    ("diners", [(36, 36)], 14, (4, 6, 4)),
]


def digits(rng, n):
    return "".join(str(rng.randrange(10)) for _ in range(n))


def card_number(rng, brand):
    """A Luhn-valid number in the brand's issuer range: random digits, not a real card."""
    _, ranges, length, _ = next(b for b in CARD_BRANDS if b[0] == brand)
    lo, hi = rng.choice(ranges)
    body = str(rng.randint(lo, hi))
    body += digits(rng, length - 1 - len(body))
    return body + luhn_check_digit(body)


def card_text(rng, number, brand):
    """As people write it: contiguous, or in the brand's groups split by spaces or dashes."""
    style = rng.randrange(3)
    if style == 0:
        return number
    groups, at = [], 0
    for g in next(b for b in CARD_BRANDS if b[0] == brand)[3]:
        groups.append(number[at:at + g])
        at += g
    return (" " if style == 1 else "-").join(groups)


def iban_numeric(s):
    """ISO 13616: letters as 10..35, digits as they are."""
    return "".join(str(int(c, 36)) for c in s)


def iban_check(country, bban):
    return f"{98 - int(iban_numeric(bban + country + '00')) % 97:02d}"


def iban_valid(iban):
    return int(iban_numeric(iban[4:] + iban[:4])) % 97 == 1


def es_control(ten):
    """Spain's CCC control digit over 10 digits (weights 1 2 4 8 5 10 9 7 3 6, mod 11)."""
    d = 11 - sum(int(c) * w for c, w in zip(ten, (1, 2, 4, 8, 5, 10, 9, 7, 3, 6))) % 11
    return {11: "0", 10: "1"}.get(d, str(d))


IBAN_COUNTRIES = {"GB": 22, "DE": 22, "ES": 24, "FR": 27, "NL": 18}


def iban_number(rng, country, avoid=frozenset()):
    """A mod-97 valid IBAN of the country's length with a random BBAN (national check
    digits too where the country has them: ES, FR). Bank codes of letters are drawn
    outside `avoid` (words the tests read as names)."""
    def letters(n):
        while True:
            w = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))
            if w not in avoid:
                return w
    if country == "GB":      # bank (4 letters), sort code (6), account (8)
        bban = letters(4) + digits(rng, 14)
    elif country == "DE":    # Bankleitzahl (8), account (10)
        bban = digits(rng, 18)
    elif country == "ES":    # bank (4), branch (4), 2 control digits, account (10)
        bank, branch, acct = digits(rng, 4), digits(rng, 4), digits(rng, 10)
        bban = bank + branch + es_control("00" + bank + branch) + es_control(acct) + acct
    elif country == "FR":    # bank (5), branch (5), account (11), RIB key (2)
        bank, branch, acct = digits(rng, 5), digits(rng, 5), digits(rng, 11)
        bban = bank + branch + acct + f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(acct)) % 97:02d}"
    elif country == "NL":    # bank (4 letters), account (10)
        bban = letters(4) + digits(rng, 10)
    else:
        raise ValueError(country)
    iban = country + iban_check(country, bban) + bban
    assert len(iban) == IBAN_COUNTRIES[country] and iban_valid(iban)
    return iban


def iban_text(rng, iban):
    """Electronic form, or the print form in groups of four."""
    return iban if rng.random() < 0.5 else " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


ABA_PREFIXES = list(range(1, 13)) + list(range(21, 33)) + list(range(61, 73))


def aba_valid(n):
    return len(n) == 9 and sum(int(c) * w for c, w in zip(n, (3, 7, 1) * 3)) % 10 == 0


def aba_routing(rng):
    """A US ABA routing number: a Federal Reserve prefix (01-12, 21-32, 61-72), six
    random digits, and the check digit of the 3-7-1 weights."""
    body = f"{rng.choice(ABA_PREFIXES):02d}" + digits(rng, 6)
    n = body + str(-sum(int(c) * w for c, w in zip(body, (3, 7, 1, 3, 7, 1, 3, 7))) % 10)
    assert aba_valid(n)
    return n


def intl_phone(rng, used):
    """(text as written, national significant number): a phone in one of a feed's mixed
    formats, from the ranges kept for fiction (Mexico has none: random), unique in `used`."""
    while True:
        style = rng.randrange(12)
        if style < 4:        # US: 555-01xx
            area = rng.choice(PLACES)[3]
            line = f"01{rng.randrange(100):02d}"
            nsn = f"{area}555{line}"
            text = [f"+1{nsn}", f"+1-{area}-555-{line}", f"({area})555-{line}", f"{area}.555.{line}"][style]
        elif style < 6:      # UK, London: 020 7946 0xxx
            x = f"0{rng.randrange(1000):03d}"
            nsn = f"207946{x}"
            text = f"+44 20 7946 {x}" if style == 4 else f"020 7946 {x}"
        elif style < 8:      # UK, mobile: 07700 900xxx
            x = f"{rng.randrange(1000):03d}"
            nsn = f"7700900{x}"
            text = f"+44 7700 900{x}" if style == 6 else f"07700 900{x}"
        elif style < 9:      # Mexico
            area = rng.choice(["55", "33", "81"])
            a, b = digits(rng, 4), digits(rng, 4)
            nsn = area + a + b
            text = f"+52 {area} {a} {b}"
        elif style < 11:     # Australia, Sydney: 02 5550 xxxx
            x = digits(rng, 4)
            nsn = f"25550{x}"
            text = f"+61 2 5550 {x}" if style == 9 else f"(02) 5550 {x}"
        else:                # Australia, mobile: 0491 570 006-159
            x = f"{rng.randrange(6, 160):03d}"
            nsn = f"491570{x}"
            text = f"0491 570 {x}" if rng.random() < 0.5 else f"+61 491 570 {x}"
        if nsn not in used:
            used.add(nsn)
            return text, nsn


def legacy_date(rng, lo=dt.date(1930, 1, 1), days=82 * 365):
    while True:
        d = lo + dt.timedelta(days=rng.randrange(days))
        if (d.month, d.day) != (1, 1):     # 1 January is what a masked date becomes
            return d


def us_date(d):
    return d.strftime("%m/%d/%Y")


def long_date(d):
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


# Plain sentences; {who} is the feed's upper-case "FIRST LAST" and a colon, or nothing.
NOTE_SENTENCES = [
    "{who}Paid by card {card}; refund to IBAN {iban}, ABA routing {routing}. Referred by NPI {npi}. "
    "Call back on {phone}. DOB {date}.",
    "{who}Wire returned: IBAN {iban} (routing number {routing}). Card on file {card} to be charged instead. "
    "Prescriber {npi}. Phone {phone}, born {date}.",
    "{who}Card {card} declined twice; asked to pay from {iban} via bank routing {routing}. "
    "Ordering provider NPI {npi}. Reached at {phone} on {date}.",
    "{who}Billing: {card} / {iban} / {routing}. NPI {npi}, tel {phone}, DOB {date}.",
]


def generate_legacy():
    """(legacy_feed rows, feed_notes rows, seeded): `seeded` maps each identifier kind to
    the set of values the rows carry, in the form they were written:

      legacy given name, legacy surname      one upper-case word each (also in notes)
      legacy full name                       "FIRST LAST"
      legacy street                          "4410 WILLOW AVE" (a unit may follow)
      legacy city, legacy ZIP                in the HL7 segment only
      legacy MRN, legacy MRN (bare digits)   "MRN-12345678" and its 8 digits (HL7 PID-3)
      legacy phone, note phone               national significant number, digits only
      legacy DOB (MM/DD/YYYY)                pid_dob
      legacy DOB (HL7 YYYYMMDD)              in the HL7 segment
      note card, note IBAN, note routing,    digits (IBAN: letters and digits) without
      note NPI                               separators
      note date (MM/DD/YYYY), note date (ISO), note date (Month D, YYYY)
    """
    rng = random.Random(LEGACY_SEED)
    seeded = {k: set() for k in (
        "legacy given name", "legacy surname", "legacy full name", "legacy street", "legacy city",
        "legacy ZIP", "legacy MRN", "legacy MRN (bare digits)", "legacy phone", "legacy DOB (MM/DD/YYYY)",
        "legacy DOB (HL7 YYYYMMDD)", "note card", "note IBAN", "note routing", "note NPI", "note phone",
        "note date (MM/DD/YYYY)", "note date (ISO)", "note date (Month D, YYYY)")}
    phones = set()
    legacy = []
    mrns = rng.sample(range(30_000_000, 100_000_000), N_LEGACY)   # above 8-digit dates (YYYYMMDD)
    for i in range(N_LEGACY):
        first, last = rng.choice(LEGACY_FIRST), rng.choice(LEGACY_LAST)
        city, state, zip3, _ = rng.choice(PLACES)
        zip_ = f"{zip3}{rng.randrange(100):02d}"
        street = f"{rng.randrange(1, 9999)} {rng.choice(LEGACY_STREETS)} {rng.choice(LEGACY_SUFFIX)}"
        unit = rng.choice(LEGACY_UNITS).format(n=rng.randrange(1, 40)) if rng.random() < 0.3 else ""
        phone, nsn = intl_phone(rng, phones)
        dob = legacy_date(rng)
        mrn = f"MRN-{mrns[i]:08d}"
        segment = (f"PID|1||{mrn}^^^HOSP^MR||{last}^{first}^||{dob:%Y%m%d}|{rng.choice('FM')}|||"
                   f"{street}^{unit}^{city.upper()}^{state}^{zip_}||{phone}")
        legacy.append((i + 1, f"{first} {last}", us_date(dob), f"{street} {unit}".rstrip(), phone, segment))
        seeded["legacy given name"].add(first)
        seeded["legacy surname"].add(last)
        seeded["legacy full name"].add(f"{first} {last}")
        seeded["legacy street"].add(street)
        seeded["legacy city"].add(city.upper())
        seeded["legacy ZIP"].add(zip_)
        seeded["legacy MRN"].add(mrn)
        seeded["legacy MRN (bare digits)"].add(mrn[4:])
        seeded["legacy phone"].add(nsn)
        seeded["legacy DOB (MM/DD/YYYY)"].add(us_date(dob))
        seeded["legacy DOB (HL7 YYYYMMDD)"].add(f"{dob:%Y%m%d}")

    avoid = set(LEGACY_FIRST) | set(LEGACY_LAST)
    notes, npis = [], set()
    forms = ["json", "csv", "kv", "sentence"]
    seen_forms = set()
    for nid in range(1, N_FEED_NOTES + 1):
        row = legacy[rng.randrange(N_LEGACY)]
        brand = rng.choice(CARD_BRANDS)[0]
        country = rng.choice(sorted(IBAN_COUNTRIES))
        card = card_number(rng, brand)
        iban = iban_number(rng, country, avoid)
        routing = aba_routing(rng)
        n = npi(rng)
        while n in npis:
            n = npi(rng)
        npis.add(n)
        phone, nsn = intl_phone(rng, phones)
        d = legacy_date(rng)
        form = forms[rng.randrange(len(forms))]
        seen_forms.add((form, brand))
        seen_forms.add((form, country))
        date_form = rng.choice(["MM/DD/YYYY", "ISO", "Month D, YYYY"] if form == "sentence" else
                               ["MM/DD/YYYY"] if form == "json" else ["MM/DD/YYYY", "ISO"])
        date = {"MM/DD/YYYY": us_date(d), "ISO": d.isoformat(), "Month D, YYYY": long_date(d)}[date_form]
        c, b = card_text(rng, card, brand), iban_text(rng, iban)
        if form == "json":
            note = (f'{{"card":"{c}","iban":"{b}","routing":"{routing}","prescriber":"{n}",'
                    f'"tel":"{phone}","dob":"{date}"}}')
        elif form == "csv":
            head = "card,iban,routing,prescriber_npi,tel,dob\n" if rng.random() < 0.5 else ""
            note = f"{head}{c},{b},{routing},{n},{phone},{date}"
        elif form == "kv":
            note = f"card={c};iban={b};routing={routing};npi={n};tel={phone};dob={date}"
        else:
            who = f"{row[1]}: " if rng.random() < 0.5 else ""
            note = rng.choice(NOTE_SENTENCES).format(who=who, card=c, iban=b, routing=routing, npi=n,
                                                     phone=phone, date=date)
        notes.append((nid, row[0], note))
        seeded["note card"].add(card)
        seeded["note IBAN"].add(iban)
        seeded["note routing"].add(routing)
        seeded["note NPI"].add(n)
        seeded["note phone"].add(nsn)
        seeded[f"note date ({date_form})"].add(date)
    # Every form carries every card brand and IBAN country (the seed is fixed: this
    # holds or fails the same way on every run).
    assert len(seen_forms) == len(forms) * (len(CARD_BRANDS) + len(IBAN_COUNTRIES)), "seed misses a combination"
    # No word of the notes' own text is a name the tests look for.
    words = {w.upper() for t in NOTE_SENTENCES for w in t.replace("{", " ").replace("}", " ").split()}
    assert not words & avoid
    return legacy, notes, seeded


LEGACY_SCHEMA = """
CREATE TABLE legacy_feed (
    id           integer PRIMARY KEY,
    pid_name     text NOT NULL,
    pid_dob      text,
    pid_addr     text,
    pid_phone    text,
    raw_segment  text NOT NULL
);
CREATE TABLE feed_notes (
    id         integer PRIMARY KEY,
    legacy_id  integer REFERENCES legacy_feed(id),
    note       text NOT NULL
);
"""


SCHEMA = """
CREATE TABLE providers (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    npi         char(10) NOT NULL UNIQUE,
    specialty   text NOT NULL
);
CREATE TABLE patients (
    id            integer PRIMARY KEY,
    mrn           text NOT NULL UNIQUE,
    first_name    text NOT NULL,
    last_name     text NOT NULL,
    date_of_birth date NOT NULL,
    ssn           text NOT NULL,
    phone         text,
    email         text,
    street        text,
    city          text,
    state         char(2),
    zip           text,
    insurance_id  text
);
CREATE TABLE encounters (
    id              integer PRIMARY KEY,
    patient_id      integer NOT NULL REFERENCES patients(id),
    provider_id     integer REFERENCES providers(id),
    admitted_at     timestamptz NOT NULL,
    department      text NOT NULL,
    diagnosis_code  text NOT NULL,
    note            text NOT NULL
);
"""


def sql():
    providers, patients, encounters = generate()
    w = sys.stdout.write
    w("SET client_min_messages = warning;\n" + SCHEMA + "\n")
    w(copy_rows("providers", ["id", "name", "npi", "specialty"], providers) + "\n")
    w(copy_rows("patients", ["id", "mrn", "first_name", "last_name", "date_of_birth", "ssn", "phone",
                             "email", "street", "city", "state", "zip", "insurance_id"], patients) + "\n")
    w(copy_rows("encounters", ["id", "patient_id", "provider_id", "admitted_at", "department",
                               "diagnosis_code", "note"], encounters) + "\n")
    w("CREATE INDEX encounters_patient_id ON encounters (patient_id);\n")
    w("CREATE INDEX patients_last_name ON patients (last_name);\n")
    legacy, notes, _ = generate_legacy()
    w(LEGACY_SCHEMA + "\n")
    w(copy_rows("legacy_feed", ["id", "pid_name", "pid_dob", "pid_addr", "pid_phone", "raw_segment"], legacy) + "\n")
    w(copy_rows("feed_notes", ["id", "legacy_id", "note"], notes) + "\n")
    w("ANALYZE providers, patients, encounters, legacy_feed, feed_notes;\n")


def scram(path):
    """SCRAM-SHA-256 verifier (RFC 7677, PostgreSQL's format), computed here so the
    clear password never reaches the server or its logs."""
    with open(path, encoding="utf-8") as f:
        password = f.read().strip().encode()
    salt, iterations = os.urandom(16), 4096
    salted = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda b: base64.b64encode(b).decode()
    print(f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored)}:{b64(server)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["sql"]:
        sql()
    elif sys.argv[1:2] == ["scram"] and len(sys.argv) == 3:
        scram(sys.argv[2])
    else:
        sys.exit(__doc__)
