import Testing

@testable import IOTensorOpenCL

@Suite("which tiling a GPU's matrix product launches")
struct MatrixProductChoiceTests {
    typealias Kernel = OpenCLBackend.MatrixProductKernel

    /// `tiledBySize` for an `m`×`n` float product on a device like an H200: 132 compute units,
    /// 48 KiB of local memory.
    static func choice(_ m: Int, _ n: Int, batch: Int = 1, elementBytes: Int = 4, localMemory: Int = 48 << 10) -> Kernel {
        OpenCLBackend.resolved(
            .tiledBySize, m: m, n: n, batch: batch, elementBytes: elementBytes, computeUnits: 132, localMemory: localMemory)
    }

    @Test("128² tiles once every compute unit gets one, 64² tiles below: the sizes measured on an H200")
    func bySize() {
        // Measured there: 64² tiles faster at 256² and 1024² (4 and 64 wide tiles), 128² tiles
        // faster from 2048² (256 wide tiles) up.
        #expect(Self.choice(256, 256) == .tiled)
        #expect(Self.choice(1024, 1024) == .tiled)
        #expect(Self.choice(1024, 256) == .tiled)
        #expect(Self.choice(2048, 2048) == .tiledWide)
        #expect(Self.choice(8192, 8192) == .tiledWide)
        // The edge: 132 tiles of 128² (a 1408 × 1536 product) is the first size that fills it.
        #expect(Self.choice(11 * 128, 12 * 128) == .tiledWide)
        #expect(Self.choice(11 * 128, 12 * 128 - 128) == .tiled)
        // A batch counts: 64 tiles, three times, fill the device.
        #expect(Self.choice(1024, 1024, batch: 3) == .tiledWide)
    }

    @Test("the wide tiling only where its staged slices fit in local memory; an explicit choice stays")
    func localMemoryAndExplicitChoices() {
        // 2 × 16 × 129 doubles are 33,024 bytes: more than OpenCL's 32 KiB minimum.
        #expect(Self.choice(8192, 8192, elementBytes: 8, localMemory: 32 << 10) == .tiled)
        #expect(Self.choice(8192, 8192, elementBytes: 8, localMemory: 48 << 10) == .tiledWide)
        #expect(Self.choice(8192, 8192, elementBytes: 4, localMemory: 32 << 10) == .tiledWide)
        for kernel in [Kernel.tiled, .tiledWide, .rows] {
            #expect(
                OpenCLBackend.resolved(kernel, m: 8192, n: 8192, batch: 1, elementBytes: 4, computeUnits: 132, localMemory: 48 << 10)
                    == kernel)
        }
    }
}
