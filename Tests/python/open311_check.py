#!/usr/bin/env python3
"""Reads the hub's Open311 GeoReport v2 endpoint with a real Open311 client (the `georeport`
package) and checks the spec's fields. Usage: open311_check.py ROOT_URL CA_FILE EXPECTATIONS_JSON.
EXPECTATIONS_JSON: {"services": [codes], "open": [ids], "closed": [ids], "forbidden": [strings]}.
Exits non-zero, saying what was wrong, on any mismatch."""
import json
import os
import sys

import requests

from georeport import GeoReport

REQUEST_FIELDS = {"service_request_id", "status", "service_code", "requested_datetime", "updated_datetime",
                  "address", "agency_responsible"}
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}


def fail(message):
    print(f"open311_check: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    root, ca, expected = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    os.environ["REQUESTS_CA_BUNDLE"] = ca  # the hub's CA, as for any https client
    client = GeoReport(root)
    services = client.get_service_list()
    codes = sorted(s["service_code"] for s in services)
    if codes != sorted(expected["services"]):
        fail(f"services {codes}, expected {expected['services']}")
    for s in services:
        if not SERVICE_FIELDS <= set(s):
            fail(f"service {s.get('service_code')} lacks {SERVICE_FIELDS - set(s)}")
        if s["type"] not in ("realtime", "batch", "blackbox") or s["metadata"] not in (True, False):
            fail(f"service {s['service_code']} has a bad type or metadata")
    everything = client.get_service_requests()
    for r in everything:
        if not REQUEST_FIELDS <= set(r):
            fail(f"request {r.get('service_request_id')} lacks {REQUEST_FIELDS - set(r)}")
        if r["status"] not in ("open", "closed"):
            fail(f"request {r['service_request_id']} has status {r['status']}")
    opened = sorted(r["service_request_id"] for r in client.get_service_requests(status="open"))
    closed = sorted(r["service_request_id"] for r in client.get_service_requests(status="closed"))
    if opened != sorted(expected["open"]) or closed != sorted(expected["closed"]):
        fail(f"open {opened} closed {closed}, expected {expected['open']} {expected['closed']}")
    one = client.get_service_request(expected["closed"][0])
    if one["service_request_id"] != expected["closed"][0] or one["status"] != "closed":
        fail(f"request {expected['closed'][0]} read back as {one}")
    late = client.get_service_requests(start_date="2030-01-01T00:00:00Z")
    if late:
        fail(f"start_date in the future still returned {len(late)} requests")
    text = requests.get(f"{root}/requests.json").text
    for word in expected["forbidden"]:
        if word in text:
            fail("a rider pseudonym appears in requests.json")
    if requests.get(f"{root}/requests.json", params={"status": "maybe"}).status_code != 400:
        fail("status=maybe was not refused with 400")
    print(f"open311_check: {len(services)} services, {len(everything)} requests ok")


if __name__ == "__main__":
    main()
