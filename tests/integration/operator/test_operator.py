"""The operator scenarios against the API server of ``--api-server``, through kr8s (see
``tests/operator_scenarios.py``)."""

from tests.operator_scenarios import (
    test_a_wide_class_leaves_a_narrow_one_its_ports,
    test_claim_kept_while_a_pod_uses_it,
    test_full_class_leaves_claims_pending,
    test_naming_another_claims_hostport_binds_nothing,
    test_quickstart_claim_binds,
    test_restart_mid_burst,
    test_survives_dropped_watches_gone_and_server_errors,
    test_thousand_claims_three_overlapping_classes,
    test_two_operators_without_leader_election,
)

__all__ = [
    "test_a_wide_class_leaves_a_narrow_one_its_ports",
    "test_claim_kept_while_a_pod_uses_it",
    "test_full_class_leaves_claims_pending",
    "test_naming_another_claims_hostport_binds_nothing",
    "test_quickstart_claim_binds",
    "test_restart_mid_burst",
    "test_survives_dropped_watches_gone_and_server_errors",
    "test_thousand_claims_three_overlapping_classes",
    "test_two_operators_without_leader_election",
]
