#!/usr/bin/env python3
"""A labelled evaluation corpus for hoop-mask's content detection, made with Faker.

The detectors (Sources/HoopMasking) were written against their own corpus
(Tests/HoopMaskingTests/Corpus.swift). This one is independent of them: the values
come from Faker's providers (the gold label is the provider that made the value) and
the templates around them are written here, without looking at what the detectors
look for. scripts/mask-eval --faker scores the detectors on it (scripts/lib/faker_eval.py).

  faker_corpus.py [--per-cell N] [--seed S] [--out FILE]
      one JSON object a line (default: stdout), each a text and its gold label:
        kind     "phi" (a value that must be found) or "benign" (nothing may be found)
        entity   PERSON_NAME, STREET_ADDRESS, PHONE, DATE, CARD_NUMBER, IBAN, SSN
                 (phi), or the benign kind (sku, order, timestamp, ...)
        group    the locale, date format, card type or IBAN country that made it
        variant  how it was printed (card and IBAN grouping, address line break)
        case     title (as generated), upper, lower
        context  alone, sentence, json, csv
        text     the text given to the detectors
        value    the value as it sits in the text (JSON-escaped inside JSON)
        start, end   the value's UTF-8 byte offsets in text (phi only)

A cell is (entity, group, context); each cell holds N values (--per-cell), each value
in its title form and, when they differ from it, its UPPER and lower forms.
Deterministic: the same seed and Faker version give the same corpus, on any day and in
any time zone (the date providers' "now" is pinned, see NOW).
"""
import argparse
import re
import csv
import datetime
import io
import json
import sys
import zlib

from faker import Faker

LOCALES = ["en_US", "en_GB", "es_MX", "en_AU"]
CONTEXTS = ["alone", "sentence", "json", "csv"]

# Faker's date providers count back from the clock (and its date-only ones depend on the
# local time zone); the corpus pins "now" so that it is the same on every day and in
# every zone. Dates of birth: date_of_birth()'s range (ages 0 to 115) as of that day, a
# day drawn with Faker's random_int.
NOW = 1735689600  # 2025-01-01T00:00:00Z
DOB_FIRST, DOB_LAST = datetime.date(1909, 1, 2), datetime.date(2025, 1, 1)

# Neutral sentences: no context word naming what the value is. Some end with the
# value, some have the value first, some have no words that hint at a person at all.
SENTENCES = [
    "Spoke with {v} about the results today.",
    "Please forward this to {v}.",
    "{v} was updated in the last batch.",
    "Copied {v} into the form, then saved it.",
    "The entry now reads {v}",
    "Noted {v}; nothing further for now.",
    "See {v} for the details.",
    "As discussed, {v} will be kept on file.",
    "Changed from blank to {v} after the call.",
    "{v} and the rest of it can wait until Monday.",
    "Checked again and it is {v}.",
    "Added {v} (second attempt).",
    "Left a message, then wrote down {v} and closed the ticket.",
    "{v} — confirmed by the front desk.",
    "We have {v} in the old system as well.",
    "Reviewed: {v}",
    "The form was returned with {v} on it.",
    "Nothing changed except {v}, which was corrected.",
]

# JSON wrappers: neutral keys; the value is JSON-escaped in place.
JSON_WRAPPERS = [
    ('{"value": ', ', "other": 3}'),
    ('{"f1": ', ', "f2": "ok"}'),
    ('{"contact": ', '}'),
    ('{"data": {"items": [', ', "x"]}, "n": 3}'),
    ('{"id": 12, "field": ', ', "active": true}'),
    ('[7, ', ', null]'),
]

CSV_PREFIX, CSV_SUFFIX = "12,", ",active,2024"

CARD_TYPES = ["amex", "diners", "discover", "jcb15", "jcb16", "mastercard", "visa13",
              "visa16", "visa19"]
# How each length is grouped when printed: the network's own grouping.
CARD_GROUPS = {13: (4, 4, 5), 14: (4, 6, 4), 15: (4, 6, 5), 16: (4, 4, 4, 4), 19: (4, 4, 4, 4, 3)}

# Locales whose iban() gives their own country (Faker falls back to GB for others).
IBAN_LOCALES = ["en_GB", "es_ES", "de_DE", "fr_FR", "nl_NL", "it_IT", "pt_PT", "pl_PL",
                "no_NO", "de_AT", "de_CH", "fi_FI", "en_IE", "nl_BE", "da_DK", "cs_CZ",
                "ro_RO", "el_GR", "tr_TR"]

DATE_FORMATS = [  # (group, strftime-like function)
    ("MM/DD/YYYY en_US", lambda d: d.strftime("%m/%d/%Y")),
    ("DD/MM/YYYY en_GB", lambda d: d.strftime("%d/%m/%Y")),
    ("DD/MM/YYYY en_AU", lambda d: d.strftime("%d/%m/%Y")),
    ("DD/MM/YYYY es_MX", lambda d: d.strftime("%d/%m/%Y")),
    ("YYYY-MM-DD", lambda d: d.isoformat()),
    ("Month D, YYYY", lambda d: "%s %d, %d" % (d.strftime("%B"), d.day, d.year)),
    ("D Month YYYY", lambda d: "%d %s %d" % (d.day, d.strftime("%B"), d.year)),
]


def _fakers():
    cache = {}

    def get(locale):
        if locale not in cache:
            cache[locale] = Faker(locale)
        return cache[locale]
    return get


def _seed(*parts):
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def _dob(f):
    return DOB_FIRST + datetime.timedelta(days=f.random_int(0, (DOB_LAST - DOB_FIRST).days))


def _group(digits, sizes, sep):
    out, i = [], 0
    for n in sizes:
        out.append(digits[i:i + n])
        i += n
    return sep.join(out)


def phi_generators():
    """(entity, group, locale, make(fake, index) -> (value, variant)) for every PHI cell."""
    gens = []
    for loc in LOCALES:
        gens.append(("PERSON_NAME", loc, loc, lambda f, i: (f.name(), "")))
    for loc in LOCALES:
        def address(f, i):
            v = f.street_address()
            if "\n" not in v:
                return v, ""
            # keep the line break in some, print the address on one line in others
            return (v, "newline") if i % 2 == 0 else (v.replace("\n", ", "), "comma")
        gens.append(("STREET_ADDRESS", loc, loc, address))
    def phone(f, i):
        v = f.phone_number()
        # Faker's Australian local numbers without an area code ('########', '####.####')
        # have no shape of a phone's own: an order number or a decimal looks the same.
        # They are reported apart (docs/masking.md, "Bare shapes").
        return v, ("no phone shape" if re.fullmatch(r"\d{8}|\d{4}\.\d{4}", v) else "")
    for loc in LOCALES:
        gens.append(("PHONE", loc, loc, phone))

    def e164(f, i):
        return "+1%d%02d%d%02d%04d" % (f.random_int(2, 9), f.random_int(0, 99), f.random_int(2, 9),
                                        f.random_int(0, 99), f.random_int(0, 9999)), ""
    gens.append(("PHONE", "E.164 +1", "en_US", e164))
    for group, fmt in DATE_FORMATS:
        loc = group.split()[-1] if "_" in group else "en_US"
        gens.append(("DATE", group, loc, lambda f, i, fmt=fmt: (fmt(_dob(f)), "")))
    for t in CARD_TYPES:
        def card(f, i, t=t):
            n = f.credit_card_number(card_type=t)
            form = ("plain", "spaced", "dashed")[i % 3]
            if form == "plain":
                return n, form
            return _group(n, CARD_GROUPS[len(n)], " " if form == "spaced" else "-"), form
        gens.append(("CARD_NUMBER", t, "en_US", card))
    for loc in IBAN_LOCALES:
        def iban(f, i):
            v = f.iban()
            if i % 2 == 0:
                return v, "electronic"
            return " ".join(v[k:k + 4] for k in range(0, len(v), 4)), "print"
        gens.append(("IBAN", loc, loc, iban))
    gens.append(("SSN", "en_US", "en_US", lambda f, i: (f.ssn(), "")))
    return gens


def benign_generators():
    """(kind, subkind, make(fake) -> value): values in which nothing may be found."""
    up = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [
        ("sku", "bothify ??-####-??", lambda f: f.bothify("??-####-??", letters=up)),
        ("sku", "ean13", lambda f: f.ean13()),
        ("sku", "isbn13", lambda f: f.isbn13()),
        ("sku", "ean8", lambda f: f.ean8()),
        ("order", "ORD-digits", lambda f: "ORD-" + f.numerify("%" + "#" * f.random_int(5, 8))),
        ("order", "6-8 digits", lambda f: f.numerify("%" + "#" * f.random_int(5, 7))),
        ("timestamp", "date_time().isoformat()", lambda f: f.date_time(end_datetime=NOW).isoformat()),
        ("timestamp", "iso8601()", lambda f: f.iso8601(end_datetime=NOW)),
        ("timestamp", "YYYY-MM-DD HH:MM:SS", lambda f: f.date_time(end_datetime=NOW).strftime("%Y-%m-%d %H:%M:%S")),
        ("timestamp", "unix epoch", lambda f: str(int(f.unix_time(end_datetime=NOW)))),
        ("version", "#.#.##", lambda f: f.numerify("#.#.##")),
        ("version", "a.b.c", lambda f: "%d.%d.%d" % (f.random_int(0, 20), f.random_int(0, 40), f.random_int(0, 200))),
        ("version", "vA.B.C-rcN", lambda f: "v%d.%d.%d-rc%d" % (f.random_int(0, 9), f.random_int(0, 30),
                                                               f.random_int(0, 9), f.random_int(1, 5))),
        ("amount", "random_int", lambda f: str(f.random_int(0, 99999))),
        ("amount", "pricetag()", lambda f: f.pricetag()),
        ("prose", "sentence()", lambda f: f.sentence()),
        ("prose", "paragraph()", lambda f: f.paragraph()),
        ("uuid", "uuid4()", lambda f: f.uuid4()),
        ("hash", "sha1()", lambda f: f.sha1()),
        ("hash", "md5()", lambda f: f.md5()),
        # the wrappers themselves, around a plain lorem word: must be clean too
        ("wrapper", "lorem word", lambda f: f.word()),
    ]


def wrap(value, context, rnd):
    """(text, start, end, value as it sits in the text): the value in its context,
    with its UTF-8 byte span."""
    if context == "alone":
        prefix, inner, suffix = "", value, ""
    elif context == "sentence":
        before, after = rnd.choice(SENTENCES).split("{v}")
        prefix, inner, suffix = before, value, after
    elif context == "json":
        before, after = rnd.choice(JSON_WRAPPERS)
        enc = json.dumps(value, ensure_ascii=False)
        prefix, inner, suffix = before + '"', enc[1:-1], '"' + after
    elif context == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow([value])
        field = buf.getvalue()
        if field.startswith('"'):
            prefix, inner, suffix = CSV_PREFIX + '"', field[1:-1], '"' + CSV_SUFFIX
        else:
            prefix, inner, suffix = CSV_PREFIX, field, CSV_SUFFIX
    else:
        raise ValueError(context)
    start = len(prefix.encode())
    return prefix + inner + suffix, start, start + len(inner.encode()), inner


def case_forms(value):
    forms = [("title", value)]
    for name, v in (("upper", value.upper()), ("lower", value.lower())):
        if v != value:
            forms.append((name, v))
    return forms


def generate(per_cell=20, seed=1):
    """The corpus as a list of dicts (see the module's docstring)."""
    import random
    get = _fakers()
    out = []
    for entity, group, loc, make in phi_generators():
        for context in CONTEXTS:
            s = _seed(seed, "phi", entity, group, context)
            fake = get(loc)
            fake.seed_instance(s)
            rnd = random.Random(s)
            for i in range(per_cell):
                value, variant = make(fake, i)
                for case, v in case_forms(value):
                    text, start, end, inner = wrap(v, context, rnd)
                    out.append(dict(kind="phi", entity=entity, group=group, variant=variant, case=case,
                                    context=context, text=text, value=inner, start=start, end=end))
    for kind, sub, make in benign_generators():
        for context in CONTEXTS:
            s = _seed(seed, "benign", kind, sub, context)
            fake = get("en_US")
            fake.seed_instance(s)
            rnd = random.Random(s)
            for i in range(per_cell):
                value = make(fake)
                text, start, end, inner = wrap(value, context, rnd)
                out.append(dict(kind="benign", entity=kind, group=sub, variant="", case="title",
                                context=context, text=text, value=inner, start=start, end=end))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-cell", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    f = open(a.out, "w", encoding="utf-8") if a.out else sys.stdout
    for rec in generate(a.per_cell, a.seed):
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    if a.out:
        f.close()


if __name__ == "__main__":
    main()
