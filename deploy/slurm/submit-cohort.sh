#!/usr/bin/env bash
# Submits a virtual cohort to Slurm as a job array of N shards and a merge job that runs only
# when every shard succeeded (issue 15; README.md beside this script).
#
#   submit-cohort.sh SPEC N [--out DIR] [--csv FILE] [--healthtwin BIN] [--partition P] [--time T] [--resume]
#
# Prints ARRAY_JOB=<id>, MERGE_JOB=<id> and OUT=<dir> on stdout (eval-able). The merge depends
# on the array with afterok and --kill-on-invalid-dep=yes, so a failed shard makes Slurm cancel
# the merge instead of leaving it pending forever. Exit codes: 0 submitted, 1 sbatch failed
# (nothing is left queued), 2 bad arguments.
set -euo pipefail

readonly PROG="${0##*/}"
readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<USAGE
usage: ${PROG} SPEC N [options]

Runs 'healthtwin sim cohort --spec SPEC --shard I/N' for I = 0..N-1 as one Slurm job array,
then 'healthtwin sim merge' over the parts once every shard has succeeded.

  SPEC               cohort spec JSON (docs/simulation-specs.md)
  N                  number of shards, a positive integer
  --out DIR          parts, logs, summary.json (default: ./cohort-<spec name>-<N>); created;
                     must not already hold part-*.json files
  --csv FILE         the merged per-patient CSV (default: DIR/per_patient.csv)
  --healthtwin BIN   the healthtwin binary the jobs run (default: healthtwin on PATH)
  --partition P      Slurm partition for both jobs (default: the cluster's default)
  --time T           time limit of each shard and of the merge, as sbatch --time takes it
  --resume           DIR holds the parts of an earlier run of SPEC and N: submit only the shards
                     whose part-I.json is missing (after a failed shard), then the merge
  -h, --help         this help

Output files: DIR/part-I.json (shard I), DIR/summary.json (the merge's --json output),
DIR/logs/shard-I.out and DIR/logs/merge.err (stderr of the jobs).
USAGE
}

die_usage() {
  echo "${PROG}: $*" >&2
  echo "Try '${PROG} --help'." >&2
  exit 2
}

die() {
  echo "${PROG}: error: $*" >&2
  exit 1
}

positional=()
out="" csv="" bin="" partition="" time_limit="" resume=0
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --resume) resume=1; shift ;;
    --out | --csv | --healthtwin | --partition | --time)
      (($# >= 2)) && [[ -n "$2" ]] || die_usage "option $1 needs a value"
      case "$1" in
        --out) out="$2" ;;
        --csv) csv="$2" ;;
        --healthtwin) bin="$2" ;;
        --partition) partition="$2" ;;
        --time) time_limit="$2" ;;
      esac
      shift 2 ;;
    --) shift; positional+=("$@"); break ;;
    -*) die_usage "unknown option '$1'" ;;
    *) positional+=("$1"); shift ;;
  esac
done

((${#positional[@]} == 2)) || die_usage "expected SPEC and N, got ${#positional[@]} arguments"
spec="${positional[0]}" n="${positional[1]}"
[[ -f "${spec}" && -r "${spec}" ]] || die_usage "SPEC '${spec}' is not a readable file"
[[ "${n}" =~ ^[1-9][0-9]{0,5}$ ]] || die_usage "N must be a positive integer, got '${n}'"

if [[ -z "${bin}" ]]; then
  bin="$(command -v healthtwin || true)"
  [[ -n "${bin}" ]] || die_usage "healthtwin is not on PATH; name it with --healthtwin BIN"
fi
[[ -f "${bin}" && -x "${bin}" ]] || die_usage "--healthtwin '${bin}' is not an executable file"
command -v sbatch >/dev/null || die "sbatch not found on PATH (Debian package slurm-client)"

spec="$(realpath -- "${spec}")"
bin="$(realpath -- "${bin}")"
[[ -n "${out}" ]] || out="cohort-$(basename "${spec}" .json)-${n}"
out="$(realpath -m -- "${out}")"
[[ ! -e "${out}" || -d "${out}" ]] || die_usage "--out '${out}' exists and is not a directory"
# The array's indices: all, or with --resume those whose part is missing.
indices="0-$((n - 1))"
if ((resume)); then
  [[ -d "${out}" ]] || die_usage "--resume: --out '${out}' is not a directory"
  missing=()
  for ((i = 0; i < n; i++)); do [[ -f "${out}/part-${i}.json" ]] || missing+=("${i}"); done
  indices="$(IFS=,; echo "${missing[*]}")"
else
  shopt -s nullglob
  stale=("${out}"/part-*.json)
  shopt -u nullglob
  ((${#stale[@]} == 0)) || die_usage "--out '${out}' already holds ${#stale[@]} part-*.json files; the merge would mix runs (--resume reuses them)"
fi
if [[ -n "${csv}" ]]; then
  csv="$(realpath -m -- "${csv}")"
  [[ -d "$(dirname "${csv}")" ]] || die_usage "--csv '${csv}': directory $(dirname "${csv}") does not exist"
else
  csv="${out}/per_patient.csv"
fi
mkdir -p "${out}/logs" || die "cannot create ${out}/logs"

common=(--parsable "--export=ALL,HEALTHTWIN=${bin}")
[[ -z "${partition}" ]] || common+=("--partition=${partition}")
[[ -z "${time_limit}" ]] || common+=("--time=${time_limit}")

# sbatch --parsable prints "<id>" or "<id>;<cluster>". A resumed run with every part present
# submits only the merge.
array_job="" after=()
if [[ -n "${indices}" ]]; then
  if ! array_out="$(sbatch "${common[@]}" "--array=${indices}" --job-name=healthtwin-cohort \
    "--output=${out}/logs/shard-%a.out" "${HERE}/cohort.sbatch" "${spec}" "${n}" "${out}")"; then
    die "sbatch of the shard array failed"
  fi
  array_job="${array_out%%;*}"
  after=("--dependency=afterok:${array_job}" --kill-on-invalid-dep=yes)
fi

if ! merge_out="$(sbatch "${common[@]}" "${after[@]}" \
  --job-name=healthtwin-cohort-merge "--output=${out}/summary.json" "--error=${out}/logs/merge.err" \
  "${HERE}/merge.sbatch" "${out}" "${csv}")"; then
  [[ -z "${array_job}" ]] || scancel "${array_job}" || true
  die "sbatch of the merge failed; cancelled the shard array ${array_job:-(none)}"
fi
merge_job="${merge_out%%;*}"

echo "ARRAY_JOB=${array_job}"
echo "MERGE_JOB=${merge_job}"
echo "OUT=${out}"
