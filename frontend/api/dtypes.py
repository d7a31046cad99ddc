"""`tf.dtypes`: the DType objects under TF's names, plus as_dtype / cast / saturate_cast."""
from fuseflow.compiler.dtypes import (DType, as_dtype, bool_ as bool, float16, float32, float64, int8, int16,
                                      int32, int64, string, uint8, uint16, uint32, uint64)

from ..math_ops import cast, saturate_cast

half = float16
double = float64
