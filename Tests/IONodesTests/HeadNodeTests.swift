import Foundation
import IORuntime
import IOTransportTCP
import Testing

@testable import IONodes

/// A cluster authority, a token and a head on loopback, with short heartbeats; its executable
/// store goes with it.
final class TestCluster {
    let authority: ClusterAuthority
    let token = ClusterToken.generate()
    let head: HeadNode
    let storeDirectory = NSTemporaryDirectory() + "iocompute-head-\(UUID().uuidString.prefix(8))"

    init(nodeTimeout: Duration = .seconds(30)) async throws {
        authority = try ClusterAuthority.create()
        let credentials = ClusterCredentials(node: try authority.issue(node: "head"), token: token)
        head = try await HeadNode.start(
            HeadConfiguration(
                credentials: credentials, storeDirectory: storeDirectory, host: "127.0.0.1", port: 0,
                heartbeatInterval: .milliseconds(50), nodeTimeout: nodeTimeout))
    }

    deinit { try? FileManager.default.removeItem(atPath: storeDirectory) }

    var address: NodeAddress { NodeAddress(host: "127.0.0.1", port: head.port) }

    func credentials(_ node: String) throws -> ClusterCredentials {
        ClusterCredentials(node: try authority.issue(node: node), token: token)
    }

    func join(_ node: String, cpus: Double = 2) async throws -> NodeAgent {
        try await NodeAgent.join(
            head: address, announcement: NodeAnnouncement(name: node, resources: ["cpu": cpus], labels: ["zone": "a"]),
            credentials: try credentials(node), heartbeatInterval: .milliseconds(50))
    }

    /// Waits until `node` is in `state` (the suite's time limit bounds it).
    func wait(for node: String, _ state: NodeStatus.State) async throws -> NodeStatus {
        while true {
            if let status = head.snapshot().nodes.first(where: { $0.announcement.name == node }), status.state == state { return status }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

@Suite("the head of a cluster of machines", .timeLimit(.minutes(2)))
struct HeadNodeTests {
    @Test("nodes join with their resources and labels, leave, and join again")
    func joinAndLeave() async throws {
        let cluster = try await TestCluster()
        let b = try await cluster.join("node-b", cpus: 4)
        let c = try await cluster.join("node-c")
        let snapshot = try await ClusterClient.status(of: cluster.address, credentials: try cluster.credentials("node-c"))
        #expect(snapshot.nodes.map(\.announcement.name) == ["node-b", "node-c"])
        #expect(snapshot.nodes.allSatisfy { $0.state == .alive && $0.joins == 1 })
        #expect(snapshot.nodes[0].announcement.resources == ["cpu": 4])
        #expect(snapshot.nodes[0].announcement.labels == ["zone": "a"])
        // The head fills in where a node that did not say is reached.
        #expect(snapshot.nodes[0].announcement.host == "127.0.0.1")

        await b.leave(reason: "maintenance")
        let left = try await cluster.wait(for: "node-b", .left)
        #expect(left.reason == "maintenance")
        let again = try await cluster.join("node-b", cpus: 4)
        #expect(try await cluster.wait(for: "node-b", .alive).joins == 2)
        await again.leave()
        await c.leave()
        await cluster.head.shutdown()
    }

    @Test("a node whose connection closes is dead; its agent joins again by itself")
    func rejoinAfterLoss() async throws {
        let cluster = try await TestCluster()
        let b = try await cluster.join("node-b")
        #expect(b.isConnected)
        #expect(try await cluster.wait(for: "node-b", .alive).workers == 0)
        // Cut the connection from the head's side, as a lost link would.
        let peer = try #require(cluster.head.transport.connectedPeers.first)
        cluster.head.transport.disconnect(peer)
        // The agent notices, joins again, and the head counts a second join.
        while try await cluster.wait(for: "node-b", .alive).joins < 2 { try await Task.sleep(for: .milliseconds(10)) }
        await b.leave()
        await cluster.head.shutdown()
    }

    @Test("a node silent past the timeout is declared dead and disconnected")
    func silentNode() async throws {
        let cluster = try await TestCluster(nodeTimeout: .milliseconds(300))
        // A node that joins and then never sends a heartbeat.
        let silent = try await ControlConnection.open(to: cluster.address, credentials: try cluster.credentials("node-s"))
        try silent.send(.join(NodeAnnouncement(name: "node-s", resources: ["cpu": 1])))
        let dead = try await cluster.wait(for: "node-s", .dead)
        #expect(dead.reason?.contains("not heard from") == true)
        await silent.close()
        await cluster.head.shutdown()
    }

    @Test("a node may join only under the name its certificate gives")
    func impersonation() async throws {
        let cluster = try await TestCluster()
        let refusal = OneShot<String?>()
        let connection = try await ControlConnection.open(
            to: cluster.address, credentials: try cluster.credentials("node-b"),
            onMessage: { message in if case .joined(let reason) = message { refusal.resume(returning: reason) } })
        try connection.send(.join(NodeAnnouncement(name: "head", resources: ["cpu": 64])))
        let reason = try await refusal.value()
        #expect(reason?.contains("names node node-b, which does not cover head") == true)
        #expect(cluster.head.snapshot().nodes.isEmpty)
        await connection.close()
        // The agent API reports it as a typed refusal.
        let agentError = await #expect(throws: ControlError.self) {
            try await NodeAgent.join(
                head: cluster.address, announcement: NodeAnnouncement(name: "other", resources: [:]),
                credentials: try cluster.credentials("node-b"))
        }
        #expect(agentError?.description.contains("refused") == true)
        await cluster.head.shutdown()
    }

    @Test("a machine of another cluster, a wrong token, or a malformed message gets nowhere; members keep working")
    func strangers() async throws {
        let cluster = try await TestCluster()
        let member = try await cluster.join("node-b")
        let otherAuthority = try ClusterAuthority.create()
        let stranger = ClusterCredentials(node: try otherAuthority.issue(node: "node-x"), token: cluster.token)
        await #expect(throws: (any Error).self) {
            try await NodeAgent.join(
                head: cluster.address, announcement: NodeAnnouncement(name: "node-x", resources: [:]), credentials: stranger)
        }
        let wrongToken = ClusterCredentials(node: try cluster.authority.issue(node: "node-y"), token: ClusterToken.generate())
        await #expect(throws: (any Error).self) {
            try await NodeAgent.join(
                head: cluster.address, announcement: NodeAnnouncement(name: "node-y", resources: [:]), credentials: wrongToken)
        }
        // An authenticated client that sends garbage is disconnected.
        let lost = OneShot<Void>()
        let noisy = try await ControlConnection.open(
            to: cluster.address, credentials: try cluster.credentials("node-z"), onLost: { lost.resume() })
        try noisy.transport.send(
            WireFrame(kind: ControlMessage.frameKind, payload: Array("{\"join\":42}".utf8)), from: noisy.peer, to: .driver)
        try await lost.value()
        await noisy.close()
        #expect(cluster.head.snapshot().nodes.map(\.announcement.name) == ["node-b"])
        #expect(try await cluster.wait(for: "node-b", .alive).joins == 1)
        #expect(member.isConnected)
        await member.leave()
        await cluster.head.shutdown()
    }

    @Test("addresses and labels parse, or fail with typed errors")
    func parsing() throws {
        #expect(try NodeAddress(parsing: "10.0.0.1:6380") == NodeAddress(host: "10.0.0.1", port: 6380))
        #expect(try NodeAddress(parsing: "[::1]:7000") == NodeAddress(host: "::1", port: 7000))
        #expect(NodeAddress(host: "::1", port: 7000).description == "[::1]:7000")
        for bad in ["10.0.0.1", ":80", "host:0", "host:70000", "host:port"] {
            #expect(throws: ControlError.invalidAddress(bad)) { try NodeAddress(parsing: bad) }
        }
        #expect(try HostResources.labels(["zone=a", "gpu=a100=x"]) == ["zone": "a", "gpu": "a100=x"])
        #expect(throws: ControlError.self) { try HostResources.labels(["novalue"]) }
        #expect(throws: ControlError.self) { try HostResources.labels(["=x"]) }
        let detected = HostResources.announcement(name: "n")
        #expect(detected.resources["cpu"]! >= 1 && detected.resources["memory"]! > 0)
        #expect(HostResources.announcement(name: "n", cpus: 3, gpus: 0).resources["cpu"] == 3)
        #expect(NodeCredentials.isValidName(HostResources.hostName))
    }
}

@Suite("pool certificates", .timeLimit(.minutes(1)))
struct PoolCertificateTests {
    @Test("a certificate covers its own name and, as a pool, names under it; nothing else")
    func covers() {
        #expect(NodeCredentials.certificate("node-b", covers: "node-b"))
        #expect(NodeCredentials.certificate("pool", covers: "pool.pod-1"))
        #expect(!NodeCredentials.certificate("pool", covers: "pool."))
        #expect(!NodeCredentials.certificate("pool", covers: "poolx.a"))
        #expect(!NodeCredentials.certificate("pool", covers: "head"))
        #expect(!NodeCredentials.certificate("pool", covers: "pool.a b"))
        #expect(!NodeCredentials.certificate("pool.a", covers: "pool"))
    }

    @Test("pods sharing a pool certificate join as distinct nodes")
    func poolMembers() async throws {
        let cluster = try await TestCluster()
        let credentials = try cluster.credentials("pool")
        var agents: [NodeAgent] = []
        for member in ["pool.a", "pool.b"] {
            agents.append(
                try await NodeAgent.join(
                    head: cluster.address, announcement: NodeAnnouncement(name: member, resources: ["cpu": 1]), credentials: credentials))
        }
        #expect(cluster.head.snapshot().nodes.map(\.announcement.name) == ["pool.a", "pool.b"])
        await #expect(throws: ControlError.self) {
            try await NodeAgent.join(
                head: cluster.address, announcement: NodeAnnouncement(name: "other", resources: [:]), credentials: credentials)
        }
        for agent in agents { await agent.leave() }
        await cluster.head.shutdown()
    }
}

@Suite("a node of the cluster posing as its head", .timeLimit(.minutes(1)))
struct FakeHeadTests {
    @Test("an agent that knows its head's name refuses another member's certificate, and acts on nothing it sent")
    func impostorHead() async throws {
        let cluster = try await TestCluster()
        // A member of the same cluster (its certificate is genuine) runs a head of its own.
        let impostorStore = NSTemporaryDirectory() + "iocompute-fake-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: impostorStore) }
        let impostor = try await HeadNode.start(
            HeadConfiguration(
                credentials: try cluster.credentials("node-x"), storeDirectory: impostorStore, host: "127.0.0.1", port: 0))
        let refused = await #expect(throws: ControlError.self) {
            try await NodeAgent.join(
                head: NodeAddress(host: "127.0.0.1", port: impostor.port), announcement: NodeAnnouncement(name: "node-b", resources: [:]),
                credentials: try cluster.credentials("node-b"), expectedHead: "head")
        }
        #expect(refused?.description.contains("node node-x, not of the head head") == true)
        #expect(impostor.snapshot().nodes.isEmpty)
        // The real head passes the same check.
        let agent = try await NodeAgent.join(
            head: cluster.address, announcement: NodeAnnouncement(name: "node-b", resources: [:]),
            credentials: try cluster.credentials("node-b"),
            expectedHead: "head")
        #expect(agent.isConnected)
        await agent.leave()
        await impostor.shutdown()
        await cluster.head.shutdown()
    }
}
