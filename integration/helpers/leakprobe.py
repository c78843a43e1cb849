"""Running one leak probe through psql and psycopg and scanning what came back: the
query record (`Q`), the capture of one run (`Capture`), the two clients' runners, and
the report of identifiers found in clear, named by kind and a short hash, never by
value. Shared by integration/test_ring_leaks.py and integration/test_ring_legacy_feed.py; the
identifier sets (the scanners) are theirs."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field

import psycopg
from psycopg import pq


def short_hash(v: str) -> str:
    return hashlib.sha256(v.encode()).hexdigest()[:10]


@dataclass
class Q:
    """One probe. `sql`: the statements (psycopg runs them one by one, psql as a
    script). mode: rows | copy | error (the last statement must fail) | notice.
    `tx`: inside a transaction that is rolled back. `psql`: psql's own script where it
    differs (\\copy). `shape`: compare row/line counts with the direct run.
    `refusal_ok`: hoop-mask may fail closed on it instead (a type it documents it
    cannot mask, docs/masking.md): a refusal is not a leak, but anything it returns
    is still scanned."""
    id: str
    sql: str | list[str]
    mode: str = "rows"
    tx: bool = False
    psql: str | None = None
    shape: bool = True
    refusal_ok: bool = False

    @property
    def statements(self) -> list[str]:
        return [self.sql] if isinstance(self.sql, str) else list(self.sql)

    def script(self) -> str:
        if self.psql is not None:
            return self.psql
        body = "".join(s.rstrip().rstrip(";") + ";\n" for s in self.statements)
        return f"begin;\n{body}rollback;\n" if self.tx else body


@dataclass
class Capture:
    texts: list[tuple[str, str]] = field(default_factory=list)   # (path, text)
    count: int = 0              # rows, or COPY lines
    notices: int = 0
    sqlstate: str | None = None
    returncode: int | None = None
    refused: bool = False       # hoop-mask failed closed ("a response could not be masked")


DIAG_FIELDS = ["severity", "severity_nonlocalized", "sqlstate", "message_primary", "message_detail",
               "message_hint", "statement_position", "internal_position", "internal_query", "context",
               "schema_name", "table_name", "column_name", "datatype_name", "constraint_name",
               "source_file", "source_line", "source_function"]


def diag_text(diag) -> str:
    return "\n".join(str(v) for v in (getattr(diag, k, None) for k in DIAG_FIELDS) if v is not None)


def run_psycopg(ring, via: str, q: Q) -> Capture:
    cap = Capture()
    with ring.connect(via, autocommit=not q.tx) as conn:
        conn.add_notice_handler(lambda d: (cap.texts.append(("notice", diag_text(d))),
                                           setattr(cap, "notices", cap.notices + 1)))
        cur = conn.cursor()
        try:
            for sql in q.statements:
                if q.mode == "copy":
                    data = bytearray()
                    with cur.copy(sql) as cp:
                        for chunk in cp:
                            data += chunk
                    text = data.decode("utf-8", errors="replace")
                    cap.texts.append(("COPY", text))
                    cap.count += text.count("\n")
                    continue
                # Extended protocol (Parse/Bind/Execute): psql covers the simple one.
                cur.execute(sql, prepare=True)
                while True:
                    res = cur.pgresult
                    if res is not None and res.status == pq.ExecStatus.TUPLES_OK:
                        names = [(res.fname(c) or b"").decode() for c in range(res.nfields)]
                        cap.texts.append(("column names", "\t".join(names)))
                        out = []
                        for r in range(res.ntuples):
                            for c in range(res.nfields):
                                v = res.get_value(r, c)
                                if v is not None:
                                    out.append(v.decode("utf-8", errors="replace"))
                            out.append("\n")
                        cap.texts.append(("rows", "\t".join(out)))
                        cap.count += res.ntuples
                    if not cur.nextset():
                        break
        except psycopg.Error as e:
            cap.sqlstate = e.sqlstate or "?"
            cap.refused = "could not be masked" in str(e)
            cap.texts.append(("error", str(e) + "\n" + diag_text(e.diag)))
        finally:
            if q.tx and not conn.closed:
                conn.rollback()
    return cap


def run_psql(ring, via: str, q: Q) -> Capture:
    r = ring.psql(via, input=q.script(), timeout=120)
    path = "COPY" if q.mode == "copy" else "rows"
    cap = Capture(texts=[(path, r.stdout), ("error/notice (stderr)", r.stderr)], returncode=r.returncode)
    cap.count = r.stdout.count("\n")
    cap.notices = len(re.findall(r"^(?:NOTICE|WARNING):", r.stderr, re.M))
    m = re.search(r"^(ERROR|FATAL):", r.stderr, re.M)
    cap.sqlstate = m.group(1) if m else None
    cap.refused = "could not be masked" in r.stderr
    return cap


def leaks(ids, cap: Capture, keep=None) -> dict[tuple[str, str], dict[str, set[str]]]:
    """(path, kind) -> short hashes of the values found in clear. `ids` is a scanner
    (`ids.scan(text)` -> [(kind, value)]); `keep(kind)` selects the kinds (default all)."""
    out: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path, text in cap.texts:
        for kind, value in ids.scan(text):
            if keep is not None and not keep(kind):
                continue
            out[path][kind].add(short_hash(value.lower()))
    return out


def describe(client: str, found) -> list[str]:
    lines = []
    for path, kinds in sorted(found.items()):
        for kind, hashes in sorted(kinds.items()):
            sample = ", ".join(sorted(hashes)[:3])
            lines.append(f"  {client} / {path}: {kind} x{len(hashes)} distinct (sha256[:10] {sample}"
                         f"{', ...' if len(hashes) > 3 else ''})")
    return lines


