import IOTensor

/// OpenCL C for every elementwise operation of the tensor layer, built once per element type.
///
/// One work item writes one output element. Operands carry their own strides against the
/// (collapsed) output shape, so that broadcasting, transposes and slices are read in place. The
/// common layouts — every operand contiguous or a single broadcast value — get programs of their
/// own (``OperandAccess``) whose loads are plain `p[i]` or `p[0]`, which compilers vectorize
/// (PoCL packs neighbouring work items into SIMD lanes); other layouts compute each operand's
/// offset from the index. Integer arithmetic wraps (it is done on the unsigned type), and integer
/// division by zero gives 0, as on the CPU.
enum ElementwiseSource {
    /// How a program reads its operands.
    enum OperandAccess: Hashable {
        /// Each operand is contiguous (`true`) or one broadcast value (`false`), in a rank-1 layout.
        case direct(contiguous: [Bool])
        /// Offsets computed from the layout's shape and strides.
        case strided

        /// The access for a collapsed layout.
        init(shape: [Int], strides: [[Int]]) {
            if shape.count == 1, strides.allSatisfy({ $0[0] == 0 || $0[0] == 1 }) {
                self = .direct(contiguous: (0..<3).map { strides[min($0, strides.count - 1)][0] == 1 })
            } else {
                self = .strided
            }
        }

        var macros: String {
            switch self {
            case .direct(let contiguous):
                let reads = contiguous.enumerated().map { operand, isContiguous in
                    "#define READ\(operand) p\(operand)[b\(operand)\(isContiguous ? " + i" : "")]"
                }
                return (["#define LOCATE"] + reads).joined(separator: "\n")
            case .strided:
                return [
                    "#define LOCATE long o0, o1, o2; locate(i, rank, &L, &o0, &o1, &o2);",
                    "#define READ0 p0[b0 + o0]", "#define READ1 p1[b1 + o1]", "#define READ2 p2[b2 + o2]",
                ].joined(separator: "\n")
            }
        }
    }

    /// The most dimensions a collapsed layout may have.
    static let maximumRank = 6

    /// The program for one element type (`float`, `double`, `int`, `long`, `uchar`).
    static func program(for dtype: DType, access: OperandAccess) -> String {
        let (type, unsigned, isFloat) = types(dtype)
        var source = """
            \(dtype == .float64 ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" : "")
            \(access.macros)
            #define T \(type)
            #define UT \(unsigned)
            #define MAXR \(maximumRank)
            typedef struct { long shape[MAXR]; long stride[3][MAXR]; } layout_t;

            // Offsets of the three operands for output element i.
            inline void locate(long i, int rank, const layout_t *L, long *o0, long *o1, long *o2) {
                if (rank == 1) {
                    *o0 = i * L->stride[0][0]; *o1 = i * L->stride[1][0]; *o2 = i * L->stride[2][0];
                    return;
                }
                long a = 0, b = 0, c = 0;
                for (int d = rank - 1; d >= 0; --d) {
                    long s = L->shape[d];
                    long p = i % s;
                    i /= s;
                    a += p * L->stride[0][d]; b += p * L->stride[1][d]; c += p * L->stride[2][d];
                }
                *o0 = a; *o1 = b; *o2 = c;
            }

            #define ELEMENTWISE(NAME, OUT, IN0, IN1, IN2, EXPR) \\
            __kernel void NAME(__global OUT *out, long n, int rank, layout_t L, \\
                               __global const IN0 *p0, long b0, __global const IN1 *p1, long b1, __global const IN2 *p2, long b2) { \\
                const long i = get_global_id(0); \\
                if (i >= n) return; \\
                LOCATE \\
                out[i] = (EXPR); \\
            }
            #define A READ0
            #define B READ1
            #define BINARY(NAME, EXPR) ELEMENTWISE(NAME, T, T, T, T, EXPR)
            #define COMPARE(NAME, EXPR) ELEMENTWISE(NAME, uchar, T, T, T, (uchar)(EXPR))
            #define UNARY(NAME, EXPR) ELEMENTWISE(NAME, T, T, T, T, EXPR)

            UNARY(ew_copy, A)
            BINARY(ew_add, (T)((UT)A + (UT)B))
            BINARY(ew_subtract, (T)((UT)A - (UT)B))
            BINARY(ew_multiply, (T)((UT)A * (UT)B))
            // NaN propagates through maximum and minimum.
            BINARY(ew_maximum, (A != A || A > B) ? A : B)
            BINARY(ew_minimum, (A != A || A < B) ? A : B)
            COMPARE(ew_equal, A == B)
            COMPARE(ew_notEqual, A != B)
            COMPARE(ew_less, A < B)
            COMPARE(ew_lessOrEqual, A <= B)
            COMPARE(ew_greater, A > B)
            COMPARE(ew_greaterOrEqual, A >= B)
            UNARY(ew_negate, (T)((UT)0 - (UT)A))
            UNARY(ew_absolute, A < (T)0 ? (T)((UT)0 - (UT)A) : A)
            UNARY(ew_relu, A < (T)0 ? (T)0 : A)
            UNARY(ew_square, (T)((UT)A * (UT)A))
            ELEMENTWISE(ew_select, T, uchar, T, T, READ0 ? READ1 : READ2)

            """
        if isFloat {
            source += """
                BINARY(ew_divide, A / B)
                BINARY(ew_power, pow(A, B))
                UNARY(ew_exp, exp(A))
                UNARY(ew_log, log(A))
                UNARY(ew_sqrt, sqrt(A))
                UNARY(ew_tanh, tanh(A))
                UNARY(ew_erf, erf(A))
                // 1 / (1 + e^-x) saturates to 0 for very negative x, never NaN.
                UNARY(ew_sigmoid, (T)1 / ((T)1 + exp(-A)))

                """
        } else {
            source += """
                // Division by zero gives 0; MIN / -1 wraps to MIN, as on the CPU.
                inline T divide(T a, T b) { return b == (T)0 ? (T)0 : (b == (T)-1 ? (T)((UT)0 - (UT)a) : a / b); }
                // Exponentiation by squaring with wrapping products; a negative exponent gives 0
                // unless the base is ±1.
                inline T power(T a, T b) {
                    if (b < (T)0) { return a == (T)1 ? (T)1 : (a == (T)-1 ? ((b & 1) == 0 ? (T)1 : a) : (T)0); }
                    UT result = 1, base = (UT)a;
                    for (T e = b; e > 0; e >>= 1) { if (e & 1) result *= base; base *= base; }
                    return (T)result;
                }
                BINARY(ew_divide, divide(A, B))
                BINARY(ew_power, power(A, B))

                """
        }
        return source
    }

    /// The kernel that computes `kernel`, or nil when the element type has none.
    static func name(of kernel: ElementwiseKernel, dtype: DType) -> String? {
        let isFloat = dtype == .float32 || dtype == .float64
        switch kernel {
        case .copy: return "ew_copy"
        case .select: return "ew_select"
        case .binary(let operation): return "ew_\(operation)"
        case .compare(let operation): return "ew_\(operation)"
        case .unary(let operation): return "ew_\(operation)"
        case .floatingUnary(let operation): return isFloat ? "ew_\(operation)" : nil
        }
    }

    /// OpenCL C names of `dtype`'s type and its unsigned twin (the float itself for floats).
    static func types(_ dtype: DType) -> (type: String, unsigned: String, isFloat: Bool) {
        switch dtype {
        case .bool, .uint8: ("uchar", "uchar", false)
        case .int32: ("int", "uint", false)
        case .int64: ("long", "ulong", false)
        case .float32: ("float", "float", true)
        case .float64: ("double", "double", true)
        }
    }
}
