"""Matrix-free curvature, gradient, RSC and NTK kernels (DESIGN sections 2-3)."""
