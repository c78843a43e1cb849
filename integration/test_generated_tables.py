"""The detectors' tables that public packages hold (the SWIFT IBAN registry from
python-stdnum, street types from usaddress and pyap, IANA's top-level domains as hypothesis
vendors them) are generated, not typed in: the
committed Swift files must be what the generators make from the installed packages."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("generator", ["gen_iban_countries.py", "gen_street_types.py", "gen_top_level_domains.py"])
def test_generated_table_is_current(generator):
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "lib" / generator), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
