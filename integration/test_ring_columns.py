"""The `columns` frame names where each column comes from (docs/frames.md), so that
hoop-mask can apply column rules: plain columns carry schema, table and column names;
expressions carry none."""

from __future__ import annotations

import json
import uuid

from helpers.ring import wait_for


def test_columns_frames_name_their_source(ring):
    app = "columns-" + uuid.uuid4().hex[:8]
    with ring.connect("gateway", application_name=app) as c:
        c.execute("select p.mrn, p.last_name as surname, 1 + 1 as two, upper(p.email) from patients p limit 1").fetchall()
    [session] = wait_for(lambda: ring.session_ids_for_app(app))
    with ring.audit() as db:
        [(text,)] = db.execute("select cast(frame as text) from frames where session = ? and type = 'columns'", (session,)).fetchall()
    fields = json.loads(text)["fields"]
    got = [(f["name"], f.get("schema_name"), f.get("table_name"), f.get("column_name")) for f in fields]
    assert got == [("mrn", "public", "patients", "mrn"), ("surname", "public", "patients", "last_name"),
                   ("two", None, None, None), ("upper", None, None, None)]
