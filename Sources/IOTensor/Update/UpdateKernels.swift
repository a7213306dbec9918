// The CPU loops of the fused optimizer updates (see `ParameterUpdate`): one in-place pass per
// parameter, compiled for Float and Double, so that a step costs one read of the gradient and one
// read-modify-write of the weights and of each state buffer, with no temporary tensors.

enum UpdateKernels {
    @inline(__always)
    static func sgd<T: BinaryFloatingPoint>(
        _ theta: UnsafeMutableBufferPointer<T>, _ gradient: UnsafeBufferPointer<T>, velocity: UnsafeMutablePointer<T>?,
        rate: T, momentum: T, nesterov: Bool, decay: T
    ) {
        guard let t = theta.baseAddress, let g = gradient.baseAddress else { return }
        if let v = velocity {
            for i in 0..<theta.count {
                let step = g[i] + decay * t[i]
                v[i] = momentum * v[i] + step
                t[i] -= rate * (nesterov ? step + momentum * v[i] : v[i])
            }
        } else {
            for i in 0..<theta.count { t[i] -= rate * (g[i] + decay * t[i]) }
        }
    }
}

extension UpdateKernels {
    /// Adam/AdamW: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − stepSize·m/(√v/√c₂ + ε).
    @inline(__always)
    static func adam<T: BinaryFloatingPoint>(
        _ theta: UnsafeMutableBufferPointer<T>, _ gradient: UnsafeBufferPointer<T>, _ m: UnsafeMutablePointer<T>,
        _ v: UnsafeMutablePointer<T>,
        beta1: T, beta2: T, stepSize: T, root2: T, epsilon: T, decay: T, decoupledDecay: T
    ) {
        guard let t = theta.baseAddress, let g = gradient.baseAddress else { return }
        for i in 0..<theta.count {
            t[i] -= decoupledDecay * t[i]
            let step = g[i] + decay * t[i]
            m[i] = beta1 * m[i] + (1 - beta1) * step
            v[i] = beta2 * v[i] + (1 - beta2) * step * step
            t[i] -= stepSize * m[i] / ((v[i].squareRoot() / root2) + epsilon)
        }
    }

    /// RMSProp: s ← αs + (1−α)g²; u = g/(√s + ε); with momentum v ← μv + u and θ ← θ − ηv, else θ ← θ − ηu.
    @inline(__always)
    static func rmsProp<T: BinaryFloatingPoint>(
        _ theta: UnsafeMutableBufferPointer<T>, _ gradient: UnsafeBufferPointer<T>, _ s: UnsafeMutablePointer<T>,
        _ velocity: UnsafeMutablePointer<T>?, rate: T, alpha: T, epsilon: T, decay: T, momentum: T
    ) {
        guard let t = theta.baseAddress, let g = gradient.baseAddress else { return }
        for i in 0..<theta.count {
            let step = g[i] + decay * t[i]
            s[i] = alpha * s[i] + (1 - alpha) * step * step
            var update = step / (s[i].squareRoot() + epsilon)
            if let v = velocity {
                v[i] = momentum * v[i] + update
                update = v[i]
            }
            t[i] -= rate * update
        }
    }
}
