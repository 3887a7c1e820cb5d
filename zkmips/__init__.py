"""The `zkmips` command line: a thin layer over vm, prover and settlement."""
