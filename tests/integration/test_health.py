"""GET /healthz answers 200 with the current data versions (issue 2)."""
from tests.helpers import sr_row, write_csv


def test_healthz_reports_versions(lake_dir, tmp_path):
    from app import server
    from etl.load import load_file

    client = server.test_client()
    assert client.get("/healthz").json["datasets"]["service_requests"] is None
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(1)]))
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["datasets"]["service_requests"]["version"] == 1


def test_home_page_is_served_in_english(lake_dir):
    from app import server

    page = server.test_client().get("/")
    assert page.status_code == 200 and b'<html lang="en">' in page.data
