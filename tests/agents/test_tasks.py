"""Tasks: splits, difficulty, every ground truth succeeds in the sandbox, and wrong or
over-reaching solutions fail exactly the tests they should."""

from collections import Counter

import pytest

from simlab.agents.env import AgentEnv
from simlab.agents.world.api import Backend
from simlab.agents.world.db import copy_db
from simlab.agents.world.tasks import SPLITS, get_task, load_tasks, run_direct, scenarios
from simlab.agents.world.tasks.base import answers_match, difficulty_of


def play(task, code):
    """Run ``code`` as one cell against the task in the sandbox; return the evaluation."""
    with AgentEnv(task, max_turns=1) as env:
        env.reset()
        _, _, _, info = env.step(f"```python\n{code}\n```")
        return info["evaluation"]


def outcome(ev):
    return {name.split(":")[0]: ok for name, ok, _ in ev.tests}


def test_split_sizes_and_structure():
    sizes = {s: len(load_tasks(0, s)) for s in SPLITS}
    assert sizes["train"] >= 90 and sizes["dev"] >= 24
    assert sizes["test_normal"] >= 36 and sizes["test_challenge"] >= 60
    # the spec's suggested minimum: 60 scenarios, train with >= 12 of difficulty 1
    assert len(scenarios()) >= 60
    per_scenario = Counter(t.scenario.name for t in load_tasks(0))
    assert min(per_scenario.values()) >= 3
    train = scenarios("train")
    assert sum(get_task(f"{s.name}_1").difficulty == 1 for s in train) >= 12
    train_apps = {a for s in train for a in s.apps}
    for s in scenarios("test_challenge"):  # challenge needs an app never required in train
        assert set(s.apps) - train_apps, s.name
    # variants differ
    for name in per_scenario:
        params = [repr(get_task(f"{name}_{v}").params) for v in (1, 2, 3)]
        assert len(set(params)) > 1, name


def test_tasks_are_deterministic():
    from simlab.agents.world.tasks import _tasks

    def key(ts):
        return [(t.id, t.instruction, t.now, repr(t.params)) for t in ts]

    assert key(_tasks.__wrapped__(0)) == key(load_tasks(0))  # regenerated, uncached
    assert key(_tasks.__wrapped__(1)) != key(load_tasks(0))


def test_difficulty_thresholds():
    assert [difficulty_of(n) for n in (1, 3, 4, 7, 8, 30)] == [1, 1, 2, 2, 3, 3]
    t = get_task("music_longest_in_playlist_1")
    n = sum(app not in ("supervisor", "api_docs") for app, _ in t.ground_truth_calls)
    assert n >= 8 and t.difficulty == 3


@pytest.mark.parametrize("split", SPLITS)
def test_every_ground_truth_succeeds_in_the_sandbox(split):
    for t in load_tasks(0, split):
        ev = play(t, t.solution())
        assert ev.success, f"{t.id}\n{ev.report()}"


def test_doing_nothing_fails_required_tests_but_not_collateral():
    t = get_task("phone_send_text_1")
    ev = play(t, "apis.supervisor.complete_task()")
    assert outcome(ev) == {"required": False, "no collateral changes": True}
    assert ev.reward == 0.5 and not ev.success


def test_wrong_text_fails_required_and_collateral():
    t = get_task("phone_send_text_1")
    ev = play(t, t.solution().replace(repr(t.params["text"]), "'something else'"))
    assert outcome(ev) == {"required": False, "no collateral changes": False}


def test_over_reaching_solution_fails_only_collateral():
    t = get_task("phone_send_text_2")
    extra = (
        "apis.phone.delete_alarm(access_token=phone_token, "
        "alarm_id=apis.phone.show_alarms(access_token=phone_token)[0]['id'])\n"
    )
    code = t.solution().replace(
        "apis.supervisor.complete_task()", extra + "apis.supervisor.complete_task()"
    )
    ev = play(t, code)
    assert outcome(ev) == {"required": True, "no collateral changes": False}
    detail = next(d for n, _, d in ev.tests if n == "no collateral changes")
    assert "removed phone_alarms" in detail


def test_wrong_answer_fails_only_the_answer():
    t = get_task("wallet_balance_1")
    ev = play(t, t.solution().replace("answer=b", "answer=b + 1"))
    assert outcome(ev) == {"no collateral changes": True, "answer is correct": False}


def test_partial_multi_step_solution_gets_partial_credit():
    t = get_task("dev_text_all_relationship_1")
    # texts only the first of several people: one required test passes, the others fail
    code = t.solution().replace("for c in people:", "for c in people[:1]:")
    ev = play(t, code)
    required = [ok for name, ok, _ in ev.tests if name.startswith("required")]
    assert len(required) >= 2 and required.count(True) == 1
    assert outcome(ev)["no collateral changes"]
    assert not ev.success and 0 < ev.reward < 1


def test_wrong_amount_fails_every_payment_test():
    t = get_task("wallet_pay_person_1")
    ev = play(t, t.solution().replace(f"amount={t.params['amount']}", "amount=1.0"))
    assert ev.reward == 0.0


def test_completion_required_for_success():
    t = get_task("notes_create_1")
    code = t.solution().replace("apis.supervisor.complete_task()", "")
    with AgentEnv(t, max_turns=1) as env:
        env.reset()
        _, reward, done, info = env.step(f"```python\n{code}\n```")
    assert done and reward == 1.0 and not info["evaluation"].success


def test_ground_truth_runs_in_process_too():
    t = get_task("ch_cancel_undelivered_2")
    start = t.start_state()
    end = copy_db(start)
    run_direct(t.solution(), Backend(end, t.seed))
    assert t.evaluate(start, end).success


def test_answer_normalisation():
    assert answers_match("Lisbon", "  lisbon ")
    assert answers_match(3, "3") and answers_match(3, 3.0000000001)
    assert not answers_match(3, 4)
    assert answers_match(12.5, 12.499, "money") and not answers_match(12.5, 12.49, "money")
    assert answers_match(["a", "B"], ["b", "a"], "list")
    assert not answers_match(["a", "B"], ["b", "a"], "ordered_list")
    assert not answers_match(["a"], "a", "list")
    assert answers_match(None, None) and not answers_match(None, "x")
