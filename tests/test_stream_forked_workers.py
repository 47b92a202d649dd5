"""A stream being read while process workers are forked: the workers inherit the set of
streams open in their parent, and must leave them alone when they exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from crystallize import Experiment, ParallelExecution, Pipeline, data_source, pipeline_step

    @data_source
    def numbers(ctx):
        return [1, 2, 3]

    @pipeline_step()
    def count(data):
        return data, {"n": float(len(data))}

    def make(name, processes):
        plugins = [ParallelExecution(max_workers=2, executor_type="process")] if processes else []
        return Experiment(datasource=numbers(), pipeline=Pipeline([count()]), name=name, replicates=4, plugins=plugins)

    if __name__ == "__main__":
        import multiprocessing

        multiprocessing.set_start_method("fork")
        for experiment in (make("first", False), make("second", True)):
            stream = experiment.stream()
            for _ in stream:
                pass
            print(experiment.name, stream.result.metrics.baseline.metrics["n"])
    """
)


def test_forked_workers_leave_their_parents_stream_alone_at_exit(tmp_path):
    script = tmp_path / "streams.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "second [3.0, 3.0, 3.0, 3.0]" in done.stdout
    assert "Stopping a stream left unfinished" not in done.stderr
    assert "Traceback" not in done.stderr
