import pytest

from tests.simulator.conftest import SHARED_SWAGGER
from tests.simulator.simclient import REPO


@pytest.mark.skipif(not SHARED_SWAGGER.exists(), reason=f"no published spec to compare with at {SHARED_SWAGGER}")
def test_the_simulator_spec_copy_matches_the_published_spec():
    assert (REPO / "simulator" / "flightdeck-swagger.json").read_bytes() == SHARED_SWAGGER.read_bytes()
