#!/usr/bin/env python3
"""Synthetic data for the embedded demo database (scripts/demo-db).

  demo_seed.py sql            print the clinic schema and seed data (SQL + COPY) on stdout
  demo_seed.py scram FILE     print a SCRAM-SHA-256 verifier for the password in FILE

Every person here is made up: names are drawn from short lists and combined at random,
SSNs use area numbers 900-999 (never issued), phone numbers are 555-01xx (reserved
for fiction), e-mail domains are example.org/.com/.net. The generator is seeded, so
every run produces the same rows.
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


def copy_rows(table, cols, rows):
    out = [f"COPY {table} ({', '.join(cols)}) FROM stdin;"]
    for r in rows:
        out.append("\t".join("\\N" if v is None else str(v) for v in r))
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
    w("ANALYZE providers, patients, encounters;\n")


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
