"""What hoop-mask does to error and notice texts that quote data (docs/masking.md,
"In the ring"), written out independently as the tests' oracle: the direct server's
answer, redacted by these rules, must equal the gateway's."""

from __future__ import annotations

MARK = "[REDACTED]"
VALUE_MESSAGES = ("invalid input syntax for ", "invalid input value for ", "date/time field value out of range",
                  'value "', "malformed array literal", "malformed record literal", 'invalid value "',
                  "time zone displacement out of range", "invalid hexadecimal")


def redact(text: str | None, raised: bool = False, field: str = "message") -> str | None:
    if text is None:
        return None
    if raised and field in ("message", "detail", "hint"):
        return MARK
    out = text
    if out.startswith(VALUE_MESSAGES) and '"' in out and out.index('"') < out.rindex('"'):
        out = out[:out.index('"') + 1] + MARK + out[out.rindex('"'):]
    if out.startswith("COPY ") and ", column " in out:
        col = out.index(", column ")
        start = out.find(': "', col)
        end = out.rindex('"')
        if start >= 0 and end >= start + 3:
            out = out[:start + 3] + MARK + out[end:]
    for lead in (")=(", "Failing row contains ("):
        if lead in out:
            start = out.index(lead) + len(lead)
            end = out.rindex(")") if out.rindex(")") >= start else len(out)
            out = out[:start] + MARK + out[end:]
    return out


def redact_diag(d: dict) -> dict:
    """A psycopg diagnostics dict (message_primary, message_detail, message_hint, context...).
    What RAISE and ASSERT are given goes whole: the texts and the object names."""
    raised = any(w in (d.get("context") or "") for w in ("at RAISE", "at ASSERT"))
    names = {"message_primary": "message", "message_detail": "detail", "message_hint": "hint", "context": "where"}
    objects = ("schema_name", "table_name", "column_name", "datatype_name", "constraint_name")
    return {k: redact(v, raised, names[k]) if k in names else MARK if raised and k in objects and v is not None else v
            for k, v in d.items()}
