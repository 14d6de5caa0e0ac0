"""The airspeed velocity (asv) suite of rscbench: kernel speed and memory, and the science.

asv imports every module of this folder (it is the ``benchmark_dir`` of ../../asv.conf.json), so
the folder holds only asv benchmarks and the frozen fixtures they share:

* ``fixtures``: frozen, seeded problems and task specs, only ever appended to; the quick subset
  runs by default and the full grid with ``RSCBENCH_BENCH_FULL=1``.
* ``kernels``: ``time_`` and ``peakmem_`` benchmarks of one HVP, Lanczos, the per-probe Hessian
  norms, the NTK Gram matrix and one GD step across widths, on the CPU.
* ``kernels_cuda``: the same kernels on a CUDA device, timed with synchronisation and with their
  device memory tracked; skipped, with the reason, where no CUDA device is present.
* ``science``: ``track_`` benchmarks of what the suite measures, each in a lower-is-better form.
"""
