import NIOCore
import NIOPosix
import VarlinkNIO
import Synchronization
import WaystationProtocol

/// Calls `io.waystation.Station` on the daemon's control socket, one connection per call, on NIO's
/// event loops (nothing blocks a thread). A restarted daemon is simply reached again by the next
/// call. The process connects as whoever it runs as: in the uplink group it has the uplink role.
public struct DaemonConnection: Sendable {
    /// Why a call did not get a reply.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case unreachable(String)
        case reply(VarlinkError)

        public var description: String {
            switch self {
            case .unreachable(let why): "daemon unreachable: \(why)"
            case .reply(let e): e.description
            }
        }
    }

    public let socketPath: String
    let group: any EventLoopGroup

    public init(socketPath: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.socketPath = socketPath
        self.group = group
    }

    /// Calls `method`; no reply within `timeout` (connecting included) is a failure.
    public func call<M: StationMethod>(_ method: M.Type, _ parameters: M.Parameters, timeout: Duration)
        async throws(Failure) -> M.Reply
    {
        let json: JSON
        do { json = try JSON.from(parameters) } catch { throw .unreachable("cannot encode parameters: \(error)") }
        let frame = VarlinkCall(method: M.qualifiedName, parameters: json.object ?? [:]).frame
        let reply: VarlinkReply
        do {
            reply = try await exchange(frame, timeout: timeout)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .unreachable("\(error)")
        }
        if let name = reply.error { throw .reply(VarlinkError(name, reply.parameters)) }
        do { return try reply.parameters.decode(M.Reply.self) } catch {
            throw .unreachable("unexpected reply: \(error)")
        }
    }

    /// One connection, one call, one reply. The timeout is a timer of the connection's event loop
    /// (not a sleeping task: a pending libdispatch timer wakes an idle process every second).
    func exchange(_ frame: [UInt8], timeout: Duration) async throws -> VarlinkReply {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(NULFrameDecoder(limit: 16 << 20)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure.unreachable("cannot connect to \(socketPath): \(error)")
        }
        let expired = Expired()
        let raw = channel.channel
        let timer = raw.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: timeout.nanoseconds))) {
            expired.set()
            raw.close(promise: nil)
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: frame))
                for try await message in inbound {
                    guard let json = JSON.parse(message.readableBytesView), let reply = VarlinkReply(json: json)
                    else {
                        throw Failure.unreachable("a reply that is not varlink")
                    }
                    return reply
                }
                throw Failure.unreachable(
                    expired.isSet ? "no reply within \(timeout)" : "the daemon closed the connection")
            }
        } onCancel: {
            raw.close(promise: nil)
        }
    }
}

/// Set once by a call's timer.
final class Expired: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s.multipliedReportingOverflow(by: 1_000_000_000).partialValue + atto / 1_000_000_000
    }
}
