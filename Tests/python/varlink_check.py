#!/usr/bin/env python3
"""An independent varlink client (the Python `varlink` package) against waystationd's socket.

Usage: varlink_check.py SOCKET_PATH
Prints one JSON object with what it saw; exits non-zero if a call fails.
"""
import json
import sys

import varlink


def main() -> int:
    address = "unix:" + sys.argv[1]
    with varlink.Client(address=address) as client:
        with client.open("org.varlink.service", namespaced=False) as service:
            description = service.GetInterfaceDescription("io.waystation.Station")["description"]
            info = service.GetInfo()
        # Parse the interface description with the package's own varlink IDL parser.
        interface = varlink.Interface(description)
        with client.open("io.waystation.Station", namespaced=False) as station:
            status = station.GetStatus()
        print(json.dumps({
            "interface": interface.name,
            "methods": sorted(k for k, v in interface.members.items() if isinstance(v, varlink.scanner._Method)),
            "interfaces": info["interfaces"],
            "station_id": status["station"]["id"],
            "devices": [d["id"] for d in status["devices"]],
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
