#!/usr/bin/env bash
# Every option --help lists is documented in the man page: memguard run's and memguardd's each as an
# item of the page's OPTIONS list, memguard's own and the other verbs' anywhere in memguard(1) (the
# synopsis, a verb's heading or an item). An option added to a program and not to its page fails here.
. "$(dirname "$0")/lib.sh"

MEMGUARDD=${MEMGUARDD:-$top_builddir/daemon/memguardd}
MAN1=$top_srcdir/docs/memguard.1
MAN8=$top_srcdir/docs/memguardd.8
[ -x "$MEMGUARD" ] || skip_all "memguard is not built ($MEMGUARD)"
[ -x "$MEMGUARDD" ] || skip_all "memguardd is not built ($MEMGUARDD)"

# help_options COMMAND...: the options the help lists at the start of a line ("  -m, --max-memory
# SIZE", "      --dry-run"), one a line.
help_options() {
        "$@" --help | grep -oE '^ {2,}(-[a-zA-Z], )?--[a-z][a-z0-9-]*' | tr ',' '\n' | tr -d ' ' | sed '/^$/d' | sort -u
}
# man_options FILE [SECTION]: the options the mdoc page names with Fl on its macro lines; with
# SECTION, only on the .It lines of that .Sh section. "Fl m" is -m, "Fl \-grace" is --grace, and
# "Fl \-help | \-version" names both.
man_options() {
        awk -v sec="$2" '
                /^\.Sh / { in_sec = (sec == "" || $0 == ".Sh " sec); next }
                !in_sec || !/^\./ { next }
                sec != "" && !/^\.It / { next }
                { print }' "$1" |
                grep -oE '(Fl|\|) (\\-[a-z][a-z0-9-]*|[a-zA-Z]( |$))' |
                sed -E 's/^(Fl|\|) //; s/ $//; s/^\\-/--/; s/^([a-zA-Z])$/-\1/' | sort -u
}
# check_documented DESCRIPTION HELP_OPTIONS MAN_OPTIONS: every option of the help is in the page.
check_documented() {
        local missing
        missing=$(comm -23 <(echo "$2") <(echo "$3") | tr '\n' ' ')
        if [ -n "$2" ] && [ -z "$missing" ]; then
                ok "$1"
        else
                not_ok "$1"
                diag "in --help but not in the page: ${missing:-(the help listed nothing)}"
        fi
}

man1_all=$(man_options "$MAN1")
check_documented "memguard(1) documents memguard --help's options" "$(help_options "$MEMGUARD")" "$man1_all"
check_documented "memguard(1) OPTIONS has an item for every option of memguard run --help" \
        "$(help_options "$MEMGUARD" run)" "$(man_options "$MAN1" OPTIONS)"
for v in $("$MEMGUARD" --help | awk '/^Verbs:/ { on = 1; next } on && /^$/ { exit } on && $1 != "run" { print $1 }'); do
        check_documented "memguard(1) documents memguard $v --help's options" "$(help_options "$MEMGUARD" "$v")" "$man1_all"
done
check_documented "memguardd(8) OPTIONS has an item for every option of memguardd --help" \
        "$(help_options "$MEMGUARDD")" "$(man_options "$MAN8" OPTIONS)"
# The page parser itself: it finds what the pages certainly have, short and long.
check "the page parser finds -m and --max-memory in memguard(1) OPTIONS, -f and --config in memguardd(8)" \
        sh -c 'echo "$0" | grep -qx -- -m && echo "$0" | grep -qx -- --max-memory &&
               echo "$1" | grep -qx -- -f && echo "$1" | grep -qx -- --config' \
        "$(man_options "$MAN1" OPTIONS)" "$(man_options "$MAN8" OPTIONS)"
tap_done
