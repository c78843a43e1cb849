from __future__ import annotations
import base64, json, os, uuid
import psycopg
import pytest

VALUE = "QX-4417-ZZ"
CODES = [str(ord(c)) for c in VALUE]

def encodings():
    v = VALUE
    return {"plain": v, "rev": v[::-1], "hex": v.encode().hex(), "HEX": v.encode().hex().upper(),
            "b64": base64.b64encode(v.encode()).decode()[:12], "lower": v.lower(), "nodash": v.replace("-", "")}

def leaks(text: str):
    found = [k for k, e in encodings().items() if e in text]
    # ascii codes in order
    import re
    nums = re.findall(r"\d+", text)
    s = " ".join(nums)
    if " ".join(CODES) in s:
        found.append("codes")
    return found

PROBES = json.load(open(os.environ.get("PROBES", "/tmp/leak/probes.json")))

@pytest.fixture
def schema(admin):
    name = "s" + uuid.uuid4().hex[:8]
    admin.execute(f"create schema {name}")
    admin.execute(f"grant usage, create on schema {name} to hoop_gateway")
    admin.execute(f"create table {name}.patients (id int primary key, mrn text, memo text)")
    admin.execute(f"insert into {name}.patients values (1, '{VALUE}', 'plain words')")
    admin.execute(f"create table {name}.pub (id int primary key, note text)")
    admin.execute(f"insert into {name}.pub values (7, 'plain words')")
    admin.execute(f"grant select, insert, update, delete on all tables in schema {name} to hoop_gateway")
    yield name
    admin.execute(f"drop schema {name} cascade")

def run_psycopg(ring, stmts):
    out = []
    with ring.connect("gateway") as c:
        c.add_notice_handler(lambda d: out.append(("notice", d.message_primary, d.message_detail, d.message_hint, d.context)))
        for sql in stmts:
            try:
                cur = c.execute(sql)
                rows = cur.fetchall() if cur.description else None
                out.append(("rows", sql[:60], rows))
            except psycopg.Error as e:
                d = e.diag
                out.append(("error", sql[:60], e.sqlstate, d.message_primary, d.message_detail, d.message_hint, d.context))
                if c.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                    c.rollback()
            except Exception as e:
                out.append(("exc", sql[:60], repr(e)))
                break
        try:
            out.append(("tz", c.info.parameter_status("TimeZone"), c.info.parameter_status("application_name")))
            out.append(("notifies", [(n.channel, n.payload) for n in c.notifies(timeout=0.5, stop_after=5)]))
        except Exception as e:
            out.append(("exc-end", repr(e)))
    return out

def test_probes(ring, schema):
    sel = os.environ.get("ONLY")
    for name, stmts in PROBES.items():
        if sel and sel not in name:
            continue
        stmts = [s.replace("{s}", schema) for s in stmts]
        modes = os.environ.get("MODES", "ext,psql").split(",")
        with ring.connect("direct") as d:
            pass
        res = {}
        if "ext" in modes:
            res["ext"] = repr(run_psycopg(ring, stmts))
        if "psql" in modes:
            p = ring.psql("gateway", input="\n".join(s.rstrip(";") + ";" for s in stmts) + "\n")
            res["psql"] = p.stdout + "\n--stderr--\n" + p.stderr
        for mode, text in res.items():
            l = leaks(text)
            print(f"\n=== {name} [{mode}] {'LEAK ' + str(l) if l else 'held'}\n{text[:1500]}")
