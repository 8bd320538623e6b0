import CShim

#if canImport(Glibc)
    import Glibc
#endif

/// Dedicated OS threads (pthreads), for work that blocks and so must never run on Swift's shared
/// concurrency pool: a bus's libmodbus calls, the control socket's poll loop, a notifier's HTTP.
public enum OSThread {
    /// Starts a detached thread named `name` (cut to the 15 bytes Linux keeps) running `body`.
    ///
    /// A thread that cannot be started stops the process: the daemon cannot poll or cut power without
    /// its threads, and systemd restarts it.
    public static func start(name: String, stackSize: Int, _ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let page = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)
        let size = max(stackSize, 64 << 10 /* above PTHREAD_STACK_MIN */)
        pthread_attr_setstacksize(&attributes, (size + page - 1) / page * page)
        let context = Unmanaged.passRetained(ThreadStart(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, &attributes,
            { raw in
                guard let raw else { return nil }
                let start = Unmanaged<ThreadStart>.fromOpaque(raw).takeRetainedValue()
                OSThread.setCurrentName(start.name)
                start.body()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(context).release()
            fatalError("cannot start thread \(name): \(String(cString: strerror(result)))")
        }
    }

    /// Blocks the calling thread (never call it on the concurrency pool).
    public static func sleep(_ duration: Duration) {
        guard duration > .zero else { return }
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    static func setCurrentName(_ name: String) {
        // Linux keeps 15 bytes and refuses longer names; cut at a character boundary.
        var bytes: [UInt8] = []
        for character in name {
            let utf8 = Array(character.utf8)
            if bytes.count + utf8.count > 15 { break }
            bytes += utf8
        }
        let short = String(decoding: bytes, as: UTF8.self)
        _ = ws_set_thread_name(short)
    }
}

/// What a new thread runs (a class, to pass through pthread_create's context pointer).
private final class ThreadStart {
    let name: String
    let body: @Sendable () -> Void
    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}
