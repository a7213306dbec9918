import Foundation

/// Runs `work`, which blocks (it waits for a process, or reads a pipe to its end), on a thread of
/// its own, and returns what it returns.
///
/// Swift's cooperative pool has as many threads as the machine has cores: two on a small CI
/// machine. A test that blocks one of them for as long as a program runs slows every other test
/// of the run, and two such tests at once stall them all: in-process calls, heartbeats and
/// timeouts alike. So a test waits for a program here, never on the pool.
public func onOwnThread<T: Sendable, Failure: Error>(_ work: @escaping @Sendable () throws(Failure) -> T) async throws(Failure) -> T {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, Failure>, Never>) in
        Thread { continuation.resume(returning: Result { () throws(Failure) -> T in try work() }) }.start()
    }
    return try result.get()
}

/// Programs that tests run to their end.
public enum Program {
    /// Runs `program` with `arguments` to its end, waiting on a thread of its own, and returns its
    /// exit status and what it wrote to standard output and error, interleaved.
    public static func run(_ program: URL, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await onOwnThread { try runBlocking(program, arguments) }
    }

    /// As ``run(_:_:)``, blocking the calling thread: only for commands that end at once, called
    /// where a test cannot wait (an initializer, a `defer`).
    public static func runBlocking(_ program: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Waits, on a thread of its own, until `process` has exited.
    public static func waitForExit(of process: Process) async {
        await onOwnThread { process.waitUntilExit() }
    }
}
