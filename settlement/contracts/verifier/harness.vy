# pragma version ~=0.4.3
"""
@title Test harness for the verifier's Vyper modules (babybear, transcript, two_adic)
@notice Every module function as an external call, and gas_* views returning the gas one
        internal call costs (msg.gas before minus after; gas_nop is the measuring overhead).
        Generated layout; tests/settlement/test_verifier_kernels.py drives it.
"""

from verifier import babybear as bb
from verifier import transcript as tr
from verifier import two_adic as ta


@external
@pure
def add(a: uint256, b: uint256) -> uint256:
    return bb.add(a, b)


@external
@pure
def sub(a: uint256, b: uint256) -> uint256:
    return bb.sub(a, b)


@external
@pure
def mul(a: uint256, b: uint256) -> uint256:
    return bb.mul(a, b)


@external
@pure
def pow(a: uint256, b: uint256) -> uint256:
    return bb.pow(a, b)


@external
@pure
def inv(a: uint256) -> uint256:
    return bb.inv(a)


@external
@pure
def e_pack(a0: uint256, a1: uint256, a2: uint256, a3: uint256) -> uint256:
    return bb.e_pack(a0, a1, a2, a3)


@external
@pure
def e_coeff(x: uint256, i: uint256) -> uint256:
    return bb.e_coeff(x, i)


@external
@pure
def e_canonical(x: uint256) -> bool:
    return bb.e_canonical(x)


@external
@pure
def e_add(x: uint256, y: uint256) -> uint256:
    return bb.e_add(x, y)


@external
@pure
def e_sub(x: uint256, y: uint256) -> uint256:
    return bb.e_sub(x, y)


@external
@pure
def e_mul(x: uint256, y: uint256) -> uint256:
    return bb.e_mul(x, y)


@external
@pure
def e_mul_base(x: uint256, y: uint256) -> uint256:
    return bb.e_mul_base(x, y)


@external
@pure
def e_add_base(x: uint256, y: uint256) -> uint256:
    return bb.e_add_base(x, y)


@external
@pure
def e_pow(x: uint256, y: uint256) -> uint256:
    return bb.e_pow(x, y)


@external
@pure
def e_neg(x: uint256) -> uint256:
    return bb.e_neg(x)


@external
@pure
def e_square(x: uint256) -> uint256:
    return bb.e_square(x)


@external
@pure
def e_inv(x: uint256) -> uint256:
    return bb.e_inv(x)


@external
@pure
def t_start(label: Bytes[64]) -> bytes32:
    return tr.start(label)


@external
@pure
def t_absorb(state: bytes32, data: Bytes[tr.MAX_ABSORB]) -> bytes32:
    return tr.absorb(state, data)


@external
@pure
def t_absorb_nonce(state: bytes32, nonce: uint64) -> bytes32:
    return tr.absorb_nonce(state, nonce)


@external
@pure
def t_sampler(state: bytes32) -> tr.Sampler:
    return tr.sampler(state)


@external
@pure
def t_next_word(s: tr.Sampler) -> (tr.Sampler, uint256):
    return tr.next_word(s)


@external
@pure
def t_sample_base(s: tr.Sampler) -> (tr.Sampler, uint256):
    return tr.sample_base(s)


@external
@pure
def t_sample_ext(s: tr.Sampler) -> (tr.Sampler, uint256):
    return tr.sample_ext(s)


@external
@pure
def t_sample_bits(s: tr.Sampler, bits: uint256) -> (tr.Sampler, uint256):
    return tr.sample_bits(s, bits)


@external
@pure
def t_pow_ok(state: bytes32, nonce: uint64, bits: uint256) -> bool:
    return tr.pow_ok(state, nonce, bits)


@external
@pure
def f_two_adic_generator(log_n: uint256) -> uint256:
    return ta.two_adic_generator(log_n)


@external
@pure
def f_two_adic_generator_inv(log_n: uint256) -> uint256:
    return ta.two_adic_generator_inv(log_n)









@external
@view
def gas_nop() -> uint256:
    g0: uint256 = msg.gas
    pass
    return g0 - msg.gas


@external
@view
def gas_mul(a: uint256, b: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.mul(a, b)
    return g0 - msg.gas


@external
@view
def gas_pow(a: uint256, e: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.pow(a, e)
    return g0 - msg.gas


@external
@view
def gas_inv(a: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.inv(a)
    return g0 - msg.gas


@external
@view
def gas_e_add(x: uint256, y: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.e_add(x, y)
    return g0 - msg.gas


@external
@view
def gas_e_sub(x: uint256, y: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.e_sub(x, y)
    return g0 - msg.gas


@external
@view
def gas_e_mul(x: uint256, y: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.e_mul(x, y)
    return g0 - msg.gas


@external
@view
def gas_e_square(x: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.e_square(x)
    return g0 - msg.gas


@external
@view
def gas_e_mul_base(x: uint256, b: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.e_mul_base(x, b)
    return g0 - msg.gas


@external
@view
def gas_e_inv(x: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.e_inv(x)
    return g0 - msg.gas


@external
@view
def gas_e_pow(x: uint256, e: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = bb.e_pow(x, e)
    return g0 - msg.gas


@external
@view
def gas_sample_ext(state: bytes32) -> uint256:
    g0: uint256 = msg.gas
    s: tr.Sampler = tr.sampler(state)
    r: uint256 = 0
    s, r = tr.sample_ext(s)
    return g0 - msg.gas


@external
@view
def gas_sample_ext_cont(s_in: tr.Sampler) -> uint256:
    g0: uint256 = msg.gas
    s: tr.Sampler = s_in
    r: uint256 = 0
    s, r = tr.sample_ext(s)
    return g0 - msg.gas


@external
@view
def gas_sample_bits(s_in: tr.Sampler, bits: uint256) -> uint256:
    g0: uint256 = msg.gas
    s: tr.Sampler = s_in
    r: uint256 = 0
    s, r = tr.sample_bits(s, bits)
    return g0 - msg.gas


@external
@view
def gas_pow_ok(state: bytes32, nonce: uint64, bits: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: bool = tr.pow_ok(state, nonce, bits)
    return g0 - msg.gas






@external
@view
def gas_two_adic_generator(log_n: uint256) -> uint256:
    g0: uint256 = msg.gas
    r: uint256 = ta.two_adic_generator(log_n)
    return g0 - msg.gas
