import ArgumentParser
import Foundation
import IOCompute
import Synchronization

/// `iocompute start`: makes this machine a node of a cluster, the head or one that joins it.
struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a head node (--head) or join this machine to a cluster (--join HOST:PORT); runs until stopped.",
        discussion: """
            The node runs in the foreground until SIGINT, SIGTERM or `iocompute stop` (run it under \
            systemd or with `&` to keep it going). Connections between nodes are mutual TLS 1.3 with \
            a certificate per node signed by the cluster's authority, plus the cluster token.

            A head creates what it needs in the state folder on first start: the cluster authority, \
            the token (mode 0600, never printed) and its own certificate. A joining node reads its \
            certificate, key and the token from its state folder: make them on the head with \
            `iocompute credentials issue --node NAME --out DIR` and copy DIR there.
            """)

    @Flag(help: "Start the head of a new cluster.")
    var head = false

    @Option(help: ArgumentHelp("Join the cluster whose head listens at HOST:PORT.", valueName: "HOST:PORT"))
    var join: String?

    @Option(help: "The address the head listens on.")
    var host = "0.0.0.0"

    @Option(help: "The port the head listens on.")
    var port = 6380

    @Option(help: "Read the cluster token from this file (mode 0600) instead of IOCOMPUTE_TOKEN or the state folder.")
    var tokenFile: String?

    @Option(help: "The state folder (default: $IOCOMPUTE_HOME, else ~/.iocompute).")
    var stateDir: String?

    @Option(help: "The CPUs this node offers (default: its cores).")
    var cpus: Double?

    @Option(help: "The memory this node offers, in bytes (default: all of it).")
    var memory: Double?

    @Option(help: "The GPUs this node offers (default: its OpenCL GPU devices).")
    var gpus: Int?

    @Option(help: ArgumentHelp("A label of this node; repeat for several.", valueName: "KEY=VALUE"))
    var label: [String] = []

    @Option(help: "Seconds a node may stay silent before the head declares it dead.")
    var nodeTimeout: Double = 10

    @Option(help: "This node's name (default: its certificate's; a pool certificate POOL admits POOL.anything).")
    var nodeName: String?

    @Option(help: "The address other machines reach this node at (default: where the head sees it connect from).")
    var hostAddress: String?

    func validate() throws {
        guard head != (join != nil) else { throw ValidationError("give exactly one of --head and --join HOST:PORT") }
        if let join { _ = try NodeAddress(parsing: join) }
        guard nodeTimeout > 0 else { throw ValidationError("--node-timeout must be positive") }
    }

    func run() async throws {
        configureLogging(fallback: .info)
        let state = StateDirectory(path: stateDir)
        try state.create()
        if let running = state.runningProcess {
            throw ValidationError("a node already runs from \(state.path) (process \(running)); `iocompute stop` ends it")
        }
        try state.recordRunning()
        let labels = try HostResources.labels(label)
        if head {
            try await runHead(state: state, labels: labels)
        } else {
            try await runNode(state: state, head: try NodeAddress(parsing: join ?? ""), labels: labels)
        }
    }

    private func runHead(state: StateDirectory, labels: [String: String]) async throws {
        let token = try state.tokenCreatingIfMissing(file: tokenFile)
        let advertised = host == "0.0.0.0" ? HostResources.primaryAddress : host
        if !state.hasCredentials {
            let authority = try state.authorityCreatingIfMissing()
            try authority.issue(node: HostResources.hostName, hosts: [advertised, "127.0.0.1"]).write(to: state.path)
        }
        let credentials = ClusterCredentials(node: try state.credentials(), token: token)
        let headNode = try await HeadNode.start(
            HeadConfiguration(
                credentials: credentials, storeDirectory: state.path + "/executables", host: host, port: port,
                nodeTimeout: .milliseconds(Int(nodeTimeout * 1000))))
        let address = NodeAddress(host: advertised, port: headNode.port)
        // The head is a node too: its own agent joins over loopback, or the one address it listens on.
        let agent = try await NodeAgent.join(
            head: NodeAddress(host: host == "0.0.0.0" ? "127.0.0.1" : host, port: headNode.port),
            announcement: announcement(name: credentials.node.node, host: advertised, labels: labels), credentials: credentials,
            workers: (try ExecutableStore(directory: state.path + "/node-executables"), state.path), expectedHead: credentials.node.node)
        try state.recordHeadAddress(address.description)
        say("IOCompute head \(credentials.node.node) listening on \(address) (mutual TLS 1.3)")
        say("State folder: \(state.path) (cluster authority, token, this node's certificate)")
        say("To add a machine, make its certificate here, copy the folder to it, and join from there:")
        say("  iocompute credentials issue --node NAME --host ITS_ADDRESS --out ./NAME")
        say("  scp -r ./NAME MACHINE:.iocompute        # holds the token and the node's key: keep it private")
        say("  iocompute start --join \(address)       # on MACHINE")
        say("Status: iocompute status --address \(address)")
        await TerminationSignal.wait()
        await agent.leave(reason: "the head was stopped")
        await headNode.shutdown()
        state.clearRunning()
        say("head stopped")
    }

    private func runNode(state: StateDirectory, head: NodeAddress, labels: [String: String]) async throws {
        guard state.hasCredentials else {
            throw ValidationError(
                "no node certificate in \(state.path): make one on the head with `iocompute credentials issue --node NAME --out DIR` and copy DIR here"
            )
        }
        let credentials = ClusterCredentials(node: try state.credentials(), token: try state.token(file: tokenFile))
        let name = nodeName ?? credentials.node.node
        guard NodeCredentials.certificate(credentials.node.node, covers: name) else {
            throw ValidationError("the certificate in \(state.path) is for node \(credentials.node.node), which does not cover \(name)")
        }
        let agent = try await NodeAgent.join(
            head: head, announcement: announcement(name: name, host: hostAddress ?? "", labels: labels), credentials: credentials,
            workers: (try ExecutableStore(directory: state.path + "/executables"), state.path), expectedHead: state.headName)
        say("node \(name) joined the cluster at \(head)")
        await TerminationSignal.wait()
        await agent.leave()
        state.clearRunning()
        say("node stopped")
    }

    private func announcement(name: String, host: String, labels: [String: String]) -> NodeAnnouncement {
        HostResources.announcement(name: name, cpus: cpus, memory: memory, gpus: gpus, labels: labels, host: host)
    }
}

/// Waits for SIGINT or SIGTERM.
enum TerminationSignal {
    static func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumed = Mutex(false)
            var sources: [any DispatchSourceSignal] = []
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    let first = resumed.withLock { done in
                        defer { done = true }
                        return !done
                    }
                    if first { continuation.resume() }
                }
                source.resume()
                sources.append(source)
            }
            // The sources live as long as the process (one wait per process: the command's).
            Self.sources += sources
        }
    }

    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
}

/// Writes a line to standard output at once, whatever buffering a pipe would do.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
