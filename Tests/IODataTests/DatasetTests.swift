import Foundation
import IOData
import IORuntime
import IORuntimeTensor
import IOTensor
import Synchronization
import Testing

/// The repository's `Examples/Data` folder.
let dataFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Examples/Data")

/// A fresh temporary folder, removed by `body`'s end.
func withTemporaryFolder<T>(_ body: (String) async throws -> T) async throws -> T {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iodata-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try await body(folder)
}

@Suite("Dataset operations against plain array computations")
struct DatasetTests {
    @Test("map, filter, flatMap, limit and repartition give what the same array operations give, in order")
    func transforms() async throws {
        let numbers = Array(0..<1_000)
        let dataset = Dataset(numbers, blockSize: 37)
        #expect(try await dataset.collect() == numbers)
        #expect(try await dataset.count() == 1_000)
        let chained = dataset.map { $0 * 3 }.filter { $0 % 2 == 0 }.flatMap { [$0, -$0] }.limit(301)
        let expected = Array(numbers.map { $0 * 3 }.filter { $0 % 2 == 0 }.flatMap { [$0, -$0] }.prefix(301))
        #expect(try await chained.collect() == expected)
        #expect(try await chained.count() == 301)
        // Batches have the asked size but the last, and a filter that empties blocks leaves none.
        var sizes: [Int] = []
        for try await batch in Dataset.range(1_000, blockSize: 64).filter({ $0 < 10 || $0 > 990 }).batches(size: 4) {
            sizes.append(batch.count)
        }
        #expect(sizes == [4, 4, 4, 4, 3])
        #expect(try await Dataset.range(10).repartition(blockSize: 3).collect() == Array(0..<10))
        #expect(try await Dataset<Int>([]).collect().isEmpty)
    }

    @Test("batches stack into [rows, columns] tensors; ragged rows are a typed error")
    func tensorBatches() async throws {
        let rows = (0..<10).map { row in (0..<3).map { Float(row * 3 + $0) } }
        var shapes: [[Int]] = []
        var scalars: [Float] = []
        for try await batch in Dataset(rows, blockSize: 3).tensorBatches(size: 4) {
            shapes.append(batch.shape)
            scalars += batch.scalars
        }
        #expect(shapes == [[4, 3], [4, 3], [2, 3]])
        #expect(scalars == rows.flatMap { $0 })
        await #expect(throws: DataError.self) {
            for try await _ in Dataset([[1.0], [2.0, 3.0]]).tensorBatches(size: 2) {}
        }
    }

    @Test("a limit stops pulling the stages before it")
    func limitStopsUpstream() async throws {
        let made = Counter()
        let dataset = Dataset(count: 1_000_000, blockSize: 100) { index in
            made.add()
            return index
        }
        #expect(try await dataset.limit(250).collect() == Array(0..<250))
        #expect(made.value == 300)
    }

    @Test("shuffles are permutations fixed by their seed")
    func shuffles() async throws {
        let dataset = Dataset.range(500, blockSize: 50)
        let first = try await dataset.shuffle(seed: 7).collect()
        let again = try await dataset.shuffle(seed: 7).collect()
        let other = try await dataset.shuffle(seed: 8).collect()
        #expect(first == again)
        #expect(first != other)
        #expect(first.sorted() == Array(0..<500) && other.sorted() == Array(0..<500))
        #expect(first != Array(0..<500))
    }

    @Test("split covers every row once, in order, in parts whose sizes differ by at most one", arguments: [1, 3, 7, 1_001])
    func splits(parts: Int) async throws {
        let split = try await Dataset.range(1_000).split(parts)
        #expect(split.count == parts)
        var rows: [Int] = []
        var sizes: [Int] = []
        for part in split {
            let values = try await part.collect()
            rows += values
            sizes.append(values.count)
        }
        #expect(rows == Array(0..<1_000))
        #expect(sizes.max()! - sizes.min()! <= 1)
        await #expect(throws: DataError.self) { _ = try await Dataset.range(3).split(0) }
    }

    @Test("local mapBatches keeps order when asked and runs batches concurrently", arguments: [true, false])
    func localBatches(ordered: Bool) async throws {
        let running = Counter()
        let most = Counter()
        let out = try await Dataset.range(200, blockSize: 9).mapBatches(size: 10, concurrency: 4, preservingOrder: ordered) { batch in
            most.max(running.add())
            try await Task.sleep(for: .milliseconds(batch[0] % 3))
            running.subtract()
            return batch.map { $0 * 2 }
        }.collect()
        #expect(ordered ? out == (0..<200).map { $0 * 2 } : out.sorted() == (0..<200).map { $0 * 2 })
        #expect(most.value <= 4)
        await #expect(throws: TestError.self) {
            _ = try await Dataset.range(50).mapBatches(size: 5) { batch -> [Int] in
                if batch.contains(27) { throw TestError() }
                return batch
            }.collect()
        }
    }
}

struct TestError: Error {}

/// A thread-safe counter for closures that run concurrently.
final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    @discardableResult func add() -> Int {
        count.withLock {
            $0 += 1; return $0
        }
    }
    func subtract() { count.withLock { $0 -= 1 } }
    func max(_ other: Int) { count.withLock { $0 = Swift.max($0, other) } }
}
