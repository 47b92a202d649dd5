"""NumPy's global RNG is seeded without importing NumPy: at once if ``numpy.random`` is
loaded, else the moment it is. Each test runs in a fresh interpreter, where
``numpy.random`` is not imported yet."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("numpy")


def run_fresh(code: str, tmp_path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_numpy_imported_inside_a_step_draws_what_eager_seeding_gives(tmp_path):
    got = run_fresh(
        """
        import json, sys
        from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step

        @data_source
        def loaded(ctx):
            return "numpy.random" in sys.modules

        @pipeline_step()
        def draw(was_loaded, ctx):
            import numpy as np  # NumPy 2 loads numpy.random on first use of np.random
            return was_loaded, {"x": float(np.random.rand()), "loaded": was_loaded}

        result = Experiment(
            datasource=loaded(), pipeline=Pipeline([draw()]), plugins=[SeedPlugin(seed=7)],
            replicates=3,
        ).run()
        print(json.dumps(result.metrics.baseline.metrics))
        """,
        tmp_path,
    )
    import numpy as np

    expected = []
    for r in range(3):
        np.random.seed((7 + r * 31337) % 2**32)
        expected.append(float(np.random.rand()))
    assert got["x"] == expected
    assert got["loaded"][0] is False  # replicate 0 ran before anything imported it


def test_the_latest_seed_applies_and_no_trace_is_left(tmp_path):
    got = run_fresh(
        """
        import json, sys
        from crystallize.plugins.seed import default_seed_fn

        default_seed_fn(5)
        default_seed_fn(9)
        waiting = "numpy.random" not in sys.modules and any(
            type(f).__name__ == "_SeedOnImport" for f in sys.meta_path
        )
        import numpy.random
        print(json.dumps({
            "waiting": waiting,
            "x": float(numpy.random.rand()),
            "finder_left": any(type(f).__name__ == "_SeedOnImport" for f in sys.meta_path),
            "loader": type(numpy.random.__loader__).__name__,
            "spec_loader": type(numpy.random.__spec__.loader).__name__,
        }))
        """,
        tmp_path,
    )
    import numpy as np

    np.random.seed(9)
    assert got["waiting"] is True
    assert got["x"] == float(np.random.rand())
    assert got["finder_left"] is False
    assert got["loader"] == got["spec_loader"] == "SourceFileLoader"


def test_an_imported_numpy_is_seeded_at_once(tmp_path):
    got = run_fresh(
        """
        import json, sys
        import numpy.random
        from crystallize.plugins.seed import default_seed_fn

        calls = []
        numpy.random.seed = calls.append  # whatever numpy.random.seed is now gets called
        default_seed_fn(11)
        print(json.dumps({"calls": calls, "finder": any(
            type(f).__name__ == "_SeedOnImport" for f in sys.meta_path)}))
        """,
        tmp_path,
    )
    assert got == {"calls": [11], "finder": False}


def test_without_numpy_seeding_random_still_works(tmp_path):
    got = run_fresh(
        """
        import json, random, sys
        sys.modules["numpy"] = None  # as if NumPy were not installed
        from crystallize.plugins.seed import default_seed_fn

        default_seed_fn(3)
        first = random.random()
        try:
            import numpy.random
        except ImportError as exc:
            error = type(exc).__name__
        print(json.dumps({"first": first, "error": error}))
        """,
        tmp_path,
    )
    import random

    random.seed(3)
    assert got == {"first": random.random(), "error": "ModuleNotFoundError"}


def test_a_run_that_never_uses_numpy_does_not_import_it(tmp_path):
    got = run_fresh(
        """
        import json, random, sys
        from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step

        @data_source
        def source(ctx):
            return random.random()

        @pipeline_step()
        def score(data, ctx):
            return data, {"x": data}

        result = Experiment(
            datasource=source(), pipeline=Pipeline([score()]), plugins=[SeedPlugin(seed=1)],
            replicates=2,
        ).run()
        print(json.dumps({"x": result.metrics.baseline.metrics["x"], "numpy": "numpy" in sys.modules}))
        """,
        tmp_path,
    )
    import random

    expected = []
    for r in range(2):
        random.seed(1 + r * 31337)
        expected.append(random.random())
    assert got == {"x": expected, "numpy": False}


def test_the_finder_stays_ahead_of_import_hooks_added_later(tmp_path):
    got = run_fresh(
        """
        import json, sys
        from importlib.machinery import PathFinder
        from crystallize.plugins.seed import default_seed_fn

        class Hook:  # say, a tool's import hook that hands out numpy.random itself
            def find_spec(self, fullname, path, target=None):
                if fullname == "numpy.random":
                    return PathFinder.find_spec(fullname, path, target)

        default_seed_fn(4)
        sys.meta_path.insert(0, Hook())
        default_seed_fn(6)
        import numpy.random
        print(json.dumps({"x": float(numpy.random.rand())}))
        """,
        tmp_path,
    )
    import numpy as np

    np.random.seed(6)
    assert got == {"x": float(np.random.rand())}
