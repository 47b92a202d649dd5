"""Every kind of bad folder experiment gives a clear ConfigError before anything runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crystallize import Experiment
from crystallize.config import ConfigValidationError, ModuleImportError
from crystallize.exceptions import ConfigError

STEPS_THAT_EXIT = """
import sys
from crystallize import pipeline_step

{exit}


@pipeline_step()
def total(data):
    return data, {{"total": sum(data)}}
"""


def _error(folder) -> str:
    with pytest.raises(ConfigError) as info:
        Experiment.from_yaml(folder)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_unknown_step_suggests_the_close_name(make_folder):
    folder = make_folder("demo", "datasource: numbers\nsteps:\n  - add_delta\n  - add_delt\n")
    message = _error(folder)
    assert "config.yaml: steps[1]: no step named 'add_delt' in steps.py; did you mean 'add_delta'?" in message
    assert "(line 4)" in message


def test_unknown_step_without_close_match_lists_the_steps(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\nsteps: [zzz]\n"))
    assert "no step named 'zzz' in steps.py (available steps: add_delta, scale, total)" in message


def test_unknown_datasource_and_verifier_and_ranker(make_folder):
    folder = make_folder(
        "demo",
        """
        datasource: {x: numbrs}
        steps: [total]
        treatments: {t: {}}
        hypotheses:
          - {name: h, verifier: welch_ttest, metrics: total}
          - {name: g, verifier: welch_t_test, metrics: total, ranker: by_gian}
        """,
        verifiers="def by_gain(result):\n    return 0.0\n",
    )
    message = _error(folder)
    assert "has 3 problems" in message
    assert "datasource.x: no datasource named 'numbrs' in datasources.py; did you mean 'numbers'?" in message
    assert "hypotheses[0].verifier: no verifier named 'welch_ttest' in verifiers.py or crystallize.stats; did you mean 'welch_t_test'?" in message
    assert "hypotheses[1].ranker: no ranker function named 'by_gian' in verifiers.py; did you mean 'by_gain'?" in message


def test_ranker_naming_a_verifier_says_what_a_ranker_is(make_folder):
    folder = make_folder(
        "demo",
        """
        datasource: numbers
        steps: [total]
        treatments: {t: {}}
        hypotheses:
          - {name: h, verifier: welch_t_test, metrics: total, ranker: mine}
          - {name: g, verifier: welch_t_test, metrics: total, ranker: welch_t_test}
        """,
        verifiers=(
            "from crystallize import verifier\n\n\n@verifier\n"
            "def mine(baseline, treatment):\n    return {'p_value': 1.0}\n"
        ),
    )
    message = _error(folder)
    assert "hypotheses[0].ranker: ranker 'mine' is a verifier, not a ranker: a ranker is a plain (undecorated) function" in message
    assert "hypotheses[1].ranker: ranker 'welch_t_test' is a verifier, not a ranker" in message
    assert "def by_p(result): return result['p_value']" in message


def test_a_verifier_metric_the_hypothesis_does_not_hand_it_is_a_config_error(make_folder):
    # Was a bare ValueError from Hypothesis(), with no file, field or line.
    folder = make_folder(
        "demo",
        """
        datasource: numbers
        steps: [total]
        treatments: {t: {}}
        hypotheses:
          - {name: h, verifier: {paired_t_test: {metric: other}}, metrics: total}
        """,
    )
    message = _error(folder)
    assert "config.yaml: hypotheses[0]: The verifier tests metric 'other'" in message
    assert "add 'other' to the hypothesis' metrics" in message and "(line 6)" in message


def test_missing_module_file_is_named(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\nsteps: [total]\n", steps=None))
    assert "steps[0]: no step named 'total': steps.py does not exist in" in message


def test_unknown_output_loader(make_folder):
    folder = make_folder(
        "demo",
        "datasource: numbers\nsteps: [total]\noutputs: {res: {loader: load_jsn}}\n",
        outputs="def load_json(data):\n    return data\n",
    )
    assert "outputs.res.loader: no function named 'load_jsn' in outputs.py; did you mean 'load_json'?" in _error(folder)


def test_wrong_types(make_folder):
    folder = make_folder(
        "demo",
        """
        replicates: ten
        datasource: numbers
        steps: [total]
        plugins:
          seed: {seed: "7", auto_seed: maybe}
          execution: {strategy: process, workers: 0}
        """,
    )
    message = _error(folder)
    assert "config.yaml: replicates: expected a whole number, got 'ten' (a string) (line 2)" in message
    assert "plugins.seed.seed: expected a whole number, got '7' (a string)" in message
    assert "plugins.seed.auto_seed: expected true or false, got 'maybe' (a string)" in message
    assert "plugins.execution.workers: must be at least 1, got 0 (an integer)" in message


def test_booleans_are_not_numbers(make_folder):
    message = _error(make_folder("demo", "replicates: true\ndatasource: numbers\nsteps: [total]\n"))
    assert "replicates: expected a whole number, got True (a boolean)" in message


def test_unknown_keys_with_suggestions(make_folder):
    folder = make_folder(
        "demo",
        """
        datasource: numbers
        steps: [total]
        replicats: 3
        plugins:
          execution: {stratgy: thread}
          cache: {}
        """,
    )
    message = _error(folder)
    assert "config.yaml: replicats: unknown key 'replicats'; did you mean 'replicates'? (line 4)" in message
    assert "plugins.execution.stratgy: unknown key 'stratgy'; did you mean 'strategy'?" in message
    assert "plugins.cache: unknown key 'cache' (available keys: artifacts, execution, logging, seed)" in message


def test_invalid_choices_suggest(make_folder):
    folder = make_folder(
        "demo",
        """
        datasource: numbers
        steps: [total]
        treatments: {t: {delta: 1}}
        hypotheses: [{name: h, verifier: welch_t_test, metrics: total, correction: holmes}]
        plugins: {execution: {strategy: proces}, logging: {log_level: LOUD}}
        """,
    )
    message = _error(folder)
    assert "hypotheses[0].correction: expected one of 'holm', 'bonferroni' or 'fdr_bh', got 'holmes' (a string); did you mean 'holm'?" in message
    assert "plugins.execution.strategy:" in message and "did you mean 'process'?" in message
    assert "plugins.logging.log_level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in message


def test_missing_required_fields_and_bad_shapes(make_folder):
    message = _error(make_folder("demo", "name: demo\n"))
    assert "datasource: this field is required" in message
    assert "steps: this field is required" in message
    message = _error(make_folder("demo2", "datasource: numbers\nsteps: [{total: 1, scale: 2}]\n"))
    assert "steps[0]: expected one step name with its parameters" in message
    message = _error(make_folder("demo3", "datasource: numbers\nsteps: [{scale: [2]}]\n"))
    assert "steps[0]: the parameters of 'scale' must be a mapping {param: value}" in message


def test_empty_and_non_mapping_files(make_folder):
    assert "datasource: this field is required" in _error(make_folder("empty", ""))
    assert "expected a mapping of fields" in _error(make_folder("listy", "- a\n- b\n"))


def test_yaml_syntax_error_gives_line_and_column(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\nsteps: [total\nreplicates: 2\n"))
    assert "config.yaml: line 3, column 11: YAML syntax error:" in message


def test_bad_indentation_is_a_syntax_error(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\n steps: [total]\n"))
    assert "line 2, column 7: YAML syntax error: mapping values are not allowed here" in message


def test_python_tags_are_refused_and_never_executed(make_folder, tmp_path):
    marker = tmp_path / "pwned"
    folder = make_folder(
        "demo",
        f"""
        datasource: numbers
        steps: [total]
        initial_ctx:
          x: !!python/object/apply:os.system ["touch {marker}"]
        """,
    )
    message = _error(folder)
    assert "line 5, column 6: the tag '!!python/object/apply:os.system' is not allowed" in message
    assert "safe loader" in message
    assert not marker.exists()


def test_python_object_tag_refused(make_folder):
    folder = make_folder("demo", "datasource: !!python/object:collections.OrderedDict {}\nsteps: [total]\n")
    assert "the tag '!!python/object:collections.OrderedDict' is not allowed" in _error(folder)


def test_duplicate_keys_are_errors(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\nsteps: [total]\nsteps: [scale]\n"))
    assert "steps: the key 'steps' appears twice in the same mapping (first on line 2)" in message


def test_a_replicate_count_beyond_what_a_run_holds_is_a_config_error(make_folder):
    message = _error(make_folder("demo", "replicates: 99999999999999999999999\ndatasource: numbers\nsteps: [total]\n"))
    assert "replicates: must be at most 100000000, got 99999999999999999999999 (an integer) (line 1)" in message


def test_structure_errors_are_reported_before_modules_are_imported(make_folder, tmp_path):
    marker = tmp_path / "imported"
    steps = f"open({str(marker)!r}, 'w').close()\n"
    _error(make_folder("demo", "replicates: 0\ndatasource: numbers\nsteps: [total]\n", steps=steps))
    assert not marker.exists()


def test_exception_while_importing_a_module(make_folder):
    steps = """
    from crystallize import pipeline_step

    VALUE = 1 / 0
    """
    with pytest.raises(ModuleImportError) as info:
        Experiment.from_yaml(make_folder("demo", steps=steps))
    message = str(info.value)
    assert "steps.py, line 4: importing the module failed with ZeroDivisionError: division by zero" in message
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert info.value.__cause__.__traceback__ is not None
    assert info.value.file.name == "steps.py"


def test_syntax_error_in_a_module(make_folder):
    with pytest.raises(ModuleImportError) as info:
        Experiment.from_yaml(make_folder("demo", datasources="def broken(:\n    pass\n"))
    assert "datasources.py, line 1: importing the module failed with SyntaxError" in str(info.value)
    assert isinstance(info.value.__cause__, SyntaxError)


def test_unknown_factory_parameters(make_folder):
    folder = make_folder(
        "demo",
        """
        datasource: {d: {numbers: {count: 3}}}
        steps: [{scale: {factr: 2}}, total]
        treatments: {t: {}}
        hypotheses: [{name: h, verifier: {welch_t_test: {alpah: 0.1}}, metrics: total}]
        """,
    )
    message = _error(folder)
    assert "datasource.d: datasource 'numbers' has no parameter 'count' (it accepts: n)" in message
    assert "steps[0]: step 'scale' has no parameter 'factr'; did you mean 'factor'? (it accepts: factor)" in message
    assert "hypotheses[0].verifier: verifier 'welch_t_test' has no parameter 'alpah'; did you mean 'alpha'?" in message


def test_a_factory_that_raises_is_reported(make_folder):
    datasources = """
    from crystallize import DataSource


    class Picky(DataSource):
        def __init__(self, n=1):
            if n < 0:
                raise ValueError("n must be >= 0")
    """
    folder = make_folder("demo", "datasource: {d: {Picky: {n: -1}}}\nsteps: [total]\n", datasources=datasources)
    assert "datasource.d: Picky(n=-1) failed: ValueError: n must be >= 0" in _error(folder)


def test_a_factory_raising_an_exception_whose_str_fails_is_reported(make_folder):
    datasources = """
    from crystallize import DataSource


    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no text")


    class Picky(DataSource):
        def __init__(self, n=1):
            raise Unprintable()
    """
    folder = make_folder("demo", "datasource: {d: {Picky: {n: -1}}}\nsteps: [total]\n", datasources=datasources)
    assert "Picky(n=-1) failed: Unprintable: <str() of the Unprintable failed: RuntimeError>" in _error(folder)


def test_output_parameter_without_annotation_is_still_bound(make_folder):
    steps = """
    from crystallize import pipeline_step


    @pipeline_step()
    def total(data, ctx, result=None):
        result.write(str(sum(data)))
        return data, {"total": sum(data)}
    """
    folder = make_folder("demo", "datasource: numbers\nsteps: [total]\noutputs: {result: {file_name: total.txt}}\n", steps=steps)
    result = Experiment.from_yaml(folder).run()
    assert not result.errors
    assert (Path("data") / "demo" / "v0" / "baseline" / "0" / "total.txt").exists()


def test_reserved_and_invalid_names(make_folder):
    folder = make_folder(
        "demo",
        """
        datasource: numbers
        steps: [total]
        outputs: {not-an-identifier: {}}
        treatments:
          baseline: {delta: 1}
          t: {replicate: 3}
        hypotheses:
          - {name: h, verifier: welch_t_test, metrics: total}
          - {name: h, verifier: welch_t_test, metrics: total}
        """,
    )
    message = _error(folder)
    assert "outputs.not-an-identifier: 'not-an-identifier' cannot be an output alias" in message
    assert "treatments.baseline: 'baseline' is the untreated condition" in message
    assert "treatments.t.replicate: 'replicate' is set by the engine" in message
    assert "hypotheses[1].name: the hypothesis name 'h' is used twice" in message


def test_bad_experiment_names(make_folder):
    assert "'a/b' cannot name an experiment" in _error(make_folder("demo", "name: a/b\ndatasource: numbers\nsteps: [total]\n"))
    message = _error(make_folder("with#hash", "datasource: numbers\nsteps: [total]\n"))
    assert "the folder name is used as the experiment name" in message


def test_address_needs_ray(make_folder):
    folder = make_folder("demo", "datasource: numbers\nsteps: [total]\nplugins: {execution: {address: auto}}\n")
    assert "plugins.execution.address: 'address' is used only with strategy: ray" in _error(folder)


def test_missing_config_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="config.yaml: no such file"):
        Experiment.from_yaml(tmp_path / "empty")


def test_errors_list_every_problem_and_keep_them(make_folder):
    folder = make_folder("demo", "datasource: numbrs\nsteps: [totl, scal]\n")
    with pytest.raises(ConfigValidationError) as info:
        Experiment.from_yaml(folder)
    fields = [p.field for p in info.value.problems]
    assert fields == ["datasource.numbrs", "steps[0]", "steps[1]"]
    assert all(p.file.name == "config.yaml" for p in info.value.problems)
    assert [p.line for p in info.value.problems] == [1, 2, 2]


def test_syntax_error_problem_keeps_line_and_column(make_folder):
    with pytest.raises(ConfigValidationError) as info:
        Experiment.from_yaml(make_folder("demo", "datasource: numbers\n steps: [total]\n"))
    (problem,) = info.value.problems
    assert (problem.field, problem.line, problem.column) == ("", 2, 7)
    assert "(line" not in str(problem)


# -- a module that exits while it is imported -------------------------------------------
def test_sys_exit_while_importing_a_module_is_a_load_error(make_folder):
    steps = STEPS_THAT_EXIT.format(exit="sys.exit(3)")
    with pytest.raises(ModuleImportError) as info:
        Experiment.from_yaml(make_folder("demo", steps=steps))
    message = str(info.value)
    assert "steps.py, line 5: the module exited with status 3 while being imported" in message
    assert "if __name__ == \"__main__\":" in message
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value.__cause__, SystemExit)
    assert info.value.file.name == "steps.py"


def test_module_level_argparse_is_a_load_error(make_folder, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["crystallize", "list"])  # parse_args() rejects "list"
    datasources = "import argparse\n\nARGS = argparse.ArgumentParser().parse_args()\n"
    with pytest.raises(ModuleImportError) as info:
        Experiment.from_yaml(make_folder("demo", datasources=datasources))
    message = str(info.value)
    assert "datasources.py, line 3: the module exited with status 2 while being imported" in message
    assert "argparse's parse_args() ran at module level" in message
    assert "unrecognized arguments: list" in capsys.readouterr().err  # argparse's own usage text


@pytest.mark.parametrize(
    ("exit", "status"),
    [("sys.exit()", "exited with status 0"), ("sys.exit('bye')", "exited with status 1 (sys.exit('bye'))")],
)
def test_exit_status_is_described(make_folder, exit, status):
    with pytest.raises(ModuleImportError, match=re.escape(status)):
        Experiment.from_yaml(make_folder("demo", steps=STEPS_THAT_EXIT.format(exit=exit)))


def test_keyboard_interrupt_while_importing_still_propagates(make_folder):
    folder = make_folder("demo", steps="raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        Experiment.from_yaml(folder)


def test_a_factory_that_exits_is_reported(make_folder):
    datasources = """
    import sys

    from crystallize import DataSource


    class Scripted(DataSource):
        def __init__(self, n=1):
            sys.exit(4)
    """
    folder = make_folder("demo", "datasource: {d: {Scripted: {n: 2}}}\nsteps: [total]\n", datasources=datasources)
    message = _error(folder)
    assert "datasource.d: Scripted(n=2) exited with status 4 while the experiment was being built" in message
    assert "(line 1)" in message


# -- keys that are lists or mappings --------------------------------------------------------
def test_a_list_as_a_mapping_key_is_not_called_a_tag(make_folder):
    config = "datasource: numbers\nsteps: [total]\ninitial_ctx:\n  x: 1\n  ? [a, b]\n  : 1\n"
    message = _error(make_folder("demo", config))
    assert (
        "config.yaml: initial_ctx: the key [a, b] is a list, but mapping keys must be plain "
        "strings or numbers" in message
    )
    assert "(line 5)" in message
    assert "tag" not in message


def test_a_mapping_as_a_top_level_key(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\nsteps: [total]\n? {a: 1}\n: 2\n"))
    assert "config.yaml: line 3, column 3: the key {a: 1} is a mapping, but mapping keys must be" in message
    assert "tag" not in message


def test_a_tagged_key_is_still_a_tag_error(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\nsteps: [total]\n? !!python/tuple [a, b]\n: 2\n"))
    assert "line 3, column 3: the tag '!!python/tuple' is not allowed" in message


def test_a_custom_tag_is_named(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\nsteps: [total]\ninitial_ctx: {x: !foo 1}\n"))
    assert "the tag '!foo' is not allowed" in message


def test_other_data_the_safe_loader_refuses_is_not_called_a_tag(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\nsteps: [total]\ninitial_ctx: {x: !!binary 'zz'}\n"))
    assert "line 3, column 18: YAML error: failed to decode base64 data" in message
    assert "tag" not in message


# -- built-in verifier arguments are checked at load time ----------------------------------
def test_bad_builtin_verifier_argument_fails_at_load(make_folder):
    config = """
    datasource: numbers
    steps: [total]
    treatments: {t: {delta: 1.0}}
    hypotheses:
      - name: h
        verifier:
          mann_whitney:
            alternative: lesser
        metrics: total
    """
    message = _error(make_folder("demo", config))
    assert (
        "config.yaml: hypotheses[0].verifier.mann_whitney.alternative: mann_whitney: unknown "
        "alternative 'lesser'; did you mean 'less'? Use 'two-sided', 'greater'" in message
    )
    assert "(line 9)" in message


def test_bad_builtin_verifier_ranges_fail_at_load(make_folder):
    config = """
    datasource: numbers
    steps: [total]
    hypotheses:
      - {name: a, verifier: {bootstrap_ci: {n_resamples: 0}}, metrics: total}
      - {name: b, verifier: {welch_t_test: {alpha: 5}}, metrics: total}
      - {name: c, verifier: {chi2: {alternative: greater}}, metrics: total}
    """
    message = _error(make_folder("demo", config))
    assert "has 3 problems" in message
    assert "hypotheses[0].verifier.bootstrap_ci.n_resamples: bootstrap_ci: n_resamples must be a positive integer, got 0" in message
    assert "hypotheses[1].verifier.welch_t_test.alpha: welch_t_test: alpha must be a number strictly between 0 and 1, got 5" in message
    assert "hypotheses[2].verifier.chi2.alternative: chi2: only alternative='two-sided' is possible" in message
    assert "(line 5)" in message and "(line 6)" in message and "(line 7)" in message


@pytest.mark.parametrize(
    ("written", "fix"),
    [
        ("{numbers: {n: 10}}", "numbers: {numbers: {n: 10}}"),
        ("{numbers: {n: 10, seed: 1}}", "numbers: {numbers: {n: 10, seed: 1}}"),
    ],
)
def test_parameters_written_under_the_alias_show_the_right_form(make_folder, written, fix):
    message = _error(make_folder("demo", f"datasource: {written}\nsteps: [total]\n"))
    assert "datasource.numbers: " in message
    assert "a source with arguments is written alias: {factory: {param: value}}" in message
    assert f"if 'numbers' is the factory in datasources.py, write {fix}" in message
    assert "the parameters of 'n' must be a mapping" not in message


def test_an_unknown_factory_under_a_factory_alias_shows_the_right_form(make_folder):
    message = _error(make_folder("demo", "datasource: {constant: {value: {x: 1}}}\nsteps: [total]\n"))
    assert "datasource.constant: no datasource named 'value' in datasources.py" in message
    assert "write constant: {constant: {value: {x: 1}}}" in message


def test_a_treatment_datasource_keeps_the_plain_message(make_folder):
    config = "datasource: numbers\nsteps: [total]\ntreatments:\n  t: {datasource: {numbers: 10}}\n"
    message = _error(make_folder("demo", config))
    assert "treatments.t.datasource: the parameters of 'numbers' must be a mapping" in message


def test_workers_need_a_strategy_that_uses_them(make_folder):
    folder = make_folder("demo", "datasource: numbers\nsteps: [total]\nplugins: {execution: {strategy: serial, workers: 4}}\n")
    message = _error(folder)
    assert (
        "plugins.execution.workers: 'workers' is used only with strategy: thread, process, async or ray "
        "(strategy is 'serial')"
    ) in message
    folder = make_folder("demo2", "datasource: numbers\nsteps: [total]\nplugins: {execution: {workers: 2}}\n")
    assert "plugins.execution.workers: 'workers' is used only with" in _error(folder)


def test_empty_steps_is_an_error(make_folder):
    message = _error(make_folder("demo", "datasource: numbers\nsteps: []\n"))
    assert "steps: list at least one step" in message


def test_a_blank_artifacts_root_dir_is_a_config_error(make_folder):
    folder = make_folder("demo", "datasource: numbers\nsteps:\n  - add_delta\nplugins:\n  artifacts: {root_dir: ' '}\n")
    message = _error(folder)
    assert "plugins.artifacts.root_dir: is blank" in message
    assert "null for no store" in message


def test_an_alias_bomb_is_refused_before_it_is_expanded(make_folder):
    """Nested aliases ("billion laughs"): 300 bytes that would expand to 9**9 values."""
    levels = ['    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        name, previous = chr(ord("a") + i), chr(ord("a") + i - 1)
        levels.append(f"    {name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    folder = make_folder("demo", "datasource: numbers\nsteps:\n  - add_delta\ninitial_ctx:\n  bomb:\n" + "\n".join(levels) + "\n")
    message = _error(folder)
    assert "more than 100,000 keys and list items once its aliases (*name) are expanded" in message


def test_aliases_of_ordinary_size_still_work(make_folder):
    folder = make_folder(
        "demo",
        "datasource: numbers\nsteps:\n  - add_delta\ninitial_ctx:\n  base: &base {delta: 2}\n  copy: *base\n",
    )
    assert Experiment.from_yaml(folder).initial_ctx["copy"] == {"delta": 2}


ANNOTATED_STEPS = """
from __future__ import annotations

from crystallize import FrozenContext, pipeline_step


@pipeline_step()
def weighted(data, context: FrozenContext, *, factor=1.0):
    return data, {"total": sum(data) * factor, "replicate": context["replicate"]}
"""


def test_a_step_whose_context_is_annotated_takes_its_options_from_the_config(make_folder):
    config = "replicates: 2\ndatasource: {source: {constant: {value: 2.0}}}\nsteps:\n  - weighted: {factor: 3}\n"
    folder = make_folder("annotated", config, steps=ANNOTATED_STEPS)
    result = Experiment.from_yaml(folder).run()
    assert result.metrics.baseline.metrics["total"] == [18.0, 18.0]
    assert result.metrics.baseline.metrics["replicate"] == [0, 1]
    folder = make_folder("annotated_bad", config.replace("factor", "context"), steps=ANNOTATED_STEPS)
    assert "step 'weighted' has no parameter 'context'" in _error(folder)


@pytest.mark.parametrize(
    ("treatments", "expected"),
    [
        ('{Fast: {delta: 1.0}, fast: {delta: 2.0}}', "treatments.fast: treatment names 'Fast' and 'fast' differ only by case"),
        ("{Baseline: {delta: 1.0}}", "treatments.Baseline: treatment name 'Baseline' differs from 'baseline' only by case"),
        ('{"ab ": {delta: 1.0}}', "treatment name 'ab ' starts or ends with whitespace"),
        ('{"caf\\u00e9": {delta: 1.0}, "cafe\\u0301": {delta: 2.0}}', "look the same"),
        ('{"a\\eb": {delta: 1.0}}', "the treatment name contains the control character \\x1b; use printable text"),
    ],
)
def test_treatment_names_that_cannot_be_told_apart_are_refused_at_load(make_folder, treatments, expected):
    folder = make_folder("demo", f"datasource: numbers\nsteps: [add_delta, total]\ntreatments: {treatments}\n")
    message = _error(folder)
    assert expected in message and "(line 3)" in message


def test_an_experiment_name_padded_with_whitespace_is_refused_at_load(make_folder):
    message = _error(make_folder("demo", 'name: " demo"\ndatasource: numbers\nsteps: [total]\n'))
    assert "name: the name ' demo' starts or ends with whitespace" in message and "(line 1)" in message
