import IOTensor

/// OpenCL C for the fused optimizer updates (``ParameterUpdate``): one work item per element
/// reads the parameter, its gradient and the states once and writes the new parameter and new
/// states once, the same arithmetic as the CPU loops, in the same order.
///
/// Every kernel takes the same buffers — parameter, gradient, two states (each with its offset),
/// then three outputs — so that one launch path serves them all; a state or output the update
/// lacks is passed as a repeat of the first and never touched.
enum UpdateSource {
    static func program(for dtype: DType) -> String {
        let type = dtype == .float64 ? "double" : "float"
        return """
            \(dtype == .float64 ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" : "")
            #define T \(type)
            #define BUFFERS long count, \\
                __global const T *theta, long thetaOffset, __global const T *gradient, long gradientOffset, \\
                __global const T *first, long firstOffset, __global const T *second, long secondOffset, \\
                __global T *newTheta, __global T *newFirst, __global T *newSecond

            __kernel void sgd(BUFFERS, T rate, T momentum, T nesterov, T decay) {
                const long i = get_global_id(0);
                if (i >= count) return;
                const T t = theta[thetaOffset + i];
                const T step = gradient[gradientOffset + i] + decay * t;
                if (momentum != 0) {
                    const T v = momentum * first[firstOffset + i] + step;
                    newFirst[i] = v;
                    newTheta[i] = t - rate * (nesterov != 0 ? step + momentum * v : v);
                } else {
                    newTheta[i] = t - rate * step;
                }
            }

            __kernel void adam(BUFFERS, T beta1, T beta2, T stepSize, T root2, T epsilon, T decay, T decoupledDecay) {
                const long i = get_global_id(0);
                if (i >= count) return;
                T t = theta[thetaOffset + i];
                t -= decoupledDecay * t;
                const T step = gradient[gradientOffset + i] + decay * t;
                const T m = beta1 * first[firstOffset + i] + (1 - beta1) * step;
                const T v = beta2 * second[secondOffset + i] + (1 - beta2) * step * step;
                newFirst[i] = m;
                newSecond[i] = v;
                newTheta[i] = t - stepSize * m / ((sqrt(v) / root2) + epsilon);
            }

            __kernel void rms_prop(BUFFERS, T rate, T alpha, T epsilon, T decay, T momentum) {
                const long i = get_global_id(0);
                if (i >= count) return;
                const T t = theta[thetaOffset + i];
                const T step = gradient[gradientOffset + i] + decay * t;
                const T s = alpha * first[firstOffset + i] + (1 - alpha) * step * step;
                newFirst[i] = s;
                T update = step / (sqrt(s) + epsilon);
                if (momentum != 0) {
                    update = momentum * second[secondOffset + i] + update;
                    newSecond[i] = update;
                }
                newTheta[i] = t - rate * update;
            }
            """
    }

    /// The kernel of `update` and its scalar arguments, in order.
    static func kernel(_ update: ParameterUpdate) -> (name: String, hyperparameters: [Double]) {
        switch update {
        case .sgd(let rate, let momentum, let nesterov, let decay):
            ("sgd", [rate, momentum, nesterov ? 1 : 0, decay])
        case .adam(let beta1, let beta2, let stepSize, let root2, let epsilon, let decay, let decoupledDecay):
            ("adam", [beta1, beta2, stepSize, root2, epsilon, decay, decoupledDecay])
        case .rmsProp(let rate, let alpha, let epsilon, let decay, let momentum):
            ("rms_prop", [rate, alpha, epsilon, decay, momentum])
        }
    }
}
