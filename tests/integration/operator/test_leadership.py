"""Leader election between two operators (see ``tests/leadership_scenarios.py``)."""

from tests.leadership_scenarios import (
    test_only_the_leader_reconciles_and_a_successor_takes_over,
)

__all__ = ["test_only_the_leader_reconciles_and_a_successor_takes_over"]
