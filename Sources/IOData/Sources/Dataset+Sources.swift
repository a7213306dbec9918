import Foundation
import IOTensor

#if canImport(Glibc)
    import Glibc
#endif

extension Dataset {
    /// The rows of `elements`, in blocks of `blockSize`.
    public init(_ elements: [Element], blockSize: Int = 1024) {
        let size = Swift.max(blockSize, 1)
        self.init(knownCount: elements.count) { _ in
            let list = BlockList<Element> { index in
                let start = index * size
                guard start < elements.count else { return nil }
                return Array(elements[start..<Swift.min(start + size, elements.count)])
            }
            return { try await list.next() }
        }
    }

    /// `count` rows made by `generator` from their index, in blocks of `blockSize`, each block
    /// made only when a stage pulls it: a dataset far larger than memory costs one block at a
    /// time.
    public init(count: Int, blockSize: Int = 1024, generator: @escaping @Sendable (Int) throws -> Element) {
        let size = Swift.max(blockSize, 1)
        let count = Swift.max(count, 0)
        self.init(knownCount: count) { _ in
            let list = BlockList<Element> { index in
                let start = index * size
                guard start < count else { return nil }
                return try (start..<Swift.min(start + size, count)).map(generator)
            }
            return { try await list.next() }
        }
    }

    /// A dataset whose rows come from reading `files` one at a time with `read`; each file's
    /// rows are cut into blocks of `blockSize`.
    static func reading(files: [String], blockSize: Int, read: @escaping @Sendable (String) throws -> [Element]) -> Dataset {
        let size = Swift.max(blockSize, 1)
        return Dataset(knownCount: nil) { _ in
            let reader = FileBlocks(files: files, blockSize: size, read: read)
            return { try await reader.next() }
        }
    }
}

extension Dataset where Element == Int {
    /// The integers `0..<count`, in blocks of `blockSize`.
    public static func range(_ count: Int, blockSize: Int = 1024) -> Dataset<Int> {
        Dataset(count: count, blockSize: blockSize) { $0 }
    }
}

extension Dataset where Element == [Float] {
    /// The rows of a `[rows, columns]` tensor (a one-dimensional tensor gives one-value rows).
    public init(rowsOf tensor: Tensor<Float>, blockSize: Int = 1024) throws(DataError) {
        self.init(try Self.rows(of: tensor, what: "the tensor"), blockSize: blockSize)
    }

    /// The rows of the two-dimensional tensor `name` in each safetensors file of `files`, read one
    /// file (shard) at a time.
    public static func safetensors(files: [String], tensor name: String, blockSize: Int = 1024) -> Dataset<[Float]> {
        reading(files: files, blockSize: blockSize) { path in
            let archive: SafetensorsArchive
            do {
                archive = try Safetensors.read(contentsOf: path)
            } catch {
                throw DataError.file(path: path, reason: "\(error)")
            }
            guard archive.tensors[name] != nil else { throw DataError.file(path: path, reason: "it has no tensor named \(name)") }
            let tensor: Tensor<Float>
            do {
                tensor = try archive.tensor(name, as: Float.self)
            } catch {
                throw DataError.file(path: path, reason: "tensor \(name): \(error)")
            }
            return try rows(of: tensor, what: "\(path): \(name)")
        }
    }

    static func rows(of tensor: Tensor<Float>, what: String) throws(DataError) -> [[Float]] {
        let shape = tensor.shape
        guard shape.count == 1 || shape.count == 2 else {
            throw .shapeMismatch("\(what) has shape \(shape); rows come from one- or two-dimensional tensors")
        }
        let scalars = tensor.scalars
        let width = shape.count == 2 ? shape[1] : 1
        let rows = shape[0]
        guard width > 0 else { return Array(repeating: [], count: rows) }
        return (0..<rows).map { row in Array(scalars[(row * width)..<((row + 1) * width)]) }
    }
}

extension Dataset where Element == [Double] {
    /// The rows of numeric CSV files — plain or gzip-compressed — read one file at a time.
    ///
    /// - Parameters:
    ///   - files: the files' paths, read in this order.
    ///   - headerLines: leading lines of each file to skip.
    ///   - blockSize: the rows in each block the pipeline passes on.
    public static func csv(files: [String], headerLines: Int = 1, blockSize: Int = 1024) -> Dataset<[Double]> {
        reading(files: files, blockSize: blockSize) { path in
            let table: Tensor<Double>
            do {
                table = try CSV.read(contentsOf: path, headerLines: headerLines)
            } catch {
                throw DataError.file(path: path, reason: "\(error)")
            }
            let width = table.shape.count == 2 ? table.shape[1] : 1
            let scalars = table.scalars
            guard width > 0 else { return [] }
            return stride(from: 0, to: scalars.count, by: width).map { Array(scalars[$0..<($0 + width)]) }
        }
    }
}

extension Dataset where Element == String {
    /// The paths that match the shell pattern `pattern` (`data/*.csv`, `shards/part-?.safetensors`),
    /// sorted: a directory of files as a dataset, to read with a later `map` or `flatMap`.
    ///
    /// - Throws: ``DataError/file(path:reason:)`` when nothing matches.
    public static func files(matching pattern: String) throws(DataError) -> Dataset<String> {
        var matches = glob_t()
        defer { globfree(&matches) }
        let status = glob(pattern, 0, nil, &matches)
        guard status == 0 else {
            throw .file(path: pattern, reason: status == GLOB_NOMATCH ? "no file matches" : "cannot list (glob error \(status))")
        }
        var paths: [String] = []
        for index in 0..<Int(matches.gl_pathc) {
            if let path = matches.gl_pathv[index] { paths.append(String(cString: path)) }
        }
        return Dataset(paths.sorted(), blockSize: 1)
    }

    /// The lines of text files (without their line endings), read one file at a time.
    public static func lines(files: [String], blockSize: Int = 4096) -> Dataset<String> {
        reading(files: files, blockSize: blockSize) { path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError.file(path: path, reason: "cannot be read")
            }
            var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map {
                $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
            }
            if lines.last == "" { lines.removeLast() }
            return lines
        }
    }
}

extension Dataset where Element: Decodable {
    /// The records of JSON-lines files (one JSON value per line; blank lines skipped), decoded
    /// as `Element`, read one file at a time.
    ///
    /// - Throws (when run): ``DataError/invalidRecord(path:line:reason:)`` naming the first line
    ///   that does not decode.
    public static func jsonLines(files: [String], as type: Element.Type = Element.self, blockSize: Int = 1024) -> Dataset {
        reading(files: files, blockSize: blockSize) { path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError.file(path: path, reason: "cannot be read")
            }
            let decoder = JSONDecoder()
            var records: [Element] = []
            for (number, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\t") }) else {
                    continue
                }
                do {
                    records.append(try decoder.decode(Element.self, from: Data(line)))
                } catch {
                    throw DataError.invalidRecord(path: path, line: number + 1, reason: Self.reason(error))
                }
            }
            return records
        }
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): "not valid JSON (\(context.debugDescription))"
        case DecodingError.keyNotFound(let key, _): "no \"\(key.stringValue)\""
        case DecodingError.typeMismatch(let type, let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")) is not \(type)"
        case DecodingError.valueNotFound(let type, let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has no \(type) value"
        default: "\(error)"
        }
    }
}

/// The rows of files read one at a time, cut into blocks.
actor FileBlocks<Element: Sendable> {
    private var files: ArraySlice<String>
    private let blockSize: Int
    private let read: @Sendable (String) throws -> [Element]
    private var rows: ArraySlice<Element> = []

    init(files: [String], blockSize: Int, read: @escaping @Sendable (String) throws -> [Element]) {
        self.files = files[...]
        self.blockSize = blockSize
        self.read = read
    }

    func next() async throws -> [Element]? {
        while rows.isEmpty {
            guard let file = files.popFirst() else { return nil }
            rows = try read(file)[...]
        }
        let block = Array(rows.prefix(blockSize))
        rows = rows.dropFirst(block.count)
        return block
    }
}
