#!/usr/bin/env bash
# Makes AgentLine's voice prompts and music on hold (run as `npm run prompts`).
#
# Input:  prompts/scripts/prompts.tsv — id<TAB>ru<TAB>en, wording from SPEC §11.
# Output: prompts/ru/<id>.wav, prompts/en/<id>.wav, prompts/moh.wav, prompts/manifest.json.
#
# Every file is WAV, G.711 μ-law, 8000 Hz, mono. Speech: espeak-ng (150 words/min),
# leading/trailing silence trimmed to 50 ms, peak normalised to -3 dBFS.
# Deterministic: no dither (sox -D), no random effects — the same espeak-ng/sox
# versions give the same bytes (checked with espeak-ng 1.51, sox 14.4.2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)" # prompts/
table="$here/prompts.tsv"

for tool in espeak-ng sox node; do
  command -v "$tool" >/dev/null || { echo "make-prompts: $tool is not installed" >&2; exit 1; }
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The μ-law output format and the speech clean-up chain.
ULAW=(-t wav -e u-law -b 8 -c 1 -r 8000)
TRIM=(silence 1 0.02 -45d reverse silence 1 0.02 -45d reverse)

speak() { # lang voice id text
  local lang="$1" voice="$2" id="$3" text="$4"
  espeak-ng -v "$voice" -s 150 --stdout "$text" >"$tmp/raw.wav"
  sox -D "$tmp/raw.wav" "${ULAW[@]}" "$root/$lang/$id.wav" \
    "${TRIM[@]}" gain -6 rate -h 8000 gain -n -3 pad 0.05 0.05
}

mkdir -p "$root/ru" "$root/en"
count=0
while IFS=$'\t' read -r id ru en; do
  [[ -z "$id" || "$id" == \#* ]] && continue
  [[ -n "$ru" && -n "$en" ]] || { echo "make-prompts: $id lacks a text" >&2; exit 1; }
  speak ru ru "$id" "$ru"
  speak en en "$id" "$en"
  count=$((count + 1))
done <"$table"

# Music on hold: four soft chords (C, Am, F, G; 5 s each, bass an octave below),
# each faded in and out so the 20 s loop has no click, then a light reverb.
chord() { # file, then four frequencies
  local out="$1"; shift
  sox -D -r 8000 -c 4 -n -b 16 -e signed-integer "$out" \
    synth 5 sine "$1" sine "$2" sine "$3" sine "$4" remix - fade q 0.8 5 1.2
}
chord "$tmp/c1.wav" 130.81 261.63 329.63 392.00
chord "$tmp/c2.wav" 110.00 220.00 261.63 329.63
chord "$tmp/c3.wav" 87.31 174.61 220.00 261.63
chord "$tmp/c4.wav" 98.00 196.00 246.94 293.66
sox -D "$tmp/c1.wav" "$tmp/c2.wav" "$tmp/c3.wav" "$tmp/c4.wav" "${ULAW[@]}" "$root/moh.wav" \
  gain -10 reverb 30 gain -n -8

# manifest.json: { "ru": { id: text }, "en": { id: text } } in table order.
node -e '
  const fs = require("node:fs");
  const rows = fs.readFileSync(process.argv[1], "utf8").split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#")).map((l) => l.split("\t"));
  const out = { ru: {}, en: {} };
  for (const [id, ru, en] of rows) { out.ru[id] = ru; out.en[id] = en; }
  fs.writeFileSync(process.argv[2], JSON.stringify(out, null, 2) + "\n");
' "$table" "$root/manifest.json"

echo "make-prompts: $count prompts × 2 languages + moh.wav → $root"
