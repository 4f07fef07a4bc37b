#!/bin/bash
# memguard run: exit codes passed through, exec failures, usage errors, --help and --version.
. "$(dirname "$0")/lib.sh"
require_binaries

# --- the job's own exit status --------------------------------------------------------------------
mg run -- true
check_rc "a job exiting 0 gives 0" 0

mg run -- sh -c 'exit 7'
check_rc "a job exiting 7 gives 7" 7

mg run sh -c 'exit 3'
check_rc "the command may follow the options without --" 3

mg run -- sh -c 'kill -9 $$'
check_rc "a job dying of SIGKILL gives 128+9 = 137" 137

mg run -- sh -c 'kill -TERM $$'
check_rc "a job dying of SIGTERM gives 128+15 = 143" 143

# --- the command cannot be run ---------------------------------------------------------------------
mg run -- mg-no-such-command-here
check_rc "a command that is not found gives 127" 127
check "... and stderr says 'command not found'" grep -q "command not found" "$MG_ERR" || mg_diag

printf '#!/bin/sh\nexit 0\n' >"$TEST_TMP/not-executable"
chmod 0644 "$TEST_TMP/not-executable"
mg run -- "$TEST_TMP/not-executable"
check_rc "a file that is not executable gives 126" 126

# --- usage errors: exit 2 and a message naming the option and the value --------------------------------
# usage_case OPTION VALUE: "memguard run OPTION VALUE -- true" is refused.
usage_case() {
        mg run "$1" "$2" -- true
        if [ "$MG_RC" = 2 ] && grep -qF -- "$1" "$MG_ERR" && grep -qF -- "'$2'" "$MG_ERR"; then
                ok "$1 '$2' is a usage error (2) naming the option and the value"
        else
                not_ok "$1 '$2' is a usage error (2) naming the option and the value"
                mg_diag
        fi
}
usage_case --max-memory garbage
usage_case --max-memory -5
usage_case --max-memory 0
usage_case --max-memory 99999999999T
usage_case --max-memory 12Q
usage_case --grace soon
usage_case --grace -1
usage_case --kill-threshold 0
usage_case --kill-threshold 1.5
usage_case --warn-at 2
usage_case --max-process-memory lots
usage_case --limit-exit-code 0
usage_case --limit-exit-code 256
usage_case --backend cgroup3

mg run --bogus-option -- true
if [ "$MG_RC" = 2 ] && grep -q -- "--bogus-option" "$MG_ERR"; then
        ok "an unknown option is a usage error (2) naming it"
else
        not_ok "an unknown option is a usage error (2) naming it"
        mg_diag
fi

mg run --max-memory 100
if [ "$MG_RC" = 2 ] && grep -q "no command" "$MG_ERR"; then
        ok "no command is a usage error (2) saying so"
else
        not_ok "no command is a usage error (2) saying so"
        mg_diag
fi

mg run --
check_rc "'run --' with nothing after it is a usage error (2)" 2

mg run
check_rc "'run' alone is a usage error (2)" 2

mg
check_rc "no verb at all is a usage error (2)" 2

mg no-such-verb
check_rc "an unknown verb is a usage error (2)" 2

# --- help and version ------------------------------------------------------------------------------------
mg run --help
check_rc "run --help exits 0" 0
check "... and its help (stdout) mentions --max-memory" grep -q -- "--max-memory" "$MG_OUT" || diag_file "$MG_OUT"

mg --help
check_rc "--help exits 0" 0
check "... and names the run verb" grep -q "run" "$MG_OUT" || diag_file "$MG_OUT"

mg --version
check_rc "--version exits 0" 0
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h" 2>/dev/null)
if [ -n "$version" ]; then
        check_eq "... and prints 'memguard $version' (config.h)" "memguard $version" "$(cat "$MG_OUT")"
else
        check "... and prints 'memguard VERSION'" grep -qE '^memguard [0-9]+\.[0-9]+' "$MG_OUT" || diag_file "$MG_OUT"
fi

# --- forcing a backend the host lacks ---------------------------------------------------------------------
if [ -z "$CG_V2" ]; then
        mg run --backend cgroup2 -- true
        if [ "$MG_RC" = 1 ] && grep -q "cgroup2" "$MG_ERR"; then
                ok "--backend cgroup2 without a cgroup2 mount fails (1) and says why"
        else
                not_ok "--backend cgroup2 without a cgroup2 mount fails (1) and says why"
                mg_diag
        fi
elif ! cg_v2_has_memory; then
        mg run --backend cgroup2 -- true
        if [ "$MG_RC" = 1 ] && grep -q "no memory controller" "$MG_ERR"; then
                ok "--backend cgroup2 where cgroup2 has no memory controller fails (1) saying 'no memory controller'"
        else
                not_ok "--backend cgroup2 where cgroup2 has no memory controller fails (1) saying 'no memory controller'"
                mg_diag
        fi
else
        skip "--backend cgroup2 fails clearly without a memory controller" "this host's cgroup2 has one"
fi
if [ -z "$CG_V1_MEM" ]; then
        mg run --backend cgroup1 -- true
        check_rc "--backend cgroup1 without a v1 memory hierarchy fails (1)" 1
else
        skip "--backend cgroup1 fails without a v1 memory hierarchy" "this host has one"
fi

check_no_cgroups_left
tap_done
