import CSharedMemory
import IORuntime
import Logging

#if canImport(Glibc)
    // For stdout and stderr, which a worker flushes before it exits.
    @preconcurrency import Glibc
#endif

/// The worker side of a local-process cluster.
package enum WorkerProcess {
    typealias Variable = LocalProcessNetwork.Variable

    /// When this process was started as a worker: connects to the driver, serves until the
    /// driver goes, and exits. Otherwise returns at once.
    package static func runIfLaunched(registry: Registry, transport configuration: TCPTransport.Configuration) async {
        guard let workerText = getenv(Variable.worker).map({ String(cString: $0) }) else { return }
        let portText = getenv(Variable.port).map { String(cString: $0) } ?? ""
        let socket = getenv(Variable.socket).map { String(cString: $0) }
        // A worker a node agent started for a driver on another host: TLS with the node's certificate.
        let host = getenv(Variable.host).map { String(cString: $0) } ?? "127.0.0.1"
        let credentialsFolder = getenv(Variable.credentials).map { String(cString: $0) }
        let parentText = getenv(Variable.parent).map { String(cString: $0) } ?? ""
        let descriptorText = getenv(Variable.tokenDescriptor).map { String(cString: $0) } ?? ""
        let sharedMemory = getenv(Variable.sharedMemory).map { String(cString: $0) } == "1"
        let devices = (getenv(Variable.devices).map { String(cString: $0) } ?? "").split(separator: ",").compactMap { Int($0) }
        TaskContext.bindDevices(devices)
        // Programs this worker's tasks start are not workers.
        for name in Variable.all { unsetenv(name) }
        setvbuf(stdout, nil, _IOLBF, 0)
        keepLargeAllocations()

        guard let worker = UInt32(workerText), worker > 0, let port = Int(portText), let parent = pid_t(parentText),
            let descriptor = Int32(descriptorText)
        else { fail("malformed worker environment") }
        let token: ClusterToken
        do {
            token = try ClusterToken(hexadecimal: readAll(descriptor))
        } catch {
            fail("could not read the cluster token: \(error)")
        }
        watchParent(parent)

        var configuration = configuration
        if let credentialsFolder {
            do {
                configuration.tls = try TransportTLS(credentials: NodeCredentials.read(from: credentialsFolder))
            } catch {
                fail("could not load the node's certificate from \(credentialsFolder): \(error)")
            }
        }
        // A worker talks to its driver only.
        let transport = TCPTransport(localPeer: PeerID(worker), token: token, expectedPeers: [.driver], configuration: configuration)
        transport.onPeerLost { peer in
            if peer == .driver { end(status: 0) }
        }
        // Set before the driver can send work. On a cluster of machines, other machines reach
        // this worker where it reached the driver from.
        PeerNetwork.ofThisProcess = .tcp(token: token, tls: configuration.tls) { transport.localHost(of: .driver) ?? "127.0.0.1" }
        do {
            let node = try await WorkerNode.serve(
                as: PeerID(worker), over: transport, registry: registry, sharedMemory: sharedMemory, driverProcess: parent)
            // On a cluster of machines, other workers pull this one's objects from it directly.
            await node.openObjectService()
            if let socket {
                try await transport.connect(unixSocket: socket)
            } else {
                try await transport.connect(host: host, port: port)
            }
            // Serve until the driver's connection closes, which ends the process.
            while true {
                try? await Task.sleep(for: .seconds(3600))
                withExtendedLifetime(node) {}
            }
        } catch {
            fail("could not connect to the driver at \(socket ?? "\(host):\(port)"): \(error)")
        }
    }

    /// A worker moves large buffers all the time (object chunks, collective messages, tensors).
    /// glibc serves each allocation above 128 KiB with a fresh `mmap` and returns it on `free`, so
    /// every such buffer is faulted in page by page again — on a VM that costs more than copying
    /// the data. Workers keep freed memory up to 256 MiB for reuse instead (measured: ring
    /// allreduce between two workers 0.60 → 0.92 GiB/s).
    private static func keepLargeAllocations() {
        _ = iocompute_keep_freed_memory(32 << 20, 256 << 20)
    }

    /// Reads a pipe to its end.
    private static func readAll(_ descriptor: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        close(descriptor)
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Ends this worker when its driver is gone, even before the connection is up: the parent
    /// changes when the driver dies.
    private static func watchParent(_ parent: pid_t) {
        startThread {
            while getppid() == parent { usleep(100_000) }
            end(status: 0)
        }
    }

    private static func fail(_ reason: String) -> Never {
        fputs("iocompute worker: \(reason)\n", stderr)
        end(status: 1)
    }

    private static func end(status: Int32) -> Never {
        fflush(stdout)
        fflush(stderr)
        _exit(status)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}

extension Set where Element == Character {
    fileprivate static let whitespacesAndNewlines: Set<Character> = [" ", "\n", "\t", "\r"]
}
