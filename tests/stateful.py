"""Running a Hypothesis state machine against a real chain, the same way in every folder.

Chain-backed machines are slow per step and restore a chain snapshot themselves, so every run
has no deadline, no example database (a replayed example would meet another chain state) and no
health checks (fixtures are function-scoped by design).
"""

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test


def run_on_chain(machine: type[RuleBasedStateMachine], examples: int, steps: int) -> None:
    """Run `machine` for `examples` sequences of at most `steps` steps."""
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
