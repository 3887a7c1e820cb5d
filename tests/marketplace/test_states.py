"""The job state machine: exactly the transitions of the design, nothing else."""

import pytest

from marketplace.states import HELD, TERMINAL, TRANSITIONS, IllegalTransition, JobState, check_transition

S = JobState


def test_every_state_has_its_transitions_listed():
    assert set(TRANSITIONS) == set(JobState)


def test_the_designed_paths_are_allowed():
    happy = [S.SUBMITTED, S.OPEN, S.LOCKED, S.PROVING, S.VERIFYING, S.PAID]
    for a, b in zip(happy, happy[1:]):
        check_transition(a, b)
    for a, b in [(S.OPEN, S.EXPIRED), (S.EXPIRED, S.REFUNDED), (S.LOCKED, S.OPEN), (S.PROVING, S.OPEN),
                 (S.VERIFYING, S.OPEN), (S.VERIFYING, S.FAILED)]:
        check_transition(a, b)


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_terminal_states_never_move(state):
    for target in JobState:
        with pytest.raises(IllegalTransition):
            check_transition(state, target)


def test_no_shortcut_to_paid():
    for state in JobState:
        if state != S.VERIFYING:
            with pytest.raises(IllegalTransition):
                check_transition(state, S.PAID)
    assert TERMINAL == {S.PAID, S.FAILED, S.REFUNDED}
    assert HELD == {S.LOCKED, S.PROVING, S.VERIFYING}
