"""Result.to_json(path) and write_html/to_html(path) replace the file in one step: a failed
write leaves the earlier file whole and nothing partial; devices are written to."""

from __future__ import annotations

import errno
import os

import pytest

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.reporting_html import write_html
from crystallize.store import artifacts as store_artifacts


@data_source
def number(ctx):
    return ctx["replicate"]


@pipeline_step()
def score(data, ctx):
    return data, {"score": float(data)}


@pytest.fixture(scope="module")
def result():
    experiment = Experiment(
        datasource=number(), pipeline=Pipeline([score()]), replicates=2, name="exports",
        plugins=[SeedPlugin(seed=1)],
    )
    return experiment.run()


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("export", ["json", "html", "to_html"])
def test_a_failed_export_keeps_the_earlier_file_and_leaves_nothing_partial(result, tmp_path, monkeypatch, export):
    target = tmp_path / "out.txt"
    target.write_text("the earlier export", encoding="utf-8")
    monkeypatch.setattr(store_artifacts.os, "replace", _disk_full)
    with pytest.raises(OSError, match="No space left"):
        if export == "json":
            result.to_json(target)
        elif export == "html":
            write_html(result, target)
        else:
            result.to_html(target)
    assert target.read_text(encoding="utf-8") == "the earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_exports_replace_a_file_and_write_to_a_device(result, tmp_path):
    target = tmp_path / "sub" / "result.json"
    text = result.to_json(target)
    assert target.read_text(encoding="utf-8") == text
    assert result.to_json(os.devnull) == text  # a device is written to, not replaced
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def test_an_export_through_a_symlink_replaces_its_target(result, tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    page = result.to_html(link)
    assert link.is_symlink() and real.read_text(encoding="utf-8") == page


def test_a_replaced_export_keeps_its_permissions(result, tmp_path):
    import stat

    private = tmp_path / "private.json"
    private.write_text("{}", encoding="utf-8")
    private.chmod(0o600)
    result.to_json(private)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text(encoding="utf-8") != "{}"
