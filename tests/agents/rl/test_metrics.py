"""Behavioural metrics (spec §5) on hand-built episodes with hand-counted answers."""

import pytest

from simlab.agents.rl.metrics import (
    api_calls,
    behaviour,
    code_blocks,
    diversity,
    episode_turns,
    give_up,
)

FAIL = "Execution failed. Traceback:\nApiError: 401 bad token"
OK = "Execution successful."


def py(*cells):
    return "\n".join(f"```python\n{c}\n```" for c in cells)


def test_code_blocks_and_api_calls():
    text = "I assume this works.\n```py\nx = 1\n```\ntext\n```python\napis.phone.login(a=1)\n"
    assert code_blocks(text) == ["x = 1\n", "apis.phone.login(a=1)\n"]  # unclosed last block
    code = (
        "t = apis.phone.login(username=u)['access_token']\n"
        "# apis.notes.create_note(title='x') is only a comment\n"
        "s = 'apis.mail.send_email()'\n"
        "print(apis.api_docs.show_api_doc(app_name='phone', api_name=apis.x.y()))\n"
    )
    assert api_calls(code) == ["phone.login", "api_docs.show_api_doc", "x.y"]
    # does not parse: regex fallback (strings would count here)
    assert api_calls("apis.wallet.show_balance(\nif") == ["wallet.show_balance"]


def test_give_up_counts_failed_and_recovered_endpoints():
    turns = [
        (py("apis.phone.login(u=1)\napis.phone.search_contacts(q='a')"), FAIL),  # +2 failed
        (py("apis.phone.login(u=1)"), FAIL),  # already pending: +0
        (py("apis.phone.login(u=2)"), OK),  # recovered 1
        (py("apis.mail.send_email(to='x')"), FAIL),  # +1 failed
        ("no code at all", OK),
        (py("apis.mail.send_email(to='x')"), None),  # unknown response: ignored
    ]
    assert give_up(turns) == (3, 1)
    b = behaviour([turns])
    assert b["give_up_rate"] == pytest.approx((3 - 1) / 3)
    # a failure after a recovery counts again
    assert (
        give_up([(py("apis.a.b()"), FAIL), (py("apis.a.b()"), OK), (py("apis.a.b()"), FAIL)])[0]
        == 2
    )


def test_behaviour_on_two_episodes():
    ep1 = [
        ("Assuming the list is short, I ASSUME it. Assumption aside:\n" + py("x = 1", "y = 2"), OK),
        (py("apis.api_docs.show_api_doc(app_name='a', api_name='b')"), FAIL),
        ("Let me use dummy values: dummy_list.\n" + py("apis.api_docs.show_api_doc()"), OK),
    ]
    ep2 = [(py("apis.api_docs.show_api_descriptions(app_name='a')"), OK)]
    b = behaviour([ep1, ep2])
    assert b["episodes"] == 2
    assert b["turns"] == 2.0  # (3 + 1) / 2
    assert b["multi_cell_turns"] == 0.25  # 1 of 4 turns has two blocks
    assert b["exec_errors_per_turn"] == 0.25
    assert b["api_doc_lookups"] == 1.0  # 2 show_api_doc (descriptions do not count) / 2
    assert b["assum"] == 1.0  # Assuming, ASSUME (not Assumption) / 2
    assert b["dummy"] == 1.0  # dummy, dummy_list / 2
    chars = len("x = 1\n") + len("y = 2\n")
    chars += len("apis.api_docs.show_api_doc(app_name='a', api_name='b')\n")
    chars += len("apis.api_docs.show_api_doc()\n")
    chars += len("apis.api_docs.show_api_descriptions(app_name='a')\n")
    assert b["code_chars"] == pytest.approx(chars / 2)
    # failed: show_api_doc (1); recovered: show_api_doc in turn 3 (1)
    assert (b["failed_calls"], b["recovered_calls"], b["give_up_rate"]) == (1, 1, 0.0)
    assert behaviour([ep2])["give_up_rate"] is None


def test_episode_turns_from_chat_and_diversity():
    chat = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": py("apis.a.b()")},
        {"role": "user", "content": FAIL},
        {"role": "assistant", "content": py("apis.a.c()")},
    ]
    assert episode_turns(chat) == [(py("apis.a.b()"), FAIL), (py("apis.a.c()"), None)]
    assert episode_turns(chat, [FAIL, OK])[1] == (py("apis.a.c()"), OK)
    with pytest.raises(ValueError):
        episode_turns(chat, [OK])
    assert behaviour([chat])["exec_errors_per_turn"] == 1.0  # the unknown response is skipped
    a, b = [(py("apis.a.b()\napis.a.c()"), OK)], [(py("apis.a.b()"), OK), (py("apis.a.c()"), OK)]
    c = [(py("apis.a.c()\napis.a.b()"), OK)]
    assert diversity([a, b, c]) == (2, 3)  # a and b make the same call sequence
