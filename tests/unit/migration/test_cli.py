"""``hpa migrate``'s output and exit codes, against the in-memory API server."""

from hpa import api, kube
from hpa.cli import _main, _migrate
from tests import kubefake
from tests.unit.migration import originals


def _cluster(*extra: str) -> tuple[kubefake.FakeApi, kube.Client]:
    fake = kubefake.FakeApi()
    originals.seed(fake, originals.installation(*extra), crds=originals.original_crds())
    return fake, kube.Client(fake)


async def test_a_dry_run_prints_the_plan_and_changes_nothing() -> None:
    fake, client = _cluster()
    out: list[str] = []
    assert await _migrate.run(client, dry_run=True, write=out.append) == 0
    assert fake.total_writes() == 0
    assert out[0] == "hostport.rmb938.com: the original's HostPort CRD is installed"
    assert out[1] == "plan (dry run, nothing is changed):"
    assert all(line.startswith("  ") for line in out[2:-1])
    assert len(out) == 2 + 43 + 1
    assert out[-1].startswith("summary: 5 port(s) move to hpa")


async def test_a_run_then_a_second_one_that_does_nothing() -> None:
    fake, client = _cluster()
    out: list[str] = []
    assert await _migrate.run(client, dry_run=False, write=out.append) == 0
    assert out[-1] == "migrated: start hpa now (docs/migration.md, step 4)"
    writes = fake.total_writes()
    again: list[str] = []
    assert await _migrate.run(client, dry_run=False, write=again.append) == 0
    assert again == [
        "hostport.rmb938.com: hpa's HostPort CRD is installed",
        "nothing to do: everything is migrated",
    ]
    assert fake.total_writes() == writes


async def test_conflicts_exit_non_zero_with_what_to_do() -> None:
    _, client = _cluster("conflicts")
    dry: list[str] = []
    assert await _migrate.run(client, dry_run=True, write=dry.append) == 1
    out: list[str] = []
    assert await _migrate.run(client, dry_run=False, write=out.append) == 1
    conflicts = [line for line in out if line.startswith("conflict ")]
    assert [line.split(":")[0] for line in conflicts] == [
        "conflict claim games/leaving", "conflict port 9510", "conflict port 9520",
    ]  # fmt: skip
    assert conflicts == [line for line in dry if line.startswith("conflict ")]
    assert out[-1] == "not finished: resolve what is listed above and run hpa migrate again"


async def test_nothing_installed_is_nothing_to_migrate() -> None:
    out: list[str] = []
    assert await _migrate.run(kube.Client(kubefake.FakeApi()), dry_run=False, write=out.append) == 0
    assert out == [f"no CustomResourceDefinition of {api.GROUP} is installed: nothing to migrate"]


def test_the_command_is_registered() -> None:
    args = _main._parser().parse_args(["migrate", "--dry-run", "--kubeconfig", "k"])
    assert (args.dry_run, args.kubeconfig, args.handler) == (True, "k", _migrate._migrate)
