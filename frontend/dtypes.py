"""`tf.float32` & co.: the DType objects of fuseflow.compiler.dtypes under TF's public names."""
from fuseflow.compiler.dtypes import (DType, as_dtype, bool_, float16, float32, float64, int8, int16,  # noqa: F401
                                      int32, int64, string, uint8, uint16, uint32, uint64)

half = float16
double = float64
bool = bool_  # noqa: A001 - TF's name

__all__ = ["DType", "as_dtype", "float16", "half", "float32", "float64", "double", "int8", "int16", "int32",
           "int64", "uint8", "uint16", "uint32", "uint64", "bool", "string"]
