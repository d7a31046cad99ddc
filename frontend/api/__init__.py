"""TF's op namespaces (`tf.math`, `tf.nn`, `tf.random`, `tf.strings`, `tf.image`, `tf.linalg`,
`tf.dtypes`) as modules re-exporting the op functions; `*_v1` modules are the `tf.compat.v1`
variants (TF1 signatures: `reduction_indices=`, `keep_dims=`, `keep_prob=`, `dim=`, ...).
"""
