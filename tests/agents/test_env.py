"""The episode protocol, reference agents, TGC/SGC and the `simlab agents world` commands."""

from typer.testing import CliRunner

from simlab.agents.env import NO_CODE, AgentEnv, extract_code, truncate_output
from simlab.agents.episodes import (
    Episode,
    evaluate_agent,
    noop_agent,
    run_episode,
    scripted_agent,
    solution_cells,
    tgc_sgc,
)
from simlab.agents.world.tasks import Evaluation, get_task, load_tasks


def test_extract_code():
    assert extract_code("no code here") is None
    assert extract_code("a\n```python\nx = 1\n```\nb\n```py\ny = 2\n```") == "x = 1\ny = 2"
    assert extract_code("```python\nx = 1\n```\n```python\nprint(x") == "x = 1\nprint(x"
    assert extract_code("```js\nlet x\n```") is None
    assert extract_code("```python\n\n```") is None


def test_truncate_output_cuts_at_a_newline_with_a_note():
    text = "\n".join(f"line {i:04d}" for i in range(1000))
    out = truncate_output(text, 100)
    body, note = out.rsplit("\n", 1)
    assert note.startswith("[output truncated")
    # 10 characters per line, 4 characters per token: 40 lines (399 chars) fit in 100 tokens
    assert text.startswith(body) and body.endswith("line 0039")
    assert truncate_output("short", 100) == "short"
    assert len(truncate_output("x" * 10_000, 10)) < 100
    # a custom token counter (one token per word)
    assert truncate_output("a b\nc d\ne f", 4, count=lambda s: len(s.split())).startswith(
        "a b\nc d\n["
    )


def test_env_protocol():
    t = get_task("wallet_balance_1")
    with AgentEnv(t, max_turns=3) as env:
        first = env.reset()
        assert t.instruction in first and t.now in first
        obs, reward, done, info = env.step("I will think first.")
        assert obs.startswith(NO_CODE) and t.instruction in obs
        assert (reward, done) == (0.0, False)
        obs, reward, done, info = env.step("```python\nx = 5\n```")
        assert info["output"] == "Execution successful." and not done
        obs, reward, done, info = env.step("```python\nprint(x)\n```")
        assert info["output"] == "5\n"
        assert done and not info["completed"]  # out of turns
        assert not info["evaluation"].success and 0 <= reward < 1


def test_env_raw_code_cells():
    t = get_task("wallet_balance_2")
    with AgentEnv(t, raw_code=True) as env:
        env.reset()
        assert env.step("print(2 ** 10)")[3]["output"] == "1024\n"
        assert env.step("   ")[3]["output"] == NO_CODE
        _, reward, done, info = env.step(t.solution())
        assert done and reward == 1.0 and info["evaluation"].success


def test_env_reset_gives_a_fresh_state():
    t = get_task("phone_delete_alarm_1")
    env = AgentEnv(t)
    try:
        for _ in range(2):
            env.reset()
            _, reward, done, _ = env.step(f"```python\n{t.solution()}\n```")
            assert done and reward == 1.0
    finally:
        env.close()


def test_scripted_agent_plays_one_statement_per_turn():
    t = get_task("notes_pin_2")
    cells = solution_cells(t.solution())
    ep = run_episode(scripted_agent(t), t)
    assert ep.success and ep.turns == len(cells)
    assert [m["role"] for m in ep.messages[:3]] == ["system", "user", "assistant"]


def test_tgc_sgc_and_reference_agents():
    def ep(scenario, ok):
        return Episode("t", scenario, [], Evaluation([("x", ok, "")], True), 1)

    tgc, sgc = tgc_sgc([ep("a", True), ep("a", False), ep("b", True), ep("b", True)])
    assert (tgc, sgc) == (75.0, 50.0)
    tasks = load_tasks(0, "dev")[:6]
    assert evaluate_agent(scripted_agent, tasks)["tgc"] == 100.0
    r = evaluate_agent(noop_agent, tasks)
    assert r["tgc"] == 0.0 and 0 < r["mean_reward"] < 1


def test_cli_world_commands():
    from simlab.agents.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["world", "apps"])
    assert r.exit_code == 0 and "9 apps" in r.output
    r = runner.invoke(app, ["world", "apis", "phone", "--doc", "send_text_message"])
    assert r.exit_code == 0 and '"path": "/phone/send_text_message"' in r.output
    r = runner.invoke(app, ["world", "tasks", "--split", "dev"])
    assert r.exit_code == 0 and r.output.strip().endswith("27 tasks")
    r = runner.invoke(app, ["world", "show", "phone_send_text_1"])
    assert r.exit_code == 0 and "required changes" in r.output
    r = runner.invoke(app, ["world", "run", "phone_send_text_1", "--solution"])
    assert r.exit_code == 0 and "success: True" in r.output
    r = runner.invoke(app, ["world", "run", "phone_send_text_1"], input="print(6 * 7)\n\n")
    assert r.exit_code == 0 and "42" in r.output and "success: False" in r.output
    r = runner.invoke(app, ["world", "eval", "--split", "dev", "--agent", "noop"])
    assert r.exit_code == 0 and "TGC 0.0" in r.output
    r = runner.invoke(app, ["world", "show", "nope"])
    assert r.exit_code != 0 and "unknown task" in str(r.exception)


def test_no_code_penalty_and_sft_conversation():
    from simlab.agents.episodes import sft_conversation

    t = get_task("wallet_balance_3")
    with AgentEnv(t, raw_code=True, no_code_penalty=0.25) as env:
        env.reset()
        env.step("")
        _, reward, done, info = env.step(t.solution())
    assert done and info["evaluation"].success and reward == 0.75
    conv = sft_conversation(t)
    assert [m["role"] for m in conv[:2]] == ["system", "user"]
    assistant = [m["content"] for m in conv if m["role"] == "assistant"]
    assert len(assistant) == len(solution_cells(t.solution()))
    assert conv[-1]["role"] == "assistant" and "complete_task" in conv[-1]["content"]
