import ArgumentParser
import Foundation
import IOCompute

/// `iocompute stop`: ends the node started from this machine's state folder, or a job.
struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop the node (or head) running from the state folder, which leaves the cluster cleanly; or, given a job, that job.")

    @OptionGroup var cluster: ClusterOptions

    @Argument(help: "A job to stop instead of the node.")
    var job: String?

    var stateDir: String? { cluster.stateDir }

    @Option(help: "Seconds to wait for the node to leave before killing it.")
    var timeout: Double = 10

    func run() async throws {
        configureLogging(fallback: .warning)
        if let job {
            let (head, credentials) = try cluster.resolve()
            try await ClusterClient.stop(job: job, head: head, credentials: credentials)
            print("job \(job) stopping")
            return
        }
        let state = StateDirectory(path: stateDir)
        guard let pid = state.runningProcess else {
            print("no node runs from \(state.path)")
            return
        }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while kill(pid, 0) == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        if kill(pid, 0) == 0 {
            kill(pid, SIGKILL)
            print("node (process \(pid)) did not leave within \(timeout) s; killed")
        } else {
            print("node (process \(pid)) stopped")
        }
    }
}
