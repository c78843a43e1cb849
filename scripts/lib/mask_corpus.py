#!/usr/bin/env python3
"""Inputs for scripts/bench mask: the values hoop-mask sees, as plain values or frames.

  mask_corpus.py values DIR      DIR/stream.txt (md5 text of the 1M-row stream's first
                                 rows), DIR/clinic.txt (every text value of the demo
                                 clinic tables: names, NPIs, dates, SSNs, phones,
                                 e-mails, addresses, notes, departments, ICD codes);
                                 one value a line
  mask_corpus.py frames DIR      DIR/stream.ndjson (the 1,000,000-row stream as
                                 hoop-connect sends it: session_open, columns, rows
                                 frames of 1,000 rows, complete, ready) and
                                 DIR/clinic.ndjson (the three demo tables the same way)
  mask_corpus.py fuzz FILE N [SEED]
                                 N random values built from the pieces detectors look
                                 for (digit runs, separators, context words, capitals),
                                 to compare two builds' findings value by value

Deterministic: the same files on every run.
"""
import hashlib
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_seed  # noqa: E402

STREAM_ROWS = 1_000_000
INT4, TEXT, BPCHAR, DATE, TIMESTAMPTZ = 23, 25, 1042, 1082, 1184


def md5(g):
    return hashlib.md5(str(g).encode()).hexdigest()


def tables():
    """(name, [(column, type_oid)], rows) for the demo tables, rows as strings."""
    providers, patients, encounters = demo_seed.generate()
    return [
        ("providers", [("id", INT4), ("name", TEXT), ("npi", BPCHAR), ("specialty", TEXT)], providers),
        ("patients", [("id", INT4), ("mrn", TEXT), ("first_name", TEXT), ("last_name", TEXT),
                      ("date_of_birth", DATE), ("ssn", TEXT), ("phone", TEXT), ("email", TEXT),
                      ("street", TEXT), ("city", TEXT), ("state", BPCHAR), ("zip", TEXT),
                      ("insurance_id", TEXT)], patients),
        ("encounters", [("id", INT4), ("patient_id", INT4), ("provider_id", INT4),
                        ("admitted_at", TIMESTAMPTZ), ("department", TEXT), ("diagnosis_code", TEXT),
                        ("note", TEXT)], encounters),
    ]


def clinic_values():
    """Every value hoop-mask runs content detection on (numbers are passed as they are)."""
    out = []
    for _, cols, rows in tables():
        for r in rows:
            out.extend(str(v) for v, (_, oid) in zip(r, cols) if oid != INT4)
    return out


def write_values(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "stream.txt"), "w") as f:
        f.writelines(md5(g) + "\n" for g in range(1, 200_001))
    with open(os.path.join(d, "clinic.txt"), "w") as f:
        f.writelines(v + "\n" for v in clinic_values())


def frame(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def result_frames(f, seq, cols, rows, table=None, sql="select * from bench_values"):
    """A result set as hoop-connect sends it, after the request it answers (hoop-mask
    traces the statement's columns). With no table_name in the fields and a statement
    that reads no ruled column, no column rule applies: every value goes through
    content detection, the expensive path this measures."""
    f.write(frame({"type": "query", "session": "s1", "seq": seq, "sql": sql, "stamp:auth": True, "stamp:approve": True}))
    fields = [{"name": c, "table_oid": 0, "column": 0, "type_oid": oid, "type_size": -1,
               "type_mod": -1, "format": 0} for c, oid in cols]
    f.write(frame({"type": "columns", "session": "s1", "seq": seq, "fields": fields}))
    for k in range(0, len(rows), 1000):
        batch = [[None if v is None else str(v) for v in r] for r in rows[k:k + 1000]]
        f.write(frame({"type": "rows", "session": "s1", "seq": seq, "rows": batch}))
    f.write(frame({"type": "complete", "session": "s1", "seq": seq, "tag": f"SELECT {len(rows)}"}))
    f.write(frame({"type": "ready", "session": "s1", "seq": seq, "status": "I"}))


def write_frames(d):
    os.makedirs(d, exist_ok=True)
    opening = frame({"type": "session_open", "session": "s1", "seq": 0, "database": "clinic"})
    with open(os.path.join(d, "stream.ndjson"), "w") as f:
        f.write(opening)
        rows = [(g, md5(g)) for g in range(1, STREAM_ROWS + 1)]
        result_frames(f, 1, [("g", INT4), ("md5", TEXT)], rows,
                      sql="select g, md5(g::text) from generate_series(1,1000000) g")
    with open(os.path.join(d, "clinic.ndjson"), "w") as f:
        f.write(opening)
        for seq, (_, cols, rows) in enumerate(tables(), start=1):
            result_frames(f, seq, cols, rows)


PIECES = ["SSN", "ssn:", "social security", "phone", "Tel", "fax", "call", "number", "MRN", "MRN-", "mrn",
          "medical record", "chart", "NPI", "provider", "Dr.", "Mr.", "Mrs.", "Ms.", "Mr./Ms.", "patient",
          "DOB", "born", "admitted", "seen", "visit", "zip", "postal", "MA", "CA", "NY", "TX", "St", "Street",
          "Ave", "Rd", "Ln", "Dr", "Ct", "Way", "Blvd", "Apt", "Suite", "#", "age", "aged", "years old",
          "-year-old", "y/o", "yo", "http://", "https://", "www.", "ftp://", "@", "example.org", ".com",
          "March", "Mar.", "Sept", "December", "insurance", "member", "policy", "ID", "account", "acct",
          "license", "DEA", "device", "serial", "sn", "AET", "BCB", "UHC", "1HGCM82633A004352", "Maria",
          "James", "Garcia", "Nguyen", "Smith", "Lockwood", "Quinn", "the", "and", "with", "was", "T", "Z",
          "::", ":", ".", "-", "/", " ", " ", " ", ",", "(", ")", "+1", "1-", "'", "\"", "é", "ü", "日本",
          "x", "abc", "Q", "I", "O", "4111 1111 1111 1111", "378282246310005", "1234567893", "2024-03-05",
          "03/05/2024", "10:00:00", "92", "105", "93yo", "95-year-old", "aged 97", "Age: 101", "192.168.1.1", "fe80::1", "2001:db8::8a2e:370:7334", "_", "=", "\\t"]


def fuzz_value(rng):
    parts = []
    for _ in range(rng.randrange(1, 14)):
        r = rng.random()
        if r < 0.35:
            parts.append("".join(rng.choice("0123456789") for _ in range(rng.choice([1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 16]))))
        elif r < 0.45:
            parts.append("".join(rng.choice("0123456789abcdefABCDEF") for _ in range(rng.randrange(1, 33))))
        else:
            parts.append(rng.choice(PIECES))
        if rng.random() < 0.5:
            parts.append(rng.choice([" ", "-", ".", "/", ":", ", ", "", " ", " "]))
    return "".join(parts).replace("\n", " ")


def write_fuzz(path, n, seed=4242):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.writelines(fuzz_value(rng) + "\n" for _ in range(n))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "values":
        write_values(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "frames":
        write_frames(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "fuzz":
        write_fuzz(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 4242)
    else:
        sys.exit(__doc__)
