"""``result.report()`` writes lone surrogates (a file name decoded with
``surrogateescape`` in an error message or a warning) as escapes, as ``to_json`` does,
so printing the report works under a strict UTF-8 stdout."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from crystallize import Experiment, Pipeline, data_source, pipeline_step

NAME = b"caf\xe9.csv".decode("utf-8", "surrogateescape")  # as os.listdir gives it


@data_source
def numbers(ctx):
    return [1, 2, 3]


@pipeline_step()
def load(data, ctx):
    if ctx["replicate"] == 1:
        raise FileNotFoundError(f"cannot read {NAME}")
    return data, {"total": sum(data)}


def test_report_escapes_lone_surrogates_in_messages():
    result = Experiment(datasource=numbers(), pipeline=Pipeline([load()]), replicates=3).run()
    text = result.report()
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    text.encode("utf-8")  # printable under any UTF-8 stdout
    assert "cannot read caf\\udce9.csv" in text
    assert str(result.errors[0]).endswith(f"cannot read {NAME}")  # the error itself is unchanged
    result.warnings.append(f"the datasource skipped {NAME}")
    assert "  - the datasource skipped caf\\udce9.csv" in result.report().splitlines()


def test_printing_the_report_works_under_a_strict_utf8_stdout(tmp_path):
    script = tmp_path / "surrogate_report.py"
    script.write_text(textwrap.dedent('''
        from crystallize import Experiment, Pipeline, data_source, pipeline_step

        @data_source
        def numbers(ctx):
            return [1, 2, 3]

        @pipeline_step()
        def load(data, ctx):
            if ctx["replicate"] == 1:
                raise FileNotFoundError("cannot read " + b"caf\\xe9.csv".decode("utf-8", "surrogateescape"))
            return data, {"total": sum(data)}

        if __name__ == "__main__":
            print(Experiment(datasource=numbers(), pipeline=Pipeline([load()]), replicates=3).run().report())
    '''), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, timeout=120,
        env={**__import__("os").environ, "PYTHONIOENCODING": "utf-8:strict"},
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert b"cannot read caf\\udce9.csv" in proc.stdout
