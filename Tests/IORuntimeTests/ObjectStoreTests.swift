import Foundation
import IORuntime
import IORuntimeTensor
import IOTensor
import Testing

@Suite("Object store", .timeLimit(.minutes(3)))
struct ObjectStoreTests {
    /// 16 MiB that differ per block and per page (cheap to make and to compare in a debug build).
    static func pattern(_ block: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(block), count: 16 << 20)
        bytes.withUnsafeMutableBytes { raw in
            for page in stride(from: 0, to: raw.count, by: 4096) { raw[page] = UInt8(truncatingIfNeeded: page >> 12 &+ block) }
        }
        return bytes
    }

    @Test("put and get share the value in process: no copy of a large array")
    func zeroCopy() async throws {
        try await withCluster(codec: false) { cluster in
            let values = [Float](repeating: 2, count: 1 << 20)
            let ref = try await cluster.put(values)
            let back = try await ref.get()
            let same = values.withUnsafeBufferPointer { a in back.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
            #expect(same)
            let tensor = try Tensor<Float>.randomNormal([256, 256], seed: 1)
            #expect(try await cluster.put(tensor).get() == tensor)
        }
    }

    @Test("memory returns once the last ref is dropped")
    func lifetime() async throws {
        try await withCluster(codec: false) { cluster in
            let before = await cluster.status().objectStore
            do {
                let big = try await cluster.put([UInt8](repeating: 7, count: 32 << 20))
                let derived = try await cluster.submit(Functions.bytes, 1 << 20, UInt8(3))
                _ = try await derived.get()
                let during = await cluster.status().objectStore
                #expect(during.bytesInMemory >= (33 << 20))
                #expect(during.objects == before.objects + 2)
                withExtendedLifetime(big) {}
            }
            // Releases are processed asynchronously; status drains them.
            var after = await cluster.status().objectStore
            for _ in 0..<100 where after.objects != before.objects {
                try await Task.sleep(for: .milliseconds(5))
                after = await cluster.status().objectStore
            }
            #expect(after.objects == before.objects)
            #expect(after.bytesInMemory == before.bytesInMemory)
        }
    }

    @Test("a 64 MiB cap with 256 MiB put spills to disk and reads every byte back intact", arguments: [false, true])
    func spilling(codec: Bool) async throws {
        try await withCluster(codec: codec, memory: 64 << 20) { cluster in
            var refs: [ObjectRef<[UInt8]>] = []
            for block in 0..<16 { refs.append(try await cluster.put(Self.pattern(block))) }
            let status = await cluster.status().objectStore
            #expect(status.bytesInMemory <= 64 << 20)
            #expect(status.spilledObjects >= 12)
            #expect(status.totalSpills >= 12)
            for (block, ref) in refs.enumerated() {
                let bytes = try await ref.get()
                let expected = Self.pattern(block)
                let intact =
                    bytes.count == expected.count
                    && bytes.withUnsafeBytes { a in expected.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
                #expect(intact, "block \(block)")
            }
            let after = await cluster.status().objectStore
            #expect(after.totalRestores >= 12)
            #expect(after.bytesInMemory <= 64 << 20)
            // A spilled object can feed a task.
            let first = try await cluster.submit(Functions.sum, [try await cluster.put(1), try await cluster.put(2)].gathered())
            #expect(try await first.get() == 3)
        }
    }

    /// Runs `body` on a one-worker cluster that spills past 24 MiB into a fresh folder, with a
    /// thread of its own for a put whose spill blocks in its write (the pool's threads stay free).
    static func withSpillingCluster(_ body: (Cluster, _ folder: String, ThreadsExecutor) async throws -> Void) async throws {
        var template = Array("\(NSTemporaryDirectory())/iocompute-spill-test-XXXXXX".utf8CString)
        let folder = String(cString: try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var configuration = ClusterConfiguration.inProcess(
            workers: 1, resourcesPerWorker: [.cpu: 1], objectStoreMemory: 24 << 20, routesThroughCodec: false)
        configuration.spillDirectory = folder
        let threads = ThreadsExecutor(threads: 1)
        defer { threads.stop() }
        try await withCluster(configuration, registry: Functions.registry) { try await body($0, folder, threads) }
    }

    /// The read end of a named pipe made where an object's spill file goes: the spill's write
    /// stops once the pipe is full, until it is read.
    final class SpillPipe {
        let path: String
        private let reader: Int32
        /// Everything read so far.
        private(set) var received: [UInt8] = []
        private var buffer = [UInt8](repeating: 0, count: 1 << 16)

        init(at path: String) {
            self.path = path
            #expect(mkfifo(path, 0o600) == 0)
            reader = open(path, O_RDONLY | O_NONBLOCK)
            #expect(reader >= 0)
        }

        deinit { close(reader) }

        /// Reads what the writer put in, waiting up to 100 ms: the byte count, 0 once the writer
        /// is done, -1 when nothing came.
        func readSome() -> Int {
            var poller = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { return -1 }
            let count = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
            if count > 0 { received += buffer[0..<count] }
            return count
        }
    }

    @Test("a spill is written outside the store's lock: meanwhile the object stays readable and the store serves others")
    func spillOutsideTheLock() async throws {
        try await Self.withSpillingCluster { cluster, folder, threads in
            let first = try await cluster.put(Self.pattern(0))
            // The first object's file is a pipe: its spill stops once the pipe is full.
            let pipe = SpillPipe(at: "\(folder)/\(first.id)")
            let second = Task(executorPreference: threads) { try await cluster.put(Self.pattern(1)) }
            while pipe.received.isEmpty { _ = pipe.readSome() }

            // The writer waits for room in the pipe. The store answers, the object is still in
            // memory, intact, and another put goes in.
            let during = await cluster.status().objectStore
            #expect(during.spilledObjects == 0 && during.totalSpills == 0)
            #expect(try await first.get() == Self.pattern(0))
            let small = try await cluster.put([1, 2, 3])
            #expect(try await small.get() == [1, 2, 3])

            // Drained, the spill settles: the first object now lives on disk.
            while pipe.readSome() != 0 {}
            _ = try await second.value
            let after = await cluster.status().objectStore
            #expect(after.spilledObjects == 1 && after.totalSpills == 1 && after.bytesInMemory <= 24 << 20)
            // Read back from what was written (the pipe holds nothing now: a file takes its place).
            #expect(unlink(pipe.path) == 0)
            #expect(FileManager.default.createFile(atPath: pipe.path, contents: Data(pipe.received)))
            #expect(try await first.get() == Self.pattern(0))
            #expect(await cluster.status().objectStore.totalRestores == 1)
        }
    }

    /// A named pipe put where a spilled object's file was, holding back the restore that reads it
    /// until the test feeds it the file's bytes.
    final class RestorePipe {
        let path: String
        private let bytes: [UInt8]
        private var writer: Int32 = -1

        init(replacing path: String) throws {
            self.path = path
            bytes = Array(try #require(FileManager.default.contents(atPath: path)))
            #expect(unlink(path) == 0)
            #expect(mkfifo(path, 0o600) == 0)
        }

        deinit { if writer >= 0 { close(writer) } }

        /// Waits until a restore has opened the pipe to read, and opens its writing end: the
        /// restore then waits in its first read.
        func waitForReader() async throws {
            while writer < 0 {
                writer = open(path, O_WRONLY | O_NONBLOCK)  // ENXIO until a reader has it open
                if writer < 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
            _ = fcntl(writer, F_SETFL, 0)  // blocking writes from here
        }

        /// Writes the file's bytes to the waiting restore and closes the pipe.
        func feed() {
            defer {
                close(writer)
                writer = -1
            }
            var written = 0
            while written < bytes.count {
                let count = bytes.withUnsafeBytes { write(writer, $0.baseAddress! + written, $0.count - written) }
                if count < 0 && errno == EINTR { continue }
                #expect(count > 0)
                guard count > 0 else { return }
                written += count
            }
        }
    }

    /// Runs `body` on a spilling cluster (see ``withSpillingCluster(_:)``) that holds two 16 MiB
    /// objects: `first` spilled to `file`, `second` in memory.
    static func withSpilledObject(
        _ body: (Cluster, _ first: ObjectRef<[UInt8]>, _ second: ObjectRef<[UInt8]>, _ file: String, ThreadsExecutor) async throws -> Void
    ) async throws {
        try await withSpillingCluster { cluster, folder, threads in
            let first = try await cluster.put(Self.pattern(0))
            let second = try await cluster.put(Self.pattern(1))
            #expect(await cluster.status().objectStore.spilledObjects == 1)
            try await body(cluster, first, second, "\(folder)/\(first.id)", threads)
        }
    }

    @Test("a spilled object is read back outside the store's lock: meanwhile the store serves others")
    func restoreOutsideTheLock() async throws {
        try await Self.withSpilledObject { cluster, first, second, file, threads in
            let pipe = try RestorePipe(replacing: file)
            let reader = Task(executorPreference: threads) { try await first.get() }
            try await pipe.waitForReader()

            // The restore waits for the pipe. The store answers, and serves other objects.
            let during = await cluster.status().objectStore
            #expect(during.spilledObjects == 1 && during.totalRestores == 0)
            #expect(try await second.get() == Self.pattern(1))
            let small = try await cluster.put([1, 2, 3])
            #expect(try await small.get() == [1, 2, 3])

            pipe.feed()
            #expect(try await reader.value == Self.pattern(0))
            #expect(await cluster.status().objectStore.totalRestores == 1)
        }
    }

    @Test("tasks given a spilled object wait for one read of it, outside the lock, then start")
    func tasksWaitForRestores() async throws {
        try await Self.withSpilledObject { cluster, first, _, file, threads in
            let pipe = try RestorePipe(replacing: file)
            // The submit that starts the restore reads the file on its own thread.
            let both = Task(executorPreference: threads) { try await cluster.submit(Functions.sameBytes, first, first) }
            try await pipe.waitForReader()

            // Another task given the same object joins the read under way; the store serves others.
            let again = try await cluster.submit(Functions.sameBytes, first, first)
            #expect(await cluster.status().objectStore.totalRestores == 0)
            #expect(try await cluster.submit(Functions.sum, [1, 2]).get() == 3)

            pipe.feed()
            #expect(try await both.value.get() == 2 * (16 << 20))
            #expect(try await again.get() == 2 * (16 << 20))
            #expect(await cluster.status().objectStore.totalRestores == 1)
        }
    }

    @Test("a spilled object whose file cannot be read fails the tasks and readers waiting for it, and nothing else")
    func failedRestores() async throws {
        try await Self.withSpilledObject { cluster, first, second, file, _ in
            #expect(unlink(file) == 0)
            let task = try await cluster.submit(Functions.sameBytes, first, second)
            await #expect(throws: ClusterError.self) { try await task.get() }
            await #expect(throws: ClusterError.self) { try await first.get() }
            #expect(try await second.get() == Self.pattern(1))
            #expect(try await cluster.submit(Functions.sum, [1, 2]).get() == 3)
        }
    }

    @Test("an object freed while its spill is written leaves no file behind")
    func freedWhileSpilling() async throws {
        try await Self.withSpillingCluster { cluster, folder, threads in
            var first: ObjectRef<[UInt8]>? = try await cluster.put(Self.pattern(0))
            let pipe = SpillPipe(at: "\(folder)/\(first!.id)")
            let second = Task(executorPreference: threads) { try await cluster.put(Self.pattern(1)) }
            while pipe.readSome() <= 0 {}
            // Freed mid-write (status drains the release).
            first = nil
            var objects = await cluster.status().objectStore.objects
            while objects != 1 {
                try await Task.sleep(for: .milliseconds(5))
                objects = await cluster.status().objectStore.objects
            }
            while pipe.readSome() != 0 {}
            _ = try await second.value
            let after = await cluster.status().objectStore
            #expect(after.spilledObjects == 0 && after.bytesSpilled == 0 && after.objects == 1)
            #expect(!FileManager.default.fileExists(atPath: pipe.path))
        }
    }

    @Test("a ref of another type than the object's is a typed error in codec mode")
    func typeMismatch() async throws {
        try await withCluster(codec: true) { cluster in
            let ref = try await cluster.put("text")
            #expect(try await ref.get() == "text")
        }
    }
}

@Suite("Scheduling", .timeLimit(.minutes(3)))
struct SchedulingTests {
    /// The most tasks seen running at once over `polls` looks 5 ms apart (stopping early at `target`).
    static func peakRunning(_ cluster: Cluster, until target: Int, polls: Int = 400) async throws -> Int {
        var peak = 0
        for _ in 0..<polls {
            peak = max(peak, await cluster.status().tasks.running)
            if peak >= target { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        return peak
    }

    @Test("fractional and custom resources: two half-GPU tasks share one worker's GPU")
    func fractional() async throws {
        try await withCluster(workers: 1, codec: false, resources: [.cpu: 2, .gpu: 1, "fpga": 1]) { cluster in
            let options = TaskOptions(resources: [.cpu: 0.5, .gpu: 0.5])
            let a = try await cluster.submit(Functions.sleep, 2_000, options: options)
            let b = try await cluster.submit(Functions.sleep, 2_000, options: options)
            #expect(try await Self.peakRunning(cluster, until: 2) == 2, "two half-GPU tasks fit one GPU at once")
            cluster.cancel(a)
            cluster.cancel(b)
            let custom = try await cluster.submit(Functions.square, 5, options: TaskOptions(resources: ["fpga": 1]))
            #expect(try await custom.get() == 25)
        }
    }

    @Test("tasks beyond the resources wait for them instead of overcommitting")
    func queueing() async throws {
        try await withCluster(workers: 1, codec: false) { cluster in
            let refs = try await (0..<3).asyncMap { _ in try await cluster.submit(Functions.sleep, 100) }
            #expect(try await Self.peakRunning(cluster, until: 2, polls: 60) == 1, "one CPU runs one task at a time")
            #expect(try await cluster.get(refs) == [100, 100, 100])
        }
    }

    @Test("placement: strict worker affinity, and spread over workers")
    func placement() async throws {
        try await withCluster(workers: 3, codec: false) { cluster in
            for _ in 0..<5 {
                let ref = try await cluster.submit(Functions.whereAmI, 0, options: TaskOptions(placement: .worker(2, strict: true)))
                #expect(try await ref.get() == 2)
            }
            let spread = try await (0..<3).asyncMap { _ in
                try await cluster.submit(Functions.sleep, 50, options: TaskOptions(placement: .spread))
            }
            _ = try await cluster.get(spread)
            let places = try await (0..<3).asyncMap { _ in
                try await cluster.submit(Functions.whereAmI, 0, options: TaskOptions(placement: .spread))
            }
            #expect(Set(try await cluster.get(places)).isSubset(of: [0, 1, 2]))
        }
    }

    @Test("a task runs where its largest input was made when that worker is free")
    func locality() async throws {
        try await withCluster(workers: 3, codec: false) { cluster in
            for worker in [1, 2, 0] {
                let big = try await cluster.submit(
                    Functions.bytes, 1 << 20, UInt8(1), options: TaskOptions(placement: .worker(worker, strict: true)))
                let small = try await cluster.submit(
                    Functions.bytes, 16, UInt8(2), options: TaskOptions(placement: .worker((worker + 1) % 3, strict: true)))
                _ = try await (big.get(), small.get())
                let consumer = try await cluster.submit(Functions.locate, small, big)
                #expect(try await consumer.get() == worker, "the 1 MiB input was made on worker \(worker)")
            }
        }
    }

    @Test("status reports workers, tasks and the timeline exports Chrome trace JSON")
    func observability() async throws {
        try await withCluster(workers: 2, codec: false) { cluster in
            let refs = try await (0..<20).asyncMap { try await cluster.submit(Functions.square, $0) }
            _ = try await cluster.get(refs)
            let status = await cluster.status()
            #expect(status.workers.count == 2)
            #expect(status.tasks.finished == 20 && status.tasks.running == 0)
            #expect(status.workers.allSatisfy { $0.available == $0.total })
            #expect(status.description.contains("20 finished"))
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("timeline-\(UUID().uuidString).json").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try cluster.timeline(to: path)
            let json = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            let events = json?["traceEvents"] as? [[String: Any]]
            #expect(events?.count == 20)
            #expect(events?.first?["name"] as? String == "square")
        }
    }
}
