"""Identifiers in spellings the detectors did not read (closing the gaps test_ring_leak_generators
left open; each test failed before its fix). Each seeds a table no column rule covers and
reads it back through the gateway several ways (helpers/seeded_ids.py): nothing comes back
in clear. Values are generated (Faker's locales, random dates and addresses), never
hand-picked; reports carry counts, shapes and hash prefixes only.

- dates in other spellings alone in a field and in a note (`09MAR84`, `09.MAR.1984`,
  `1984-Mar-09`, `1984 03 09`, `84-03-09`, `Mar 9 '84`, `1984年3月9日`), and a compact
  `19840309` after a date's label;
- e-mail addresses with non-ASCII parts, punycode domains, quoted local parts, plus-tags,
  subdomains, and addresses written out (`jane [at] example [dot] com`);
- IPv4 networks with a prefix length, IPv6 with a zone, a prefix or an IPv4 tail, URLs
  without a scheme;
- names in a script without case alone in a column whose name says name, and under a
  name's key in a JSON document (FHIR's family and given), in results of more rows than a
  name column's profile reads.
"""
from __future__ import annotations

import datetime
import json
import random

import pytest
from faker import Faker

from helpers.seeded_ids import count_leaks, h, norm, probe, read_rows, report, shape

R = random.Random(44)
MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTH = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
         "November", "December"]


def _fail_if(leaked, rep, what):
    if any(leaked.values()):
        pytest.fail(f"{what} in clear through the gateway:\n" + rep, pytrace=False)


def _date(rng=R):
    # A day above 12 in half of them: no form is read as another by accident.
    return datetime.date(rng.randint(1932, 1999), rng.randint(1, 12), rng.randint(1, 28))


DATE_FORMS = [
    lambda x: f"{x.day:02d}{MON[x.month - 1].upper()}{x.year % 100:02d}",
    lambda x: f"{x.day:02d}-{MON[x.month - 1].upper()}-{x.year}",
    lambda x: f"{x.day:02d}.{MON[x.month - 1].upper()}.{x.year}",
    lambda x: f"{x.year}-{MON[x.month - 1]}-{x.day:02d}",
    lambda x: f"{x.year}/{MON[x.month - 1]}/{x.day:02d}",
    lambda x: f"{x.year} {MONTH[x.month - 1]} {x.day}",
    lambda x: f"{x.year} {x.month:02d} {x.day:02d}",
    lambda x: f"{x.year % 100:02d}-{x.month:02d}-{x.day:02d}",
    lambda x: f"{MON[x.month - 1]} {x.day} '{x.year % 100:02d}",
    lambda x: f"{x.day} {MONTH[x.month - 1]} '{x.year % 100:02d}",
    lambda x: f"{x.year}年{x.month}月{x.day}日",
    lambda x: f"{x.year}년 {x.month}월 {x.day}일",
]


def test_dates_in_other_spellings_alone_and_in_notes_are_masked(ring, admin):
    rows, secrets = [], []
    for i in range(4 * len(DATE_FORMS)):
        x = _date()
        v = DATE_FORMS[i % len(DATE_FORMS)](x)   # years 1932-1999: a two-digit year first is above 31
        rows.append((v, f"Patient was seen on {v} for follow-up of the rash."))
        secrets.append(v)
    # A compact date after a date's label (not only a birth's).
    for lab in ("Date", "Date of service", "DOS:", "dated"):
        x = _date()
        v = f"{x.year}{x.month:02d}{x.day:02d}"
        rows.append((f"{lab} {v}", f"Visit {lab} {v} billed."))
        secrets.append(v)
    _fail_if(*probe(ring, admin, "gen_spelt_dates", rows, secrets, "date", core=lambda s: s.casefold()),
             "dates in other spellings")


def _emails():
    out = []
    for loc, tlds in (("de_DE", ["de", "at"]), ("fr_FR", ["fr"]), ("es_ES", ["es"]), ("ru_RU", ["рф"]),
                      ("ja_JP", ["jp", "日本"]), ("zh_CN", ["公司", "中国"])):
        f = Faker(loc); f.seed_instance(44)
        for _ in range(3):
            local = f"{f.first_name()}.{f.last_name()}".lower().replace(" ", "")
            dom = f"{f.last_name().lower().replace(' ', '')}.{R.choice(tlds)}"
            out.append((local, f"{local}@{dom}"))
            if loc in ("de_DE", "ja_JP"):
                # The domain in punycode, as a mail system writes it.
                out.append((local, f"{local}@{dom.encode('idna').decode()}"))
    f = Faker("en_US"); f.seed_instance(45)
    for _ in range(4):
        u = f.user_name()
        out.append((u, f"{u}+{f.word()}@mail.{f.domain_name()}"))
        q = f"{f.first_name()} {f.last_name()}"
        out.append((q, f'"{q}"@{f.domain_name()}'))
        out.append((u + "x", f"{u}x [at] {f.domain_word()} [dot] {R.choice(['com', 'org', 'net', 'de'])}"))
        out.append((u + "y", f"{u}y(at){f.domain_name()}"))
        out.append((u + "z", f"{u}z at {f.domain_word()} dot {R.choice(['com', 'org', 'net', 'edu'])}"))
    return out


def test_emails_in_other_scripts_quoted_and_written_out_are_masked(ring, admin):
    rows, secrets = [], []
    for local, addr in _emails():
        rows.append((addr, f"Contact: {addr} (verified by phone)."))
        secrets.append(local)
    _fail_if(*probe(ring, admin, "gen_spelt_emails", rows, secrets, "e-mail local part",
                    core=lambda s: s.casefold()), "e-mail addresses")


def test_networks_zones_and_urls_without_a_scheme_are_masked(ring, admin):
    f = Faker("en_US"); f.seed_instance(46)
    made = []
    for _ in range(6):
        made.append(f.ipv4(network=True) if R.random() < 0.5 else f"{f.ipv4()}/{R.randint(8, 32)}")
        g = [f"{R.randint(1, 0xffff):x}" for _ in range(3)]
        made.append(f"fe80::{g[0]}:{g[1]}%eth{R.randint(0, 9)}")
        made.append(f"2001:db8:{g[2]}::/{R.choice([32, 48, 64])}")
        made.append(f"::ffff:{f.ipv4()}")
        made.append(f"{f.domain_name()}/{f.uri_path()}?id={R.randint(10000, 99999)}")
        made.append(f"portal.{f.domain_name()}/patients/{R.randint(1000, 99999)}")
    rows = [(v, f"Login from {v} recorded at check-in.") for v in made]
    _fail_if(*probe(ring, admin, "gen_spelt_net", rows, made, "address or URL", core=lambda s: s.casefold()),
             "network addresses and URLs")


CASELESS = ("ja_JP", "zh_CN", "ko_KR", "he_IL", "hi_IN", "th_TH", "ar_AA", "zh_TW")


def _caseless_people():
    people = []
    for loc in CASELESS:
        f = Faker(loc); f.seed_instance(47)
        for _ in range(10):
            last, first = f.last_name(), f.first_name()
            full = f"{last}{first}" if loc in ("zh_CN", "zh_TW", "ko_KR") else f"{first} {last}"
            people.append((loc, last, first, full))
    return people


def test_caseless_names_in_a_name_column_and_under_name_keys_are_masked(ring, admin):
    """Eighty rows, more than a name column's profile reads: the column's own name says
    name (`patient_name`), the document's keys do (`patientName`, FHIR's family and
    given), and an expression over them (`upper()`, `concat_ws`) is a column of names."""
    people = _caseless_people()
    with admin.cursor() as c:
        c.execute("drop table if exists gen_caseless")
        c.execute("create table gen_caseless (id integer primary key, patient_name text, doc text)")
        c.executemany("insert into gen_caseless values (%s, %s, %s)", [
            (i + 1, full, json.dumps({"patientName": full, "name": [{"family": last, "given": [first]}]}, ensure_ascii=False))
            for i, (_, last, first, full) in enumerate(people)])
        c.execute("grant select on gen_caseless to hoop_gateway")
    reads = (
        ("select *", "select id, patient_name, doc from gen_caseless order by id"),
        ("json_agg", "select json_agg(x)::text from (select id, patient_name, doc from gen_caseless order by id) x"),
        ("row_to_json", "select row_to_json(x)::text from gen_caseless x order by id"),
        ("upper()", "select id, upper(patient_name) from gen_caseless order by id"),
        ("concat_ws", "select id, concat_ws(' | ', patient_name, doc) from gen_caseless order by id"),
    )
    secrets = [p[3] for p in people] + [s for p in people for s in p[1:3] if len(norm(s)) >= 2]
    direct = ring.connect("direct")
    try:
        assert len(count_leaks(read_rows(direct, reads[0][1]), secrets)) == len(secrets), "seeding failed"
    finally:
        direct.close()
    gw = ring.connect("gateway")
    leaked = {}
    try:
        for how, sql in reads:
            leaked[how] = count_leaks(read_rows(gw, sql), secrets)
    finally:
        gw.close()
    if any(leaked.values()):
        by_loc = {}
        for vals in leaked.values():
            for v in vals:
                loc = next(p[0] for p in people if v in p[1:])
                by_loc[loc] = by_loc.get(loc, 0) + 1
        pytest.fail("caseless names in clear through the gateway:\n" + report("name", leaked, len(secrets))
                    + f"\n  by locale: {by_loc}", pytrace=False)


def table_through_ring(ring, admin, name, columns, rows, select):
    """Makes table `name` (`columns`: its column list) holding `rows`, lets the gateway
    read it, and returns the lines of `select` read through the ring."""
    with admin.cursor() as c:
        c.execute(f"drop table if exists {name}")
        c.execute(f"create table {name} ({columns})")
        c.executemany(f"insert into {name} values ({', '.join(['%s'] * len(rows[0]))})", rows)
        c.execute(f"grant select on {name} to hoop_gateway")
    gw = ring.connect("gateway")
    try:
        return read_rows(gw, select)
    finally:
        gw.close()


def test_a_caseless_value_in_another_column_stays(ring, admin):
    """Over-masking guard: short caseless words in a column whose name says nothing of a
    name, and fewer than a profile's quorum, come back as they are."""
    words = ["内科", "外科", "北京", "東京", "서울", "ירושלים", "दिल्ली", "กรุงเทพ"]
    got = table_through_ring(ring, admin, "gen_caseless_dept", "id integer primary key, department text",
                             [(i + 1, w) for i, w in enumerate(words)], "select id, department from gen_caseless_dept order by id")
    kept = [w for w, line in zip(words, got) if w in line]
    assert len(kept) == len(words), f"{len(words) - len(kept)}/{len(words)} plain words masked; shapes {[shape(w) for w in words if w not in kept]}; sha256 {[h(w) for w in words if w not in kept]}"


AR_GIVEN = ["محمد", "أحمد", "علي", "عمر", "يوسف", "خالد", "حسن", "إبراهيم"]
AR_FAMILY = ["الهاشمي", "القرشي", "التميمي", "الأنصاري", "الزهراني", "العتيبي"]


def test_review_near_misses_are_masked(ring, admin):
    """The last review's near misses, generated: a lineage's Arabic name, `family, given`
    in CJK and Hangul with its Hanja in brackets under a name key and in a name column,
    a FHIR reference's display, URLs without a scheme with a query or a fragment or
    scheme-relative, e-mail addresses with a full-width or small at sign or dot, or `at`
    written out, and dates as Korean, CJK without a year, ISO week and basic forms write them."""
    rows, secrets = [], []
    fj, fk = Faker("ja_JP"), Faker("ko_KR")
    fj.seed_instance(48); fk.seed_instance(48)
    f = Faker("en_US"); f.seed_instance(48)
    for i in range(6):
        ar = " بن ".join(R.sample(AR_GIVEN, 4)) + " " + R.choice(AR_FAMILY)
        ja = f"{fj.last_name()}, {fj.first_name()}"
        ko = f"{fk.last_name()}{fk.first_name()}(金敏俊)"
        for v in (ar, ja, ko):
            rows.append(("json", json.dumps({"patientName": v}, ensure_ascii=False)))   # a bare caseless value is no name
            secrets.append(v)
        name = f"{f.first_name()} {f.last_name()}"
        rows.append(("ref", json.dumps({"subject": {"reference": f"Patient/{R.randint(1, 9999)}", "display": name}})))
        secrets.append(name)
        host = f"portal.{f.domain_word()}.org"
        mrn = R.randint(100000, 999999)
        for u in (f"//{host}/patient/{mrn}", f"{host}:8443?mrn={mrn}", f"{host}#/p/{mrn}"):
            rows.append((u, f"Chart at {u} for review."))
            secrets.append(u)
        u = f"{f.user_name()}{i}"
        for a in (f"{u}＠{f.domain_name()}", f"{u}﹫{f.domain_name()}", f"{u}@{f.domain_word()}．com", f"{u} at {f.domain_name()}"):
            rows.append((a, f"Contact {a} today."))
        secrets.append(u)
        x = _date()
        for d in (f"{x.year}. {x.month:02d}. {x.day:02d}.", f"{x.month}月{x.day}日", f"{x.year}-W{R.randint(10, 52)}-{R.randint(1, 7)}",
                  f"{x.year}{x.month:02d}{x.day:02d}T{R.randint(10, 23)}{R.randint(10, 59)}"):
            rows.append((d, f"Patient was seen on {d} for follow-up."))
            secrets.append(d)
    _fail_if(*probe(ring, admin, "gen_review_near", rows, secrets, "identifier", core=lambda s: s.casefold()),
             "the review's near misses")


def test_names_of_things_under_name_keys_stay(ring, admin):
    """Over-masking guard: a caseless value under a key or in a column whose name says a
    thing's name (`drug_name`, `facility_name`, `file_name`) is no person's name."""
    words = ["阿司匹林", "北京协和医院", "报告", "内科", "東京病院", "서울병원"]
    keys = ["drug_name", "facility_name", "file_name", "department_name", "hospital_name", "product_name"]
    got = table_through_ring(ring, admin, "gen_thing_names", "id integer primary key, drug_name text, doc text",
                             [(i + 1, w, json.dumps({k: w}, ensure_ascii=False)) for i, (w, k) in enumerate(zip(words, keys))],
                             "select drug_name, doc from gen_thing_names order by id")
    kept = sum(line.count(w) == 2 for w, line in zip(words, got))
    assert kept == len(words), f"{len(words) - kept}/{len(words)} things' names masked; shapes {[shape(w) for w in words]}"
