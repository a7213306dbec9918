/// The kernels a device backend runs for the tensor layer. Each call enqueues work on the device
/// and returns without waiting; the host waits only when it reads a tensor back.
///
/// Operands are described by ``DeviceOperand``s — memory, offset and strides against the
/// operation's shape — so that views (transposes, slices, broadcasts) reach a kernel without a
/// copy. A backend throws for a dtype, rank or size it does not handle; the tensor layer then
/// computes that operation on the CPU (and tells the backend through ``recordFallback(_:error:)``).
public protocol DeviceBackend: AnyObject, Sendable {
    /// The device this backend runs on.
    var device: Device { get }
    /// Whether tensors of `dtype` can live on the device.
    func supports(_ dtype: DType) -> Bool
    /// Allocates `byteCount` bytes on the device.
    func allocate(byteCount: Int) throws -> any DeviceStorage
    /// Writes `output` (contiguous, `shape`) from `operands` broadcast to `shape`. The layout
    /// arrives collapsed: no size-1 dimensions, and neighbouring dimensions merged where every
    /// operand lays them out contiguously (a contiguous operation has rank 1).
    func elementwise(_ kernel: ElementwiseKernel, dtype: DType, shape: [Int], operands: [DeviceOperand], output: any DeviceStorage) throws
    /// Reduces a contiguous input seen as `[outer, length, inner]` into `[outer, inner]` values (or
    /// `Int64` indices for argmax and argmin).
    func reduce(
        _ operation: ReductionOperation, dtype: DType, input: any DeviceStorage, inputOffset: Int, outer: Int, length: Int, inner: Int,
        output: any DeviceStorage) throws
    /// Softmax (or log-softmax) of each of `rows` contiguous rows of `length` elements.
    func softmax(
        dtype: DType, input: any DeviceStorage, inputOffset: Int, rows: Int, length: Int, logarithm: Bool, output: any DeviceStorage)
        throws
    /// C = A·B (+ C when `accumulate`) for `batch` products; see ``MatrixProduct``.
    func matrixProduct(_ product: MatrixProduct, dtype: DType) throws
    /// A sliding-window operation of `window` (see ``WindowOperation`` for each one's inputs and
    /// outputs), all contiguous.
    func window(_ operation: WindowOperation, dtype: DType, window: Window2D, inputs: [DeviceOperand], outputs: [any DeviceStorage])
        throws
    /// A fused optimizer update of `count` elements: `inputs` are the parameter, its gradient and
    /// the update's states (``ParameterUpdate/stateCount``), `outputs` the new parameter and new
    /// states, all contiguous.
    func update(_ update: ParameterUpdate, dtype: DType, count: Int, inputs: [DeviceOperand], outputs: [any DeviceStorage]) throws
    /// PyTorch's `gather`: output element i (of `indexShape`, contiguous) is `input` at i's
    /// coordinates, with `axis` replaced by `indices[i]` (contiguous `Int64`, checked and
    /// non-negative). `input.strides` are the input's own.
    func gather(dtype: DType, input: DeviceOperand, indices: DeviceOperand, indexShape: [Int], axis: Int, output: any DeviceStorage)
        throws
    /// Writes `count` elements: element t of `output` is the sum of `values[sources[j]]` for j in
    /// `offsets[t]..<offsets[t + 1]` (`Int64`, contiguous), 0 where that range is empty — a
    /// scatter-add written as a gather.
    func scatterAdd(
        dtype: DType, values: DeviceOperand, offsets: DeviceOperand, sources: DeviceOperand, count: Int, output: any DeviceStorage)
        throws
    /// Copies `rows` contiguous rows of `length` elements from `input` into `output`, row r at
    /// element `outputOffset + r·outputStride` (a piece of a concatenation).
    func copyRows(
        dtype: DType, input: DeviceOperand, rows: Int, length: Int, output: any DeviceStorage, outputOffset: Int, outputStride: Int)
        throws
    /// Notes that an operation ran on the CPU instead because the device failed or lacked a kernel.
    func recordFallback(_ operation: String, error: any Error)
}

/// The elementwise kernels of the tensor layer.
public enum ElementwiseKernel: Sendable, Hashable {
    /// A strided copy of operand 0 (`contiguous()`, moving a view into fresh memory).
    case copy
    case binary(BinaryOperation)
    /// Writes a `Bool` mask.
    case compare(ComparisonOperation)
    case unary(UnaryOperation)
    case floatingUnary(FloatingUnaryOperation)
    /// `where(condition, a, b)`: operand 0 is the `Bool` condition, operands 1 and 2 the values.
    case select
}

/// The sliding-window operations of convolutions and poolings. Inputs and outputs are contiguous;
/// the shapes are those of the `Tensor` operation of the same name. Pooling windows see each
/// channel as a batch entry of one channel (``Window2D/pooling(_:kernel:stride:padding:)``).
public enum WindowOperation: Sendable, Hashable {
    /// Input [N, C, H, W] → output [N, positions, patch], zero outside the input.
    case im2col
    /// Input [N, positions, patch] → output [N, C, H, W], each element the sum of its patch entries.
    case col2im
    /// Input [N, C, H, W] → outputs: the maxima [N, C, oh, ow] and their flat input indices (`Int64`).
    case maxPool
    /// Inputs: the upstream gradient [N, C, oh, ow] and the winners' indices (`Int64`) → output [N, C, H, W].
    case maxPoolGradient
    /// Input [N, C, H, W] → output [N, C, oh, ow], the mean of each window (padding counts as zeros).
    case avgPool
    /// Input: the upstream gradient [N, C, oh, ow] → output [N, C, H, W].
    case avgPoolGradient
}

/// One operand of a device kernel: its memory, the offset of its first element, and its strides
/// (in elements) against the operation's shape, 0 along broadcast dimensions.
public struct DeviceOperand: @unchecked Sendable {
    // Unchecked: the storage is immutable while a kernel reads it (tensor buffers are written
    // only when uniquely owned).
    public let storage: any DeviceStorage
    public let offset: Int
    public let strides: [Int]

    public init(storage: any DeviceStorage, offset: Int, strides: [Int]) {
        self.storage = storage
        self.offset = offset
        self.strides = strides
    }
}

/// One matrix of a product: element (i, j) of batch b is at
/// `offset + b·batchStride + i·rowStride + j·columnStride`.
public struct DeviceMatrix: @unchecked Sendable {
    public let storage: any DeviceStorage
    public let offset: Int
    public let rowStride: Int
    public let columnStride: Int
    public let batchStride: Int

    public init(storage: any DeviceStorage, offset: Int, rowStride: Int, columnStride: Int, batchStride: Int) {
        self.storage = storage
        self.offset = offset
        self.rowStride = rowStride
        self.columnStride = columnStride
        self.batchStride = batchStride
    }
}

/// `batch` matrix products C[b] = A[b]·B[b] (+ C[b] when `accumulate`), A `m`×`k`, B `k`×`n`, C
/// `m`×`n` row-major and contiguous per batch.
public struct MatrixProduct: Sendable {
    public let batch: Int
    public let m: Int
    public let n: Int
    public let k: Int
    public let a: DeviceMatrix
    public let b: DeviceMatrix
    public let c: DeviceMatrix
    public let accumulate: Bool

    public init(batch: Int, m: Int, n: Int, k: Int, a: DeviceMatrix, b: DeviceMatrix, c: DeviceMatrix, accumulate: Bool) {
        self.batch = batch
        self.m = m
        self.n = n
        self.k = k
        self.a = a
        self.b = b
        self.c = c
        self.accumulate = accumulate
    }
}
