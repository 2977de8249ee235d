"""GET /data.json (DCAT-US v1.1) and GET /datapackage.json (Frictionless Data Package).

Both are built by portal.catalog from the dataset declarations; this blueprint only serves them,
with absolute links rooted at the URL the portal was reached by, stored by the HTTP cache per version.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from api import httpcache
from portal.catalog import data_package, dcat_catalog

bp = Blueprint("standards", __name__)


@bp.get("/data.json")
@httpcache.cached(httpcache.current, url=True)  # its temporal coverage is read through the reader
def data_json():
    return jsonify(dcat_catalog(request.url_root))


@bp.get("/datapackage.json")
@httpcache.cached(httpcache.no_data, url=True)  # declarations and links only
def datapackage_json():
    return jsonify(data_package(request.url_root))
