"""The attacks folder builds the same world as the component folders: the stack from
tests/conftest.py plus the escrow world of tests/escrow/conftest.py (a JobEscrow wired as deploy
wires it, a funded client, a registered worker, job and signature factories)."""

from tests.escrow.conftest import (  # noqa: F401  (fixtures, found by pytest by name)
    batch_sig,
    client,
    domain,
    escrow,
    post_job,
    result_sig,
    worker,
)


def pytest_terminal_summary(terminalreporter) -> None:
    from tests.attacks.figures import FIGURES

    if FIGURES:
        terminalreporter.write_sep("-", "attack figures (damage found by each attempt)")
        for name, text in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {text}")
