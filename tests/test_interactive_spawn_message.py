"""Process execution under ``spawn`` or ``forkserver`` from an interactive session (a
notebook, ``python -c``, the REPL: a ``__main__`` with no file): worker processes cannot
load steps or datasources defined there. The run is refused before anything is stored or
started, naming the part and saying what to do; a worker that still meets a name missing
from ``__main__`` (or from a script's guarded block) says so plainly too."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap

import pytest

from crystallize.plugins.execution import process_start

INTERACTIVE = """\
import multiprocessing
multiprocessing.set_start_method({method!r}, force=True)
{setup}
from crystallize import ArtifactPlugin, Experiment, ParallelExecution, Pipeline, data_source, pipeline_step

@data_source
def src(ctx):
    return 0

@pipeline_step()
def measure(data, ctx):
    return data, {{"v": 1.0}}

exp = Experiment(datasource=src(), pipeline=Pipeline([measure()]), replicates=2, name="inter",
                 plugins=[ArtifactPlugin(root_dir="data"),
                          ParallelExecution(executor_type="process", max_workers=2)])
try:
    print(len(exp.run().errors), "errors")
except Exception as exc:
    print(type(exc).__name__ + ":", exc)
"""

INTERACTIVE_MESSAGE = "cannot load functions or classes defined in a notebook or interactive session"


def _run_code(tmp_path, code: str, script: str | None = None) -> str:
    """The last line ``python -c code`` (or ``python script``) prints."""
    argv = [sys.executable, script] if script is not None else [sys.executable, "-c", code]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


METHODS = [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]


@pytest.mark.parametrize("method", METHODS)
def test_python_c_refuses_a_datasource_defined_there_before_anything_starts(tmp_path, method):
    line = _run_code(tmp_path, INTERACTIVE.format(method=method, setup=""))
    assert line.startswith("PicklingError: Process execution cannot send datasource src to worker processes")
    assert "it uses 'src', defined in __main__. Nothing was run or stored." in line
    assert f"worker processes started with the '{method}' start method {INTERACTIVE_MESSAGE}" in line
    assert "Move the steps and datasources" in line
    assert "ParallelExecution(executor_type='thread')" in line
    assert not (tmp_path / "data").exists()


def test_a_worker_missing_an_interactive_name_says_why(tmp_path):
    """Past the driver's check (something it cannot see), the worker's error says the same."""
    skip_check = "import crystallize.plugins.execution.parallel as p; p.check_main_parts = lambda e: None"
    line = _run_code(tmp_path, INTERACTIVE.format(method="spawn", setup=skip_check))
    assert line.startswith(
        "PicklingError: A worker process could not load the experiment sent to it "
        "(AttributeError: module '__main__' has no attribute 'src'). It is defined in __main__."
    )
    assert f"the 'spawn' start method {INTERACTIVE_MESSAGE}" in line


def test_steps_imported_from_a_module_run_from_python_c(tmp_path):
    (tmp_path / "my_steps.py").write_text(textwrap.dedent("""\
        from crystallize import data_source, pipeline_step

        @data_source
        def src(ctx):
            return 0

        @pipeline_step()
        def measure(data, ctx):
            return data, {"v": 1.0}
    """))
    code = INTERACTIVE.format(method="spawn", setup="import sys; sys.path.insert(0, '.')")
    code = code.replace("@data_source\ndef src(ctx):\n    return 0\n", "from my_steps import src, measure\n")
    code = code.replace('@pipeline_step()\ndef measure(data, ctx):\n    return data, {"v": 1.0}\n', "")
    assert _run_code(tmp_path, code) == "0 errors"


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_python_c_under_fork_is_not_refused(tmp_path):
    assert _run_code(tmp_path, INTERACTIVE.format(method="fork", setup="")) == "0 errors"


def test_a_datasource_defined_in_a_scripts_guarded_block_is_named(tmp_path):
    script = tmp_path / "guarded.py"
    code = textwrap.dedent("""\
        import multiprocessing
        from crystallize import ArtifactPlugin, Experiment, ParallelExecution, Pipeline, data_source, pipeline_step

        @pipeline_step()
        def measure(data, ctx):
            return data, {"v": 1.0}

        if __name__ == "__main__":
            multiprocessing.set_start_method("spawn", force=True)

            @data_source
            def src(ctx):
                return 0

            exp = Experiment(datasource=src(), pipeline=Pipeline([measure()]), replicates=2, name="g",
                             plugins=[ArtifactPlugin(root_dir="data"),
                                      ParallelExecution(executor_type="process", max_workers=2)])
            try:
                exp.run()
            except Exception as exc:
                print(type(exc).__name__ + ":", exc)
    """)
    script.write_text(code)
    line = _run_code(tmp_path, code, str(script))
    assert "(AttributeError: module '__mp_main__' has no attribute 'src')" in line
    assert "without running its if __name__ == \"__main__\": block" in line
    assert "Define it at module scope, outside the block" in line


@pytest.mark.parametrize("method", METHODS)
def test_a_script_read_from_standard_input_is_refused_too(tmp_path, method):
    code = INTERACTIVE.format(method=method, setup="")
    done = subprocess.run(
        [sys.executable, "-"], input=code, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("PicklingError: Process execution cannot send datasource src to worker processes")
    assert "a script read from standard input" in line


def test_the_advice_is_only_for_a_name_missing_from_main(monkeypatch):
    main = sys.modules["__main__"]
    monkeypatch.delattr(main, "__file__", raising=False)
    monkeypatch.setattr(main, "__spec__", None, raising=False)
    assert process_start.interactive_main()
    advice = process_start.main_advice("spawn")
    assert INTERACTIVE_MESSAGE in advice
    assert process_start.main_advice("fork") is None
    other = process_start.load_failed_message("ModuleNotFoundError: No module named 'mine'", advice)
    assert INTERACTIVE_MESSAGE not in other
    assert "can be imported by worker processes" in other
