import Foundation
import TestSupport
import Testing
import WaystationControl
import WaystationCore

/// The control interface of the real daemon, through its real Unix socket.
@Suite("Control interface", .serialized)
struct ControlTests {
    static let iface = "io.waystation.Station"

    /// A daemon polling a simulated station, with its control socket ready.
    final class Running: @unchecked Sendable {
        // @unchecked: set once in init.
        let station: TestStation
        let daemon: DaemonProcess
        var socket: String { station.dir + "/control.sock" }

        init(units: [Int] = [1, 2]) async throws {
            station = try TestStation(tcpUnits: units)
            daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
            try await daemon.waitFor("READY=1") { daemon.count("READY=1") >= 1 }
            let path = station.dir + "/control.sock"
            try await daemon.waitFor("devices online") {
                let client = try VarlinkClient(path: path)
                let status = try client.call("\(ControlTests.iface).GetStatus")
                return status["devices"]?.array?.allSatisfy { $0["state"]?.string == "online" } == true
            }
        }

        func client() throws -> VarlinkClient { try VarlinkClient(path: socket) }

        func call(_ method: String, _ parameters: JSON = [:]) throws -> JSON {
            try client().call("\(ControlTests.iface).\(method)", parameters)
        }

        /// The varlink error name of a failing call.
        func error(_ method: String, _ parameters: JSON = [:]) -> (String, JSON)? {
            do {
                _ = try call(method, parameters)
                return nil
            } catch VarlinkClient.Failure.reply(let e) {
                return (e.name, e.parameters)
            } catch {
                return ("\(error)", [:])
            }
        }

        func openFDs() -> Int {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.process.pid)/fd").count) ?? -1
        }

        func ctl(_ arguments: [String], asNobody: Bool = false, socket explicit: String? = nil) async throws
            -> (status: Int32, output: String)
        {
            let args = arguments + ["--socket", explicit ?? socket]
            let ctl = DaemonProcess.binDir + "/waystationctl"
            if asNobody {
                return try await Spawned.run(
                    "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ctl] + args)
            }
            return try await Spawned.run(ctl, args)
        }
    }

    @Test("introspection: GetInfo and GetInterfaceDescription return the committed .varlink file")
    func introspection() async throws {
        let r = try await Running()
        let info = try r.client().call("org.varlink.service.GetInfo")
        #expect(info["interfaces"]?.array?.contains(.string(Self.iface)) == true)
        let desc = try r.client().call(
            "org.varlink.service.GetInterfaceDescription", ["interface": .string(Self.iface)])
        let file = try String(
            contentsOfFile: DaemonProcess.repo + "/Sources/WaystationProtocol/io.waystation.Station.varlink",
            encoding: .utf8)
        #expect(desc["description"]?.string == file.trimmingCharacters(in: .newlines))
        #expect(r.error("Nope")?.0 == "org.varlink.service.MethodNotFound")
        let missing = try? r.client().call("com.example.Other.Ping")
        #expect(missing == nil)
        do {
            _ = try r.client().call("com.example.Other.Ping")
        } catch VarlinkClient.Failure.reply(let failure) {
            let (error, p) = (failure.name, failure.parameters)
            #expect(error == "org.varlink.service.InterfaceNotFound" && p["interface"]?.string == "com.example.Other")
        }
    }

    @Test("reading methods: status, devices, device, live read, self-test, audit; and their errors")
    func reads() async throws {
        let r = try await Running()
        let status = try r.call("GetStatus")
        #expect(status["station"]?["id"]?.string == "test")
        #expect(status["station"]?["capacity"]?.number == 4)
        #expect(status["devices"]?.array?.count == 2)
        #expect(status["version"]?.string?.isEmpty == false)
        #expect(try r.call("ListDevices")["devices"]?.array?.map { $0["id"]?.string } == ["t1", "t2"])

        let device = try r.call("GetDevice", ["id": "t1"])
        let points = device["device"]?["points"]?.array ?? []
        let u16 = points.first { $0["name"]?.string == "u16" }
        #expect(u16?["value"]?.number == 1001)
        #expect(u16?["quality"]?.string == "good")
        #expect(u16?["age"]?.number != nil)
        #expect(r.error("GetDevice", ["id": "nope"])?.0 == "\(Self.iface).DeviceNotFound")
        #expect(r.error("GetDevice", ["id": 5])?.0 == "org.varlink.service.InvalidParameter")

        // A live read sees a change at once, before the next poll could.
        try r.station.simulator.set(device: "t1", point: "h0", value: 777)
        let live = try r.call("ReadPoint", ["device": "t1", "point": "h0"])
        #expect(live["point"]?["value"]?.number == 777)
        #expect(r.error("ReadPoint", ["device": "t1", "point": "nope"])?.0 == "\(Self.iface).PointNotFound")
        try r.station.simulator.setFault(device: "t2", .silent)
        let offline = r.error("ReadPoint", ["device": "t2", "point": "h0"])
        #expect(offline?.0 == "\(Self.iface).DeviceOffline")
        #expect(offline?.1["error"]?.string?.contains("timeout") == true)

        let selftest = try r.call("SelfTest")
        #expect(selftest["ok"]?.bool == false)
        let checks = selftest["devices"]?.array ?? []
        #expect(checks.first { $0["id"]?.string == "t1" }?["ok"]?.bool == true)
        #expect(checks.first { $0["id"]?.string == "t2" }?["ok"]?.bool == false)
        #expect(selftest["storage_ok"]?.bool == true && selftest["clock_ok"]?.bool == true)
        try r.station.simulator.setFault(device: "t2", nil)
    }

    @Test("changes: write with read-back, limits, maintenance, reload, all audited")
    func changes() async throws {
        let r = try await Running()
        let written = try r.call("WritePoint", ["device": "t1", "point": "hf", "value": 12.5])
        #expect(written["point"]?["value"]?.number == 12.5)
        #expect(try r.station.simulator.value(device: "t1", point: "hf") == 12.5)
        let coil = try r.call("WritePoint", ["device": "t1", "point": "c0", "value": true])
        #expect(coil["point"]?["value"]?.number == 1)

        let range = r.error("WritePoint", ["device": "t1", "point": "hf", "value": 5000])
        #expect(range?.0 == "\(Self.iface).ValueOutOfRange")
        #expect(range?.1["max"]?.number == 1000)
        #expect(
            r.error("WritePoint", ["device": "t1", "point": "readonly", "value": 1])?.0
                == "\(Self.iface).PointNotWritable")
        #expect(
            r.error("WritePoint", ["device": "t1", "point": "hf", "value": "x"])?.0
                == "org.varlink.service.InvalidParameter")

        let m = try r.call("SetMaintenance", ["device": "t2", "enabled": true, "reason": "replacing the probe"])
        #expect(m["device"]?["maintenance"]?.bool == true)
        #expect(m["device"]?["maintenance_reason"]?.string == "replacing the probe")
        _ = try r.call("SetMaintenance", ["device": "t2", "enabled": false])
        _ = try r.call("Reload")

        #expect(r.error("SetMaintenance", ["device": "nope", "enabled": true])?.0 == "\(Self.iface).DeviceNotFound")
        #expect(r.error("SetMaintenance", ["device": "t1"])?.0 == "org.varlink.service.InvalidParameter")
        #expect(r.error("ReadPoint", ["device": "nope", "point": "h0"])?.0 == "\(Self.iface).DeviceNotFound")
        #expect(r.error("ListAudit", ["limit": 0])?.0 == "org.varlink.service.InvalidParameter")
        // A broken config is refused by Reload and the running one stays.
        let good = try String(contentsOfFile: r.station.configPath, encoding: .utf8)
        try (good + "\n[[device]]\nid = \"x\"\nprofile = \"testdev\"\nbus = \"nowhere\"\nunit = 7\n")
            .write(toFile: r.station.configPath, atomically: true, encoding: .utf8)
        let refused = r.error("Reload")
        #expect(refused?.0 == "\(Self.iface).ConfigRefused")
        #expect(refused?.1["errors"]?.string?.contains("nowhere") == true)
        try good.write(toFile: r.station.configPath, atomically: true, encoding: .utf8)
        #expect(try r.call("ListDevices")["devices"]?.array?.count == 2)

        let audit = try r.call("ListAudit", ["limit": 10])["entries"]?.array ?? []
        let actions = audit.map { $0["action"]?.string ?? "" }
        #expect(actions == ["reload", "reload", "maintenance", "maintenance", "write", "write"])
        #expect(audit.first?["new"]?.string == "refused")
        let write = audit.last
        #expect(write?["target"]?.string == "t1.hf" && write?["new"]?.string == "12.5")
        #expect(write?["uid"]?.number == Double(getuid()))
        #expect(audit[2]["old"]?.string?.hasPrefix("on") == true && audit[2]["new"]?.string == "off")
    }

    @Test("a peer that is not admin is refused changes but may read")
    func permission() async throws {
        let r = try await Running()
        // Let another uid connect at all (the socket is 0660, owned by the daemon's user).
        chmod(r.socket, 0o666)
        let read = try await r.ctl(["status"], asNobody: true)
        #expect(read.status == 0, "\(read.output)")
        let write = try await r.ctl(["write", "t1", "h0", "5"], asNobody: true)
        #expect(write.status == 1)
        #expect(write.output.contains("permission denied"), "\(write.output)")
        #expect(try r.station.simulator.value(device: "t1", point: "h0") == 42)
        let maint = try await r.ctl(["maintenance", "t1", "on"], asNobody: true)
        #expect(maint.status == 1)
    }

    @Test("200 concurrent GetStatus calls while polling all succeed")
    func concurrent() async throws {
        let r = try await Running()
        let socket = r.socket
        let ok = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    await Task.detached {
                        (try? VarlinkClient(path: socket).call("\(ControlTests.iface).GetStatus"))?["station"] != nil
                    }.value
                }
            }
            var count = 0
            for await success in group where success { count += 1 }
            return count
        }
        #expect(ok == 200)
        let before = try r.station.simulator.servedCount(device: "t1")
        try await r.daemon.waitFor("polling goes on") { try r.station.simulator.servedCount(device: "t1") > before }
    }

    @Test("a stuck client does not delay others; malformed input never kills the daemon or leaks")
    func robustness() async throws {
        let r = try await Running()
        // Stuck: connects, sends half a message, never reads.
        let stuck = try r.client()
        try stuck.sendRaw(Array("{\"method\":\"io.waystation.Station.GetSta".utf8))
        for _ in 0..<20 { #expect(try r.call("GetStatus")["station"] != nil) }

        let fdsBefore = r.openFDs()
        let malformed: [[UInt8]] = [
            Array("not json".utf8) + [0],
            Array("{\"method\": 5}".utf8) + [0],
            Array("[1,2,3]".utf8) + [0],
            Array("{\"method\":\"io.waystation.Station.GetDevice\",\"parameters\":[]}".utf8) + [0],
            Array("{\"method\":\"io.waystation.Station.GetDevice\",\"parameters\":{\"id\":[1]}}".utf8) + [0],
            Array("{\"method\":\"no.such.Iface\"}".utf8) + [0],
            Array("{\"method\":\"\"}".utf8) + [0],
            Array("{\"unterminated\": ".utf8),
            [0xFF, 0xFE, 0x00],
            [0],
        ]
        for i in 0..<1000 {
            let client = try r.client()
            try? client.sendRaw(malformed[i % malformed.count])
            if i % malformed.count == 3 {
                // Some get an error reply; the rest a closed connection. Never a crash.
                let reply = try? client.receive().json
                #expect(reply?["error"]?.string == "org.varlink.service.InvalidParameter")
            }
        }
        // Too large: more than 1 MiB without a NUL.
        let big = try r.client()
        try? big.sendRaw([UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) + 10))
        let tooBig = try? big.receive().json
        #expect(tooBig?["parameters"]?["reason"]?.string?.contains("larger than") == true)

        #expect(r.daemon.process.isRunning)
        #expect(try r.call("GetStatus")["devices"]?.array?.count == 2)
        let before = try r.station.simulator.servedCount(device: "t1")
        try await r.daemon.waitFor("polling goes on") { try r.station.simulator.servedCount(device: "t1") > before }
        // No descriptors leaked (allow the stuck client and a little slack for in-flight closes).
        try await r.daemon.waitFor("descriptors released") { r.openFDs() <= fdsBefore + 2 }
        _ = stuck
    }

    @Test("Watch streams the current state, then device changes; a departed watcher is cleaned up")
    func watch() async throws {
        let r = try await Running()
        let client = try VarlinkClient(path: r.socket, timeout: 20)
        try client.send("\(Self.iface).Watch", [:], more: true)
        let first = try client.receive().json
        #expect(first["continues"]?.bool == true)
        #expect(first["parameters"]?["event"]?["kind"]?.string == "snapshot")
        try r.station.simulator.setFault(device: "t2", .silent)
        var sawOffline = false
        for _ in 0..<10 {
            let e = try client.receive().json["parameters"]?["event"]
            if e?["device"]?.string == "t2" && e?["to"]?.string == "offline" {
                sawOffline = true
                break
            }
        }
        #expect(sawOffline)
        try r.station.simulator.setFault(device: "t2", nil)
    }

    @Test("the Python varlink package introspects and calls the daemon")
    func python() async throws {
        let r = try await Running()
        let (status, output) = try await Spawned.run(
            "/usr/bin/env", ["python3", DaemonProcess.repo + "/Tests/python/varlink_check.py", r.socket])
        #expect(status == 0, "\(output)")
        let data = Data((output.split(separator: "\n").last.map(String.init) ?? "").utf8)
        let errors = output
        let seen = try #require(JSON.parse(data), "\(errors)")
        #expect(seen["interface"]?.string == Self.iface)
        #expect(seen["methods"]?.array?.contains("GetStatus") == true)
        #expect(seen["station_id"]?.string == "test")
        #expect(seen["devices"]?.array?.count == 2)
    }

    @Test("waystationctl: tables, --json, and exit codes 0, 1, 2")
    func cli() async throws {
        let r = try await Running()
        let status = try await r.ctl(["status"])
        #expect(status.status == 0)
        #expect(
            status.output.contains("Station test") && status.output.contains("t1") && status.output.contains("online"))
        let json = try await r.ctl(["devices", "--json"])
        #expect(JSON.parse(Data(json.output.utf8))?["devices"]?.array?.count == 2)
        let device = try await r.ctl(["device", "t1"])
        #expect(device.output.contains("u16") && device.output.contains("1001"))
        #expect(try await r.ctl(["device", "nope"]).status == 1)
        #expect(try await r.ctl(["write", "t1", "h0", "77"]).output.contains("77"))
        #expect(try await r.ctl(["read", "t1", "h0"]).output.contains("h0 = 77"))
        let unreachable = try await r.ctl(["status"], socket: r.station.dir + "/nothing.sock")
        #expect(unreachable.status == 2)
    }
}
