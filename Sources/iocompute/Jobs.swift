import ArgumentParser
import Foundation
import IOCompute

/// `iocompute submit`: runs a program on the cluster as a job.
struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a program on the cluster: its driver starts on the head's node, its workers on the nodes.",
        discussion: """
            The executable goes to the head once (named by its SHA-256) and from there to each node \
            that runs part of the job, which checks the hash before running it. The program finds \
            the cluster with `Cluster.start(.connect(workers: N), registry:)`. Every line the job \
            prints comes back here, workers' lines prefixed with their node; the command exits \
            with the driver's status.
            """)

    @OptionGroup var cluster: ClusterOptions

    @Argument(help: "The program to run (built for the nodes' platform).")
    var executable: String

    @Argument(parsing: .captureForPassthrough, help: "Its arguments.")
    var arguments: [String] = []

    func run() async throws {
        configureLogging(fallback: .warning)
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ValidationError("\(executable) is not an executable file")
        }
        let (head, credentials) = try cluster.resolve()
        let status = try await ClusterClient.submit(
            executable, arguments: arguments, to: head, credentials: credentials,
            started: { job, node in FileHandle.standardError.write(Data("iocompute: job \(job) started on \(node)\n".utf8)) },
            output: { line in say(line) })
        throw ExitCode(status)
    }
}

/// `iocompute jobs`: the submitted jobs.
struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the jobs submitted to the cluster.")

    @OptionGroup var cluster: ClusterOptions

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        configureLogging(fallback: .warning)
        let (head, credentials) = try cluster.resolve()
        let jobs = try await ClusterClient.jobs(of: head, credentials: credentials)
        if json {
            try printJSON(jobs)
            return
        }
        print("JOB           STATE      NODE          TIME     LINES  ENDING")
        for job in jobs {
            print(
                [
                    job.job.padding(toLength: 13, withPad: " ", startingAt: 0),
                    job.state.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0),
                    job.node.padding(toLength: 13, withPad: " ", startingAt: 0),
                    String(format: "%.0fs", job.runningFor).padding(toLength: 8, withPad: " ", startingAt: 0),
                    String(job.outputLines).padding(toLength: 6, withPad: " ", startingAt: 0), job.ending ?? "",
                ].joined(separator: " "))
        }
    }
}

/// `iocompute logs`: a job's output.
struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a job's output (the head keeps its last 10,000 lines).")

    @OptionGroup var cluster: ClusterOptions

    @Argument(help: "The job, as `iocompute jobs` names it.")
    var job: String

    @Flag(help: "Keep printing until the job ends, then exit with its status.")
    var follow = false

    func run() async throws {
        configureLogging(fallback: .warning)
        let (head, credentials) = try cluster.resolve()
        if let status = try await ClusterClient.logs(of: job, follow: follow, head: head, credentials: credentials, output: { say($0) }) {
            throw ExitCode(status)
        }
    }
}
