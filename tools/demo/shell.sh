# Sourced by `make shell` in the guest: the module, the tools on PATH, the
# demo's workload in the background and iommutop's interactive screen.
insmod "${NEST_MODULE:-kernel/nestiommu.ko}"
export PATH="$PWD/build/tools:$PWD/build/selftests:$PATH"
. tools/demo/mix.sh
# shellcheck disable=SC2086 # the mix is words
nestload --duration 3600 $NESTLOAD_DEMO_MIX -q >/tmp/nestload.out 2>&1 &
echo "nestload runs for an hour in the background (kill %1 stops it, its summary"
echo "goes to /tmp/nestload.out); iommutop starts now: h for help, q to quit."
sleep 1
iommutop
echo "Back in the guest shell: iommutop (TUI), nestload --help, perf, bpftrace;"
echo "exit (or poweroff) ends the guest."
