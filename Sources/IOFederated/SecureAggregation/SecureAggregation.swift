/// Runs whole rounds of secure aggregation in one process: the simulation engine's path, and
/// the reference the distributed rounds follow message for message.
public enum SecureAggregation {
    /// The sum of `inputs` (client number → vector) computed through the full protocol, with the
    /// clients in `dropAfterSharing` leaving after round 1 (their inputs are not in the sum) and
    /// those in `dropAfterMasking` leaving after round 2 (their inputs are, but they reveal
    /// nothing).
    ///
    /// - Throws: ``FederatedError`` when too many clients drop for the threshold, or any check of
    ///   the protocol fails.
    public static func sum(
        _ inputs: [Int: [Float]], threshold: Int, quantizer: Quantizer, round: String = "round-0", degree: Int? = nil,
        dropAfterSharing: Set<Int> = [], dropAfterMasking: Set<Int> = []
    ) throws(FederatedError) -> (sum: [Double], count: Int, survivors: [Int]) {
        let length = inputs.values.first?.count ?? 0
        guard inputs.values.allSatisfy({ $0.count == length }) else { throw .shapeMismatch("inputs of different lengths") }
        var clients = try inputs.keys.sorted().map { number throws(FederatedError) in
            try SecureAggregationClient(client: number, threshold: threshold, quantizer: quantizer, round: round, degree: degree)
        }
        var server = try SecureAggregationServer(
            threshold: threshold, quantizer: quantizer, vectorLength: length, round: round, degree: degree)
        let roster = try server.register(clients.map { $0.advertise() })
        var batches: [Int: [EncryptedShares]] = [:]
        for index in clients.indices { batches[clients[index].client] = try clients[index].shareKeys(roster: roster) }
        let inboxes = try server.route(batches)
        var masked: [MaskedInput] = []
        for index in clients.indices where !dropAfterSharing.contains(clients[index].client) {
            let number = clients[index].client
            masked.append(try clients[index].maskedInput(inputs[number]!, received: inboxes[number] ?? []))
        }
        let survivors = try server.collect(masked)
        var answers: [UnmaskingShares] = []
        for index in clients.indices
        where survivors.contains(clients[index].client) && !dropAfterMasking.contains(clients[index].client) {
            answers.append(try clients[index].unmask(survivors: survivors))
        }
        let (sum, count) = try server.finish(answers)
        return (sum, count, survivors)
    }
}
