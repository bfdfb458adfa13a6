#!/usr/bin/env bash
# Measures the private Slurm cluster of tests/harness/slurm_cluster.h: start to idle, a 4-task
# job array from submission to the last task's end, and teardown (cancel, stop, remove), ROUNDS
# times, with the machine's load. Not a test; numbers go to deploy/slurm/README.md and the
# issue 15 note.
#
#   tests/slurm/measure_cluster.sh [BUILD_DIR] [ROUNDS]     (defaults: build/dev, 3)
set -euo pipefail

build="${1:-build/dev}"
rounds="${2:-3}"
harness="${build}/tests/harness/healthtwin-slurm-harness"
[[ -x "${harness}" ]] || { echo "measure_cluster.sh: ${harness} not built" >&2; exit 2; }
[[ "${rounds}" =~ ^[1-9][0-9]*$ ]] || { echo "measure_cluster.sh: ROUNDS must be a positive integer" >&2; exit 2; }

now() { date +%s%N; }
# Seconds since $1 (nanoseconds), two decimals.
since() {
  local ms=$((($(now) - $1) / 1000000))
  printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}

echo "load before: $(uptime)"
for round in $(seq "${rounds}"); do
  dir="/tmp/hts-measure-$$-${round}"
  t0="$(now)"
  conf="$("${harness}" start "${dir}")"
  up="$(since "${t0}")"
  export "${conf?}"

  t1="$(now)"
  job="$(sbatch --parsable --array=0-3 --output=/dev/null --wrap 'echo $SLURM_ARRAY_TASK_ID')"
  while [[ -n "$(squeue -h -j "${job}" -o %i)" ]]; do sleep 0.05; done
  array="$(since "${t1}")"
  states="$(squeue -h -t all -j "${job}" -o %T | sort | uniq -c | xargs)"

  t2="$(now)"
  "${harness}" stop "${dir}" --remove
  down="$(since "${t2}")"
  echo "round ${round}: start to idle ${up} s, 4-task array ${array} s (${states}), teardown ${down} s"
done
echo "load after: $(uptime)"
