"""Map matching: a hidden-Markov-model matcher (Newson & Krumm) with numba kernels.

Modules: `index` (network arrays and segment grid), `candidates` (road positions near fixes),
`transitions` (bounded route distances), `viterbi` (the lattice), `screening` (fix reason
codes), `result` (result types), `matcher` (batch API), `online` (fixed-lag online API).
"""
