"""create_app(settings): the portal serves the lake its settings name, whatever the environment says
(Flask's create_app(test_config) habit; decision 0010)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from etl.load import load_file
from tests.conftest import ROOT
from tests.helpers import sr_row, write_csv

SERVE = """
import json, sys
import app, config
portal = app.create_app(config.Settings.from_env(data_dir=sys.argv[1], cache_type="null"))
client = portal.server.test_client()
print(json.dumps({"health": client.get("/healthz").get_json(),
                  "rows": client.get("/api/v1/datasets/service_requests/rows?limit=5").get_json(),
                  "data_dir": str(config.data_dir())}))
"""


def test_the_app_serves_the_lake_its_settings_name_not_the_environments(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(3)]))
    decoy = tmp_path / "elsewhere"  # what an operator's environment says; the settings handed in win
    env = {**os.environ, "PULSE_DATA_DIR": str(decoy), "PULSE_CACHE_TYPE": "filesystem"}
    out = subprocess.run([sys.executable, "-c", SERVE, str(lake_dir)], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    body = json.loads(out.stdout.strip().splitlines()[-1])
    assert body["data_dir"] == str(lake_dir)
    assert body["health"]["datasets"]["service_requests"]["version"] == 1
    assert [r["request_id"] for r in body["rows"]["rows"]] == ["1000", "1001", "1002"]
    assert not decoy.exists()  # nothing was read from or written to the environment's folder
