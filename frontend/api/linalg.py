"""`tf.linalg` (the parts expressible with fuseflow's ops)."""
from ..array_ops import (eye, matrix_band_part as band_part, matrix_diag as diag, matrix_diag_part as diag_part,
                         matrix_transpose, trace)
from ..math_ops import matmul, norm, tensordot
from ..nn_ops import l2_normalize

adjoint = matrix_transpose
from ..math_ops import einsum
from .extra_ops import matrix_determinant as det, matrix_inverse as inv, matrix_solve as solve
