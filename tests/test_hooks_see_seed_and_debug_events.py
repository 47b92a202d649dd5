"""Every hook sees ``seed_used``; ``debug()`` delivers live events to plugins as ``apply()`` does."""

from __future__ import annotations

from crystallize import (
    ArtifactPlugin,
    BasePlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
)


@data_source
def source(ctx):
    return 0


@pipeline_step()
def emits(data, ctx):
    ctx.emit("epoch", epoch=1, seed=ctx["seed_used"])
    return data, {"seed": ctx["seed_used"]}


class Watcher(BasePlugin):
    def __init__(self):
        self.before: list = []
        self.events: list = []

    def before_replicate(self, experiment, ctx):
        self.before.append(ctx.get("seed_used"))

    def on_event(self, experiment, ctx, event, payload):
        self.events.append((event, dict(payload)))


def _experiment(watcher, *seeding):
    return Experiment(
        datasource=source(), pipeline=Pipeline([emits()]), replicates=2, name="watched",
        plugins=[*seeding, watcher, ArtifactPlugin(root_dir=None)],
    )


def test_a_before_replicate_hook_sees_the_seed_the_steps_see():
    watcher = Watcher()
    experiment = _experiment(watcher, SeedPlugin(seed=7))
    result = experiment.run()
    assert watcher.before == result.metrics.baseline.metrics["seed"] == [7, 7 + 31337]
    watcher.before.clear()
    experiment.apply()
    assert watcher.before == [7]
    watcher.before.clear()
    experiment.apply(seed=999)
    assert watcher.before == [999]


def test_debug_delivers_live_events_to_plugins():
    watcher = Watcher()
    experiment = _experiment(watcher, SeedPlugin(seed=7))
    experiment.apply()
    assert watcher.events == [("epoch", {"epoch": 1, "seed": 7})]
    watcher.events.clear()
    experiment.debug(replicate=1)
    assert watcher.events == [("epoch", {"epoch": 1, "seed": 7 + 31337})]
