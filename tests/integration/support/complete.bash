#!/bin/bash
# Drives bash's programmable completion without a terminal: sources SCRIPT, sets up the
# COMP_* variables for LINE (the cursor at its end), calls the function `complete -p`
# registered for the command, and prints COMPREPLY, one candidate per line.
# usage: complete.bash SCRIPT 'prose-compile build --'
set -u
source "$1"
line="$2"
read -ra COMP_WORDS <<< "$line"
[[ "$line" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$line"
COMP_POINT=${#line}
spec=$(complete -p "${COMP_WORDS[0]}") || exit 3
fn=$(sed -E 's/.*-F ([^ ]+).*/\1/' <<< "$spec")
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
