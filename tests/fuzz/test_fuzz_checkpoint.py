"""Fuzzing the checkpoints read back by ``--resume`` (core.optimize.Checkpoint and optimize(resume=True)).

The seed is a real checkpoint of a tiny Adam run; mutations are byte-level (the zip container torch.save
writes) and structural (the state dict's entries replaced by hostile values, then saved again).
"""

import functools
import pickle

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InputError
from core.optimize import Checkpoint, OptimizeResult, optimize
from tests.fuzz.harness import HOSTILE_JSON_VALUES, check_reader, examples, mutated_bytes, seed_dir, write_input

META = {"job": "fuzz", "size": 8}


def _loss():
    x = _PARAM[0]
    return {"total": ((x - 0.25) ** 2).sum()}


_PARAM = [torch.zeros(3, 4, requires_grad=True)]


@functools.lru_cache(maxsize=None)
def seed_state() -> dict:
    """The state of a 4-step run interrupted after step 2 (saved by the loop itself)."""
    path = seed_dir() / "seed.ckpt"
    x = torch.zeros(3, 4, requires_grad=True)
    ckpt = Checkpoint(path, every=2, meta=META)
    calls = {"n": 0}

    def loss():
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return {"total": ((x - 0.25) ** 2).sum()}

    optimize([x], loss, 4, optimizer="adam", lr=0.1, checkpoint=ckpt, progress=False)
    return torch.load(path, weights_only=True)


@functools.lru_cache(maxsize=None)
def seed_bytes() -> bytes:
    return (seed_dir() / "seed.ckpt").read_bytes() if seed_state() else b""


def _resume(path):
    """What ``--resume`` does: load with the job's meta, then continue the loop from it."""
    with torch.no_grad():
        _PARAM[0].zero_()
    return optimize(_PARAM, _loss, 4, optimizer="adam", lr=0.1, checkpoint=Checkpoint(path, meta=META), resume=True,
                    progress=False)


def _valid(result: OptimizeResult) -> None:
    assert isinstance(result, OptimizeResult) and 0 <= result.steps_done <= 4


def test_seed_resumes():
    result = _resume(write_input("ok.ckpt", seed_bytes()))
    assert result.steps_done == 2 and not result.interrupted


@examples(15)
@given(data=st.data())
def test_checkpoint_byte_mutations(data):
    path = write_input("fuzz.ckpt", data.draw(mutated_bytes(seed_bytes())))
    check_reader(_resume, path, valid=_valid)


HOSTILE_VALUES = HOSTILE_JSON_VALUES + [torch.zeros(0), torch.zeros(5, 5), torch.full((3, 4), float("nan")),
                                        [torch.zeros(3, 4)] * 3, torch.zeros(3, 4, dtype=torch.int64)]


@examples(25)
@given(data=st.data())
def test_checkpoint_structure_edits(data):
    state = dict(seed_state())
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(sorted(state)))
        if data.draw(st.booleans()) and key != "meta":
            del state[key]
        else:
            state[key] = data.draw(st.sampled_from(HOSTILE_VALUES))
    path = write_input("structure.ckpt", b"")
    torch.save(state, path)
    check_reader(_resume, path, valid=_valid)


class _Planted:
    def __reduce__(self):
        return (print, ("code ran while loading a checkpoint",))


def test_a_pickle_that_runs_code_is_refused():
    path = write_input("planted.ckpt", b"")
    torch.save({"meta": META, "x": _Planted()}, path)
    with pytest.raises(InputError, match="unreadable"):
        Checkpoint(path, meta=META).load()
    path.write_bytes(pickle.dumps({"meta": META}))
    with pytest.raises(InputError, match="unreadable"):
        Checkpoint(path, meta=META).load()


@pytest.mark.parametrize("value", [torch.zeros(2), [1, 2], {"meta": "x"}])
def test_a_checkpoint_that_is_not_a_state_dict_is_refused(value):
    path = write_input("other.ckpt", b"")
    torch.save(value, path)
    with pytest.raises(InputError, match="not a stylize checkpoint"):
        Checkpoint(path, meta=META).load()
