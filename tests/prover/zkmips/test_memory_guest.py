"""The memory argument on a real run: every register and memory access of hello-O2
(derived from the VM's trace rows and operand table), against its full initial image."""

from __future__ import annotations

import numpy as np
import pytest

import vm
from prover import stark
from prover.errors import VerificationError
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import memory as M
from prover.zkmips.spec import REGISTER_KEY_BASE
from tests.conftest import guest
from tests.prover.zkmips import memory_driver as D
from vm.boot import initial_state
from vm.executor import Executor
from vm.layout import NPC, PC


@pytest.fixture(scope="module")
def hello():
    program = vm.load_elf(guest("hello").read_bytes())
    image = M.memory_image(program)
    accesses = D.guest_accesses(Executor.for_program(program, b"zk"), max_cycles=1 << 20)
    events = M.access_events(*accesses, image)       # check on: every read sees the last write
    system = D.memory_system(image)
    return program, image, events, system, stark.setup(system, FAST)


def test_image_is_the_initial_state_of_the_program(hello):
    """The same words vm.image_id digests (its page walk), plus sp, pc, npc."""
    program, image, _, _, _ = hello
    memory, regs = initial_state(program)
    ram = {}
    for addr, data in memory.nonzero_pages():
        words = np.frombuffer(data, dtype="<u4")
        for i in np.nonzero(words)[0]:
            ram[(addr >> 2) + int(i)] = int(words[i])
    is_ram = image.keys < REGISTER_KEY_BASE
    assert dict(zip(image.keys[is_ram].tolist(), image.values[is_ram].tolist())) == ram
    assert image.keys[~is_ram].tolist() == [REGISTER_KEY_BASE + r for r in (29, PC, NPC)]
    assert image.values[~is_ram].tolist() == [int(regs[29]), program.entry, program.entry + 4]


def test_the_whole_run_verifies(hello):
    _, image, events, system, pk = hello
    acc = events.accesses
    assert (acc["key"] < REGISTER_KEY_BASE).any() and acc["is_write"].any() and (~acc["is_write"]).any()
    stark.verify(pk.vk, stark.prove(pk, D.all_traces(system, image, events), D.PUBLICS), D.PUBLICS)


@pytest.mark.slow
def test_a_forged_load_is_rejected(hello):
    """The last load of the run returns a word with one bit flipped, and claims to have
    received it from memory."""
    _, image, events, system, pk = hello
    acc = {k: v.copy() for k, v in events.accesses.items()}
    loads = np.nonzero((acc["key"] < REGISTER_KEY_BASE) & ~acc["is_write"] & (acc["prev_ts"] > 0))[0]
    i = int(loads[np.argmax(acc["ts"][loads])])
    acc["value"][i] = acc["prev_value"][i] = acc["prev_value"][i] ^ 1
    traces = D.all_traces(system, image, events, accesses=D.accesses_trace(acc))
    with pytest.raises(VerificationError):
        stark.verify(pk.vk, stark.prove(pk, traces, D.PUBLICS, check=False), D.PUBLICS)
