#if canImport(Glibc)
    import Glibc
#endif
import WaystationCore

/// One client of the control socket, owned by the server's I/O thread.
final class ControlConnection {
    let id: Int
    let fd: Int32
    let peer: Peer
    var reader: VarlinkFrame.Reader
    /// Replies waiting to be written, and how much of the first is out.
    var output: [[UInt8]] = []
    var outputOffset = 0
    var queuedBytes = 0
    /// A call is being handled; further messages wait (varlink calls on one connection are in order).
    var busy = false
    /// The call in progress streams replies (`more`).
    var streaming = false
    /// The call in progress holds one of the server's running-call places (streams do not).
    var holdsPlace = false
    var sink: ReplySink?
    /// Last complete message received (the idle clock).
    var lastMessage: ContinuousClock.Instant
    /// The client sent end-of-file.
    var peerDone = false
    /// Close once the output is written.
    var closeAfterFlush = false

    init(id: Int, fd: Int32, peer: Peer, messageLimit: Int, now: ContinuousClock.Instant) {
        self.id = id
        self.fd = fd
        self.peer = peer
        reader = VarlinkFrame.Reader(limit: messageLimit)
        lastMessage = now
    }

    func enqueue(_ bytes: [UInt8]) {
        output.append(bytes)
        queuedBytes += bytes.count
    }

    /// Writes what the socket takes now. Returns false when the connection broke.
    func flush() -> Bool {
        while let first = output.first {
            let n = first.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return send(fd, base + outputOffset, first.count - outputOffset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return true }
                return false
            }
            outputOffset += n
            queuedBytes -= n
            if outputOffset == first.count {
                output.removeFirst()
                outputOffset = 0
            }
        }
        return true
    }

    /// Reads what is there. Returns false at end-of-file or on an error.
    func fill() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16384)
        while reader.buffered <= reader.limit {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n > 0 {
                reader.append(buffer[0..<n])
                if n < buffer.count || reader.buffered > reader.limit { return true }
                continue
            }
            if n == 0 { return false }
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
        }
        return true
    }
}
