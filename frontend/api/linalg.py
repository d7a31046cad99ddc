"""`tf.linalg` (the parts expressible with fuseflow's ops)."""
from ..array_ops import (eye, matrix_band_part as band_part, matrix_diag as diag, matrix_diag_part as diag_part,
                         matrix_transpose, trace)
from ..math_ops import matmul, norm, tensordot
from ..nn_ops import l2_normalize

adjoint = matrix_transpose
from .extra_ops import einsum
from .extra_ops import matrix_determinant as det, matrix_inverse as inv, matrix_solve as solve


def matvec(a, b, transpose_a=False, adjoint_a=False, a_is_sparse=False, b_is_sparse=False, name=None):
    """a @ b for a (batch of) matrix a and vector b."""
    from ..array_ops import expand_dims, squeeze
    prod = matmul(a, expand_dims(b, -1), transpose_a=transpose_a or adjoint_a)
    return squeeze(prod, [-1])
from .extra_ops import cross  # noqa: E402
from ..math_ops import global_norm  # noqa: E402
from .extra_ops import cholesky, eigh, eigvalsh, logdet, normalize, pinv, qr, slogdet, svd  # noqa: E402
