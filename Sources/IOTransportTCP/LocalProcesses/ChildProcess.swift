import CSharedMemory
import IORuntime
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A worker process started by the driver: its pid, and the pipes its output comes through.
package final class ChildProcess: Sendable {
    package let pid: pid_t
    package let name: String
    private let exitStatus = Mutex<Int32?>(nil)
    private let recentLines = Mutex<[String]>([])
    /// Also receives every output line, without the prefix (a node agent sends them to the head).
    private let lineHandler: (@Sendable (String) -> Void)?

    private init(pid: pid_t, name: String, lineHandler: (@Sendable (String) -> Void)?) {
        self.pid = pid
        self.name = name
        self.lineHandler = lineHandler
    }

    /// Starts `executable` with `arguments` and `environment` added to this process's own; the
    /// bytes of `secret` are readable on the child's file descriptor 3 (and nowhere else: not in its
    /// arguments, not in its environment). Its output lines are written to ours, prefixed with
    /// `name`.
    package static func spawn(
        executable: String, arguments: [String], environment: [String: String], secret: [UInt8], name: String,
        lines: (@Sendable (String) -> Void)? = nil
    ) throws(ClusterError) -> ChildProcess {
        guard let secretPipe = makePipe(), let outPipe = makePipe(), let errPipe = makePipe() else {
            throw .startFailed("cannot create pipes: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, outPipe.1, 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe.1, 2)
        posix_spawn_file_actions_adddup2(&actions, secretPipe.0, 3)
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if devNull >= 0 { posix_spawn_file_actions_adddup2(&actions, devNull, 0) }
        // Nothing else of this process goes with the child: SwiftNIO opens its sockets without
        // close-on-exec, so a connection accepted while the child starts would otherwise live on
        // in it, open after this process closed it (a test saw a rejected peer never see its
        // connection close, a copy of it held by a worker started at that moment).
        let closing = iocompute_spawn_close_from(&actions, 4)
        guard closing == 0 || closing == ENOSYS else {
            throw .startFailed("cannot close descriptors in the child: \(String(cString: strerror(closing)))")
        }

        var variables = environmentDictionary()
        for (key, value) in environment { variables[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        // The child starts with default signal handling and nothing blocked, whatever this
        // process does with its own (a node agent ignores SIGTERM to handle it itself, and
        // ignored signals would otherwise stay ignored across exec).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var spawned: pid_t = 0
        let result = posix_spawn(&spawned, executable, &actions, &attributes, argv, envp)
        let pid = spawned
        for fd in [secretPipe.0, outPipe.1, errPipe.1, devNull] where fd >= 0 { close(fd) }
        guard result == 0 else {
            for fd in [secretPipe.1, outPipe.0, errPipe.0] { close(fd) }
            throw .startFailed("cannot run \(executable): \(String(cString: strerror(result)))")
        }
        // The secret is small (well under a pipe's buffer), so this write does not block.
        secret.withUnsafeBytes { _ = write(secretPipe.1, $0.baseAddress, $0.count) }
        close(secretPipe.1)

        let child = ChildProcess(pid: pid, name: name, lineHandler: lines)
        startThread { child.forward(from: errPipe.0, to: 2) }
        startThread {
            child.forward(from: outPipe.0, to: 1)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            child.exitStatus.withLock { $0 = status }
        }
        return child
    }

    /// The process's wait status once it has exited and been reaped.
    package var exited: Int32? { exitStatus.withLock { $0 } }

    /// How the process ended, in words.
    package var exitDescription: String {
        guard let status = exited else { return "running" }
        let signal = status & 0x7f
        return signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "killed by signal \(signal)"
    }

    /// The exit code a shell would report: the status, or 128 plus the signal that killed it.
    package var exitCode: Int32 {
        guard let status = exited else { return -1 }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// The last lines the process wrote, for error messages.
    package var lastLines: [String] { recentLines.withLock { $0 } }

    package func kill(_ signal: Int32 = SIGKILL) {
        if exited == nil { _ = Glibc.kill(pid, signal) }
    }

    /// Copies lines from `source` to `destination` with the process's name in front, until EOF.
    private func forward(from source: Int32, to destination: Int32) {
        defer { close(source) }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                emit(Array(pending[...newline]), to: destination)
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { emit(pending + [UInt8(ascii: "\n")], to: destination) }
    }

    private func emit(_ line: [UInt8], to destination: Int32) {
        let text = String(decoding: line.dropLast(), as: UTF8.self)
        recentLines.withLock { lines in
            lines.append(text)
            if lines.count > 20 { lines.removeFirst() }
        }
        lineHandler?(text)
        let prefixed = Array("(\(name)) ".utf8) + line
        prefixed.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(destination, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// A pipe whose ends are closed in child processes (each spawn duplicates the ends it passes on).
///
/// Close-on-exec is set atomically with `pipe2`: set afterwards, another thread's spawn in
/// between would leak the ends into its child, and a worker reading its token to the end of
/// the pipe would then wait for as long as that sibling lives (CI saw a node's third worker of a
/// job never start while two were spawned at once).
private func makePipe() -> (Int32, Int32)? {
    var ends: [Int32] = [-1, -1]
    guard iocompute_pipe_cloexec(&ends) == 0 else { return nil }
    return (ends[0], ends[1])
}

/// This process's environment as a dictionary.
func environmentDictionary() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return result
}

/// Runs `body` on a new detached thread (for blocking reads that must not hold a pool thread).
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let created = pthread_create(
        &thread, nil,
        { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
    if created == 0 {
        pthread_detach(thread)
    } else {
        Unmanaged<Box>.fromOpaque(box).release()
    }
}
