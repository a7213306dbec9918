// Counts words with a map-reduce task graph: a text is split into chunks, each chunk is counted
// by a map task, and the partial counts are merged by a reduce task.
//
//     swift run -c release WordCount [chunks] [words-per-chunk]
import Foundation
import IOCompute

enum WordCount {
    /// A deterministic text of `count` words whose frequencies follow Zipf's law, like real prose.
    static func generateText(words count: Int, seed: UInt64) -> String {
        let vocabulary = [
            "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not",
            "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were",
            "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who",
        ]
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var words: [String] = []
        words.reserveCapacity(count)
        for _ in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            // Rank r with probability ∝ 1/r: invert the harmonic CDF approximately.
            let uniform = Double(state >> 11) * 0x1p-53
            let rank = min(Int(pow(Double(vocabulary.count + 1), uniform)) - 1, vocabulary.count - 1)
            words.append(vocabulary[max(rank, 0)])
        }
        return words.joined(separator: " ")
    }

    /// Map: the words of one chunk and how often each occurs.
    static let countWords = RemoteFunction("countWords") { (text: String) async throws -> [String: Int] in
        var counts: [String: Int] = [:]
        for word in text.split(separator: " ") { counts[String(word), default: 0] += 1 }
        return counts
    }

    /// Reduce: the partial counts merged.
    static let merge = RemoteFunction("merge") { (parts: [[String: Int]]) async throws -> [String: Int] in
        parts.reduce(into: [:]) { total, part in total.merge(part, uniquingKeysWith: +) }
    }
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let chunks = arguments.first ?? 32
let wordsPerChunk = arguments.dropFirst().first ?? 50_000

let cluster = try await Cluster.start(
    .inProcess(workers: ProcessInfo.processInfo.activeProcessorCount),
    registry: Registry().function(WordCount.countWords).function(WordCount.merge))

let started = ContinuousClock.now
var partials: [ObjectRef<[String: Int]>] = []
for chunk in 0..<chunks {
    // The text is put in the object store once per chunk; the map task depends on it.
    let text = try await cluster.put(WordCount.generateText(words: wordsPerChunk, seed: UInt64(chunk)))
    partials.append(try await cluster.submit(WordCount.countWords, text))
}
let totals = try await cluster.submit(WordCount.merge, partials.gathered()).get()
let elapsed = ContinuousClock.now - started

print("\(totals.values.reduce(0, +)) words, \(totals.count) distinct, counted in \(chunks) map tasks and 1 reduce task in \(elapsed)")
for (word, count) in totals.sorted(by: { $0.value > $1.value }).prefix(10) {
    print(String(format: "%8d  %@", count, word))
}
await cluster.shutdown()
