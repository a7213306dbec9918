import Foundation
import IOTensor
import Testing

@testable import IOFederated

@Suite("secure aggregation: Shamir sharing, masks and the four-round protocol")
struct SecureAggregationTests {
    @Test("field multiplication modulo 2⁶¹ − 1 equals the 128-bit remainder")
    func primeField() {
        var random = SplitMix64(seed: 5)
        let p = PrimeField.modulus
        for _ in 0..<10_000 {
            let (a, b) = (random.next() % p, random.next() % p)
            let product = a.multipliedFullWidth(by: b)
            #expect(PrimeField.multiply(a, b) == p.dividingFullWidth(product).remainder)
            if a != 0 { #expect(PrimeField.multiply(a, PrimeField.inverse(a)) == 1) }
        }
        #expect(PrimeField.multiply(p - 1, p - 1) == 1)
    }

    @Test("any threshold of shares rebuild the secret; fewer are refused or rebuild something else")
    func shamir() throws {
        var random = SplitMix64(seed: 11)
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let shares = try ShamirSecretSharing.split(secret, threshold: 4, shareholders: Array(1...7), using: &random)
        for subset in [[0, 1, 2, 3], [3, 4, 5, 6], [6, 0, 4, 2], [0, 1, 2, 3, 4, 5, 6]] {
            #expect(try ShamirSecretSharing.reconstruct(subset.map { shares[$0] }, threshold: 4) == secret, "shares \(subset)")
        }
        #expect(throws: FederatedError.self) { try ShamirSecretSharing.reconstruct(Array(shares.prefix(3)), threshold: 4) }
        // Three shares are consistent with every secret: pretending the threshold is 3 gives another one.
        let guessed = try? ShamirSecretSharing.reconstruct(Array(shares.prefix(3)), threshold: 3)
        #expect(guessed != secret)
        #expect(throws: FederatedError.self) {
            try ShamirSecretSharing.reconstruct([shares[0], shares[0], shares[1], shares[2]], threshold: 4)
        }
        #expect(throws: FederatedError.self) {
            try ShamirSecretSharing.split(secret, threshold: 8, shareholders: Array(1...7), using: &random)
        }
        #expect(throws: FederatedError.self) { try ShamirSecretSharing.split(secret, threshold: 2, shareholders: [0, 1], using: &random) }
    }

    /// Inputs for clients 1…n: random values in ±1.
    static func inputs(clients: Int, length: Int, seed: UInt64) -> [Int: [Float]] {
        var random = SplitMix64(seed: seed)
        return Dictionary(
            uniqueKeysWithValues: (1...clients).map { client in
                (client, (0..<length).map { _ in Float(Double(random.next() % 2_000_001) / 1_000_000 - 1) })
            })
    }

    /// The exact sum of the quantized inputs of `clients`, dequantized: what the protocol must give.
    static func exactSum(_ inputs: [Int: [Float]], of clients: [Int], quantizer: Quantizer) -> [Double] {
        var total = [UInt32](repeating: 0, count: inputs.values.first!.count)
        for client in clients {
            for (index, value) in quantizer.quantize(inputs[client]!).enumerated() { total[index] &+= value }
        }
        return quantizer.dequantizeSum(total, count: clients.count)
    }

    @Test("masks cancel exactly: the sum is the quantized inputs' sum, without and with dropouts up to n − t")
    func masksCancel() throws {
        let quantizer = try Quantizer(range: 2, clients: 10)
        let inputs = Self.inputs(clients: 10, length: 257, seed: 1)
        let full = try SecureAggregation.sum(inputs, threshold: 6, quantizer: quantizer)
        #expect(full.count == 10)
        #expect(full.sum == Self.exactSum(inputs, of: Array(1...10), quantizer: quantizer))
        let trueSum = (0..<257).map { index in inputs.values.reduce(0.0) { $0 + Double($1[index]) } }
        #expect(zip(full.sum, trueSum).allSatisfy { abs($0 - $1) <= 10 * quantizer.resolution })

        // Four leave after sharing their keys: their pairwise masks are rebuilt and removed.
        let dropped = try SecureAggregation.sum(inputs, threshold: 6, quantizer: quantizer, dropAfterSharing: [2, 5, 7, 10])
        #expect(dropped.survivors == [1, 3, 4, 6, 8, 9])
        #expect(dropped.sum == Self.exactSum(inputs, of: [1, 3, 4, 6, 8, 9], quantizer: quantizer))

        // Two more leave after sending their masked inputs: their inputs count, their shares are not needed.
        let late = try SecureAggregation.sum(
            inputs, threshold: 6, quantizer: quantizer, dropAfterSharing: [2, 5], dropAfterMasking: [1, 9])
        #expect(late.sum == Self.exactSum(inputs, of: [1, 3, 4, 6, 7, 8, 9, 10], quantizer: quantizer))

        #expect(throws: FederatedError.notEnoughClients(needed: 6, available: 5)) {
            try SecureAggregation.sum(inputs, threshold: 6, quantizer: quantizer, dropAfterSharing: [1, 2, 3, 4, 5])
        }
        #expect(throws: FederatedError.notEnoughClients(needed: 6, available: 5)) {
            try SecureAggregation.sum(inputs, threshold: 6, quantizer: quantizer, dropAfterSharing: [1, 2], dropAfterMasking: [3, 4, 5])
        }
    }

    @Test("SecAgg+: on a sparse random graph each client masks with its k neighbours only, and the sum stays exact with dropouts")
    func sparseGraph() throws {
        let clients = Array(1...40)
        let graph = SecureAggregationGraph.neighbors(of: clients, degree: 8, round: "r-7")
        // Every client has 8 neighbours, the graph is symmetric and connected, the same for the same
        // label, and another for another label.
        #expect(graph.values.allSatisfy { $0.count == 8 } && graph.allSatisfy { client, mine in !mine.contains(client) })
        #expect(graph.allSatisfy { client, mine in mine.allSatisfy { graph[$0]!.contains(client) } })
        var reached: Set<Int> = [1]
        var frontier = [1]
        while let next = frontier.popLast() {
            for peer in graph[next]! where reached.insert(peer).inserted { frontier.append(peer) }
        }
        #expect(reached.count == 40)
        #expect(graph == SecureAggregationGraph.neighbors(of: clients.reversed(), degree: 8, round: "r-7"))
        #expect(graph != SecureAggregationGraph.neighbors(of: clients, degree: 8, round: "r-8"))
        #expect(SecureAggregationGraph.neighbors(of: Array(1...5), degree: 8, round: "r")[3] == [1, 2, 4, 5])

        let quantizer = try Quantizer(range: 2, clients: 40)
        let inputs = Self.inputs(clients: 40, length: 65, seed: 9)
        let full = try SecureAggregation.sum(inputs, threshold: 5, quantizer: quantizer, round: "r-7", degree: 8)
        #expect(full.sum == Self.exactSum(inputs, of: clients, quantizer: quantizer))
        // Dropouts after sharing and after masking, spread so that every neighbourhood keeps 5 of 9.
        let gone: Set<Int> = [3, 17, 29]
        let silent: Set<Int> = [8, 33]
        let dropped = try SecureAggregation.sum(
            inputs, threshold: 5, quantizer: quantizer, round: "r-7", degree: 8, dropAfterSharing: gone, dropAfterMasking: silent)
        #expect(dropped.sum == Self.exactSum(inputs, of: clients.filter { !gone.contains($0) }, quantizer: quantizer))

        // A client takes shares only from its neighbours, and the server routes only along the graph.
        var members = try clients.map {
            try SecureAggregationClient(client: $0, threshold: 5, quantizer: quantizer, round: "r-7", degree: 8)
        }
        var server = try SecureAggregationServer(threshold: 5, quantizer: quantizer, vectorLength: 65, round: "r-7", degree: 8)
        let roster = try server.register(members.map { $0.advertise() })
        var batches: [Int: [EncryptedShares]] = [:]
        for index in members.indices { batches[index + 1] = try members[index].shareKeys(roster: roster) }
        #expect(batches.values.allSatisfy { $0.count == 8 }, "shares go to the 8 neighbours only")
        let stranger = clients.first { $0 != 1 && !graph[1]!.contains($0) }!
        var misrouted = batches
        misrouted[1]![0].to = stranger
        var strict = server
        #expect(throws: FederatedError.self) { try strict.route(misrouted) }
        let inboxes = try server.route(batches)
        let fromStranger = EncryptedShares(from: stranger, to: 1, ciphertext: batches[stranger]![0].ciphertext)
        #expect(throws: FederatedError.self) { try members[0].maskedInput(inputs[1]!, received: inboxes[1]! + [fromStranger]) }
    }

    @Test("the server's view of one client's masked input looks uniform and says nothing about the input")
    func maskedInputHidesTheInput() throws {
        let length = 16_384
        let quantizer = try Quantizer(range: 1, clients: 3)
        var clients = try (1...3).map { try SecureAggregationClient(client: $0, threshold: 2, quantizer: quantizer, round: "r") }
        var server = try SecureAggregationServer(threshold: 2, quantizer: quantizer, vectorLength: length, round: "r")
        let roster = try server.register(clients.map { $0.advertise() })
        var batches: [Int: [EncryptedShares]] = [:]
        for index in clients.indices { batches[index + 1] = try clients[index].shareKeys(roster: roster) }
        let inboxes = try server.route(batches)
        // A constant input: an unmasked or weakly masked vector would be constant too.
        let input = [Float](repeating: 0.75, count: length)
        let masked = try clients[0].maskedInput(input, received: inboxes[1]!)
        let quantized = quantizer.quantize(input)[0]
        #expect(masked.values.filter { $0 == quantized }.count < 5)
        var buckets = [Int](repeating: 0, count: 16)
        for value in masked.values { buckets[Int(value >> 28)] += 1 }
        let expected = Double(length) / 16
        // χ² with 15 degrees of freedom: above 50 happens with probability < 1e-5 for uniform values.
        let chiSquared = buckets.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(chiSquared < 50, "bucket counts \(buckets)")
        // The encrypted shares the server routes hold neither seed in the clear.
        for message in batches[1]! { #expect(message.ciphertext.count > 100) }
    }

    @Test("a server that echoes a client's keys, forges or alters shares, or asks twice, is refused")
    func attacks() throws {
        let quantizer = try Quantizer(range: 1, clients: 4)
        var clients = try (1...4).map { try SecureAggregationClient(client: $0, threshold: 3, quantizer: quantizer, round: "r") }
        let keys = clients.map { $0.advertise() }
        // Client 1's keys listed again as client 4's.
        var echoed = keys
        echoed[3] = AdvertisedKeys(client: 4, encryptionKey: keys[0].encryptionKey, maskingKey: keys[0].maskingKey)
        #expect(throws: FederatedError.self) { try clients[1].shareKeys(roster: echoed) }
        var server = try SecureAggregationServer(threshold: 3, quantizer: quantizer, vectorLength: 8, round: "r")
        #expect(throws: FederatedError.self) { try server.register(echoed) }
        // A roster that leaves the client's own keys out, or swaps them.
        var swapped = keys
        swapped[0].maskingKey = keys[1].encryptionKey
        #expect(throws: FederatedError.self) { try clients[0].shareKeys(roster: swapped) }
        #expect(throws: FederatedError.self) { try clients[0].shareKeys(roster: Array(keys.dropFirst())) }

        let roster = try server.register(keys)
        var batches: [Int: [EncryptedShares]] = [:]
        for index in clients.indices { batches[index + 1] = try clients[index].shareKeys(roster: roster) }
        // A batch with a message claiming to come from someone else.
        var forged = batches
        forged[2]![0].from = 3
        var strict = server
        #expect(throws: FederatedError.self) { try strict.route(forged) }

        let inboxes = try server.route(batches)
        // One flipped bit in a ciphertext fails authentication.
        var tampered = inboxes[1]!
        var bytes = [UInt8](tampered[0].ciphertext)
        bytes[bytes.count / 2] ^= 1
        tampered[0].ciphertext = Data(bytes)
        var victim = clients[0]
        #expect(throws: FederatedError.self) { try victim.maskedInput([Float](repeating: 0, count: 8), received: tampered) }
        // A message relabelled to another recipient fails too: the header is authenticated.
        var relabelled = inboxes[2]!
        relabelled[0].to = 1
        relabelled[0].from = relabelled[0].from == 1 ? 3 : relabelled[0].from
        var other = clients[0]
        #expect(throws: FederatedError.self) { try other.maskedInput([Float](repeating: 0, count: 8), received: relabelled) }

        var masked: [MaskedInput] = []
        for index in clients.indices {
            masked.append(try clients[index].maskedInput([Float](repeating: 0.5, count: 8), received: inboxes[index + 1]!))
        }
        let survivors = try server.collect(masked)
        #expect(throws: FederatedError.self) { try clients[0].unmask(survivors: [1, 2]) }
        _ = try clients[0].unmask(survivors: survivors)
        #expect(throws: FederatedError.self) { try clients[0].unmask(survivors: [1, 2, 3]) }
        var answers: [UnmaskingShares] = []
        for index in 1..<4 { answers.append(try clients[index].unmask(survivors: survivors)) }
        let (sum, count) = try server.finish(answers)
        #expect(count == 4)
        #expect(sum.allSatisfy { abs($0 - 2) <= 4 * quantizer.resolution })
    }
}
