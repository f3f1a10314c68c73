"""costmodel.fast: a question asked again with other numbers gives exactly what composing it anew
gives (every number, every error), and only numbers change between questions of one shape."""

from __future__ import annotations

import pytest

from costmodel import api, fast, solver
from costmodel.errors import UserError

QUESTIONS = [
    ("nanochat", "d20", "h100-sxm", "micro_batch", [1, 2, 4, 8, 16, 32]),
    ("nanochat", "d32", "rtx-4070", "n_gpus", [1, 2, 4, 8]),
    ("nanogpt", "gpt2", "rtx-4070", "micro_batch", [1, 3, 12, 24]),
    ("nanogpt", "gpt2", "a100-80gb-sxm", "seq_len", ["256", "512 token/sequence", 1024]),
]


@pytest.mark.parametrize("family, preset, card, name, values", QUESTIONS)
def test_fast_answers_equal_a_fresh_composition(family, preset, card, name, values):
    for v in values:
        r = api.estimate(family, preset=preset, hardware=card, values={name: v, "compile": False})
        assert isinstance(r.evaluation, fast._evaluation_type())  # the fast path answered
        slow = solver.evaluate(api.scenario(family, preset=preset, hardware=card,
                                            values={name: v, "compile": False}))
        assert r.evaluation.env == slow.env
        assert r.input_numbers[name] == slow.env[name]
        assert r.evaluation.scenario.values[name] == slow.scenario.values[name]


def test_errors_are_worded_as_the_ordinary_path_words_them():
    kwargs = dict(preset="d20", hardware="h100-sxm")
    api.estimate("nanochat", values={"micro_batch": 4}, **kwargs)
    with pytest.raises(UserError) as fast_error:
        api.estimate("nanochat", values={"micro_batch": 3}, **kwargs)  # 2**19 % (3 x 2048 x 8) != 0
    with pytest.raises(UserError) as slow_error:
        solver.evaluate(api.scenario("nanochat", values={"micro_batch": 3}, **kwargs))
    assert str(fast_error.value) == str(slow_error.value)
    assert "whole number of micro-steps" in str(fast_error.value)
    with pytest.raises(UserError, match="micro_batch: must be greater than 0"):
        api.estimate("nanochat", values={"micro_batch": 0}, **kwargs)


def test_one_system_per_shape():
    fast.forget()
    for mb in (1, 2, 4):
        api.estimate("nanochat", preset="d20", hardware="h100-sxm", values={"micro_batch": mb})
    assert len(fast._SYSTEMS) == 1
    api.estimate("nanochat", preset="d20", hardware="h100-sxm", values={"micro_batch": 4, "optimizer": "adamw"})
    api.estimate("nanochat", preset="d20", hardware="rtx-4090", values={"micro_batch": 4})
    assert len(fast._SYSTEMS) == 3  # a choice and a card are part of the shape
    api.reload()
    assert not fast._SYSTEMS


def test_generated_code_holds_no_names_or_text():
    """Only operator templates, slot numbers and float literals reach `compile`."""
    import ast

    s = api.scenario("nanochat", preset="d20", hardware="h100-sxm", values={"micro_batch": 4})
    lines = []
    slot = {n: i for i, n in enumerate(sorted(set(s.formulas) | set(s.values)))}
    for f in s.formulas.values():
        if all(n in slot for n in f.inputs):
            lines.append(fast._code(f.program, slot))
    allowed = {"s", "_floor", "_ceil", "_exp", "_log", "_sqrt", "_min", "_max", "_abs", "bool", "_inf",
               "_no_branch"}
    for text in lines:
        for node in ast.walk(ast.parse(text, mode="eval")):
            assert not isinstance(node, ast.Constant) or isinstance(node.value, (int, float))
            assert not isinstance(node, ast.Name) or node.id in allowed
            assert not isinstance(node, ast.Attribute)


def test_a_result_is_read_lazily_and_reads_as_a_composed_one():
    """api.Result makes its numbers, units, origins and warnings, and each pint quantity, only when
    read; what it then shows equals a result of a fresh composition (`_result` of the slow path)."""
    kwargs = dict(preset="gpt2", hardware="rtx-4070")
    api.estimate("nanogpt", values={"micro_batch": 2}, **kwargs)
    for targets in ((), ("iter_time",)):
        r = api.estimate("nanogpt", targets=targets, values={"micro_batch": 300}, **kwargs)
        assert "numbers" not in r.__dict__ and "env" not in r.evaluation.__dict__  # nothing made yet
        slow = api._result(solver.evaluate(api.scenario("nanogpt", values={"micro_batch": 300}, **kwargs)),
                           targets=targets)
        assert r.numbers == slow.numbers and r.input_numbers == slow.input_numbers
        assert r.units == slow.units and r.origins == slow.origins and r.warnings == slow.warnings
        assert r.warnings[0].startswith("DOES NOT FIT")  # said whatever the targets
        assert r.to_dict() == slow.to_dict()
        assert r.results._made == {}
        assert r.results["fits"] == slow.results["fits"] and list(r.results._made) == ["fits"]
        assert dict(r.results) == dict(slow.results) and len(r.inputs) == len(slow.input_numbers)
