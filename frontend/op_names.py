"""TF's default op names (CamelCase op types), so `tf.add(a, b)` is named `Add` as in TF."""

_NAMES = {
    "add": "Add", "sub": "Sub", "mul": "Mul", "div": "RealDiv", "floordiv": "FloorDiv", "mod": "FloorMod",
    "pow": "Pow", "maximum": "Maximum", "minimum": "Minimum", "squared_difference": "SquaredDifference",
    "neg": "Neg", "abs": "Abs", "sign": "Sign", "exp": "Exp", "expm1": "Expm1", "log": "Log", "log1p": "Log1p",
    "sqrt": "Sqrt", "rsqrt": "Rsqrt", "square": "Square", "reciprocal": "Reciprocal", "sin": "Sin", "cos": "Cos",
    "tanh": "Tanh", "sigmoid": "Sigmoid", "erf": "Erf", "floor": "Floor", "ceil": "Ceil", "round": "Round",
    "relu": "Relu", "relu6": "Relu6", "elu": "Elu", "selu": "Selu", "leaky_relu": "LeakyRelu",
    "softplus": "Softplus", "softsign": "Softsign", "equal": "Equal", "not_equal": "NotEqual", "less": "Less",
    "less_equal": "LessEqual", "greater": "Greater", "greater_equal": "GreaterEqual",
    "logical_and": "LogicalAnd", "logical_or": "LogicalOr", "logical_not": "LogicalNot",
    "logical_xor": "LogicalXor", "select": "SelectV2", "cast": "Cast", "reduce_sum": "Sum",
    "reduce_mean": "Mean", "reduce_max": "Max", "reduce_min": "Min", "reduce_prod": "Prod",
    "reduce_any": "Any", "reduce_all": "All", "argmax": "ArgMax", "argmin": "ArgMin", "matmul": "MatMul",
    "reshape": "Reshape", "transpose": "Transpose", "broadcast_to": "BroadcastTo", "constant": "Const",
    "placeholder": "Placeholder", "identity": "Identity", "no_op": "NoOp", "concat": "ConcatV2",
    "stack": "Pack", "unstack": "Unpack", "split": "Split", "slice": "Slice", "strided_slice": "StridedSlice",
    "pad": "Pad", "tile": "Tile", "gather": "GatherV2", "one_hot": "OneHot", "range": "Range", "fill": "Fill",
    "softmax": "Softmax", "log_softmax": "LogSoftmax", "expand_dims": "ExpandDims", "squeeze": "Squeeze",
    "is_nan": "IsNan", "is_inf": "IsInf", "is_finite": "IsFinite", "atan2": "Atan2", "size": "Size",
    "stop_gradient": "StopGradient", "shape": "Shape", "reduce_logsumexp": "ReduceLogSumExp",
    "conv2d": "Conv2D", "max_pool": "MaxPool", "avg_pool": "AvgPool", "bias_add": "BiasAdd",
}


def default_op_name(op_type: str) -> str:
    if op_type in _NAMES:
        return _NAMES[op_type]
    return "".join(part.capitalize() for part in op_type.split("_"))
