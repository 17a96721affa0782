# The workload `make demo` and `make shell` run (sourced): two PRI devices x
# four PASIDs on two threads, a working set of 384 pages over a 256-entry
# IOTLB (hits and misses),
# 5 % of stage-1 pages missing until a page request maps them (refaulted
# every 2000 DMAs), a stage-1 change with its invalidation every 500 DMAs
# and an IOAS map/unmap every 1000.
NESTLOAD_DEMO_MIX="--devices 2 --pasids 4 --threads 2 --pattern random \
--working-set 48 --iotlb-entries 256 --fault-pct 5 --refault-every 2000 \
--s1-change-every 500 --churn-every 1000 --pri-timeout-ms 5000"
