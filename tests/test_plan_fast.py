"""The plan's memos (costmodel.memo) change its speed, never its answer.

Each scenario is planned three times: straightforward (every memo off: each group composed,
ordered and evaluated from scratch), then with the memos from cold, then warm (asked again in the
same process). The three must agree exactly: the same JSON (every number to the last bit, the
ranking, the rejected recipes and their reasons) and the same text. The scenarios cross cards of
the three kinds the catalogue holds (a card giving l2_cache, one giving l2_cache and hfu_ceiling,
one giving neither: each kind composes differently) with recipes pinned or searched, goals, and
both families that plan with different accumulations.
"""

from __future__ import annotations

import json

import pytest

from costmodel import memo
from costmodel.cli.plan import render
from costmodel.planner import Goal, plan

KINDS = "rtx-4070,h100-sxm,b200"  # l2_cache given; l2_cache and hfu_ceiling given; neither
FEWER = {"attention": "flash", "offload": "none"}  # fewer groups: a fast test
SCENARIOS = {
    "deadline by cost, three kinds of card": dict(
        family="nanochat", preset="d20", hardware=KINDS, gpus=[1, 2, 8],
        goal=Goal(kind="deadline", tokens=11.2e9, deadline=24 * 3600.0, by="cost"),
        values={"version": "v0", "compile": True, "parallelism": "ddp", **FEWER}),
    "fit on one small card (the seed's d32)": dict(
        family="nanochat", preset="d32", hardware="rtx-4070",
        values={"checkpointing": "full", **FEWER}),
    "nanoGPT's accumulation searched, two cards": dict(
        family="nanogpt", preset="gpt2", hardware="rtx-4070,a100-80gb-sxm", values={"optimizer": "adamw", **FEWER}),
    "most tokens in days": dict(
        family="nanochat", preset="d20", hardware="rtx-4090,a100-80gb-sxm", goal=Goal(kind="days", days=3 * 86400.0),
        values={"version": "v0", "optimizer": "adamw", **FEWER}),
    "fine-tuning adapters, priced cards": dict(
        family="nanogpt", preset="gpt2", hardware="rtx-4090,l4", finetune=True,
        goal=Goal(kind="fit", tokens=1e8), prices={"rtx-4090": "0.5 USD/h", "l4": "0.4 USD/h"},
        values={"precision": "bf16", **FEWER}),
}


def _answer(kwargs) -> tuple[str, str]:
    p = plan(**kwargs)
    found = p.to_dict()
    found["search"].pop("seconds")  # the only field that may differ: how long it took
    return json.dumps(found, indent=1), render(p, top=50)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_memos_give_the_straightforward_answer(name):
    kwargs = SCENARIOS[name]
    with memo.straightforward():
        expected = _answer(kwargs)
    memo.forget()
    cold = _answer(kwargs)
    warm = _answer(kwargs)
    assert json.loads(expected[0])["best"] is not None  # a question with an answer to compare
    assert cold[0] == expected[0]
    assert cold[1] == expected[1]
    assert warm == expected


def test_a_memo_counts_only_for_its_registry_and_never_when_off():
    m = memo.Memo(2)
    made = []

    def make(value):
        return lambda: made.append(value) or value

    first, second = object(), object()
    assert m.get(first, "k", make(1)) == 1
    assert m.get(first, "k", make(2)) == 1  # remembered
    assert m.get(second, "k", make(3)) == 3  # another registry: made again
    with memo.straightforward():
        assert m.get(second, "k", make(4)) == 4  # off: always made
    assert m.get(second, ["unhashable"], make(5)) == 5
    m.get(first, "a", make(6))
    m.get(first, "b", make(7))  # the oldest entry goes first
    assert m.get(second, "k", make(8)) == 8
    assert made == [1, 3, 4, 5, 6, 7, 8]


def test_a_card_composes_alike_by_name_or_as_the_catalogue_object():
    # a search composes its groups with the catalogue's card object (no file looked up for its name)
    from costmodel import api
    from costmodel.scenario import compose

    reg = api.registry(())
    by_name = compose(reg, "nanochat", preset="d20", hardware="h100-sxm", values={"precision": "bf16"})
    memo.forget()
    with memo.straightforward():
        by_object = compose(reg, "nanochat", preset="d20", hardware=reg.card("h100-sxm"), values={"precision": "bf16"})
    assert by_object.values == by_name.values
    assert by_object.origins == by_name.origins
    assert by_object.formulas == by_name.formulas  # the same formula objects for the same names
    assert by_object.hardware is by_name.hardware
