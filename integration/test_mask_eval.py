"""hoop-mask's content detection against targets, on a corpus it was not written against.

`scripts/mask-eval --faker --json` generates values with Faker (names, street addresses,
phone numbers, dates of birth, card numbers, IBANs, SSNs in several locales, in title
and UPPER case, alone, in sentences, JSON and CSV) and benign values (SKUs, order
numbers, timestamps, versions, amounts, prose, UUIDs, hashes), runs them through
`hoop-mask detect` and scores them (scripts/lib/faker_corpus.py, faker_eval.py).

Targets: recall >= 0.99 for SSN, PHONE, CARD_NUMBER, IBAN, DATE and >= 0.95 for
PERSON_NAME and STREET_ADDRESS, each in title and in upper case; false positives on at
most 2 % of the benign texts. Faker's Australian local phone numbers without an area
code (8 bare digits, `dddd.dddd`) have no shape a detector can tell from an order number
or a decimal: the phone targets leave them out and `test_phone_recall_with_them` holds
the recall over every phone number to its measured floor. `scripts/mask-eval --faker
--show ENTITY` (or BENIGN) lists what a failing target misses.

The binary comes from $HOOP_BIN, else .build/release, relative to this repository.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ["HOOP_BIN"]) if os.environ.get("HOOP_BIN") else ROOT / ".build" / "release"
PER_CELL = 50
SEED = 7

TARGETS = [
    "PERSON_NAME title recall", "PERSON_NAME upper recall",
    "STREET_ADDRESS title recall", "STREET_ADDRESS upper recall",
    "PHONE title recall", "PHONE upper recall",
    "DATE title recall", "DATE upper recall",
    "CARD_NUMBER title recall",
    "IBAN title recall",
    "SSN title recall",
    "benign false-positive rate",
]


@pytest.fixture(scope="module")
def figures():
    if not (BIN / "hoop-mask").exists():
        pytest.skip("hoop-mask is not built (HOOP_BIN=%s)" % BIN)
    env = dict(os.environ, HOOP_BIN=str(BIN.resolve()))
    proc = subprocess.run([str(ROOT / "scripts" / "mask-eval"), "--faker", "--json",
                           "--per-cell", str(PER_CELL), "--seed", str(SEED)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_corpus_is_complete(figures):
    for entity in ("PERSON_NAME", "STREET_ADDRESS", "PHONE", "DATE", "CARD_NUMBER", "IBAN", "SSN"):
        assert figures["entities"][entity]["title"]["total"] >= 4 * PER_CELL, entity
    assert figures["benign_overall"]["total"] >= 40 * PER_CELL


@pytest.mark.parametrize("name", TARGETS)
def test_target(figures, name):
    # "PHONE title recall (with a phone's shape)": see faker_eval.NO_SHAPE.
    found = {t["name"].split(" (")[0]: t for t in figures["targets"]}
    assert name in found, "no figure for %r" % name
    t = found[name]
    entity = t["entity"]
    if entity == "BENIGN":
        kinds = ", ".join("%s %d/%d" % (k, d["found"], d["total"]) for k, d in figures["benign"].items() if d["found"])
        detail = "false positives by kind: %s (scripts/mask-eval --faker --show BENIGN)" % kinds
    else:
        e = figures["entities"][entity]
        groups = ", ".join("%s %.3f" % (g, d[t["case"]]["recall"]) for g, d in e["groups"].items()
                           if d.get(t["case"]) and d[t["case"]]["recall"] < 1)
        detail = "below 1 in: %s (scripts/mask-eval --faker --show %s)" % (groups, entity)
    if t["op"] == ">=":
        assert t["value"] >= t["threshold"], "%s %.3f < %.2f; %s" % (name, t["value"], t["threshold"], detail)
    else:
        assert t["value"] <= t["threshold"], "%s %.3f > %.2f; %s" % (name, t["value"], t["threshold"], detail)


def test_phone_recall_with_them(figures):
    """Every phone number, those with no phone shape included (1-2 % of the corpus)."""
    main = figures["entities"]["PHONE"]["main"]
    assert main["recall"] >= 0.975, "PHONE recall over every value %.3f < 0.975" % main["recall"]
