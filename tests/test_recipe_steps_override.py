"""A request may replace a recipe's steps (the app's Export dialog sends a recipe the person edited)."""

from __future__ import annotations

import pytest

from desktop.core.processing import recipes
from desktop.core.processing.params import RecipeError


def test_steps_override_replaces_the_steps_and_keeps_the_recipe_name() -> None:
    steps = [{"op": "greyscale"}, {"op": "png", "params": {"compress_level": 3}}]
    r = recipes.resolve("web-2048", {"steps": steps, "naming": "{stem}.{ext}"})
    assert r.slug == "web-2048" and r.name == "Web 2048 px"
    assert [s.op for s in r.steps] == ["greyscale", "png"]
    assert r.steps[-1].params == {"compress_level": 3}
    assert r.naming == "{stem}.{ext}"


def test_steps_override_is_validated_with_a_sentence() -> None:
    with pytest.raises(RecipeError, match="must be a list of steps"):
        recipes.resolve("web-2048", {"steps": "jpeg"})
    with pytest.raises(RecipeError, match="step 1 must be an object"):
        recipes.resolve("web-2048", {"steps": [3]})
    with pytest.raises(RecipeError, match="the last step must write the output"):
        recipes.resolve("web-2048", {"steps": [{"op": "greyscale"}]})
