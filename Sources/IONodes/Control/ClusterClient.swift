import Foundation
import IORuntime
import Synchronization

/// One-off requests to a cluster's head, as `iocompute status`, `submit`, `jobs`, `logs` and
/// `stop` make them.
public enum ClusterClient {
    /// The cluster's nodes as the head at `head` sees them.
    public static func status(of head: NodeAddress, credentials: ClusterCredentials) async throws -> ClusterSnapshot {
        let connection = try await ControlConnection.open(to: head, credentials: credentials)
        defer { Task { await connection.close() } }
        switch try await connection.request({ .statusRequest(request: $0) }) {
        case .status(_, let snapshot): return snapshot
        case .failed(_, let reason): throw ControlError.refused(reason)
        default: throw ControlError.malformed("the head answered a status request with something else")
        }
    }

    /// Uploads `executable` (unless the head has it), runs it as a job's driver with `arguments`,
    /// hands every line the job prints to `output` (workers' lines prefixed with their node), and
    /// returns the driver's exit status once it ends. `started` learns the job's name and node.
    public static func submit(
        _ executable: String, arguments: [String], to head: NodeAddress, credentials: ClusterCredentials,
        started: @escaping @Sendable (_ job: String, _ node: String) -> Void = { _, _ in },
        output: @escaping @Sendable (String) -> Void
    ) async throws -> Int32 {
        let (connection, ended) = try await following(head, credentials: credentials, output: output)
        defer { Task { await connection.close() } }
        let hash = try await ExecutableUpload.ensure(executable, on: connection)
        switch try await connection.request({ .submitJob(request: $0, executable: hash, arguments: arguments) }) {
        case .jobStarted(_, let job, let node): started(job, node)
        case .failed(_, let reason): throw ControlError.refused(reason)
        default: throw ControlError.malformed("the head answered a submission with something else")
        }
        return try await ended.value()
    }

    /// The submitted jobs.
    public static func jobs(of head: NodeAddress, credentials: ClusterCredentials) async throws -> [JobSummary] {
        let connection = try await ControlConnection.open(to: head, credentials: credentials)
        defer { Task { await connection.close() } }
        switch try await connection.request({ .listJobs(request: $0) }) {
        case .jobList(_, let jobs): return jobs
        case .failed(_, let reason): throw ControlError.refused(reason)
        default: throw ControlError.malformed("the head answered a job list with something else")
        }
    }

    /// Hands `job`'s output so far to `output`; with `follow`, also the lines that come until
    /// the job ends, and returns its exit status then (`nil` without `follow`, or when it ended
    /// before).
    public static func logs(
        of job: String, follow: Bool, head: NodeAddress, credentials: ClusterCredentials, output: @escaping @Sendable (String) -> Void
    ) async throws -> Int32? {
        let (connection, ended) = try await following(head, credentials: credentials, output: output)
        defer { Task { await connection.close() } }
        if case .failed(_, let reason) = try await connection.request({ .readLog(request: $0, job: job, follow: follow) }) {
            throw ControlError.refused(reason)
        }
        return follow ? try await ended.value() : nil
    }

    /// Stops a submitted job's driver.
    public static func stop(job: String, head: NodeAddress, credentials: ClusterCredentials) async throws {
        let connection = try await ControlConnection.open(to: head, credentials: credentials)
        defer { Task { await connection.close() } }
        if case .failed(_, let reason) = try await connection.request({ .stopSubmitted(request: $0, job: job) }) {
            throw ControlError.refused(reason)
        }
    }

    /// A connection that hands the job lines the head sends to `output`, and the exit status of
    /// the job's end (or the connection's loss) that the returned one-shot resolves with.
    private static func following(
        _ head: NodeAddress, credentials: ClusterCredentials, output: @escaping @Sendable (String) -> Void
    ) async throws -> (ControlConnection, OneShot<Int32>) {
        let ended = OneShot<Int32>()
        let connection = try await ControlConnection.open(
            to: head, credentials: credentials,
            onMessage: { message in
                switch message {
                case .jobOutput(_, let line): output(line)
                case .jobEnded(_, let status, _): ended.resume(returning: status)
                default: break
                }
            },
            onLost: { ended.resume(throwing: ControlError.disconnected) })
        return (connection, ended)
    }
}
