"""Identifiers from other generators and in other print forms (found by the masking hunt
of 2026-12-06, s43, with Faker's other locales and hand-made format variants; each test
failed before its fix). Each seeds a table no column rule covers (innocent column names)
and reads it back through the gateway five ways (helpers/seeded_ids.py): nothing comes
back in clear. Counts, shapes and hash prefixes only.

- names whose capital is not Latin-1 (Cyrillic, Greek, Latin Extended-A: `Ł`, `Ş`, `Č`):
  the name detector knew capitals up to U+00FF only; names in a script without case after
  a title or a context word (`Patient: `, `Mr. `);
- a Medicare MBI spaced as on the card or in lower case; member, MRN, account and policy
  numbers printed in groups after their label; an SSN or ITIN after a taxpayer label, or
  grouped other than 3-2-4; numbers grouped by `_` (file names); an NPI in groups;
- a date of birth after its label however spelt (`09MAR84`, `84-03-09`);
- a plate, a passport number, a lower-case VIN or one whose check digit is not North
  America's, a hospital's or unit's number, after their labels.

Still open (docs/masking.md): a caseless script's name with no title or context word
around it, dates in other spellings alone in a field (`09MAR84`, `84-03-09`), e-mail addresses with
non-ASCII parts, CIDR suffixes and URLs without a scheme, addresses other than the
patterns' (APO/DPO, grid, a state's full name), a UDI's serial, `S/N`."""
from __future__ import annotations

import random

import pytest
from faker import Faker

from helpers.seeded_ids import READS, h, make_table, probe, read_rows, shape

R = random.Random(43)
C = "ACDEFGHJKMNPQRTUVWXY"
AN = C + "0123456789"


def d(n):
    return "".join(R.choice("0123456789") for _ in range(n))


def _fail_if(leaked, rep, what):
    if any(leaked.values()):
        pytest.fail(f"{what} in clear through the gateway:\n" + rep, pytrace=False)


def test_names_in_other_scripts_are_masked(ring, admin):
    cased, caseless = {}, {}
    for loc in ("ru_RU", "uk_UA", "el_GR", "pl_PL", "tr_TR", "cs_CZ"):
        f = Faker(loc); f.seed_instance(31)
        picked = []
        while len(picked) < 8:
            first, last = f.first_name(), f.last_name()
            # Latin scripts: names that start with a capital past Latin-1 (the defect's case).
            if loc in ("pl_PL", "tr_TR", "cs_CZ") and not (ord(first[0]) > 0xFF or ord(last[0]) > 0xFF):
                continue
            picked.append(f"{first} {last}")
        cased[loc] = picked
    for loc in ("ja_JP", "zh_CN", "ko_KR", "he_IL", "hi_IN"):
        f = Faker(loc); f.seed_instance(31)
        caseless[loc] = [f"{f.first_name()} {f.last_name()}" for _ in range(8)]
    wraps = ("{n}", "Patient: {n}", "Mr. {n} was seen today for follow-up.", "Dr. {n}")
    rows = []
    for ns in cased.values():
        rows += [(n, wraps[i % 4].format(n=n)) for i, n in enumerate(ns)]
    for ns in caseless.values():
        rows += [(wraps[1 + i % 3].format(n=n), wraps[1 + (i + 1) % 3].format(n=n)) for i, n in enumerate(ns)]
    make_table(admin, "gen_people", rows)
    gw = ring.connect("gateway")
    problems = []
    try:
        for how, sql in READS:
            blob = "\x00".join(read_rows(gw, sql.format(t="gen_people"))).casefold()
            for loc, ns in {**cased, **caseless}.items():
                bad = [n for n in ns if any(len(t) >= 2 and t.casefold() in blob for t in n.split())]
                if bad:
                    problems.append(f"  {loc} via {how}: {len(bad)}/{len(ns)} in clear; shapes "
                                    f"{sorted({shape(b) for b in bad})[:2]}; sha256 {[h(b) for b in bad[:2]]}")
    finally:
        gw.close()
    if problems:
        pytest.fail("names in clear through the gateway:\n" + "\n".join(problems), pytrace=False)


def mbi():
    return (str(R.randint(1, 9)) + R.choice(C) + R.choice(AN) + d(1) + R.choice(C) + R.choice(AN) + d(1)
            + R.choice(C) + R.choice(C) + d(1) + d(1))


def test_an_mbi_spaced_or_in_lower_case_is_masked(ring, admin):
    forms = [lambda m: f"{m[:4]} {m[4:7]} {m[7:]}", lambda m: m.lower(), lambda m: f"{m[:4]}-{m[4:7]}-{m[7:]}".lower()]
    labels = ["", "Medicare ID: ", "MBI: ", "Medicare Beneficiary Identifier "]
    rows, secrets = [], []
    for i in range(24):
        v = forms[i % 3](mbi())
        rows.append((v, f"{labels[(i // 3) % 4]}{v}; eligibility verified with CMS."))
        secrets.append(v)
    _fail_if(*probe(ring, admin, "gen_mbi", rows, secrets, "MBI"), "MBIs")


def ssn():
    a = R.randint(1, 899)
    return f"{667 if a == 666 else a:03d}", f"{R.randint(1, 99):02d}", f"{R.randint(1, 9999):04d}"


def luhn(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        n = int(c) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def npi_grouped():
    body = str(R.choice([1, 2])) + d(8)
    full = body + luhn("80840" + body)
    return f"{full[:4]} {full[4:7]} {full[7:]}"


LABELLED = [
    ("Member ID:", lambda: R.choice(["XEH", "JQU", "ZGP"]) + f" {d(3)} {d(3)} {d(3)}"),
    ("Insurance ID:", lambda: R.choice(["XEH", "JQU", "ZGP"]) + " " + d(9)),
    ("MRN:", lambda: f"{d(2)} {d(3)} {d(3)}"),
    ("Account:", lambda: f"{d(4)} {d(4)} {d(4)}"),
    ("Policy #:", lambda: f"{d(3)} {d(3)} {d(3)}"),
    ("Tax ID:", lambda: "".join(ssn())),
    ("TIN:", lambda: "".join(ssn())),
    ("ITIN", lambda: f"9{R.randint(0, 99):02d} {R.choice([70, 78, 88, 94])} {R.randint(0, 9999):04d}"),
    ("soc. sec. #", lambda: "".join(ssn())),
    ("SSN:", lambda: (lambda a, b, c: a + b + "-" + c)(*ssn())),
    ("SSN", lambda: "_".join(ssn())),
    ("tel", lambda: f"{R.randint(201, 989)}_{R.randint(201, 989)}_{d(4)}"),
    ("NPI:", npi_grouped),
    ("Hospital No.", lambda: d(7)),
    ("Unit No.", lambda: "M" + d(6)),
]


def test_ids_printed_in_groups_after_their_label_are_masked(ring, admin):
    rows, secrets = [], []
    for i in range(3 * len(LABELLED)):
        lab, mk = LABELLED[i % len(LABELLED)]
        v = mk()
        rows.append((f"{lab} {v}", f"Registration: {lab} {v} (verified at check-in)."))
        secrets.append(v)
    _fail_if(*probe(ring, admin, "gen_grouped", rows, secrets, "labelled id"), "grouped ids")


def test_vehicle_and_travel_ids_after_their_label_are_masked(ring, admin):
    f = Faker("en_US"); f.seed_instance(61)
    digits = "0123456789X"
    makers = [
        ("License plate:", f.license_plate), ("Plate", f.license_plate), ("Tag #:", f.license_plate),
        ("Passport", f.passport_number),
        ("VIN:", lambda: f.vin().lower()),
        ("VIN:", lambda: (lambda v: v[:8] + digits[(digits.index(v[8]) + 1) % 11] + v[9:])(f.vin())),
        ("", lambda: f.vin().lower()),
    ]
    rows, secrets = [], []
    for i in range(28):
        lab, mk = makers[i % len(makers)]
        v = mk()
        rows.append((f"{lab} {v}".strip(), f"Intake: {lab} {v} recorded by security."))
        secrets.append(v)
    _fail_if(*probe(ring, admin, "gen_vehicle", rows, secrets, "vehicle/travel id", core=lambda s: s.casefold()),
             "vehicle and travel ids")


def test_a_date_of_birth_after_its_label_is_masked_however_spelt(ring, admin):
    """`DOB: 09.03.84`, `09MAR84` (pharmacy and mainframe exports), `1984-Mar-09`, `1984 03
    09`, `84-03-09`: the date detector's forms need the shape alone; after a birth label
    the label says what the digits are. (Alone in a field these spellings are still open.)"""
    import datetime
    mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    forms = [lambda x: f"{x.day:02d}.{x.month:02d}.{x.year % 100:02d}",
             lambda x: f"{x.day:02d}{mon[x.month - 1].upper()}{x.year % 100:02d}",
             lambda x: f"{x.year}-{mon[x.month - 1]}-{x.day:02d}",
             lambda x: f"{x.year} {x.month:02d} {x.day:02d}",
             lambda x: f"{x.year % 100:02d}-{x.month:02d}-{x.day:02d}"]
    labels = ["DOB:", "DOB", "Date of birth:", "born", "Birthdate"]
    rows, secrets = [], []
    for i in range(30):
        x = datetime.date(R.randint(1930, 1999), R.randint(1, 12), R.randint(13, 28))
        v = forms[i % len(forms)](x)
        rows.append((f"{labels[(i // 5) % len(labels)]} {v}", f"DOB: {v}. Identity confirmed with photo ID."))
        secrets.append(v)
    _fail_if(*probe(ring, admin, "gen_dob", rows, secrets, "DOB", core=lambda s: s.casefold()), "dates of birth")
