"""The names hpa shares with the cluster, and the HostPort name derived from its port."""

import pytest

from hpa import api


@pytest.mark.parametrize("port", [1, 80, 9000, 65535])
def test_hostport_name_round_trips(port: int) -> None:
    """The name made for a port parses back to that port."""
    assert api.port_of_hostport_name(api.hostport_name(port)) == port


def test_hostport_name_format() -> None:
    """A HostPort for port 9000 is named port-9000."""
    assert api.hostport_name(9000) == "port-9000"


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_hostport_name_rejects_ports_out_of_range(port: int) -> None:
    """No name exists for a port outside 1..65535."""
    with pytest.raises(ValueError, match=r"outside 1\.\.65535"):
        api.hostport_name(port)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("port-0", id="zero"),
        pytest.param("port-65536", id="too-high"),
        pytest.param("port-09000", id="leading-zero"),
        pytest.param("port-", id="no-digits"),
        pytest.param("9000", id="no-prefix"),
        pytest.param("port-9000a", id="trailing-letter"),
        pytest.param("port-\u0669", id="non-ascii-digit"),
        pytest.param("echo-web", id="claim-like-name"),
        pytest.param("port-9000-", id="no-slot-digits"),
        pytest.param("port-9000-01", id="slot-leading-zero"),
        pytest.param("port-9000-65536", id="slot-too-high"),
        pytest.param("port-9000-1-2", id="two-slots"),
        pytest.param("port-0-1", id="per-node-port-zero"),
        pytest.param("port--1", id="no-port"),
    ],
)
def test_port_of_hostport_name_rejects_other_names(name: str) -> None:
    """Names not of a derived form stand for no port, and no (port, slot)."""
    assert api.port_of_hostport_name(name) is None
    assert api.parse_hostport_name(name) is None


@pytest.mark.parametrize(("port", "slot"), [(1, 0), (9000, 2), (65535, api.SLOT_MAX)])
def test_per_node_hostport_name_round_trips(port: int, slot: int) -> None:
    """A per-node HostPort is named from its port and slot, and parses back to both."""
    name = api.hostport_name(port, slot)
    assert name == f"port-{port}-{slot}"
    assert api.parse_hostport_name(name) == (port, slot)
    assert api.port_of_hostport_name(name) == port
    assert api.parse_hostport_name(api.hostport_name(port)) == (port, None)


@pytest.mark.parametrize("slot", [-1, api.SLOT_MAX + 1])
def test_hostport_name_rejects_slots_out_of_range(slot: int) -> None:
    """No name exists for a slot outside 0..SLOT_MAX."""
    with pytest.raises(ValueError, match=r"slot .* is outside 0\.\.65535"):
        api.hostport_name(9000, slot)


def test_annotations_are_those_of_the_original() -> None:
    """The quickstart's annotations and namespace label are kept unchanged."""
    assert api.CLAIM_ANNOTATION_PREFIX + "web" == "claim.hostport.rmb938.com/web"
    assert api.PORT_ANNOTATION_PREFIX + "web" == "port.hostport.rmb938.com/web"
    assert (api.NAMESPACE_LABEL, api.NAMESPACE_LABEL_VALUE) == ("hostport.rmb938.com", "true")
    assert api.API_VERSION == "hostport.rmb938.com/v1alpha1"


@pytest.mark.parametrize(
    ("key", "class_name"),
    [
        pytest.param("gold.hostportclass.hostport.rmb938.com/hostportclaims", "gold", id="class"),
        pytest.param("count/hostportclaims.hostport.rmb938.com", None, id="object-count"),
        pytest.param(".hostportclass.hostport.rmb938.com/hostportclaims", None, id="no-class"),
        pytest.param("gold.storageclass.storage.k8s.io/persistentvolumeclaims", None, id="pvc"),
    ],
)
def test_class_quota_keys_round_trip(key: str, class_name: str | None) -> None:
    """Per-class quota keys name their class; other ResourceQuota keys name none."""
    assert api.class_of_quota_key(key) == class_name
    if class_name is not None:
        assert api.class_quota_key(class_name) == key
