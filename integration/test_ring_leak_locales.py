"""Identifiers as other locales' generators write them (each test failed before its fix):
seeded into a table no column rule covers and read back through the gateway several ways
(helpers/seeded_ids.py); nothing comes back in clear. Values are generated (Faker's
locales, random dates and digits), never hand-picked; reports carry counts, shapes and
hash prefixes only.

- dates whose day is an ordinal word or follows its month ("the fourteenth of March
  1961", "March the 14th, 1961"), and whole dates with a named month in a short field in
  English, German, French and Spanish;
- e-mail addresses with a space on either side of the at sign;
- local phone numbers of 6-9 digits right after a phone's label, and Brazilian and
  Japanese numbers with a two-digit area code;
- street addresses of de_DE, de_AT, nl_NL, da_DK, pl_PL, fr_FR and it_IT;
- national identity numbers of Korea, China, Spain (DNI, NIE), France (Corsica's NIR),
  Mexico (RFC) and Poland (PESEL after its name).
"""
from __future__ import annotations

import random

import pytest
from faker import Faker

from helpers.seeded_ids import probe
from test_ring_leak_spellings import MONTH, _date as _any_date, _fail_if

R = random.Random(61)
ORD = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
       "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
       "twentieth", "twenty-first", "twenty-second", "twenty-third", "twenty-fourth", "twenty-fifth", "twenty-sixth",
       "twenty-seventh", "twenty-eighth"]
SUFFIX = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd"}


DATE_FORMS = [
    lambda x: (f"the {ORD[x.day - 1]} of {MONTH[x.month - 1]} {x.year}", f"{ORD[x.day - 1]} of {MONTH[x.month - 1]} {x.year}"),
    lambda x: (f"{MONTH[x.month - 1]} the {x.day}{SUFFIX.get(x.day, 'th')}, {x.year}", f"{MONTH[x.month - 1]} the {x.day}{SUFFIX.get(x.day, 'th')}, {x.year}"),
    lambda x: (f"{MONTH[x.month - 1]} {ORD[x.day - 1]}, {x.year}", f"{MONTH[x.month - 1]} {ORD[x.day - 1]}, {x.year}"),
    lambda x: (f"on {x.day} {MONTH[x.month - 1]} {x.year}", f"{x.day} {MONTH[x.month - 1]} {x.year}"),
]
# Month names as the locales' own generators spell them (Faker's month_name()).
FOREIGN = [("de_DE", lambda x, m: f"der {x.day}. {m} {x.year}", lambda x, m: f"{x.day}. {m} {x.year}"),
           ("fr_FR", lambda x, m: f"le {x.day} {m.lower()} {x.year}", lambda x, m: f"{x.day} {m.lower()} {x.year}"),
           ("es_ES", lambda x, m: f"el {x.day} de {m.lower()} de {x.year}", lambda x, m: f"{x.day} de {m.lower()} de {x.year}")]


def test_spelled_dates_and_named_months_in_short_fields_are_masked(ring, admin):
    rows, secrets = [], []
    for i in range(6 * len(DATE_FORMS)):
        x = _any_date(R)
        text, part = DATE_FORMS[i % len(DATE_FORMS)](x)
        rows.append((text, f"DOB {text}"))
        secrets.append(part)
    for loc, text, part in FOREIGN:
        f = Faker(loc); f.seed_instance(61)
        for _ in range(6):
            x, m = _any_date(R), f.month_name()   # a day of 1-28 is one of every month
            rows.append((text(x, m), f"geboren / né / nacido: {text(x, m)}"))
            secrets.append(part(x, m))
    _fail_if(*probe(ring, admin, "loc_dates", rows, secrets, "date", core=lambda s: s.casefold()),
             "spelled dates")


def test_emails_with_spaces_around_the_at_sign_are_masked(ring, admin):
    rows, secrets = [], []
    for loc in ("en_GB", "de_DE", "fr_FR", "es_MX"):
        f = Faker(loc); f.seed_instance(62)
        for k in range(4):
            local, dom = f.user_name(), f.free_email_domain()
            addr = (f"{local} @ {dom}", f"{local}@ {dom}", f"{local} @{dom}")[k % 3]
            rows.append((addr, f"Contact: {addr} (verified)."))
            secrets.append(addr)
    _fail_if(*probe(ring, admin, "loc_emails", rows, secrets, "e-mail", core=lambda s: s.casefold()),
             "spaced e-mail addresses")


def _digits(k):
    return str(R.randint(2, 9)) + "".join(str(R.randint(0, 9)) for _ in range(k - 1))


def test_labelled_local_and_two_digit_area_phones_are_masked(ring, admin):
    rows, secrets = [], []
    for label in ("tel", "Phone:", "Tel.:", "Telefon:", "tel (home)", "Mobile no."):
        for groups in ((7,), (3, 2, 2), (3, 4), (2, 2, 2), (3, 6), (4, 4)):
            v = " ".join(_digits(g) if i == 0 else "".join(str(R.randint(0, 9)) for _ in range(g))
                         for i, g in enumerate(groups))
            rows.append((f"{label} {v}", f"Reached on {label} {v} today."))
            secrets.append(v)
    for _ in range(6):
        v = f"{R.randint(11, 99)} {_digits(4)}-{R.randint(1000, 9999)}"
        w = f"({R.randint(11, 99)}) 9{_digits(4)}-{R.randint(1000, 9999)}"
        rows += [(v, f"fone {v}"), (w, f"celular {w}")]
        secrets += [v, w]
    _fail_if(*probe(ring, admin, "loc_phones", rows, secrets, "phone"), "local phone numbers")


def test_streets_of_other_locales_are_masked(ring, admin):
    rows, secrets = [], []
    for loc in ("de_DE", "de_AT", "nl_NL", "da_DK", "pl_PL", "fr_FR", "it_IT"):
        f = Faker(loc); f.seed_instance(63)
        for _ in range(6):
            street = f.street_address()
            line = f"{street}, {f.postcode()} {f.city()}"
            rows.append((line, f"Patient lives at {line} with family."))
            secrets.append(street)
    _fail_if(*probe(ring, admin, "loc_streets", rows, secrets, "street", core=lambda s: s.casefold()),
             "street addresses of other locales")


def test_national_ids_of_other_countries_are_masked(ring, admin):
    made = []
    f = Faker("ko_KR"); f.seed_instance(64); made += [f.ssn() for _ in range(4)]
    f = Faker("zh_CN"); f.seed_instance(64); made += [f.ssn() for _ in range(4)]
    f = Faker("es_ES"); f.seed_instance(64); made += [f.nif() for _ in range(3)] + [f.nie() for _ in range(3)]
    f = Faker("es_MX"); f.seed_instance(64); made += [f.rfc() for _ in range(4)]
    rows = [(v, f"Patient id {v} on file.") for v in made]
    secrets = list(made)
    f = Faker("pl_PL"); f.seed_instance(64)
    for _ in range(4):
        v = f.pesel()
        rows.append((f"PESEL: {v}", f"PESEL {v} checked."))
        secrets.append(v)
    # France: Corsica's departments (2A, 2B) inside the NIR, its key over 19 and 18.
    for _ in range(4):
        body = f"{R.choice('12')}{R.randint(30, 99):02d}{R.randint(1, 12):02d}2{R.choice('AB')}{R.randint(1, 999):03d}{R.randint(1, 999):03d}"
        key = 97 - int(body.replace("2A", "19").replace("2B", "18")) % 97
        v = f"{body}{key:02d}"
        rows.append((v, f"NIR {v} on the card."))
        secrets.append(v)
    _fail_if(*probe(ring, admin, "loc_ids", rows, secrets, "national id"), "national ids")
