"""The HTML report's Configuration section: what was run, from a fresh or a stored Result."""

from __future__ import annotations

import json
import random
import re
import warnings

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Hypothesis,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.reporting_html import render_html
from crystallize.reporting_html.config import config_from_spec
from crystallize.result import Result
from crystallize.stats import welch_t_test
from crystallize.store import load_result

HOT = "hot <b>&"
SCRIPT = "<script>alert(1)</script>"


@data_source
def noise(ctx, *, scale=1.0):
    return random.gauss(0.0, scale)


@pipeline_step()
def measure(data, ctx, *, shift=0.0, boost=0.5):
    return data, {"score": data + shift + boost}


def _experiment(root) -> Experiment:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SeedPlugin + threads
        return Experiment(
            datasource=noise(scale=2.0),
            pipeline=Pipeline([measure(boost=0.25)]),
            treatments=[treatment(HOT, {"shift": 2.5}), treatment("cold", {"shift": -1})],
            hypotheses=[Hypothesis(welch_t_test(), "score", name="rises", correction="holm")],
            initial_ctx={"lr": 0.01, "note": SCRIPT},
            replicates=3,
            plugins=[
                SeedPlugin(seed=7),
                ParallelExecution(max_workers=2, executor_type="thread"),
                ArtifactPlugin(root_dir=str(root), versioned=True),
            ],
            name="configured",
        )


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("config") / "data"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = _experiment(root).run()
    return result, load_result(result.run_id, root)


def _section(page: str) -> str:
    found = re.search(r'<section id="config">(.*?)</section>', page, re.S)
    assert found, "no Configuration section"
    return found.group(1)


@pytest.mark.parametrize("which", ["run", "stored"])
def test_config_section_shows_what_was_run(results, which):
    result = results[0] if which == "run" else results[1]
    page = render_html(result)
    assert '<a href="#config">Configuration</a>' in page
    section = _section(page)
    assert "<h2>Configuration</h2>" in section
    for expected in [
        "noise(scale=2.0)",                      # datasource and its params
        "measure(boost=0.25)",                   # step and its fixed params
        "hot &lt;b&gt;&amp;", "shift=2.5", "cold", "shift=-1",  # treatments
        "lr=0.01", "note=&#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27;",  # initial_ctx
        "rises", "welch_t_test", "score", "holm",  # hypothesis
        "ParallelExecution", "executor_type=&#x27;thread&#x27;", "max_workers=2",
        "SeedPlugin", "seed=7", "auto_seed=True",
        "ArtifactPlugin", "versioned=True",
    ]:
        assert expected in section, expected
    assert re.search(r"<td>replicates</td><td>3</td>", section)
    assert "<script" not in page


def test_config_is_plain_data_kept_with_the_stored_run(results):
    fresh, stored = results
    assert fresh.info["config"] == stored.info["config"]
    json.dumps(fresh.to_dict()["info"]["config"])  # JSON-ready
    assert "<td>config</td>" not in _run_rows(render_html(fresh))  # not repeated as a Run row


def _run_rows(page: str) -> str:
    return re.search(r'<section id="run">(.*?)</section>', page, re.S).group(1)


def test_result_without_config_says_so():
    page = render_html(Result([], ["baseline"], experiment="bare"))
    assert "not recorded" in _section(page)


def test_config_from_a_stored_spec(results):
    """A stored run without a recorded configuration (still running, or stored by an
    older version) is described from its spec: no hypotheses or plugins, but the rest."""
    from crystallize.fingerprint import spec_of

    experiment = _experiment("unused")
    config = config_from_spec(spec_of(experiment), 3)
    page = render_html(Result([], ["baseline"], experiment="configured", info={"config": config}))
    section = _section(page)
    for expected in ["noise(scale=2.0)", "measure(boost=0.25)", "hot &lt;b&gt;&amp;", "shift=2.5", "lr=0.01", "seed=7"]:
        assert expected in section, expected
