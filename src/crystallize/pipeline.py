"""An ordered list of steps run for every replicate."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from crystallize.pipeline_step import PipelineStep


class Pipeline:
    """Steps run in order; each receives the previous step's output as its data.

    Example::

        pipeline = Pipeline([load(), clean(), score()])
        pipeline.steps        # [load(), clean(), score()]
    """

    def __init__(self, steps: Iterable[PipelineStep]) -> None:
        self.steps: list[PipelineStep] = list(steps)
        for index, step in enumerate(self.steps):
            factory = getattr(step, "__crystallize_step__", None)
            if factory is not None or not callable(step):
                name = getattr(factory, "__name__", None)
                hint = f" Call it: {name}()." if name else ""
                raise TypeError(
                    f"Pipeline step {index} is {step!r}, which is not a step. Did you pass the "
                    f"factory instead of calling it (my_step instead of my_step())?{hint}"
                )

    def __iter__(self) -> Iterator[PipelineStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"Pipeline({self.steps!r})"


__all__ = ["Pipeline"]
