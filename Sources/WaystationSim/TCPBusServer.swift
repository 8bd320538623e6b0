import CModbus
import Foundation
import WaystationCore

/// Serves one TCP bus: a listening endpoint with several unit ids behind it, like a gateway.
final class TCPBusServer: BusServer, @unchecked Sendable {
    // @unchecked: `listenFD`, `clients` and the flags are guarded by `state`; `ctx` is used only on
    // the server thread once started (and under `state` while opening).
    /// Weak: the server's thread may still be answering a request when the simulator goes (its
    /// deinit stops the servers); an unowned reference read then trapped ("already destroyed").
    private weak let sim: Simulator?
    let bus: String
    let host: String
    let port: Int
    let units: [Int: String]
    private let state = NSLock()
    private var ctx: OpaquePointer?
    private var listenFD: Int32 = -1
    private var clients: [Int32] = []
    private var dropRequested = false
    private var running = false
    private var thread: Thread?

    init(sim: Simulator, bus: String, host: String, port: Int, units: [Int: String]) {
        self.sim = sim
        self.bus = bus
        self.host = host
        self.port = port
        self.units = units
    }

    deinit {
        if listenFD >= 0 { close(listenFD) }
        for fd in clients { close(fd) }
        if let ctx { modbus_free(ctx) }
    }

    func open() throws {
        state.lock()
        defer { state.unlock() }
        if ctx == nil {
            guard let created = modbus_new_tcp_pi(host, String(port)) else {
                throw SimulatorError("bus \(bus): cannot create a TCP server for \(host):\(port)")
            }
            ctx = created
        }
        guard listenFD < 0, let ctx else { return }
        let fd = modbus_tcp_pi_listen(ctx, 32)
        if fd < 0 {
            throw SimulatorError("bus \(bus): cannot listen on \(host):\(port) (errno \(errno))")
        }
        listenFD = fd
    }

    func start() {
        state.lock()
        running = true
        state.unlock()
        let thread = Thread { [self] in self.loop() }
        thread.name = "sim-tcp-\(bus)"
        self.thread = thread
        thread.start()
    }

    func shutdown() {
        state.lock()
        running = false
        state.unlock()
    }

    /// Closes the listening socket and every client: the port refuses connections until `open()`.
    func closeEndpoint() {
        state.lock()
        if listenFD >= 0 { close(listenFD) }
        listenFD = -1
        dropRequested = true
        state.unlock()
        waitForDrop()
    }

    func dropClients() {
        state.lock()
        dropRequested = true
        state.unlock()
        waitForDrop()
    }

    /// Returns once the server thread has closed its clients (or it is not running).
    private func waitForDrop() {
        for _ in 0..<100 {
            state.lock()
            let done = !dropRequested || !running
            state.unlock()
            if done { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    private func loop() {
        var query = [UInt8](repeating: 0, count: Int(WS_MODBUS_TCP_MAX_ADU_LENGTH))
        while true {
            state.lock()
            if !running {
                for fd in clients { close(fd) }
                clients.removeAll()
                if listenFD >= 0 { close(listenFD) }
                listenFD = -1
                state.unlock()
                return
            }
            if dropRequested {
                for fd in clients {
                    // RST rather than FIN, like a rebooted gateway.
                    var lingerOpt = linger(l_onoff: 1, l_linger: 0)
                    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lingerOpt, socklen_t(MemoryLayout<linger>.size))
                    close(fd)
                }
                clients.removeAll()
                dropRequested = false
            }
            let listening = listenFD
            let current = clients
            state.unlock()

            var fds = [pollfd]()
            if listening >= 0 { fds.append(pollfd(fd: listening, events: Int16(POLLIN), revents: 0)) }
            fds += current.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if fds.isEmpty {
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            let ready = poll(&fds, nfds_t(fds.count), 50)
            guard ready > 0, let ctx else { continue }
            for entry in fds where entry.revents != 0 {
                if entry.fd == listening {
                    var s = listening
                    let fd = modbus_tcp_pi_accept(ctx, &s)
                    if fd >= 0 {
                        state.lock()
                        clients.append(fd)
                        state.unlock()
                    }
                    continue
                }
                modbus_set_socket(ctx, entry.fd)
                let rc = modbus_receive(ctx, &query)
                if rc <= 0 {
                    state.lock()
                    if let i = clients.firstIndex(of: entry.fd) {
                        close(entry.fd)
                        clients.remove(at: i)
                    }
                    state.unlock()
                    continue
                }
                let header = Int(modbus_get_header_length(ctx))
                let unit = Int(query[header - 1])
                query.withUnsafeMutableBufferPointer { buffer in
                    guard let base = buffer.baseAddress else { return }
                    sim?.answer(ctx: ctx, query: base, length: rc, unit: unit, deviceID: units[unit], rtu: false)
                }
            }
        }
    }
}
