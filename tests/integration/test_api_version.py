"""GET /api/v1/version: the current data versions, cheap to poll, with an ETag (issue 3)."""
import pytest

from etl.load import load_file
from portal.reader import reset_reader
from tests.helpers import sr_row, write_csv


@pytest.fixture
def client(lake_dir):
    reset_reader()
    from app import server

    yield server.test_client()
    reset_reader()


def test_version_lists_every_dataset(client):
    body = client.get("/api/v1/version").json
    assert body["datasets"]["service_requests"] == {"version": None, "published_at": None}
    assert set(body["datasets"]) >= {"plow_activity", "volunteer_signups"}


def test_a_new_version_shows_up_and_the_etag_changes(client, tmp_path):
    from portal.reader import reader

    reader().check_interval = 0
    first = client.get("/api/v1/version")
    assert client.get("/api/v1/version", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(1)]))
    second = client.get("/api/v1/version", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.json["datasets"]["service_requests"]["version"] == 1
    assert second.json["datasets"]["service_requests"]["published_at"]
    assert second.headers["ETag"] != first.headers["ETag"]
