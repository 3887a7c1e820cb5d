# pragma version ~=0.4.3
"""
@title The two-adic subgroups' generators (a Vyper module)
@notice prover/field.py two_adic_generator and its inverse, for the out-of-domain checks
        (ood.vy). The FRI folds and the query points are computed by the row kernel
        (settlement/evm_deep_fri.py), from the same generators.
"""

M32: constant(uint256) = 4294967295
# two_adic_generator(k) (OMI: its inverse) for k = 0..27, 32 bits each, eight per word
OM0: constant(uint256) = 10723742931546729567327393885657005266083485894535145441491541364903392575489
OM1: constant(uint256) = 54183592492246108233168292452967303794791704521420808578146106952958901313895
OM2: constant(uint256) = 34159525722180525036156933316275929154940969270326628268139591046656627388916
OM3: constant(uint256) = 34905099104870518503691512118827645334
OMI0: constant(uint256) = 50052363436583589761954339146490113239722424368816672593478457002518936289281
OMI1: constant(uint256) = 38048759699247101025744212785466124049780471303348487900678072329787518665329
OMI2: constant(uint256) = 26619887358890544921439963986508066733826341184712281473868237296799191722193
OMI3: constant(uint256) = 135784765809632186892104079854284240292


@internal
@pure
def two_adic_generator(log_n: uint256) -> uint256:
    """A generator of the subgroup of order 2^log_n (log_n <= 27), prover/field.py's."""
    assert log_n <= 27, "no such subgroup"
    word: uint256 = OM0
    if log_n >= 24:
        word = OM3
    elif log_n >= 16:
        word = OM2
    elif log_n >= 8:
        word = OM1
    return (word >> ((log_n & 7) << 5)) & M32


@internal
@pure
def two_adic_generator_inv(log_n: uint256) -> uint256:
    """The inverse of two_adic_generator(log_n)."""
    assert log_n <= 27, "no such subgroup"
    word: uint256 = OMI0
    if log_n >= 24:
        word = OMI3
    elif log_n >= 16:
        word = OMI2
    elif log_n >= 8:
        word = OMI1
    return (word >> ((log_n & 7) << 5)) & M32
