# scripts/lib/fuzz.sh: the libFuzzer build and run that scripts/test (its fuzz stage) and
# scripts/fuzz (long runs that grow fuzz/corpus/) share. Sourced, not run; needs $repo (the
# checkout's root) and bash 4.
#
#   fuzz_target_names               every fuzz target's name (fuzz/<folder>/<name>.cpp), sorted
#   fuzz_build JOBS [NAME...]       configures build-fuzz/ (clang, libFuzzer, ASan + UBSan,
#                                   ccache when installed) and builds the named targets (default:
#                                   all); the configure output goes to build-fuzz/configure.log
#   fuzz_run BINARY SECONDS LOG ARTIFACTS CORPUS [SEEDS...]
#                                   runs one target for SECONDS: new inputs go to CORPUS (the
#                                   first folder), SEEDS are only read; a crash input lands in
#                                   ARTIFACTS/; returns libFuzzer's status
#   fuzz_executions LOG             the executions a run's log reports ("" when none)

fuzz_target_names() {
  find "$repo/fuzz" -name '*_fuzz.cpp' -printf '%f\n' | sed 's/\.cpp$//' | sort
}

fuzz_build() {
  local jobs=$1 name targets=() launcher=()
  shift
  if (($# == 0)); then
    while IFS= read -r name; do targets+=(--target "$name"); done < <(fuzz_target_names)
  else
    for name in "$@"; do targets+=(--target "$name"); done
  fi
  ((${#targets[@]} > 0)) || return 0
  command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  mkdir -p "$repo/build-fuzz"
  local configure=(cmake -S "$repo" -B "$repo/build-fuzz" -DPOSTERN_FUZZ=ON
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
    "${launcher[@]}")
  "${configure[@]}" >"$repo/build-fuzz/configure.log" 2>&1 || {
    cat "$repo/build-fuzz/configure.log"
    return 1
  }
  # When "clang" now resolves to another path than the cache holds (a ccache symlink put in
  # /usr/local/bin, say), CMake deletes the cache and configures again without the other -D
  # options: POSTERN_FUZZ is then OFF and no fuzz target exists. A second run restores them.
  if ! grep -q '^POSTERN_FUZZ:BOOL=ON$' "$repo/build-fuzz/CMakeCache.txt"; then
    "${configure[@]}" >>"$repo/build-fuzz/configure.log" 2>&1 || {
      cat "$repo/build-fuzz/configure.log"
      return 1
    }
  fi
  # Only the fuzz targets (and postern_lib under them): the daemons are built elsewhere.
  cmake --build "$repo/build-fuzz" -j "$jobs" "${targets[@]}"
}

fuzz_run() {
  local binary=$1 seconds=$2 log=$3 artifacts=$4 corpus=$5
  shift 5
  mkdir -p "$artifacts" "$corpus"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "$@" >"$log" 2>&1
}

fuzz_executions() {
  sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1
}
