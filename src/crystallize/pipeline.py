"""An ordered list of steps run for every replicate."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from crystallize.pipeline_step import PipelineStep
from crystallize.utils.importing import callable_name


def step_problem(step: Any) -> str | None:
    """Why ``step`` cannot be a pipeline step (a sentence to follow "... is X, "), or
    ``None`` when it is a :class:`PipelineStep`."""
    if isinstance(step, PipelineStep):
        return None
    factory = getattr(step, "__crystallize_step__", None)
    if factory is not None:
        return (
            "which is not a step. Did you pass the factory instead of calling it "
            f"(my_step instead of my_step())? Call it: {callable_name(factory)}()."
        )
    if isinstance(step, type) and issubclass(step, PipelineStep):
        return f"the class {step.__name__}, not a step. Create an instance: {step.__name__}()."
    if callable(step):
        what = f"a plain function ('{step.__name__}')" if hasattr(step, "__name__") else "a callable"
        return (
            f"{what}, not a step. Decorate the function with @pipeline_step() and call the "
            "factory (@pipeline_step() def my_step(data, ctx): ..., then "
            "Pipeline([my_step()])), or subclass PipelineStep."
        )
    if step is Ellipsis:
        return "a placeholder, not a step: put your steps in its place (Pipeline([load(), score()]))."
    return (
        "which is not a step. Steps come from @pipeline_step() factories called with their "
        "parameters (my_step(), not the factory my_step) or from PipelineStep subclasses."
    )


def step_problems(steps: Any) -> list[str]:
    """One message per item of ``steps`` that is not a :class:`PipelineStep`, naming its
    position (``"Pipeline step 2 is ..., which is not a step. ..."``): the check
    ``Pipeline(...)`` makes, for ``validate()`` to repeat on a ``pipeline.steps`` changed
    after construction. ``steps`` that is no list or tuple of steps is one message."""
    if not isinstance(steps, list | tuple):
        return [
            f"pipeline.steps is {type(steps).__name__} {steps!r}, not a list of steps: assign a list "
            "(pipeline.steps = [load(), score()]) or build a new Pipeline([...])"
        ]
    problems = []
    for index, step in enumerate(steps):
        problem = step_problem(step)
        if problem is not None:
            problems.append(f"Pipeline step {index} is {step!r}, {problem}")
    return problems


def as_step_list(steps: Any) -> list[Any]:
    """The items of ``steps``: a list (or other iterable) of steps, or a single step."""
    if isinstance(steps, str | bytes | Mapping):
        raise TypeError(
            f"A pipeline takes a list of steps, e.g. Pipeline([load(), score()]), got "
            f"{type(steps).__name__} {steps!r}."
        )
    if isinstance(steps, PipelineStep) or not isinstance(steps, Iterable):
        return [steps]  # one step (or one mistake, explained by step_problem)
    return list(steps)


class Pipeline:
    """Steps run in order; each receives the previous step's output as its data.

    Example::

        pipeline = Pipeline([load(), clean(), score()])
        pipeline.steps        # [load(), clean(), score()]

    ``Pipeline([...])``, the documentation's placeholder for "your steps here", builds
    an empty pipeline marked :attr:`placeholder`, so a snippet copied as it is runs up to
    the point where steps are needed: ``validate()`` and ``run()`` then ask for them.

    ``steps`` is a plain list: items added to it later (``pipeline.steps.append(...)``)
    are checked by ``Experiment.validate()``, which every run calls, with the same
    messages (:func:`step_problems`).

    Raises:
        TypeError: when an item is not a :class:`PipelineStep` (an uncalled factory,
            a plain function, any other object); the message says how to make one.
    """

    placeholder = False  # set per instance (a class default for pipelines pickled before it)

    def __init__(self, steps: Iterable[PipelineStep] | PipelineStep) -> None:
        items = as_step_list(steps)
        #: True for ``Pipeline([...])``: no steps given yet, only the placeholder.
        self.placeholder = items == [Ellipsis]
        self.steps: list[PipelineStep] = [] if self.placeholder else items
        problems = step_problems(self.steps)
        if problems:
            raise TypeError(problems[0])

    def __iter__(self) -> Iterator[PipelineStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return "Pipeline([...])" if self.placeholder else f"Pipeline({self.steps!r})"


__all__ = ["Pipeline"]
