from tests.simulator.conftest import SHARED_SWAGGER
from tests.simulator.simclient import REPO


def test_the_simulator_spec_copy_matches_the_published_spec():
    if SHARED_SWAGGER.exists():
        assert (REPO / "simulator" / "flightdeck-swagger.json").read_bytes() == SHARED_SWAGGER.read_bytes()
