"""config.yaml's ``plugins.execution`` and the CLI's ``--executor`` build the same plugins
from the same strategy names, with their own (unchanged) error messages."""

from __future__ import annotations

import re
import textwrap

import pytest

from crystallize import Experiment
from crystallize.cli.errors import UserError
from crystallize.cli.plugin_settings import execution_plugin

STRATEGIES = ["serial", "thread", "process", "async", "ray"]
SETTINGS = {"serial": {}, "ray": {"workers": 2, "address": "ray://head:10001"}}


def _folder(tmp_path, execution: str):
    folder = tmp_path / "demo"
    folder.mkdir(exist_ok=True)
    (folder / "datasources.py").write_text(
        "from crystallize import data_source\n\n@data_source\ndef numbers(ctx):\n    return 1\n"
    )
    (folder / "steps.py").write_text(
        "from crystallize import pipeline_step\n\n@pipeline_step()\n"
        "def total(data, ctx):\n    return data, {'total': data}\n"
    )
    config = f"""\
        name: demo
        datasource: numbers
        steps: [total]
        plugins: {{execution: {execution}}}
    """
    (folder / "config.yaml").write_text(textwrap.dedent(config))
    return folder


def _config_error(tmp_path, execution: str) -> str:
    with pytest.raises(ValueError) as info:
        Experiment.from_yaml(_folder(tmp_path, execution))
    return re.sub(r"^.*config\.yaml: ", "", str(info.value))


@pytest.mark.filterwarnings("ignore:SeedPlugin is combined:RuntimeWarning")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_config_and_cli_build_the_same_plugin(tmp_path, strategy):
    settings = SETTINGS.get(strategy, {"workers": 2})
    options = ", ".join(f"{key}: {value}" for key, value in settings.items())
    execution = f"{{strategy: {strategy}{', ' + options if options else ''}}}"
    from_config = Experiment.from_yaml(_folder(tmp_path, execution)).execution_plugin
    from_cli = execution_plugin(Experiment(name="e"), strategy, **settings)
    assert repr(from_config) == repr(from_cli)
    assert type(from_cli).__name__ == {"serial": "SerialExecution", "async": "AsyncExecution",
                                       "ray": "RayExecution"}.get(strategy, "ParallelExecution")


def test_config_errors_list_every_strategy(tmp_path):
    assert _config_error(tmp_path, "{strategy: proces}") == (
        "plugins.execution.strategy: expected one of 'serial', 'thread', 'process', 'async' or 'ray', "
        "got 'proces' (a string); did you mean 'process'? (line 4)"
    )
    assert _config_error(tmp_path, "{strategy: serial, workers: 2}") == (
        "plugins.execution.workers: 'workers' is used only with strategy: thread, process, async or ray "
        "(strategy is 'serial') (line 4)"
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("proces",), {}, "unknown executor 'proces'. Did you mean 'process'? Use one of: serial, thread, process, async, ray."),
        ((5,), {}, "unknown executor 5. Use one of: serial, thread, process, async, ray."),
        (("thread",), {"address": "x"}, "--address is for the Ray executor only (got executor 'thread')."),
        ((), {"workers": 0}, "workers must be a whole number of at least 1, got 0."),
    ],
)
def test_cli_errors_are_unchanged(args, kwargs, message):
    with pytest.raises(UserError) as info:
        execution_plugin(Experiment(name="e"), *args, **kwargs)
    assert str(info.value) == message
