#!/usr/bin/env bash
# Fuzzes the config and profile loaders (toml++ through CTOML, the depth scan, the tree conversion,
# the loaders' checks) with libFuzzer and AddressSanitizer, for SECONDS (default 45).
#   Tests/fuzz/run.sh [SECONDS]
# Builds its own instrumented copy of CShim, CTOML, WaystationProtocol and WaystationCore with swiftc
# and clang into .build/fuzz (no SwiftPM, no network). Starts from the seed corpus in
# Tests/fuzz/corpus (kept in the repository) plus what earlier runs found (.build/fuzz/corpus).
# Exits non-zero on any crash, leak, sanitizer report or input slower than FUZZ_TIMEOUT (10) seconds;
# the input that did it is left in .build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-45}"
out=.build/fuzz
repo=$(pwd)
mkdir -p "$out/obj" "$out/modules" "$out/include/CShim" "$out/include/CTOML" "$out/gen" "$out/corpus" "$out/artifacts"
swift_bin=$(dirname "$(readlink -f "$(command -v swiftc)")")
clang="$swift_bin/clang"
sanitize="fuzzer-no-link,address"

echo "fuzz: building the instrumented loaders in $out"
"$clang" -c -g -O1 -fsanitize="$sanitize" -I Sources/CShim/include Sources/CShim/cshim.c -o "$out/obj/cshim.o"
"$clang" -x c++ -std=c++17 -c -g -O1 -fsanitize="$sanitize" -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 \
  -I Sources/CTOML/include Sources/CTOML/ctoml.cpp -o "$out/obj/ctoml.o"
printf 'module CShim {\n  umbrella "%s/Sources/CShim/include"\n  export *\n}\n' "$repo" > "$out/include/CShim/module.modulemap"
printf 'module CTOML {\n  umbrella "%s/Sources/CTOML/include"\n  export *\n}\n' "$repo" > "$out/include/CTOML/module.modulemap"

# SwiftPM's embedInCode for the varlink interface text, as WaystationProtocol expects it.
python3 - "$out/gen/embedded_resources.swift" <<'PY'
import sys
data = open("Sources/WaystationProtocol/io.waystation.Station.varlink", "rb").read()
with open(sys.argv[1], "w") as f:
    f.write("struct PackageResources {\nstatic let io_waystation_Station_varlink: [UInt8] = [")
    f.write(",".join(str(b) for b in data))
    f.write("]\n}\n")
PY

swift_flags=(-swift-version 6 -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility
  -sanitize=fuzzer,address -g -Onone -parse-as-library -wmo -I "$out/modules" -I "$out/include/CShim"
  -I "$out/include/CTOML")
module() {  # NAME SOURCES…
  local name=$1
  shift
  swiftc "${swift_flags[@]}" -module-name "$name" -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
    -c "$@" -o "$out/obj/$name.o"
}
module WaystationProtocol $(find Sources/WaystationProtocol -name '*.swift' | sort) "$out/gen/embedded_resources.swift"
module WaystationCore $(find Sources/WaystationCore -name '*.swift' | sort)
module ConfigFuzz Tests/fuzz/ConfigFuzz.swift
swiftc -sanitize=fuzzer,address -use-ld=lld -g "$out"/obj/*.o -ltomlplusplus -lstdc++ -o "$out/config-fuzzer"

echo "fuzz: running for ${seconds}s"
# -detect_leaks: ASan's leak check at each input's end; the Swift runtime's caches are not leaks.
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=0}" \
  "$out/config-fuzzer" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 \
  -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$out/corpus" Tests/fuzz/corpus
