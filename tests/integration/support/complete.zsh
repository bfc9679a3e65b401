#!/bin/zsh -f
# Drives zsh's completion system without a terminal: an interactive `zsh -f` in a zpty runs
# compinit and sources SCRIPT; `compadd` is wrapped to print what it adds; LINE and a TAB are
# typed; the candidates are printed one per line once the output has been quiet for 1 s.
# usage: complete.zsh SCRIPT 'prose-compile build --'
zmodload zsh/zpty
script=${1:A}; line=$2
zpty z zsh -f -i
zpty -w z "PROMPT= ; RPROMPT= ; unsetopt zle_bracketed_paste 2>/dev/null"
zpty -w z "autoload -Uz compinit && compinit -u -D"
zpty -w z "source ${(q)script}"
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits; builtin compadd -A __hits "$@"; local ret=$?
  (( $#__hits )) || return $ret
  local i; for i in $__hits; do print -r -- "<<""HIT>>$i"; done
  builtin compadd -Q -U ""
}'
zpty -w z "print -r -- '<<READY>>'"
zpty -r z junk '*<<READY>>*'
zpty -n -w z "$line"$'\t'
integer tries=0 idle=0
local out chunk
while (( tries++ < 150 )); do
  if zpty -r -t z chunk; then out+=$chunk; idle=0; else (( idle++ )); sleep 0.1; fi
  [[ $out == *'<<HIT>>'* ]] && (( idle >= 10 )) && break
done
zpty -d z
out=${out//$'\r'/}
local -a hits; local rest=$out
while [[ $rest == *'<<HIT>>'* ]]; do rest=${rest#*<<HIT>>}; hits+=(${rest%%$'\n'*}); done
print -rl -- ${(u)hits}
