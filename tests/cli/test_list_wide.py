"""``crystallize list`` with experiments of many treatments: a summary line per
experiment, every name with ``--verbose``; small experiments list their treatments."""

from __future__ import annotations

import json

WIDE = "name: wide\nreplicates: 2\ndatasource: numbers\nsteps: [add_delta, total]\ntreatments:\n" + "".join(
    f"  t{i}: {{delta: {i}.0}}\n" for i in range(500)
)


def test_many_treatments_are_summarised(cli, make_experiment):
    make_experiment("wide", config=WIDE)
    make_experiment("numbers")
    proc = cli("list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3  # header, numbers, wide
    (wide,) = [line for line in lines if " wide " in line]
    assert wide.rstrip().endswith("500 treatments (t0, t1, …, t499)")
    assert "t250" not in proc.stdout
    (numbers,) = [line for line in lines if " numbers " in line]
    assert numbers.rstrip().endswith("shifted, doubled")  # a few treatments are listed as before


def test_verbose_lists_every_treatment(cli, make_experiment):
    make_experiment("wide", config=WIDE)
    out = cli("list", "--verbose").stdout
    assert "t0, t1, t2," in out and "t250, t251" in out and "t499" in out
    assert cli("list", "-v").stdout == out
    assert len(json.loads(cli("list", "--json").stdout)["experiments"][0]["treatments"]) == 500
