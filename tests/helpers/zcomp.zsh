#!/usr/bin/env zsh
# zcomp.zsh FPATH_DIR OUT LINE...: type each LINE and TAB into one interactive zsh on a pseudo-terminal
# that loads compinit with FPATH_DIR first in its fpath (compinit is slow: once for all lines). The
# matches the completion adds for the Nth LINE go to OUT.N, one a line. Exits non-zero when the shell
# does not get there.
zmodload zsh/zpty || exit 1
dir=$1 out=$2
shift 2
zpty z zsh -f -i || exit 1
zpty -w z "PS1=; PROMPT_EOL_MARK=; unsetopt beep; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' menu no; zstyle ':completion:*' list-prompt ''"
# What would be added, unless the caller only asks (-O, -A, -D put matches in an array instead).
zpty -w z "compadd() { if (( ! \${@[(I)-[OAD]*]} )); then local -a m; builtin compadd -O m \"\$@\"; print -rl -- \$m >>\$zcomp_out; fi; builtin compadd \"\$@\"; }"
# TAB completes, then says so in OUT.N.done: the next keys are typed only then, since completion
# gives up early when it sees keys waiting (a slow "memguard status" on a busy machine would lose).
zpty -w z "zcomp-tab() { zle complete-word; : >\$zcomp_out.done; }; zle -N zcomp-tab; bindkey '^I' zcomp-tab"
n=0
for line; do
        n=$((n + 1))
        : >"$out.$n"
        rm -f "$out.$n.done"
        zpty -w z "zcomp_out=${(q)out}.$n; print zcomp-ready-$n"
        zpty -r -m z _ "*zcomp-ready-$n*zcomp-ready-$n*" || exit 1
        zpty -w -n z "$line"$'\t'
        # zcomp.zsh runs under timeout(1): this wait has the caller's ceiling.
        while [[ ! -e $out.$n.done ]]; do
                sleep 0.05
        done
        rm -f "$out.$n.done"
        zpty -w z $'\C-u'"print zcomp-done-$n"
        zpty -r -m z _ "*zcomp-done-$n*zcomp-done-$n*" || exit 1
done
zpty -d z
