"""``crystallize run`` with a custom verifier calling ``sys.exit()``: the run reports it
as that hypothesis' error entries and exits 0, instead of ending silently."""

from __future__ import annotations

from cli_support import CONFIG

VERIFIERS = '''
import sys

from crystallize import verifier


@verifier
def picky(baseline, treatment):
    sys.exit(3)
'''

HYPOTHESIS = '''
hypotheses:
  - name: custom
    verifier: picky
    metrics: total
'''


def test_a_verifier_calling_sys_exit_is_reported_not_an_exit(cli, make_experiment):
    folder = make_experiment("numbers", config=CONFIG.format(name="numbers", replicates=3, priority=0) + HYPOTHESIS)
    (folder / "verifiers.py").write_text(VERIFIERS, encoding="utf-8")
    proc = cli("run", "numbers")
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert "Hypothesis 'custom'" in proc.stdout
    assert "error: SystemExit: 3" in proc.stdout
