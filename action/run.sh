#!/usr/bin/env bash
# The Action's one step, runnable by hand as well: the suite with the Action's inputs (ACTION_* variables).
# Keys stay in SPIDRA_API_KEY / SPIDRA_OTHER_API_KEY, read by the suite itself; nothing here prints them.
set -uo pipefail

report_dir="${ACTION_REPORT_DIR:-spidra-reports}"
args=("--report-dir=${report_dir}" "--profile=${ACTION_PROFILE:-ci}")
if [ -n "${ACTION_BASE_URL:-}" ]; then
    args+=("--base-url=${ACTION_BASE_URL}")
fi
job_ids="${ACTION_JOB_IDS:-}"
for job_id in ${job_ids//,/ }; do
    args+=("--job-id=${job_id}")
done
if [ -n "${ACTION_JOB_IDS_FILE:-}" ]; then
    if [ -f "${ACTION_JOB_IDS_FILE}" ]; then
        args+=("--job-ids-file=${ACTION_JOB_IDS_FILE}")
    else
        echo "::notice::spidra-contract: no job ids file at ${ACTION_JOB_IDS_FILE}: the corpus sweep is skipped"
    fi
fi
record=""
if [ -n "${ACTION_BASELINE:-}" ]; then
    if [ -f "${ACTION_BASELINE}" ]; then
        args+=("--baseline=${ACTION_BASELINE}")
    else
        record="${ACTION_BASELINE}"
        echo "::notice::spidra-contract: no baseline at ${ACTION_BASELINE} yet: this run records one there"
    fi
fi
# Extra arguments are split as a shell would (quotes kept: -k "doors or auth" is two words), by Python's shlex.
extra=()
if [ -n "${ACTION_EXTRA_ARGS:-}" ]; then
    split='import shlex, sys; sys.stdout.write("".join(word + "\0" for word in shlex.split(sys.argv[1])))'
    if ! python -c "${split}" "${ACTION_EXTRA_ARGS}" >/dev/null 2>&1; then
        echo "::error::spidra-contract: extra-args does not split as a command line: ${ACTION_EXTRA_ARGS}"
        exit 4
    fi
    mapfile -d '' -t extra < <(python -c "${split}" "${ACTION_EXTRA_ARGS}")
fi

if [ -n "${ACTION_CANDIDATE_URL:-}" ]; then
    # Pre-release: production (base-url) and the candidate side by side; the keys stay in the environment.
    compare=("--base-url=${ACTION_BASE_URL:?candidate-url needs base-url (production)}"
        "--candidate-url=${ACTION_CANDIDATE_URL}" "--report-dir=${report_dir}")
    for job_id in ${job_ids//,/ }; do
        compare+=("--job-id=${job_id}")
    done
    candidate_ids="${ACTION_CANDIDATE_JOB_IDS:-}"
    for job_id in ${candidate_ids//,/ }; do
        compare+=("--candidate-job-id=${job_id}")
    done
    same=()
    rest=()
    for word in "${extra[@]}"; do
        if [ "${word}" = "--same-accounts" ]; then same=("--same-accounts"); else rest+=("${word}"); fi
    done
    spidra-contract compare "${compare[@]}" "${same[@]}" -- "--profile=${ACTION_PROFILE:-ci}" "${rest[@]}"
    code=$?
    headline="$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["headline"])' \
        "${report_dir}/comparison.json" 2>/dev/null || echo "no comparison")"
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "${report_dir}/comparison.md" ]; then
        cat "${report_dir}/comparison.md" >> "${GITHUB_STEP_SUMMARY}"
    fi
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        echo "exit-code=${code}" >> "${GITHUB_OUTPUT}"
        echo "verdict=${headline}" >> "${GITHUB_OUTPUT}"
    fi
    echo "spidra-contract compare: ${headline} (exit ${code})"
    exit "${code}"
fi

spidra-contract run "${args[@]}" -- "${extra[@]}"
code=$?

summary="${report_dir}/summary.json"
if [ -n "${record}" ] && { [ "${code}" -eq 0 ] || [ "${code}" -eq 1 ]; } && [ -f "${summary}" ]; then
    spidra-contract baseline update --from "${summary}" "${record}"
fi
verdict="$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"])' "${summary}" 2>/dev/null || echo "no report")"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "exit-code=${code}" >> "${GITHUB_OUTPUT}"
    echo "verdict=${verdict}" >> "${GITHUB_OUTPUT}"
fi
echo "spidra-contract: ${verdict} (exit ${code})"
exit "${code}"
