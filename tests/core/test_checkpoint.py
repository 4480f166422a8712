"""Atomic checkpoints: round trips, clear errors, and no torn files after a failed write."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.core.checkpoint import (
    Checkpointer,
    atomic_write,
    load_pytree,
    load_torch,
    save_pytree,
    save_torch,
)
from simlab.core.errors import DataError


def tree(seed=0):
    k = jax.random.key_data(jax.random.PRNGKey(seed))
    return {
        "params": {"w": jnp.arange(6.0).reshape(2, 3) + seed, "b": jnp.zeros(3, jnp.float32)},
        "key": k,
        "count": np.int64(seed),
        "opt": (jnp.ones(2, jnp.int32), jnp.array(seed, jnp.float32)),
    }


def test_pytree_round_trip(tmp_path):
    t = tree(7)
    save_pytree(tmp_path / "c.npz", t, step=12, meta={"note": "x"})
    back, step, meta = load_pytree(tmp_path / "c.npz", like=tree(0))
    assert step == 12 and meta == {"note": "x"}
    for a, b in zip(jax.tree_util.tree_leaves(t), jax.tree_util.tree_leaves(back)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert np.asarray(a).dtype == np.asarray(b).dtype
    assert jax.tree_util.tree_structure(back) == jax.tree_util.tree_structure(t)


def test_template_mismatch_names_the_leaf(tmp_path):
    save_pytree(tmp_path / "c.npz", tree())
    wrong = tree()
    wrong["params"]["w"] = jnp.zeros((3, 3))
    with pytest.raises(DataError, match=r"leaf \d+ is float32\[2, 3\].*expects float32\[3, 3\]"):
        load_pytree(tmp_path / "c.npz", like=wrong)
    with pytest.raises(DataError, match="has 6 leaves, the template has 1"):
        load_pytree(tmp_path / "c.npz", like={"w": jnp.zeros(2)})
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="junk.npz: unreadable"):
        load_pytree(tmp_path / "junk.npz", like=tree())


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "c.npz"
    save_pytree(path, tree(1), step=1)
    before = path.read_bytes()

    def crash(f):
        f.write(b"partial")
        raise KeyboardInterrupt  # as if the run were interrupted mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_checkpointer_keeps_newest_and_restores(tmp_path):
    ckpt = Checkpointer(tmp_path / "ck", keep=2)
    assert ckpt.restore(like=tree()) is None
    for step in (10, 20, 30):
        ckpt.save(step, tree(step))
    (tmp_path / "ck" / ".step_0000000040.npz.abc.tmp").write_bytes(b"torn")
    assert ckpt.steps() == [20, 30]
    t, step, _ = ckpt.restore(like=tree())
    assert step == 30 and float(t["opt"][1]) == 30.0
    _, step, _ = ckpt.restore(like=tree(), step=20)
    assert step == 20


def test_torch_state_dict_round_trip(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    ckpt = Checkpointer(tmp_path, torch=True)
    ckpt.save(5, {"model": model.state_dict(), "opt": opt.state_dict()}, meta={"tokens": 9})
    state, step, meta = ckpt.restore()
    assert step == 5 and meta == {"tokens": 9}
    for k, v in model.state_dict().items():
        assert torch.equal(state["model"][k], v)
    model2 = torch.nn.Linear(3, 2)
    model2.load_state_dict(state["model"])
    opt2 = torch.optim.AdamW(model2.parameters())
    opt2.load_state_dict(state["opt"])
    save_torch(tmp_path / "x.pt", {"a": torch.arange(3)}, step=1)
    assert load_torch(tmp_path / "x.pt")[0]["a"].tolist() == [0, 1, 2]
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(DataError, match="bad.pt: unreadable"):
        load_torch(tmp_path / "bad.pt")
